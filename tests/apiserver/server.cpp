#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "k8swatch/manifest_source.h"
#include "tests/apiserver/server_impl.h"

namespace fakeapi {

namespace json = boost::json;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string urlDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace

Target parseTarget(std::string_view target) {
  Target t;
  const auto q = target.find('?');
  t.path = urlDecode(target.substr(0, q));
  std::string_view rest = q == std::string_view::npos ? "" : target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view kv = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    const auto eq = kv.find('=');
    t.query[urlDecode(kv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : urlDecode(kv.substr(eq + 1));
  }
  return t;
}

Response makeResponse(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response statusResponse(const Request& req, unsigned code, std::string_view reason,
                        const std::string& message) {
  json::object s{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
                 {"status", "Failure"}, {"message", message}, {"reason", reason},
                 {"code", code}};
  return makeResponse(req, static_cast<http::status>(code), json::serialize(s));
}

std::string watchEventLine(std::string_view type, const json::object& object) {
  json::object ev;
  ev["type"] = type;
  ev["object"] = object;
  return json::serialize(ev) + "\n";
}

void FakeApiServer::Impl::logRequest(std::string_view method, const std::string& target) {
  requests.push_back(target);
  // "METHOD TARGET", the format of tests/manifests/api_paths.txt, for the RBAC check.
  if (requestLog.is_open()) requestLog << method << ' ' << target << std::endl;
}

asio::awaitable<void> FakeApiServer::Impl::acceptLoop() {
  while (true) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> FakeApiServer::Impl::session(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    boost::system::error_code ec;
    co_await http::async_read(socket, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec) break;
    Request req = parser.release();
    if (!co_await handle(socket, req) || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<bool> FakeApiServer::Impl::handle(tcp::socket& socket, Request& req) {
  const Target t = parseTarget(req.target());
  Response res;
  bool keep = true;
  if (t.path.starts_with("/_control/")) {
    res = control(req, t);
  } else {
    logRequest(req.method_string(), std::string(req.target()));
    static const std::string kPrefixes[] = {"/api/v1/", "/apis/discovery.k8s.io/v1/"};
    std::string rest;
    for (const auto& p : kPrefixes) {
      if (t.path.starts_with(p)) rest = t.path.substr(p.size());
    }
    std::string ns;
    if (rest.starts_with("namespaces/")) {
      const auto slash = rest.find('/', 11);
      ns = rest.substr(11, slash == std::string::npos ? std::string::npos : slash - 11);
      rest = slash == std::string::npos ? "" : rest.substr(slash + 1);
    }
    std::optional<Resource> r;
    if (rest == "services" && t.path.starts_with("/api/v1/")) r = Resource::kServices;
    if (rest == "nodes" && t.path.starts_with("/api/v1/") && ns.empty()) r = Resource::kNodes;
    if (rest == "endpointslices" && t.path.starts_with("/apis/")) r = Resource::kEndpointSlices;
    const auto auth = req[http::field::authorization];
    if (!options.token.empty() && auth != "Bearer " + options.token) {
      res = statusResponse(req, 401, "Unauthorized", "Unauthorized");
    } else if (stallFaults > 0) {
      --stallFaults;
      asio::steady_timer forever(ioc, asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await forever.async_wait(redirect_error(use_awaitable, ec));
      co_return false;
    } else if (statusFaults > 0) {
      --statusFaults;
      res = statusResponse(req, statusFaultCode,
                           statusFaultCode == 429 ? "TooManyRequests" : "InternalError",
                           "injected fault " + std::to_string(statusFaultCode));
      if (!statusFaultRetryAfter.empty()) res.set(http::field::retry_after, statusFaultRetryAfter);
    } else if (!r || req.method() != http::verb::get) {
      res = statusResponse(req, 404, "NotFound", "the server could not find " + t.path);
    } else if (t.param("watch") == "true" || t.param("watch") == "1") {
      co_return co_await apiWatch(socket, req, t, *r, ns);
    } else {
      res = apiList(req, t, *r, ns);
    }
  }
  boost::system::error_code ec;
  co_await http::async_write(socket, res, redirect_error(use_awaitable, ec));
  co_return keep && !ec;
}

asio::awaitable<void> FakeApiServer::Impl::bookmarkLoop() {
  asio::steady_timer timer(ioc);
  while (true) {
    timer.expires_after(options.bookmarkInterval);
    boost::system::error_code ec;
    co_await timer.async_wait(redirect_error(use_awaitable, ec));
    if (ec) co_return;
    bookmarkAll();
  }
}

void FakeApiServer::Impl::pushAll(const std::string& bytes) {
  for (auto& w : watches) {
    w->queue.push_back(bytes);
    w->wake.cancel();
  }
}

void FakeApiServer::Impl::bookmarkAll() {
  for (auto& w : watches) {
    if (!w->bookmarks || w->paused) continue;  // a paused watch is silent, as across a partition
    json::object obj{{"kind", resourceKind(w->resource)},
                     {"apiVersion", resourceApiVersion(w->resource)},
                     {"metadata", {{"resourceVersion", std::to_string(store.rv())}}}};
    w->queue.push_back(watchEventLine("BOOKMARK", obj));
    w->wake.cancel();
  }
}

std::uint64_t FakeApiServer::Impl::applyObject(json::object obj) {
  k8swatch::defaultNamespace(obj);
  std::string error;
  auto ev = store.apply(std::move(obj), error);
  if (!ev) throw std::runtime_error("apply: " + error);
  publish(*ev);
  return ev->rv;
}

FakeApiServer::FakeApiServer(ServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

FakeApiServer::~FakeApiServer() { stop(); }

void FakeApiServer::start() {
  auto& im = *impl_;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), options_.port);
  im.acceptor.open(ep.protocol());
  im.acceptor.set_option(tcp::acceptor::reuse_address(true));
  im.acceptor.bind(ep);
  im.acceptor.listen();
  port_ = im.acceptor.local_endpoint().port();
  if (!options_.requestLogPath.empty()) {
    im.requestLog.open(options_.requestLogPath, std::ios::app);
    if (!im.requestLog) throw std::runtime_error("cannot open " + options_.requestLogPath);
  }
  asio::co_spawn(im.ioc, im.acceptLoop(), asio::detached);
  if (options_.bookmarkInterval.count() > 0) {
    asio::co_spawn(im.ioc, im.bookmarkLoop(), asio::detached);
  }
  im.thread = std::thread([&im] { im.ioc.run(); });
}

void FakeApiServer::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
  // A fresh Impl: the old io_context takes its suspended sessions with it.
  impl_ = std::make_unique<Impl>(options_);
}

std::uint64_t FakeApiServer::apply(const json::object& object) {
  return applyText(json::serialize(object), true);
}

std::uint64_t FakeApiServer::applyText(std::string_view text, bool isJson) {
  auto parsed = k8swatch::parseManifestObjects(text, isJson, "apply");
  if (!parsed.errors.empty()) throw std::runtime_error(parsed.errors.front());
  return impl_->run([&] {
    std::uint64_t rv = impl_->store.rv();
    for (auto& o : parsed.objects) rv = impl_->applyObject(std::move(o));
    return rv;
  });
}

std::uint64_t FakeApiServer::loadManifests(const std::string& path) {
  auto parsed = k8swatch::readManifestObjects(path);
  if (!parsed.errors.empty()) throw std::runtime_error(parsed.errors.front());
  return impl_->run([&] {
    std::uint64_t rv = impl_->store.rv();
    for (auto& o : parsed.objects) rv = impl_->applyObject(std::move(o));
    return rv;
  });
}

bool FakeApiServer::remove(std::string_view kind, std::string_view ns, std::string_view name) {
  return impl_->run([&] {
    const auto r = resourceOfKind(kind);
    if (!r) return false;
    auto ev =
        impl_->store.remove(*r, {std::string(r == Resource::kNodes ? "" : ns), std::string(name)});
    if (ev) impl_->publish(*ev);
    return ev.has_value();
  });
}

void FakeApiServer::compact() {
  impl_->run([&] { impl_->store.compact(); });
}

void FakeApiServer::Impl::injectFault(Fault kind, unsigned count, unsigned status, std::size_t size,
                                      std::string retryAfter) {
  auto& im = *this;
  switch (kind) {
    case Fault::kDrop:
      for (auto& w : im.watches) w->drop = true, w->wake.cancel();
      break;
    case Fault::kStatus:
      im.statusFaults = count;
      im.statusFaultCode = status;
      im.statusFaultRetryAfter = std::move(retryAfter);
      break;
    case Fault::kGarbage:
      im.pushAll("{\"type\":\"ADDED\",\"object\":{\"kind\":nope}}\n");
      break;
    case Fault::kOversize: {
      const std::string head =
          R"({"type":"MODIFIED","object":{"kind":"Service","metadata":{"name":"huge",)"
          R"("namespace":"default"},"padding":")";
      im.pushAll(head + std::string(size > head.size() ? size - head.size() : 1, 'x') + "\"}}\n");
      break;
    }
    case Fault::kStall:
      im.stallFaults = count;
      break;
    case Fault::kPause:
      for (auto& w : im.watches) w->paused = true;
      break;
    case Fault::kExpire: {
      const json::object expired{{"kind", "Status"},
                                 {"apiVersion", "v1"},
                                 {"status", "Failure"},
                                 {"reason", "Expired"},
                                 {"message", "too old resource version"},
                                 {"code", 410}};
      im.pushAll(watchEventLine("ERROR", expired));
      for (auto& w : im.watches) w->end = true;
      break;
    }
  }
}

void FakeApiServer::fault(Fault kind, unsigned count, unsigned status, std::size_t size,
                          std::string retryAfter) {
  impl_->run([&] { impl_->injectFault(kind, count, status, size, std::move(retryAfter)); });
}

void FakeApiServer::bookmarkNow() {
  impl_->run([&] { impl_->bookmarkAll(); });
}

void FakeApiServer::setChunkSplit(std::size_t bytes) {
  impl_->run([&] { options_.chunkSplit = bytes; });
}

void FakeApiServer::setWatchList(std::string mode) {
  impl_->run([&] { options_.watchList = std::move(mode); });
}

std::uint64_t FakeApiServer::resourceVersion() {
  return impl_->run([&] { return impl_->store.rv(); });
}

std::vector<std::string> FakeApiServer::requests() {
  return impl_->run([&] { return impl_->requests; });
}

std::size_t FakeApiServer::openWatches() {
  return impl_->run([&] { return impl_->watches.size(); });
}

}  // namespace fakeapi
