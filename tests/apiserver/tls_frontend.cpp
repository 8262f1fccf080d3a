#include "tests/apiserver/tls_frontend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace fakeapi {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

struct TlsFrontend::Impl {
  ssl::context ctx{ssl::context::tls_server};
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t backend = 0;
  std::thread thread;

  // Copies one direction until either side closes, then closes both.
  template <class From, class To>
  static asio::awaitable<void> pump(std::shared_ptr<From> from, std::shared_ptr<To> to,
                                    tcp::socket& plain) {
    char buf[16384];
    while (true) {
      boost::system::error_code ec;
      const std::size_t n =
          co_await from->async_read_some(asio::buffer(buf), redirect_error(use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(*to, asio::buffer(buf, n), redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    boost::system::error_code ignored;
    plain.close(ignored);  // ends the other direction too
  }

  asio::awaitable<void> connection(tcp::socket client) {
    auto tls = std::make_shared<ssl::stream<tcp::socket>>(std::move(client), ctx);
    boost::system::error_code ec;
    co_await tls->async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
    if (ec) co_return;  // e.g. the client rejected our certificate
    auto plain = std::make_shared<tcp::socket>(ioc);
    co_await plain->async_connect({asio::ip::make_address("127.0.0.1"), backend},
                                  redirect_error(use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(ioc, pump(plain, tls, *plain), asio::detached);
    co_await pump(tls, plain, *plain);
  }

  asio::awaitable<void> acceptLoop() {
    while (true) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(redirect_error(use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(ioc, connection(std::move(s)), asio::detached);
    }
  }
};

TlsFrontend::TlsFrontend(const std::string& certPem, const std::string& keyPem,
                         std::uint16_t backendPort)
    : impl_(std::make_unique<Impl>()) {
  impl_->ctx.use_certificate_chain(asio::buffer(certPem));
  impl_->ctx.use_private_key(asio::buffer(keyPem), ssl::context::pem);
  impl_->backend = backendPort;
}

TlsFrontend::~TlsFrontend() { stop(); }

void TlsFrontend::start() {
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->acceptLoop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void TlsFrontend::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
}

}  // namespace fakeapi
