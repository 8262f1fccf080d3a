#pragma once
// A local Kubernetes API server for tests and the demo: serves Services, EndpointSlices and
// Nodes (list + watch, cluster-wide and namespaced paths) with resourceVersions, paging,
// label/field selectors, chunked watch streams with bookmarks, compaction (410), bearer-token
// auth, and injectable faults. Driven in-process through this class or over HTTP through
// /_control/* (see README.md). Logs every API request target.
// Threading: one io thread owns all state; the public methods are thread-safe (they run their
// work on that thread and wait). Listens on 127.0.0.1 only.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fakeapi {

struct ServerOptions {
  std::uint16_t port = 0;      // 0: any free port (see port())
  std::string token;           // non-empty: API requests need "Authorization: Bearer <token>"
  std::string requestLogPath;  // append each API request target here
  std::chrono::milliseconds bookmarkInterval{0};  // 0: bookmarks only on demand
  std::size_t chunkSplit = 0;  // >0: write watch events in chunks of this many bytes
  // sendInitialEvents (WatchList): "on" serves it; "refuse" fails the request with 400, as an
  // API server without the WatchList gate; "ignore" serves a plain watch without the end bookmark.
  std::string watchList = "on";
};

enum class Fault {
  kDrop,      // cut every open watch stream now (no final chunk)
  kStatus,    // the next `count` API requests get HTTP `status` (500, 429, 410, 504 ...),
              // with a Retry-After header carrying `retryAfter` verbatim when it is not empty
  kGarbage,   // write non-JSON into every open watch stream now
  kOversize,  // write one valid event of `size` bytes into every open watch stream now
  kStall,     // the next `count` API requests are read but never answered
  kExpire,    // send an in-stream ERROR 410 (Expired) to every open watch and end it
  kPause,     // open watches stay open but receive nothing more, not even bookmarks (lost
              // events, as across a partition; a stalled stream)
};

class FakeApiServer {
 public:
  explicit FakeApiServer(ServerOptions options);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  void start();  // binds 127.0.0.1:port and starts the io thread; throws on bind failure
  void stop();
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Adds or replaces objects (any of the three kinds; Lists are expanded). Returns the new
  // resourceVersion; throws std::runtime_error naming a bad object.
  std::uint64_t apply(const boost::json::object& object);
  std::uint64_t applyText(std::string_view text, bool isJson);  // manifest text
  std::uint64_t loadManifests(const std::string& path);         // file or directory
  bool remove(std::string_view kind, std::string_view ns, std::string_view name);
  void compact();
  void fault(Fault kind, unsigned count = 1, unsigned status = 500, std::size_t size = 0,
             std::string retryAfter = {});
  void bookmarkNow();
  void setChunkSplit(std::size_t bytes);
  void setWatchList(std::string mode);  // see ServerOptions::watchList

  std::uint64_t resourceVersion();
  std::vector<std::string> requests();  // API request targets seen, in order
  std::size_t openWatches();

 private:
  struct Impl;
  ServerOptions options_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fakeapi
