#include "k8swatch/kubeconfig.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "k8swatch/http_client.h"

namespace fs = std::filesystem;
using namespace k8swatch;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("k8swatch-kc-" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

const char* kConfig = R"(
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c-prod
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    tls-server-name: kubernetes.default
- name: c-dev
  cluster:
    server: http://127.0.0.1:8080
    certificate-authority: ca.pem
- name: c-insecure
  cluster:
    server: https://10.0.0.2:6443
    insecure-skip-tls-verify: true
- name: c-both
  cluster:
    server: https://10.0.0.3:6443
    certificate-authority: ca.pem
    insecure-skip-tls-verify: true
- name: c-big
  cluster:
    server: https://10.0.0.4:6443
    certificate-authority: big.pem
- name: c-zero
  cluster:
    server: https://10.0.0.5:6443
    certificate-authority: /dev/zero
contexts:
- name: prod
  context: {cluster: c-prod, user: u-prod}
- name: dev
  context: {cluster: c-dev, user: u-dev}
- name: exec
  context: {cluster: c-dev, user: u-exec}
- name: half
  context: {cluster: c-dev, user: u-half}
- name: insecure
  context: {cluster: c-insecure, user: u-prod}
- name: both
  context: {cluster: c-both, user: u-prod}
- name: big
  context: {cluster: c-big, user: u-prod}
- name: zero
  context: {cluster: c-zero, user: u-prod}
- name: bigkey
  context: {cluster: c-insecure, user: u-bigkey}
users:
- name: u-prod
  user:
    token: " abc.def "
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
- name: u-dev
  user:
    tokenFile: tok
    client-certificate: cert.pem
    client-key: key.pem
- name: u-exec
  user:
    exec: {command: aws}
- name: u-half
  user:
    client-certificate-data: Y2VydA==
- name: u-bigkey
  user:
    client-certificate: cert.pem
    client-key: big.pem
)";

}  // namespace

TEST_CASE("kubeconfig: current context with inline data", "[kubeconfig]") {
  Dir d;
  const auto file = d.write("config", kConfig);
  const auto c = loadKubeconfig(file);
  CHECK(c.server == "https://10.0.0.1:6443");
  CHECK(c.caPem == "-----BEGIN CERTIFICATE-----\n");
  CHECK(c.tlsServerName == "kubernetes.default");
  CHECK(c.token == "abc.def");
  CHECK(c.clientCertPem == "cert");
  CHECK(c.clientKeyPem == "key");
  CHECK_FALSE(c.insecureSkipTlsVerify);
  CHECK_THAT(c.description, Catch::Contains("context prod"));
}

TEST_CASE("kubeconfig: named context with relative files", "[kubeconfig]") {
  Dir d;
  const auto file = d.write("config", kConfig);
  d.write("ca.pem", "CA");
  d.write("cert.pem", "CERT");
  d.write("key.pem", "KEY");
  const auto c = loadKubeconfig(file, "dev");
  CHECK(c.server == "http://127.0.0.1:8080");
  CHECK(c.caPem == "CA");
  CHECK(c.clientCertPem == "CERT");
  CHECK(c.clientKeyPem == "KEY");
  CHECK_FALSE(c.insecureSkipTlsVerify);
  CHECK(c.tokenFile == (d.path / "tok").string());
  d.write("tok", "  from-file\n");
  TokenSource tokens(c);
  CHECK(tokens.current() == "from-file");
  d.write("tok", "rotated-token\n");
  CHECK(tokens.current() == "rotated-token");
  fs::remove(d.path / "tok");
  CHECK(tokens.current() == "rotated-token");  // a vanished file keeps the last good token
}

TEST_CASE("kubeconfig: errors name the problem and never the token", "[kubeconfig]") {
  Dir d;
  const auto file = d.write("config", kConfig);
  d.write("ca.pem", "CA");
  d.write("key.pem", "KEY");
  CHECK_THROWS_WITH(loadKubeconfig(file, "nope"), Catch::Contains("context nope not found"));
  CHECK_THROWS_WITH(loadKubeconfig(file, "exec"), Catch::Contains("exec"));
  CHECK_THROWS_WITH(loadKubeconfig(file, "half"), Catch::Contains("without a key"));
  CHECK_THROWS_WITH(loadKubeconfig(file, "dev"), Catch::Contains("cert.pem"));  // missing file
  CHECK_THROWS_WITH(loadKubeconfig(d.path / "absent"), Catch::Contains("absent"));
  const auto bad = d.write("bad", "clusters: [unclosed\n");
  CHECK_THROWS_AS(loadKubeconfig(bad), ConfigError);
  try {
    loadKubeconfig(d.write("nocluster",
                           "current-context: x\ncontexts: [{name: x, context: "
                           "{cluster: gone, user: u}}]\nusers: [{name: u, user: "
                           "{token: SECRET}}]\n"));
    FAIL("expected an error");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), !Catch::Contains("SECRET"));
  }
}

