#include "bench/sched/hold_session.h"

#include <boost/json.hpp>
#include <ostream>

#include "bench/sched/http.h"

namespace bench::sched {

HoldSession::HoldSession(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint target,
                         std::vector<boost::asio::ip::address> sources, std::size_t count,
                         std::chrono::milliseconds timeout, std::ostream& out)
    : io_(io),
      target_(std::move(target)),
      sources_(std::move(sources)),
      count_(count),
      timeout_(timeout),
      out_(out) {}

boost::asio::awaitable<void> HoldSession::round() {
  const std::string host = target_.address().to_string() + ":" + std::to_string(target_.port());
  const std::string request = formatRequest(host, true);
  if (round_ == 0) {
    for (std::size_t i = 0; i < count_; ++i) {
      Held h{std::make_shared<ClientConnection>(io_), {}, {}, false};
      std::optional<boost::asio::ip::tcp::endpoint> source;
      if (!sources_.empty()) source.emplace(sources_[i % sources_.size()], 0);
      if (co_await h.conn->connect(target_, source, timeout_)) h.failed = true;
      h.local = h.conn->localEndpoint();
      held_.push_back(std::move(h));
    }
  }
  boost::json::array conns;
  for (auto& h : held_) {
    std::string backend;
    std::string failure = h.failed ? "closed" : "";
    if (!h.failed) {
      const auto r = co_await h.conn->exchange(request, timeout_);
      if (r.failure) {
        failure = failureName(*r.failure);
        h.failed = true;
        h.conn->abort();
      } else {
        backend = r.backend;
        if (round_ == 0) h.first = backend;
      }
    }
    conns.push_back(boost::json::object{
        {"local", h.local}, {"first", h.first}, {"backend", backend}, {"failure", failure}});
  }
  out_ << boost::json::serialize(boost::json::object{{"round", round_}, {"conns", conns}})
       << std::endl;
  ++round_;
}

void HoldSession::closeAll() {
  // An RST: IPVS then keeps the connection for its CLOSE timeout (10 s) instead of TIME_WAIT's
  // 2 minutes, so the agent's graceful deletion of a drained backend does not wait that long.
  for (auto& h : held_) h.conn->abort();
  held_.clear();
}

}  // namespace bench::sched
