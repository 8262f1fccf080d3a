#include "agent/file_source.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>

#include "k8swatch/manifest_source.h"

namespace agent {

namespace {

// Emits updates for new or changed objects and deletes for vanished ones; `current` becomes
// `next`. Key and deletion callbacks differ per kind.
template <class Key, class T, class KeyOf, class Update, class Delete>
void reconcile(std::map<Key, T>& current, std::vector<T>& next, KeyOf keyOf, Update update,
               Delete remove) {
  std::map<Key, T> fresh;
  for (auto& obj : next) {
    Key key = keyOf(obj);
    fresh.insert_or_assign(std::move(key), std::move(obj));
  }
  for (const auto& [key, old] : current)
    if (!fresh.count(key)) remove(old);
  for (const auto& [key, obj] : fresh) {
    auto it = current.find(key);
    if (it == current.end() || !(it->second == obj)) update(obj);
  }
  current = std::move(fresh);
}

}  // namespace

FileSource::FileSource(std::filesystem::path path, k8swatch::EventSink& sink, Logger log)
    : path_(std::move(path)), sink_(sink), log_(std::move(log)) {}

FileSource::~FileSource() { stop(); }

bool FileSource::loadOnce() {
  auto contents = k8swatch::loadManifests(path_);
  if (!contents.ok()) {
    for (const auto& e : contents.errors)
      log_.error("cannot read the source; keeping the previous state",
                 {{"path", path_.string()}, {"error", e}});
    return false;
  }
  for (const auto& r : contents.rejects) sink_.rejected(r.kind, r.object, r.reason, r.message);
  reconcile(
      services_, contents.services, [](const ipvs::Service& s) { return s.key; },
      [this](const ipvs::Service& s) { sink_.serviceUpdated(s); },
      [this](const ipvs::Service& s) { sink_.serviceDeleted(s.key); });
  reconcile(
      slices_, contents.slices, [](const ipvs::EndpointSlice& s) { return s.key; },
      [this](const ipvs::EndpointSlice& s) { sink_.sliceUpdated(s); },
      [this](const ipvs::EndpointSlice& s) { sink_.sliceDeleted(s); });
  reconcile(
      nodes_, contents.nodes, [](const ipvs::Node& n) { return n.name; },
      [this](const ipvs::Node& n) { sink_.nodeUpdated(n); },
      [this](const ipvs::Node& n) { sink_.nodeDeleted(n.name); });
  return true;
}

void FileSource::start() {
  // Watch first, then load: a change made between the two is seen, never lost.
  inotify_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ < 0) {
    log_.error("inotify unavailable: the source is not re-read on change");
  } else {
    const auto dir = std::filesystem::is_directory(path_) ? path_ : path_.parent_path();
    const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE;
    if (inotify_add_watch(inotify_, dir.empty() ? "." : dir.c_str(), mask) < 0)
      log_.error("cannot watch the source", {{"path", dir.string()}});
  }
  loadOnce();
  sink_.synced(k8swatch::ResourceKind::kService);
  sink_.synced(k8swatch::ResourceKind::kEndpointSlice);
  sink_.synced(k8swatch::ResourceKind::kNode);
  if (inotify_ >= 0) thread_ = std::thread([this] { watchLoop(); });
}

void FileSource::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (inotify_ >= 0) close(inotify_);
  inotify_ = -1;
}

void FileSource::watchLoop() {
  std::array<char, 4096> buf{};
  while (!stop_) {
    pollfd pfd{inotify_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    // Drain the burst of events an editor or `mv` makes, then settle briefly and reload once.
    while (read(inotify_, buf.data(), buf.size()) > 0) {
    }
    poll(nullptr, 0, 100);
    while (read(inotify_, buf.data(), buf.size()) > 0) {
    }
    log_.v(1, "source changed; re-reading", {{"path", path_.string()}});
    loadOnce();
  }
}

}  // namespace agent
