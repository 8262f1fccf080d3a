#include "k8swatch/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace k8swatch {

namespace fs = std::filesystem;

namespace {

// Reads at most `limit` bytes: a kubeconfig may name any file (/dev/zero, a huge log), and
// the agent must fail clearly rather than exhaust its memory limit.
std::string readFile(const fs::path& p, const std::string& what, std::size_t limit) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw ConfigError("cannot read " + what + " " + p.string());
  std::string out;
  std::array<char, 64 * 1024> piece{};
  while (in && out.size() <= limit) {
    in.read(piece.data(), piece.size());
    out.append(piece.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw ConfigError("cannot read " + what + " " + p.string());
  if (out.size() > limit) {
    throw ConfigError(what + " " + p.string() + " is larger than " + std::to_string(limit >> 10) +
                      " KiB");
  }
  return out;
}

fs::path resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  return path.is_absolute() ? path : base / path;
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// The named entry of a kubeconfig list (clusters, users, contexts). A default YAML::Node is a
// defined null, so absence is reported through optional, not through the node.
std::optional<YAML::Node> findNamed(const YAML::Node& list, const std::string& name,
                                    const char* field) {
  if (!list || !list.IsSequence()) return std::nullopt;
  for (const auto& item : list) {
    const YAML::Node n = item["name"];
    if (n && n.IsScalar() && n.Scalar() == name && item[field] && item[field].IsMap()) {
      return item[field];
    }
  }
  return std::nullopt;
}

std::string scalar(const YAML::Node& parent, const char* key) {
  const YAML::Node n = parent[key];
  return n && n.IsScalar() ? n.as<std::string>() : std::string();
}

// A PEM from `<key>-data` (base64) or `<key>` (a path).
std::string pemField(const YAML::Node& node, const std::string& key, const fs::path& base) {
  const std::string data = scalar(node, (key + "-data").c_str());
  if (!data.empty()) return decodeBase64(data);
  const std::string file = scalar(node, key.c_str());
  return file.empty() ? std::string() : readFile(resolve(base, file), key, kMaxReferencedFile);
}

void readCluster(const YAML::Node& cluster, const fs::path& base, ClusterConfig& out) {
  out.server = scalar(cluster, "server");
  while (!out.server.empty() && out.server.back() == '/') out.server.pop_back();
  out.caPem = pemField(cluster, "certificate-authority", base);
  out.tlsServerName = scalar(cluster, "tls-server-name");
  const YAML::Node skip = cluster["insecure-skip-tls-verify"];
  out.insecureSkipTlsVerify = skip && skip.IsScalar() && skip.as<bool>();
  // client-go refuses this pair: a CA that would never be checked is a configuration mistake.
  if (out.insecureSkipTlsVerify && !out.caPem.empty()) {
    throw ConfigError("certificate-authority cannot be combined with insecure-skip-tls-verify");
  }
}

void readUser(const YAML::Node& user, const fs::path& base, ClusterConfig& out,
              const std::string& name) {
  out.clientCertPem = pemField(user, "client-certificate", base);
  out.clientKeyPem = pemField(user, "client-key", base);
  out.token = trimmed(scalar(user, "token"));
  const std::string tokenFile = scalar(user, "tokenFile");
  if (!tokenFile.empty()) out.tokenFile = resolve(base, tokenFile).string();
  const bool hasCreds = !out.token.empty() || !out.tokenFile.empty() || !out.clientCertPem.empty();
  if (!hasCreds && (user["exec"] || user["auth-provider"])) {
    throw ConfigError("user " + name + " uses exec or auth-provider credentials, which " +
                      "ipvs-agent does not support: use a token, tokenFile or client certificate");
  }
  if (out.clientCertPem.empty() != out.clientKeyPem.empty()) {
    throw ConfigError("user " + name + " has a client certificate without a key or vice versa");
  }
}

}  // namespace

std::string decodeBase64(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') break;
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) throw ConfigError("invalid base64 data");
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  return out;
}

