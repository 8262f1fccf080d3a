#pragma once
// Where the API server is and how to authenticate: from a kubeconfig file (yaml-cpp), from the
// in-cluster service account, and `--master` overriding the server. Read at start-up only:
// errors throw ConfigError with a message naming the file and field (the agent exits 1).
// Bearer tokens live only in ClusterConfig/TokenSource and are never formatted into messages;
// ClusterConfig::onToken hands each one to the logger's masking. Every file is read with a size
// limit, and a CA combined with insecure-skip-tls-verify is refused, as client-go does.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "k8swatch/config_error.h"

namespace k8swatch {

struct ClusterConfig {
  std::string server;  // "https://host:port" or "http://host:port", no trailing slash
  std::string caPem;   // PEM bundle; empty: the system store
  std::string clientCertPem;
  std::string clientKeyPem;
  std::string token;      // a static bearer token
  std::string tokenFile;  // re-read on rotation; wins over `token` when set
  bool insecureSkipTlsVerify = false;
  std::string tlsServerName;  // overrides the name checked in the server certificate
  std::string description;    // "kubeconfig /x context c" or "in-cluster", for logs
  // Called with every bearer token value before it is first used (the static token, and each
  // new content of tokenFile), so the caller can mask it in its logs. May be null.
  std::function<void(const std::string& token)> onToken;
};

// Files named in a kubeconfig (CA, client certificate and key, token file) and the service
// account's files are refused above this size; the kubeconfig itself above kMaxKubeconfigFile.
inline constexpr std::size_t kMaxReferencedFile = 1 << 20;
inline constexpr std::size_t kMaxKubeconfigFile = 4 << 20;

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// Loads `path`, using `context` (or current-context when empty). Relative file paths in the
// kubeconfig are resolved against its directory, as kubectl does.
ClusterConfig loadKubeconfig(const std::filesystem::path& path, const std::string& context = "");

// In-cluster: https://host:port with the service account's token file and ca.crt.
ClusterConfig inClusterConfig(const std::string& host, const std::string& port,
                              const std::filesystem::path& saDir = kServiceAccountDir);

// The agent's rule (client-go's BuildConfigFromFlags): a kubeconfig if given; else in-cluster
// from KUBERNETES_SERVICE_HOST/PORT; `master`, when set, overrides the server (alone it is
// enough: an unauthenticated config).
ClusterConfig resolveClusterConfig(const std::string& kubeconfigPath, const std::string& master);

// Bytes of a base64 text (the *-data fields). Throws ConfigError on bad input.
std::string decodeBase64(std::string_view text);

// The bearer token to send now. A token file is re-read when its modification time or size
// changes (bound service-account tokens rotate about hourly). Thread-safe.
class TokenSource {
 public:
  TokenSource() = default;
  explicit TokenSource(const ClusterConfig& config);
  std::string current();
  bool empty() const { return token_.empty() && file_.empty(); }

 private:
  std::mutex mutex_;
  std::string token_;
  std::filesystem::path file_;
  std::filesystem::file_time_type mtime_{};
  std::uintmax_t size_ = 0;
  std::function<void(const std::string&)> onToken_;
};

}  // namespace k8swatch
