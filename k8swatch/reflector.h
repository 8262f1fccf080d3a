#pragma once
// List+watch of one resource, as client-go's reflector does it: a LIST (resourceVersion=0 first,
// paged), then WATCHes from the last seen resourceVersion with bookmarks, relisting after 410
// Gone or "Too large resource version" (from "") and after a dropped stream (from the last seen
// version), with exponential backoff between failures, never shorter than a Retry-After the
// server sends with a 429 or 5xx (as client-go honours it). Objects go through an ObjectCache.
// With `watchList`, each list is a streaming list instead (client-go's WatchListClient): one
// WATCH with sendInitialEvents=true whose ADDED events are the list, ending at the BOOKMARK
// annotated k8s.io/initial-events-end, after which the same stream goes on as the watch. A
// server that refuses it, or ends the stream before that bookmark, is listed the paged way from
// then on (one log line).
// Threading: one coroutine on the watcher's io_context; all members are touched only there.
// Ownership: borrows the endpoint, cache, stats and clock from the Watcher.
// Errors: never thrown; each failure is counted, logged once, remembered as lastError, and
// followed by a backoff. Metrics: ResourceCounters of its kind.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "k8swatch/backoff.h"
#include "k8swatch/decode_slice_stream.h"
#include "k8swatch/http_client.h"
#include "k8swatch/object_cache.h"
#include "k8swatch/stats.h"

namespace k8swatch {

enum class LogLevel { kInfo, kWarning, kError };
using LogFn = std::function<void(LogLevel, const std::string&)>;

struct ReflectorOptions {
  std::string path;  // "/api/v1/services"
  std::string labelSelector;
  std::string fieldSelector;
  std::size_t pageSize = 500;
  std::size_t maxEventBytes = 16u << 20;
  std::size_t maxListBytes = 512u << 20;  // one LIST page (servers may ignore `limit`)
  std::chrono::seconds minWatchTimeout{300};
  std::chrono::seconds maxWatchTimeout{600};
  std::chrono::milliseconds requestTimeout{30000};  // connect + headers; idle during a LIST
  std::chrono::milliseconds watchIdleTimeout{0};    // 0: the watch's timeoutSeconds + 30 s
  bool watchList = false;  // list by streaming (sendInitialEvents); see the header comment
  BackoffOptions backoff;
};

// How long an open watch may send nothing at all (no event, no bookmark, no chunk) before it
// counts as stalled and is dropped and relisted: options.watchIdleTimeout, or by default the
// watch's timeoutSeconds + 30 s. A healthy server ends every watch at timeoutSeconds, so a
// stream still silent 30 s past that is a half-open connection (a dead peer, a lost route).
std::chrono::milliseconds watchIdleLimit(const ReflectorOptions& options,
                                         std::chrono::seconds watchTimeout);

class Reflector {
 public:
  Reflector(asio::any_io_executor executor, ApiEndpoint& endpoint, ObjectCache& cache,
            WatchStats& stats, const Clock& clock, SleepFn sleep, RandomFn random, LogFn log,
            ReflectorOptions options);

  asio::awaitable<void> run();  // until the io_context stops
  // Closes the socket; call with the io_context stopped but still alive (sockets must not
  // outlive it).
  void closeConnection() { conn_.close(); }
  const std::string& resourceVersion() const { return rv_; }

 private:
  enum class Outcome {
    kOk,           // a LIST completed, or a watch ended normally: go on watching
    kGone,         // 410 / Expired: relist from ""
    kTooLargeRv,   // the server is behind our version: relist from ""
    kRetryWatch,   // could not start the watch (refused, 429): back off, watch again
    kRelist,       // anything else: back off, relist from the last seen version
    kNoWatchList,  // the server cannot list by streaming: list the paged way from now on
  };
  struct Step {
    Outcome outcome = Outcome::kOk;
    std::string error;
    bool listed = false;  // a streaming list reached its end (whatever the stream did next)
    Clock::Duration retryAfter{0};  // the server's Retry-After: the backoff waits at least this
  };

  asio::awaitable<Step> list(const std::string& fromRv);
  asio::awaitable<Step> listPage(const std::string& target, std::string& rv, std::string& cont);
  // A WATCH from rv_; with `initialEvents`, a streaming list from `listFrom` first.
  asio::awaitable<Step> watch(bool initialEvents = false, const std::string& listFrom = "");
  Step onInitialEvent(boost::json::value&& event, std::size_t& events, bool& listing);
  void listDone(std::string rv);
  asio::awaitable<Step> failedStatus(const std::string& what);
  void badEvent(const std::string& what);
  Step onWatchEvent(boost::json::value&& event, std::size_t& events);
  // An EndpointSlice ADDED/MODIFIED event the streaming decoder read (decode_slice_stream.h).
  Step onSliceEvent(SliceEvent&& event, std::size_t& events, bool listing);
  std::string target(bool watching, const std::string& rv, const std::string& cont,
                     std::chrono::seconds timeout, bool initialEvents = false) const;
  void noteFailure(const Step& step);
  void countReconnects(std::size_t connectsBefore);

  HttpConnection conn_;
  ObjectCache& cache_;
  WatchStats& stats_;
  ResourceCounters& counters_;
  const Clock& clock_;
  SleepFn sleep_;
  RandomFn random_;
  LogFn log_;
  ReflectorOptions options_;
  Backoff backoff_;
  std::string rv_;
  bool listedOnce_ = false;
  bool watchList_ = false;  // options_.watchList until the server refuses it
};

}  // namespace k8swatch
