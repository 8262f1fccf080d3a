#include "k8swatch/reflector.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>

#include "k8swatch/api_status.h"
#include "k8swatch/decode.h"
#include "k8swatch/decode_slice_stream.h"
#include "k8swatch/event_stream.h"

namespace k8swatch {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kErrorBodyLimit = 1u << 20;

std::string_view stringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// apimachinery's metav1.InitialEventsAnnotationKey: marks the bookmark ending a streaming list.
constexpr std::string_view kInitialEventsEnd = "k8s.io/initial-events-end";

bool endsInitialEvents(const json::object& object) {
  const json::value* meta = object.if_contains("metadata");
  const json::object* m = meta ? meta->if_object() : nullptr;
  const json::value* ann = m ? m->if_contains("annotations") : nullptr;
  const json::object* a = ann ? ann->if_object() : nullptr;
  return a != nullptr && stringAt(*a, kInitialEventsEnd) == "true";
}

}  // namespace

std::chrono::milliseconds watchIdleLimit(const ReflectorOptions& options,
                                         std::chrono::seconds watchTimeout) {
  if (options.watchIdleTimeout.count() > 0) return options.watchIdleTimeout;
  return std::chrono::duration_cast<std::chrono::milliseconds>(watchTimeout + 30s);
}

Reflector::Reflector(asio::any_io_executor executor, ApiEndpoint& endpoint, ObjectCache& cache,
                     WatchStats& stats, const Clock& clock, SleepFn sleep, RandomFn random,
                     LogFn log, ReflectorOptions options)
    : conn_(std::move(executor), endpoint),
      cache_(cache),
      stats_(stats),
      counters_(stats.of(cache.kind())),
      clock_(clock),
      sleep_(std::move(sleep)),
      random_(std::move(random)),
      log_(std::move(log)),
      options_(std::move(options)),
      backoff_(options_.backoff, random_),
      watchList_(options_.watchList) {}

std::string Reflector::target(bool watching, const std::string& rv, const std::string& cont,
                              std::chrono::seconds timeout, bool initialEvents) const {
  std::string t = options_.path + "?";
  if (!options_.labelSelector.empty())
    t += "labelSelector=" + urlEncode(options_.labelSelector) + "&";
  if (!options_.fieldSelector.empty())
    t += "fieldSelector=" + urlEncode(options_.fieldSelector) + "&";
  if (watching) {
    t += "watch=true&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout.count()) +
         "&resourceVersion=" + urlEncode(rv);
    if (initialEvents) t += "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan";
    return t;
  }
  t += "limit=" + std::to_string(options_.pageSize);
  // The API refuses resourceVersion together with continue: later pages carry only the token.
  if (!cont.empty()) return t + "&continue=" + urlEncode(cont);
  if (!rv.empty()) t += "&resourceVersion=" + urlEncode(rv);
  return t;
}

void Reflector::countReconnects(std::size_t connectsBefore) {
  // Every connection after the first one of this reflector is a reconnect.
  const std::size_t now = conn_.connects();
  const std::size_t firsts = connectsBefore == 0 && now > 0 ? 1 : 0;
  counters_.reconnects += now - connectsBefore - firsts;
}

void Reflector::noteFailure(const Step& step) {
  ++counters_.failures;
  const std::string msg =
      std::string(resourceKindName(cache_.kind())) + " " + options_.path + ": " + step.error;
  stats_.recordError(msg);
  if (log_) log_(LogLevel::kWarning, msg);
}

