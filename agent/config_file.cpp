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

namespace agent {
namespace json = boost::json;
namespace {

bool isOneOf(std::string_view s, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

std::optional<json::value> parseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view body = s.front() == '+' ? s.substr(1) : s;
  if (body.empty() || !(std::isdigit(static_cast<unsigned char>(body.front())) ||
                        body.front() == '-' || body.front() == '.')) {
    return std::nullopt;
  }
  const char* end = body.data() + body.size();
  std::int64_t i = 0;
  if (auto r = std::from_chars(body.data(), end, i); r.ec == std::errc{} && r.ptr == end) return i;
  double d = 0;
  if (auto r = std::from_chars(body.data(), end, d); r.ec == std::errc{} && r.ptr == end) return d;
  return std::nullopt;
}

// YAML 1.1 resolution of an untagged plain scalar, as go-yaml v2 (under sigs.k8s.io/yaml) does.
json::value resolvePlain(const std::string& s) {
  if (isOneOf(s, {"", "~", "null", "Null", "NULL"})) return nullptr;
  if (isOneOf(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON"})) {
    return true;
  }
  if (isOneOf(s, {"false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF"})) {
    return false;
  }
  if (auto n = parseNumber(s)) return *n;
  return json::value(s);
}

json::value yamlToJson(const YAML::Node& n, const std::string& path,
                       std::vector<std::string>& warnings) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return json::value(n.Scalar());
      return resolvePlain(n.Scalar());
    case YAML::NodeType::Sequence: {
      json::array a;
      for (std::size_t i = 0; i < n.size(); ++i) {
        a.push_back(yamlToJson(n[i], path + "[" + std::to_string(i) + "]", warnings));
      }
      return a;
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) throw ConfigError(path + ": mapping keys must be strings");
        const std::string& key = kv.first.Scalar();
        const std::string child = path.empty() ? key : path + "." + key;
        if (o.contains(key))
          warnings.push_back("duplicate field \"" + child + "\": the last one wins");
        o[key] = yamlToJson(kv.second, child, warnings);
      }
      return o;
    }
  }
  return nullptr;
}

std::string formatDouble(double d) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// A string goes out plain only if it would load back as the same string.
bool safePlain(const std::string& s) {
  if (s.empty() || !resolvePlain(s).is_string()) return false;
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
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw ConfigError("invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) throw ConfigError("the configuration is empty");
  if (!root.IsMap()) throw ConfigError("the configuration must be a YAML mapping");
  const json::value tree = yamlToJson(root, "", warnings);
  return configFromJson(tree.get_object(), warnings);
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