TEST_CASE("kubeconfig: insecure-skip-tls-verify alone, and refused with a CA", "[kubeconfig]") {
  Dir d;
  const auto file = d.write("config", kConfig);
  d.write("ca.pem", "CA");
  const auto c = loadKubeconfig(file, "insecure");
  CHECK(c.insecureSkipTlsVerify);
  CHECK(c.caPem.empty());
  CHECK_FALSE(loadKubeconfig(file).insecureSkipTlsVerify);  // verification is on by default
  CHECK_THROWS_WITH(
      loadKubeconfig(file, "both"),
      Catch::Contains("certificate-authority cannot be combined with insecure-skip-tls-verify") &&
          Catch::Contains(file.string()));
}

TEST_CASE("kubeconfig: named files are read with a size limit", "[kubeconfig]") {
  Dir d;
  const auto file = d.write("config", kConfig);
  d.write("cert.pem", "CERT");
  d.write("big.pem", std::string(kMaxReferencedFile, 'x'));
  CHECK(loadKubeconfig(file, "big").caPem.size() == kMaxReferencedFile);  // at the limit: fine
  d.write("big.pem", std::string(kMaxReferencedFile + 1, 'x'));
  CHECK_THROWS_WITH(loadKubeconfig(file, "big"), Catch::Contains("certificate-authority") &&
                                                     Catch::Contains("big.pem") &&
                                                     Catch::Contains("larger than 1024 KiB"));
  CHECK_THROWS_WITH(loadKubeconfig(file, "bigkey"),
                    Catch::Contains("client-key") && Catch::Contains("larger than"));
  CHECK_THROWS_WITH(loadKubeconfig(file, "zero"), Catch::Contains("/dev/zero is larger than"));
  const auto huge = d.write("huge-config", std::string(kMaxKubeconfigFile + 1, '#'));
  CHECK_THROWS_WITH(loadKubeconfig(huge),
                    Catch::Contains("kubeconfig") && Catch::Contains("larger than"));

  // An oversized token file is not loaded; the last good token stays in use.
  ClusterConfig c;
  c.tokenFile = d.write("tok", "good-token\n").string();
  TokenSource tokens(c);
  CHECK(tokens.current() == "good-token");
  d.write("tok", std::string(kMaxReferencedFile + 1, 't'));
  CHECK(tokens.current() == "good-token");
}

TEST_CASE("kubeconfig: every token is handed to onToken before it is used", "[kubeconfig]") {
  Dir d;
  std::vector<std::string> seen;
  auto hook = [&](const std::string& t) { seen.push_back(t); };
  ClusterConfig fixed = loadKubeconfig(d.write("config", kConfig));
  fixed.onToken = hook;
  TokenSource staticTokens(fixed);
  CHECK(seen == std::vector<std::string>{"abc.def"});
  CHECK(staticTokens.current() == "abc.def");
  CHECK(seen.size() == 1);

  seen.clear();
  ClusterConfig rotating;
  rotating.tokenFile = d.write("tok", "first-token\n").string();
  rotating.onToken = hook;
  TokenSource fileTokens(rotating);
  CHECK(seen.empty());
  CHECK(fileTokens.current() == "first-token");
  CHECK(fileTokens.current() == "first-token");
  d.write("tok", "second-token-longer\n");
  CHECK(fileTokens.current() == "second-token-longer");
  CHECK(seen == std::vector<std::string>{"first-token", "second-token-longer"});
}

TEST_CASE("kubeconfig: in-cluster and --master", "[kubeconfig]") {
  Dir d;
  d.write("token", "sa-token\n");
  d.write("ca.crt", "CA");
  const auto c = inClusterConfig("10.96.0.1", "443", d.path);
  CHECK(c.server == "https://10.96.0.1:443");
  CHECK(c.caPem == "CA");
  CHECK(TokenSource(c).current() == "sa-token");
  CHECK(inClusterConfig("fd00::1", "443", d.path).server == "https://[fd00::1]:443");
  CHECK_THROWS_AS(inClusterConfig("", "", d.path), ConfigError);
  const auto m = resolveClusterConfig("", "http://127.0.0.1:8001/");
  CHECK(m.server == "http://127.0.0.1:8001");
  const auto file = d.write("config", kConfig);
  CHECK(resolveClusterConfig(file.string(), "https://override:1").server == "https://override:1");
}

TEST_CASE("kubeconfig: server URLs and base64", "[kubeconfig]") {
  const auto a = parseServerUrl("https://[fd00::1]:6443");
  CHECK(a.tls);
  CHECK(a.host == "fd00::1");
  CHECK(a.port == "6443");
  const auto b = parseServerUrl("http://example.test");
  CHECK_FALSE(b.tls);
  CHECK(b.port == "80");
  CHECK(b.hostHeader == "example.test");
  CHECK_THROWS_AS(parseServerUrl("ftp://x"), ConfigError);
  CHECK(decodeBase64("aGVsbG8gd29ybGQ=") == "hello world");
  CHECK(decodeBase64("aGVs\nbG8=") == "hello");
  CHECK_THROWS_AS(decodeBase64("a*b"), ConfigError);
  CHECK(urlEncode("!a=b,c/d") == "%21a%3Db%2Cc%2Fd");
}