ClusterConfig loadKubeconfig(const fs::path& path, const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::Load(readFile(path, "kubeconfig", kMaxKubeconfigFile));
  } catch (const YAML::Exception& e) {
    throw ConfigError("kubeconfig " + path.string() + ":" + std::to_string(e.mark.line + 1) + ": " +
                      e.msg);
  }
  const fs::path base = path.parent_path();
  try {
    const std::string ctxName = context.empty() ? scalar(root, "current-context") : context;
    if (ctxName.empty()) throw ConfigError("no current-context");
    const auto ctx = findNamed(root["contexts"], ctxName, "context");
    if (!ctx) throw ConfigError("context " + ctxName + " not found");
    const std::string clusterName = scalar(*ctx, "cluster");
    const std::string userName = scalar(*ctx, "user");
    const auto cluster = findNamed(root["clusters"], clusterName, "cluster");
    if (!cluster) throw ConfigError("cluster " + clusterName + " not found");
    ClusterConfig out;
    readCluster(*cluster, base, out);
    if (!userName.empty()) {
      const auto user = findNamed(root["users"], userName, "user");
      if (!user) throw ConfigError("user " + userName + " not found");
      readUser(*user, base, out, userName);
    }
    out.description = "kubeconfig " + path.string() + " context " + ctxName;
    return out;
  } catch (const ConfigError& e) {
    throw ConfigError("kubeconfig " + path.string() + ": " + e.what());
  } catch (const YAML::Exception& e) {
    throw ConfigError("kubeconfig " + path.string() + ": " + e.msg);
  }
}

ClusterConfig inClusterConfig(const std::string& host, const std::string& port,
                              const fs::path& saDir) {
  if (host.empty() || port.empty()) {
    throw ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  ClusterConfig out;
  const bool v6 = host.find(':') != std::string::npos;
  out.server = "https://" + (v6 ? "[" + host + "]" : host) + ":" + port;
  out.tokenFile = (saDir / "token").string();
  if (!fs::exists(out.tokenFile)) throw ConfigError("no service account token " + out.tokenFile);
  out.caPem = readFile(saDir / "ca.crt", "service account CA", kMaxReferencedFile);
  out.description = "in-cluster";
  return out;
}

ClusterConfig resolveClusterConfig(const std::string& kubeconfigPath, const std::string& master) {
  ClusterConfig out;
  if (!kubeconfigPath.empty()) {
    out = loadKubeconfig(kubeconfigPath);
  } else if (master.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    out = inClusterConfig(host ? host : "", port ? port : "");
  }
  if (!master.empty()) {
    out.server = master;
    while (!out.server.empty() && out.server.back() == '/') out.server.pop_back();
    out.description += (out.description.empty() ? "" : ", ") + std::string("--master ") + master;
  }
  if (out.server.empty()) throw ConfigError("no API server address in " + out.description);
  return out;
}

TokenSource::TokenSource(const ClusterConfig& config)
    : token_(config.token), file_(config.tokenFile), onToken_(config.onToken) {
  if (!token_.empty() && onToken_) onToken_(token_);
}

std::string TokenSource::current() {
  std::lock_guard lock(mutex_);
  if (file_.empty()) return token_;
  std::error_code ec;
  const auto mtime = fs::last_write_time(file_, ec);
  const auto size = ec ? 0 : fs::file_size(file_, ec);
  if (!ec && (mtime != mtime_ || size != size_ || token_.empty())) {
    try {
      std::string token = trimmed(readFile(file_, "token file", kMaxReferencedFile));
      if (token != token_ && onToken_ && !token.empty()) onToken_(token);  // masked before use
      token_ = std::move(token);
      mtime_ = mtime;
      size_ = size;
    } catch (const ConfigError&) {  // unreadable or oversized: keep the last good token
    }
  }
  return token_;
}

}  // namespace k8swatch
