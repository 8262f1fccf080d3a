#pragma once
// ConfigWatch: kube-proxy's reaction to a changed --config file. kube-proxy watches the file and
// exits when it is written, so that its DaemonSet restarts it with the new ConfigMap; the agent
// does the same (agent/run.cpp exits 1 when onChange fires).
//
// Purpose: remembers the file's content when constructed (right after start-up loaded it, the
//   same window kube-proxy leaves between its load and its watch) and polls it every `period`.
//   Only a difference in content counts: a touch, or a ConfigMap update that writes the same
//   bytes (the kubelet swaps the ..data symlink), is ignored. onChange fires once, then polling
//   ends.
// Threading: start() spawns one thread that sleeps on a condition variable between polls;
//   onChange runs on it. stop() (also run by the destructor) wakes and joins it. changed() is
//   for tests and must not be called while the thread runs.
// Ownership: owns its thread; onChange must stay valid until stop().
// Errors: a file that cannot be read (being replaced, or removed) is not a change; the next poll
//   looks again. At most kMaxConfigWatchBytes + 1 bytes are read, so memory stays bounded; a
//   file that grew past that differs from what was loaded.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace agent {

inline constexpr std::size_t kMaxConfigWatchBytes = std::size_t{4} << 20;
inline constexpr std::chrono::seconds kConfigWatchPeriod{2};

class ConfigWatch {
 public:
  ConfigWatch(std::filesystem::path path, std::chrono::milliseconds period,
              std::function<void()> onChange);
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

  // One poll: true when the file now reads differently from the remembered content.
  bool changed();
  void start();
  void stop();
  const std::filesystem::path& path() const { return path_; }

 private:
  void pollLoop();

  std::filesystem::path path_;
  std::chrono::milliseconds period_;
  std::function<void()> onChange_;
  std::optional<std::string> loaded_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agent
