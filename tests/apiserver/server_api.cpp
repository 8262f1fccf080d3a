// LIST and WATCH with the API server's semantics, the change fan-out to open watches, and the
// /_control/* endpoints.

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>

#include "k8swatch/manifest_source.h"
#include "tests/apiserver/server_impl.h"

namespace fakeapi {

namespace json = boost::json;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

bool inScope(const json::object& obj, const std::string& ns, const Selector& sel) {
  return (ns.empty() || keyOf(obj).ns == ns) && sel.matches(obj);
}

json::object listItem(const json::object& obj) {
  json::object item = obj;  // typed lists carry kind/apiVersion once, not per item
  item.erase("kind");
  item.erase("apiVersion");
  return item;
}

std::string tooLarge(std::uint64_t want, std::uint64_t have) {
  return "Too large resource version: " + std::to_string(want) +
         ", current: " + std::to_string(have);
}

// The continue token: "<snapshot rv>/<namespace>/<name>" of the last item served.
std::string makeContinue(std::uint64_t rv, const ObjKey& k) {
  return std::to_string(rv) + "/" + k.ns + "/" + k.name;
}

}  // namespace

Response FakeApiServer::Impl::apiList(const Request& req, const Target& t, Resource r,
                                      const std::string& ns) {
  std::string error;
  const auto sel = Selector::parse(t.param("labelSelector"), t.param("fieldSelector"), error);
  if (!sel) return statusResponse(req, 400, "BadRequest", error);
  const std::string rvParam = t.param("resourceVersion");
  const std::string cont = t.param("continue");
  bool ok = true;
  std::uint64_t snapshot = store.rv();
  ObjKey after;
  std::optional<ObjectMap> state;
  if (!cont.empty()) {
    const auto a = cont.find('/');
    const auto b = cont.find('/', a == std::string::npos ? 0 : a + 1);
    snapshot = parseRv(cont.substr(0, a), ok);
    if (!ok || b == std::string::npos)
      return statusResponse(req, 400, "BadRequest", "bad continue");
    after = {cont.substr(a + 1, b - a - 1), cont.substr(b + 1)};
    state = store.stateAt(r, snapshot);
    if (!state) {
      return statusResponse(
          req, 410, "Expired",
          "The provided continue parameter is too old to display a consistent "
          "list result. You can start a new list without the continue parameter.");
    }
  } else if (!rvParam.empty() && rvParam != "0") {
    const std::uint64_t want = parseRv(rvParam, ok);
    if (!ok) return statusResponse(req, 400, "BadRequest", "bad resourceVersion");
    if (want > store.rv()) return statusResponse(req, 504, "Timeout", tooLarge(want, store.rv()));
    if (t.param("resourceVersionMatch") == "Exact") {
      state = store.stateAt(r, want);
      if (!state) return statusResponse(req, 410, "Expired", "too old resource version");
      snapshot = want;
    }
  }
  const ObjectMap& objects = state ? *state : store.objects(r);
  const std::size_t limit = std::strtoul(t.param("limit").c_str(), nullptr, 10);
  json::array items;
  std::string next;
  auto it = cont.empty() ? objects.begin() : objects.upper_bound(after);
  for (; it != objects.end(); ++it) {
    if (!inScope(it->second, ns, *sel)) continue;
    if (limit > 0 && items.size() == limit) {
      next = makeContinue(snapshot, std::prev(it)->first);
      break;
    }
    items.push_back(listItem(it->second));
  }
  // The continue token points after the last item served, even if it was filtered out.
  json::object meta{{"resourceVersion", std::to_string(snapshot)}};
  if (!next.empty()) meta["continue"] = next;
  json::object list{{"kind", resourceListKind(r)},
                    {"apiVersion", resourceApiVersion(r)},
                    {"metadata", std::move(meta)},
                    {"items", std::move(items)}};
  return makeResponse(req, http::status::ok, json::serialize(list));
}