asio::awaitable<void> Reflector::run() {
  std::string listFrom = "0";  // served from the API server's watch cache, not etcd
  bool needList = true;
  while (true) {
    Step step;
    if (needList && watchList_) {
      step = co_await watch(true, listFrom);
      if (step.listed) needList = false;
      if (step.outcome == Outcome::kNoWatchList) {
        watchList_ = false;
        if (log_)
          log_(LogLevel::kInfo, std::string(resourceKindName(cache_.kind())) + " " + options_.path +
                                    ": " + step.error + "; listing with paged LISTs from now on");
        continue;  // at once: this is no failure of the server, only of the method
      }
    } else if (needList) {
      step = co_await list(listFrom);
      if (step.outcome == Outcome::kOk) needList = false;
    } else {
      step = co_await watch();
      if (step.outcome == Outcome::kOk) continue;  // a normal end: watch again at once
    }
    if (step.outcome == Outcome::kOk) continue;
    if (step.outcome == Outcome::kGone) ++counters_.gone;
    if (step.outcome == Outcome::kTooLargeRv) ++counters_.tooLargeRv;
    noteFailure(step);
    switch (step.outcome) {
      case Outcome::kGone:
      case Outcome::kTooLargeRv:
        needList = true;
        listFrom = "";  // a consistent read from etcd
        break;
      case Outcome::kRelist:
        if (!needList) listFrom = rv_;
        needList = true;
        break;
      case Outcome::kRetryWatch:
      case Outcome::kOk:
      case Outcome::kNoWatchList:  // handled above
        break;
    }
    co_await sleep_(backoff_.next(clock_.now(), step.retryAfter));
  }
}

asio::awaitable<Reflector::Step> Reflector::failedStatus(const std::string& what) {
  const auto wait = conn_.retryAfter();  // before the body: reading it may close the connection
  std::string body;
  json::value parsed;
  if (!co_await conn_.readAll(body, kErrorBodyLimit, options_.requestTimeout)) {
    boost::system::error_code ec;
    parsed = json::parse(body, ec);
  } else {
    conn_.close();
  }
  const StatusInfo s = readStatus(&parsed, conn_.status());
  Step step{Outcome::kRelist, what + ": " + describe(s)};
  if (isGone(s)) {
    step.outcome = Outcome::kGone;
  } else if (isTooLargeRv(s)) {
    step.outcome = Outcome::kTooLargeRv;
  } else if (s.code == 429) {
    step.outcome = Outcome::kRetryWatch;
  }
  if (wait) {
    step.retryAfter = *wait;
    step.error += "; Retry-After " + std::to_string(wait->count()) + " s";
  }
  co_return step;
}

asio::awaitable<Reflector::Step> Reflector::listPage(const std::string& t, std::string& rv,
                                                     std::string& cont) {
  const std::size_t before = conn_.connects();
  const auto ec0 = co_await conn_.get(t, options_.requestTimeout);
  countReconnects(before);
  if (ec0) co_return Step{Outcome::kRelist, "LIST: " + ec0.message()};
  if (conn_.status() != 200) co_return co_await failedStatus("LIST");
  json::stream_parser parser(json::make_shared_resource<json::monotonic_resource>());
  std::size_t total = 0;
  while (true) {
    std::string_view piece;
    if (auto ec = co_await conn_.readBody(piece, options_.requestTimeout)) {
      co_return Step{Outcome::kRelist, "LIST body: " + ec.message()};
    }
    if (piece.empty()) break;
    total += piece.size();
    boost::system::error_code ec;
    if (total <= options_.maxListBytes) parser.write(piece.data(), piece.size(), ec);
    if (ec || total > options_.maxListBytes) {
      conn_.close();
      co_return Step{Outcome::kRelist,
                     ec ? "LIST: invalid JSON: " + ec.message()
                        : "LIST page exceeds " + std::to_string(options_.maxListBytes) + " bytes"};
    }
  }
  boost::system::error_code ec;
  parser.finish(ec);
  if (ec) co_return Step{Outcome::kRelist, "LIST: invalid JSON: " + ec.message()};
  ++counters_.listPages;
  counters_.bytesDecoded += total;
  const json::value root = parser.release();
  const auto* obj = root.if_object();
  const json::value* meta = obj ? obj->if_contains("metadata") : nullptr;
  const json::value* items = obj ? obj->if_contains("items") : nullptr;
  if (meta == nullptr || !meta->is_object() || (items && !items->is_array() && !items->is_null())) {
    co_return Step{Outcome::kRelist, "LIST: not a list object"};
  }
  rv = stringAt(meta->get_object(), "resourceVersion");
  cont = stringAt(meta->get_object(), "continue");
  if (items && items->is_array()) {
    for (const auto& item : items->get_array()) cache_.listItem(item);
  }
  co_return Step{};
}

