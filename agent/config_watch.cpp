#include "agent/config_watch.h"

#include <fstream>

namespace agent {

namespace {

// The file's bytes, up to one past the limit; nullopt if it cannot be opened or read.
std::optional<std::string> readBounded(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string content(kMaxConfigWatchBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) return std::nullopt;
  content.resize(static_cast<std::size_t>(in.gcount()));
  return content;
}

}  // namespace

ConfigWatch::ConfigWatch(std::filesystem::path path, std::chrono::milliseconds period,
                         std::function<void()> onChange)
    : path_(std::move(path)),
      period_(period),
      onChange_(std::move(onChange)),
      loaded_(readBounded(path_)) {}

ConfigWatch::~ConfigWatch() { stop(); }

bool ConfigWatch::changed() {
  auto now = readBounded(path_);
  if (!now) return false;
  // Unreadable at start-up (it was just loaded, so only a race gets here): the first content
  // read becomes the reference.
  if (!loaded_) {
    loaded_ = std::move(now);
    return false;
  }
  return *now != *loaded_;
}

void ConfigWatch::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { pollLoop(); });
}

void ConfigWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConfigWatch::pollLoop() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    const bool differs = changed();
    if (differs) onChange_();
    lock.lock();
    if (differs) return;
  }
}

}  // namespace agent
