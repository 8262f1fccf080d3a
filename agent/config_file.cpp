#include "agent/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/config_codec.h"
#include "agent/log.h"
#include "k8swatch/yaml_json.h"

namespace agent {
namespace json = boost::json;
namespace {

// Small next to manifests: a KubeProxyConfiguration is a few dozen fields.
constexpr k8swatch::YamlLimits kConfigLimits{
    .maxDepth = 32, .maxNodes = 100'000, .maxBytes = std::size_t{4} << 20, .maxDocuments = 1};

std::string formatDouble(double d) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// A string goes out plain only if it would load back as the same string.
bool safePlain(const std::string& s) {
  if (s.empty() || !k8swatch::resolvePlainScalar(s, k8swatch::YamlSchema::kYaml11).is_string()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) ||
                              std::strchr("./:_-+@", c) != nullptr;
                     }) &&
         std::isalnum(static_cast<unsigned char>(s.front()));
}

void emit(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out << YAML::Null;
      break;
    case json::kind::bool_:
      out << v.get_bool();
      break;
    case json::kind::int64:
      out << v.get_int64();
      break;
    case json::kind::uint64:
      out << v.get_uint64();
      break;
    case json::kind::double_:
      out << formatDouble(v.get_double());
      break;
    case json::kind::string: {
      const std::string s(v.get_string());
      if (safePlain(s)) {
        out << s;
      } else {
        out << YAML::DoubleQuoted << s;
      }
      break;
    }
    case json::kind::array:
      out << YAML::BeginSeq;
      for (const auto& item : v.get_array()) emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      std::vector<std::string> keys;
      for (const auto& kv : o) keys.emplace_back(kv.key());
      std::sort(keys.begin(), keys.end());
      out << YAML::BeginMap;
      for (const auto& k : keys) {
        out << YAML::Key << k << YAML::Value;
        emit(out, o.at(k));
      }
      out << YAML::EndMap;
      break;
    }
  }
}

void redactStrings(json::value& v) {
  if (v.is_string()) {
    v = redactSecrets(v.get_string());
  } else if (v.is_array()) {
    for (auto& item : v.get_array()) redactStrings(item);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) redactStrings(kv.value());
  }
}

}  // namespace

Config parseConfigYaml(std::string_view yaml, std::vector<std::string>& warnings) {
  // YAML 1.1 scalars, the first document only: what sigs.k8s.io/yaml (go-yaml v2) reads.
  const k8swatch::YamlOptions options{.schema = k8swatch::YamlSchema::kYaml11,
                                      .limits = kConfigLimits,
                                      .firstDocumentOnly = true,
                                      .duplicateKeys = &warnings};
  std::vector<json::value> docs;
  try {
    docs = k8swatch::yamlToJson(yaml, options);
  } catch (const k8swatch::YamlError& e) {
    throw ConfigError("invalid YAML at line " + std::to_string(e.line()) + ", column " +
                      std::to_string(e.column()) + ": " + e.detail());
  }
  if (docs.empty() || docs.front().is_null()) throw ConfigError("the configuration is empty");
  if (!docs.front().is_object()) throw ConfigError("the configuration must be a YAML mapping");
  return configFromJson(docs.front().get_object(), warnings);
}

Config loadConfigFile(const std::string& path, std::vector<std::string>& warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("--config: cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parseConfigYaml(text.str(), warnings);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

std::string configToYaml(const Config& config) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);  // "null", as kube-proxy writes nil lists
  emit(out, configToJson(config));
  return std::string(out.c_str()) + "\n";
}

void writeConfigFile(const std::string& path, const Config& config) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << configToYaml(config);
  if (out) out.flush();
  if (!out) {
    throw ConfigError("--write-config-to: cannot write " + path + ": " + std::strerror(errno));
  }
}

std::string configzBody(const Config& config) {
  json::value tree = configToJson(config);
  redactStrings(tree);
  json::object body;
  body["kubeproxy.config.k8s.io"] = std::move(tree);
  return json::serialize(body);
}

}  // namespace agent