asio::awaitable<Reflector::Step> Reflector::list(const std::string& fromRv) {
  if (listedOnce_) ++counters_.relists;
  cache_.beginList();
  std::string rv;
  std::string cont;
  do {
    const std::string t = target(false, fromRv, cont, 0s);
    Step step = co_await listPage(t, rv, cont);
    if (step.outcome != Outcome::kOk) co_return step;
  } while (!cont.empty());
  listDone(std::move(rv));
  co_return Step{};
}

void Reflector::listDone(std::string rv) {
  cache_.endList();  // deletions by difference; synced on the first
  listedOnce_ = true;
  ++counters_.lists;
  rv_ = std::move(rv);
}

void Reflector::badEvent(const std::string& what) {
  cache_.reject(Rejection{cache_.kind(), "<watch event>", reason::kBadEvent,
                          std::string(resourceKindName(cache_.kind())) + " " + what});
}

Reflector::Step Reflector::onInitialEvent(json::value&& event, std::size_t& events, bool& listing) {
  // A streaming list: ADDED events are the list's items, up to the bookmark that ends them.
  const auto* e = event.if_object();
  const std::string_view type = e ? stringAt(*e, "type") : std::string_view();
  const json::value* object = e ? e->if_contains("object") : nullptr;
  if (object == nullptr || !object->is_object() || (type != "ADDED" && type != "BOOKMARK"))
    return onWatchEvent(std::move(event), events);  // errors and the odd event: as in a watch
  ++events;
  if (type == "ADDED") {
    cache_.listItem(*object);
  } else if (endsInitialEvents(object->get_object())) {
    ++counters_.bookmarks;
    listDone(decodeResourceVersion(*object));
    listing = false;
  } else {
    ++counters_.bookmarks;  // a progress bookmark inside the list
  }
  return Step{};
}

Reflector::Step Reflector::onWatchEvent(json::value&& event, std::size_t& events) {
  ++events;
  const auto* e = event.if_object();
  const std::string_view type = e ? stringAt(*e, "type") : std::string_view();
  const json::value* object = e ? e->if_contains("object") : nullptr;
  if (type.empty() || object == nullptr || !object->is_object()) {
    badEvent("a watch event without type or object");
    return Step{};
  }
  if (type == "ERROR") {
    ++counters_.errorEvents;
    const StatusInfo s = readStatus(object, 0);
    Step step{Outcome::kRelist, "watch ERROR event: " + describe(s)};
    if (isGone(s)) step.outcome = Outcome::kGone;
    if (isTooLargeRv(s)) step.outcome = Outcome::kTooLargeRv;
    return step;
  }
  const std::string rv = decodeResourceVersion(*object);
  if (type == "ADDED" || type == "MODIFIED") {
    cache_.upsert(*object);
  } else if (type == "DELETED") {
    cache_.remove(*object);
  } else if (type == "BOOKMARK") {
    ++counters_.bookmarks;
  } else {
    badEvent("a watch event of unknown type \"" + std::string(type) + "\"");
    return Step{};
  }
  if (!rv.empty()) rv_ = rv;
  return Step{};
}

Reflector::Step Reflector::onSliceEvent(SliceEvent&& ev, std::size_t& events, bool listing) {
  // What onInitialEvent and onWatchEvent do with the same event through the DOM.
  ++events;
  const bool listItem = listing && ev.type == "ADDED";
  const std::string rv = ev.slice.resourceVersion;
  cache_.storeSlice(std::move(ev.slice));
  if (!listItem && !rv.empty()) rv_ = rv;  // a streaming list's items do not move rv_
  return Step{};
}

