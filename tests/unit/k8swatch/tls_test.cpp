#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "k8swatch/http_client.h"
#include "k8swatch/watcher.h"
#include "tests/apiserver/server.h"
#include "tests/apiserver/tls_frontend.h"
#include "tests/unit/k8swatch/test_cert.h"
#include "tests/unit/k8swatch/watch_test_util.h"

namespace json = boost::json;
using namespace std::chrono_literals;
using k8stest::RecordingSink;
using k8swatch::ResourceKind;

namespace {

struct TlsHarness {
  TlsHarness() {
    server.apply(json::parse(R"({"kind":"Service","metadata":{"name":"web","namespace":"default"},
      "spec":{"clusterIP":"10.0.0.1","ports":[{"port":443}]}})")
                     .as_object());
    server.start();
    front = std::make_unique<fakeapi::TlsFrontend>(cert.certPem, cert.keyPem, server.port());
    front->start();
  }
  k8swatch::ClusterConfig config(const std::string& host = "127.0.0.1") const {
    k8swatch::ClusterConfig c;
    c.server = "https://" + host + ":" + std::to_string(front->port());
    c.caPem = cert.certPem;
    return c;
  }
  std::unique_ptr<k8swatch::Watcher> watch(const k8swatch::ClusterConfig& c) {
    k8swatch::WatcherOptions o;
    k8stest::RecordingClock::use(clock, o);
    o.random = [] { return 0.0; };
    o.log = [](k8swatch::LogLevel, const std::string&) {};
    auto w = std::make_unique<k8swatch::Watcher>(c, o, sink);
    w->start();
    return w;
  }

  k8stest::TestCert cert = k8stest::makeSelfSigned("apiserver", "IP:127.0.0.1,DNS:localhost");
  fakeapi::FakeApiServer server{fakeapi::ServerOptions{}};
  std::unique_ptr<fakeapi::TlsFrontend> front;
  std::shared_ptr<k8stest::RecordingClock> clock = std::make_shared<k8stest::RecordingClock>();
  RecordingSink sink;
};

bool failsVerification(TlsHarness& h, const k8swatch::ClusterConfig& c) {
  auto w = h.watch(c);
  const bool failed = h.sink.waitFor([&] { return h.clock->sleeps().size() >= 3; });
  const auto stats = w->stats();
  w->stop();
  INFO(stats.lastError);
  CHECK_THAT(stats.lastError, Catch::Contains("certificate verify failed"));
  return failed && h.sink.locked([&] { return h.sink.services.empty(); });
}

}  // namespace

TEST_CASE("tls: a trusted certificate for the address is accepted", "[tls]") {
  TlsHarness h;
  auto w = h.watch(h.config());
  REQUIRE(h.sink.waitFor([&] { return h.sink.services.count("default/web") == 1; }));
  REQUIRE(h.sink.waitFor([&] { return w->stats().of(ResourceKind::kService).watches > 0; }));
  // Live events flow through TLS too.
  h.server.apply(json::parse(R"({"kind":"Service","metadata":{"name":"later","namespace":"default"},
      "spec":{"clusterIP":"10.0.0.2","ports":[{"port":80}]}})")
                     .as_object());
  REQUIRE(h.sink.waitLog("svc+ default/later"));
  w->stop();
  // A DNS name in the certificate also matches.
  TlsHarness h2;
  auto w2 = h2.watch(h2.config("localhost"));
  REQUIRE(h2.sink.waitFor([&] { return h2.sink.services.count("default/web") == 1; }));
}

TEST_CASE("tls: an untrusted CA is refused", "[tls]") {
  TlsHarness h;
  auto c = h.config();
  c.caPem = k8stest::makeSelfSigned("someone-else", "IP:127.0.0.1").certPem;
  CHECK(failsVerification(h, c));
}

TEST_CASE("tls: a name the certificate does not carry is refused", "[tls]") {
  TlsHarness h;
  auto c = h.config();
  c.tlsServerName = "kubernetes.default.svc";
  CHECK(failsVerification(h, c));
}

TEST_CASE("tls: without a CA the system store is used, and it does not trust a stranger", "[tls]") {
  TlsHarness h;
  auto c = h.config();
  c.caPem.clear();  // verification stays on unless insecure-skip-tls-verify says otherwise
  CHECK(failsVerification(h, c));
}

TEST_CASE("tls: insecure-skip-tls-verify accepts any certificate", "[tls]") {
  TlsHarness h;
  auto c = h.config();
  c.caPem.clear();
  c.insecureSkipTlsVerify = true;
  auto w = h.watch(c);
  REQUIRE(h.sink.waitFor([&] { return h.sink.services.count("default/web") == 1; }));
}

TEST_CASE("tls: a CA together with insecure-skip-tls-verify is refused, as client-go does",
          "[tls]") {
  TlsHarness h;
  auto c = h.config();
  c.insecureSkipTlsVerify = true;
  CHECK_THROWS_WITH(k8swatch::ApiEndpoint(c),
                    Catch::Contains("cannot be combined with insecure-skip-tls-verify"));
}