namespace {

// The event a watcher with this scope sees for a change: objects moving into or out of the
// selector appear as ADDED or DELETED, as on a real API server.
std::optional<std::string> scopedEvent(const Event& ev, const WatchState& w) {
  const bool now = inScope(ev.object, w.ns, w.selector);
  const bool before = ev.prev && inScope(*ev.prev, w.ns, w.selector);
  if (ev.type == "DELETED") {
    return before ? std::optional(watchEventLine("DELETED", ev.object)) : std::nullopt;
  }
  if (now && before) return watchEventLine("MODIFIED", ev.object);
  if (now) return watchEventLine("ADDED", ev.object);
  if (before) return watchEventLine("DELETED", ev.object);
  return std::nullopt;
}

asio::awaitable<bool> writeChunks(tcp::socket& socket, const std::string& bytes,
                                  std::size_t split) {
  const std::size_t step = split == 0 ? bytes.size() : split;
  for (std::size_t pos = 0; pos < bytes.size(); pos += step) {
    const std::size_t n = std::min(step, bytes.size() - pos);
    boost::system::error_code ec;
    co_await asio::async_write(socket, http::make_chunk(asio::buffer(bytes.data() + pos, n)),
                               redirect_error(use_awaitable, ec));
    if (ec) co_return false;
  }
  co_return true;
}

}  // namespace

void FakeApiServer::Impl::publish(const Event& ev) {
  for (auto& w : watches) {
    if (w->resource != ev.resource || w->paused) continue;
    if (auto line = scopedEvent(ev, *w)) {
      w->queue.push_back(std::move(*line));
      w->wake.cancel();
    }
  }
}