asio::awaitable<Reflector::Step> Reflector::watch(bool initialEvents, const std::string& listFrom) {
  const auto span = options_.maxWatchTimeout - options_.minWatchTimeout;
  const auto timeout = options_.minWatchTimeout +
                       std::chrono::seconds(static_cast<std::int64_t>(
                           (random_ ? random_() : 0.0) * static_cast<double>(span.count())));
  const auto idle = watchIdleLimit(options_, timeout);
  const std::size_t before = conn_.connects();
  auto ec =
      co_await conn_.get(target(true, initialEvents ? listFrom : rv_, "", timeout, initialEvents),
                         options_.requestTimeout);
  countReconnects(before);
  if (ec) co_return Step{Outcome::kRetryWatch, "WATCH: " + ec.message()};
  if (conn_.status() != 200) {
    const unsigned status = conn_.status();
    Step failed = co_await failedStatus(initialEvents ? "streaming list" : "WATCH");
    // An API server without WatchList (or with it off) fails the request's validation.
    if (initialEvents && (status == 400 || status == 422)) failed.outcome = Outcome::kNoWatchList;
    co_return failed;
  }
  ++counters_.watches;
  bool listing = initialEvents;
  if (listing) {
    if (listedOnce_) ++counters_.relists;
    cache_.beginList();
  }

  const auto start = clock_.now();
  std::size_t events = 0;
  Step result;
  EventStreamParser parser(
      options_.maxEventBytes,
      [&](json::value&& ev) {
        if (result.outcome != Outcome::kOk) return;
        result = listing ? onInitialEvent(std::move(ev), events, listing)
                         : onWatchEvent(std::move(ev), events);
        result.listed = initialEvents && !listing;
      },
      [&](std::size_t bytes) {
        ++events;
        cache_.reject(Rejection{cache_.kind(), "<watch event>", reason::kOversizeEvent,
                                std::string(resourceKindName(cache_.kind())) + " watch event of " +
                                    std::to_string(bytes) + " bytes exceeds the bound of " +
                                    std::to_string(options_.maxEventBytes) + "; skipped"});
      });
  if (cache_.kind() == ResourceKind::kEndpointSlice) {
    // Slice ADDED/MODIFIED events skip the DOM (issue #17); the decoder declines everything
    // else, which then arrives as a DOM in the callback above.
    parser.setSliceFn([&](SliceEvent&& ev, std::string_view) {
      if (result.outcome != Outcome::kOk) return;
      result = onSliceEvent(std::move(ev), events, listing);
      result.listed = initialEvents && !listing;
    });
  }
  const auto ended = [&](Step step) {
    step.listed = initialEvents && !listing;
    return step;
  };
  while (result.outcome == Outcome::kOk) {
    std::string_view piece;
    if (auto rec = co_await conn_.readBody(piece, idle)) {
      if (isTimeout(rec)) {
        co_return ended({Outcome::kRelist, "watch stream stalled: nothing for " +
                                               std::to_string(idle.count()) + " ms; reconnecting"});
      }
      co_return ended({Outcome::kRelist, "watch stream dropped: " + rec.message()});
    }
    if (piece.empty()) {
      if (!parser.idle()) co_return ended({Outcome::kRelist, "watch stream ended inside an event"});
      if (listing) {
        // The server ignored sendInitialEvents (no end bookmark): it cannot list this way.
        co_return ended({Outcome::kNoWatchList,
                         "the streaming list ended without the initial-events-end bookmark"});
      }
      if (events == 0 && clock_.now() - start < 1s) {
        co_return ended({Outcome::kRelist, "very short watch: ended within 1 s without events"});
      }
      co_return ended({});
    }
    counters_.bytesDecoded += piece.size();
    const bool fed = parser.feed(piece);
    if (parser.peakBufferedBytes() > counters_.eventBufferPeak) {
      counters_.eventBufferPeak = parser.peakBufferedBytes();  // only this thread writes it
    }
    if (!fed) {
      conn_.close();
      co_return ended({Outcome::kRelist, parser.error()});
    }
  }
  conn_.close();  // the server may keep streaming after an ERROR event
  co_return ended(std::move(result));
}

}  // namespace k8swatch
