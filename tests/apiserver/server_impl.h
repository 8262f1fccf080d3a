#pragma once
// Internals of FakeApiServer shared by server.cpp (lifecycle, sessions, control endpoints) and
// server_api.cpp (LIST and WATCH). Everything here runs on the server's io thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <deque>
#include <fstream>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <thread>

#include "tests/apiserver/server.h"
#include "tests/apiserver/store.h"

namespace fakeapi {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Target {
  std::string path;
  std::map<std::string, std::string> query;  // decoded
  std::string param(const std::string& k) const {
    const auto it = query.find(k);
    return it == query.end() ? std::string() : it->second;
  }
};
Target parseTarget(std::string_view target);

struct WatchState {
  explicit WatchState(asio::io_context& ioc) : wake(ioc) {}
  Resource resource = Resource::kServices;
  std::string ns;
  Selector selector;
  bool bookmarks = false;
  std::deque<std::string> queue;  // serialized events or raw bytes, written in order
  asio::steady_timer wake;
  bool drop = false;    // cut the connection without the final chunk
  bool end = false;     // finish the stream cleanly after the queue drains
  bool paused = false;  // neither changes nor bookmarks are delivered (Fault::kPause)
};

struct FakeApiServer::Impl {
  explicit Impl(ServerOptions& o) : options(o), acceptor(ioc) {}

  // Runs f on the io thread and waits for its result (directly when already there).
  template <class F>
  auto run(F&& f) -> decltype(f()) {
    if (thread.get_id() == std::this_thread::get_id() || !thread.joinable()) return f();
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto result = task.get_future();
    asio::post(ioc, [&task] { task(); });
    return result.get();
  }

  asio::awaitable<void> acceptLoop();
  asio::awaitable<void> session(tcp::socket socket);
  asio::awaitable<void> bookmarkLoop();
  // Returns false when the connection must close (after a watch or a stall).
  asio::awaitable<bool> handle(tcp::socket& socket, Request& req);
  Response control(const Request& req, const Target& t);
  Response apiList(const Request& req, const Target& t, Resource r, const std::string& ns);
  asio::awaitable<bool> apiWatch(tcp::socket& socket, const Request& req, const Target& t,
                                 Resource r, const std::string& ns);

  void queueInitialEvents(WatchState& ws, const Target& t, std::uint64_t from);
  std::uint64_t applyObject(boost::json::object obj);  // throws runtime_error
  void publish(const Event& ev);
  void bookmarkAll();
  void injectFault(Fault kind, unsigned count, unsigned status, std::size_t size,
                   std::string retryAfter);
  void pushAll(const std::string& bytes);
  void logRequest(std::string_view method, const std::string& target);

  ServerOptions& options;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  Store store;
  std::list<std::shared_ptr<WatchState>> watches;
  std::vector<std::string> requests;
  std::ofstream requestLog;
  unsigned statusFaults = 0;
  unsigned statusFaultCode = 500;
  std::string statusFaultRetryAfter;  // "" : no Retry-After header
  unsigned stallFaults = 0;
  std::thread thread;
};

Response makeResponse(const Request& req, http::status status, std::string body);
Response statusResponse(const Request& req, unsigned code, std::string_view reason,
                        const std::string& message);
// One watch event line: {"type":..,"object":..}\n
std::string watchEventLine(std::string_view type, const boost::json::object& object);

}  // namespace fakeapi