// What a new watch sees first: the current state as ADDED (from "" / "0", or a WatchList), or
// the history after `from`, or an ERROR 410 when that history is compacted away.
void FakeApiServer::Impl::queueInitialEvents(WatchState& ws, const Target& t, std::uint64_t from) {
  const Resource r = ws.resource;
  const std::string& ns = ws.ns;
  const std::string rvParam = t.param("resourceVersion");
  const bool watchList = t.param("sendInitialEvents") == "true" && options.watchList == "on";
  const bool initial = from == 0 || watchList;
  if (initial) {
    for (const auto& [key, obj] : store.objects(r)) {
      if (inScope(obj, ns, ws.selector)) ws.queue.push_back(watchEventLine("ADDED", obj));
    }
    if (watchList) {
      json::object bm{{"kind", resourceKind(r)},
                      {"metadata",
                       {{"resourceVersion", std::to_string(store.rv())},
                        {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}};
      ws.queue.push_back(watchEventLine("BOOKMARK", bm));
    }
  } else if (auto events = store.eventsSince(r, from)) {
    for (const auto& ev : *events) {
      if (auto line = scopedEvent(ev, ws)) ws.queue.push_back(std::move(*line));
    }
  } else {
    const json::object expired{{"kind", "Status"},
                               {"apiVersion", "v1"},
                               {"status", "Failure"},
                               {"reason", "Expired"},
                               {"message", "too old resource version: " + rvParam + " (" +
                                               std::to_string(store.compactedRv()) + ")"},
                               {"code", 410}};
    ws.queue.push_back(watchEventLine("ERROR", expired));
    ws.end = true;
  }
}

asio::awaitable<bool> FakeApiServer::Impl::apiWatch(tcp::socket& socket, const Request& req,
                                                    const Target& t, Resource r,
                                                    const std::string& ns) {
  std::string error;
  auto sel = Selector::parse(t.param("labelSelector"), t.param("fieldSelector"), error);
  std::optional<Response> early;
  const std::string rvParam = t.param("resourceVersion");
  bool ok = true;
  const std::uint64_t from = rvParam.empty() ? 0 : parseRv(rvParam, ok);
  if (!sel || !ok) {
    early = statusResponse(req, 400, "BadRequest", sel ? "bad resourceVersion" : error);
  } else if (t.param("sendInitialEvents") == "true" && options.watchList == "refuse") {
    early = statusResponse(req, 400, "BadRequest",
                           "sendInitialEvents is forbidden for watch unless the WatchList feature "
                           "gate is enabled");
  } else if (from > store.rv()) {
    early = statusResponse(req, 504, "Timeout", tooLarge(from, store.rv()));
  }
  if (early) {
    boost::system::error_code ec;
    co_await http::async_write(socket, *early, redirect_error(use_awaitable, ec));
    co_return !ec;
  }
  auto w = std::make_shared<WatchState>(ioc);
  w->resource = r;
  w->ns = ns;
  w->selector = *sel;
  w->bookmarks = t.param("allowWatchBookmarks") == "true";
  queueInitialEvents(*w, t, from);
  watches.push_back(w);

  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  boost::system::error_code ec;
  co_await http::async_write_header(socket, sr, redirect_error(use_awaitable, ec));
  const std::string timeoutParam = t.param("timeoutSeconds");
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::seconds(timeoutParam.empty() ? 1800
                                                : std::strtol(timeoutParam.c_str(), nullptr, 10));
  bool clean = !ec;
  while (clean && !w->drop) {
    while (clean && !w->queue.empty() && !w->drop) {
      const std::string bytes = std::move(w->queue.front());
      w->queue.pop_front();
      clean = co_await writeChunks(socket, bytes, options.chunkSplit);
    }
    if (!clean || w->drop || w->end || std::chrono::steady_clock::now() >= deadline) break;
    w->wake.expires_at(deadline);
    co_await w->wake.async_wait(redirect_error(use_awaitable, ec));
  }
  watches.remove(w);
  if (clean && !w->drop) {
    co_await asio::async_write(socket, http::make_chunk_last(), redirect_error(use_awaitable, ec));
    co_return !ec;  // the connection may carry the next request
  }
  co_return false;
}

Response FakeApiServer::Impl::control(const Request& req, const Target& t) {
  const std::string op = t.path.substr(std::string("/_control/").size());
  try {
    if (op == "apply") {
      const bool isJson =
          !req.body().empty() && (req.body().front() == '{' || req.body().front() == '[');
      auto parsed = k8swatch::parseManifestObjects(req.body(), isJson, "apply");
      if (!parsed.errors.empty()) return statusResponse(req, 400, "BadRequest", parsed.errors[0]);
      for (auto& o : parsed.objects) applyObject(std::move(o));
    } else if (op == "delete") {
      const auto r = resourceOfKind(t.param("kind"));
      if (!r) return statusResponse(req, 400, "BadRequest", "unknown kind");
      auto ev = store.remove(*r, {t.param("namespace"), t.param("name")});
      if (!ev) return statusResponse(req, 404, "NotFound", "no such object");
      publish(*ev);
    } else if (op == "compact") {
      store.compact();
    } else if (op == "bookmark") {
      bookmarkAll();
    } else if (op == "config") {
      if (!t.param("split").empty()) options.chunkSplit = std::stoul(t.param("split"));
      if (!t.param("watchList").empty()) options.watchList = t.param("watchList");
    } else if (op == "fault") {
      static const std::map<std::string, std::pair<Fault, unsigned>> kFaults = {
          {"drop", {Fault::kDrop, 0}},       {"500", {Fault::kStatus, 500}},
          {"429", {Fault::kStatus, 429}},    {"410", {Fault::kStatus, 410}},
          {"garbage", {Fault::kGarbage, 0}}, {"oversize", {Fault::kOversize, 0}},
          {"stall", {Fault::kStall, 0}},     {"expire", {Fault::kExpire, 0}},
          {"pause", {Fault::kPause, 0}}};
      const auto it = kFaults.find(t.param("kind"));
      if (it == kFaults.end()) return statusResponse(req, 400, "BadRequest", "unknown fault");
      const std::string count = t.param("count");
      const std::string size = t.param("size");
      injectFault(it->second.first, count.empty() ? 1u : static_cast<unsigned>(std::stoul(count)),
                  it->second.second, size.empty() ? (17u << 20) : std::stoul(size),
                  t.param("retryAfter"));
    } else if (op == "requests") {
      std::string body;
      for (const auto& r : requests) body += r + "\n";
      return makeResponse(req, http::status::ok, body);
    } else {
      return statusResponse(req, 404, "NotFound", "unknown control operation " + op);
    }
  } catch (const std::exception& e) {
    return statusResponse(req, 400, "BadRequest", e.what());
  }
  return makeResponse(
      req, http::status::ok,
      json::serialize(json::object{{"resourceVersion", std::to_string(store.rv())}}));
}

}  // namespace fakeapi
