#include "k8swatch/yaml_json.h"

#include <algorithm>
#include <boost/json/parser.hpp>
#include <boost/json/stream_parser.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>

namespace k8swatch {

namespace json = boost::json;

namespace {

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

std::optional<json::value> parseInteger(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.starts_with("0x")) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.starts_with("0o")) {
    base = 8;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  std::uint64_t u = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), u, base);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return std::nullopt;  // falls through to float
  if (!negative) {
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return json::value(static_cast<std::int64_t>(u));
    }
    return json::value(u);
  }
  if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
    return std::nullopt;
  }
  return json::value(static_cast<std::int64_t>(0 - u));
}

std::optional<json::value> parseFloat(std::string_view s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") {
    return json::value(std::numeric_limits<double>::infinity());
  }
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") {
    return json::value(-std::numeric_limits<double>::infinity());
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return json::value(std::nan(""));
  if (s.empty() || s.find_first_of("0123456789") == std::string_view::npos) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double d = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return json::value(d);
}

json::value resolveCore(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (auto i = parseInteger(s)) return *i;
  if (auto d = parseFloat(s)) return *d;
  return json::string(s);
}

bool isOneOf(std::string_view s, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

std::optional<json::value> parseNumber11(std::string_view s) {
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
json::value resolveYaml11(const std::string& s) {
  if (isOneOf(s, {"", "~", "null", "Null", "NULL"})) return nullptr;
  if (isOneOf(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON"})) {
    return true;
  }
  if (isOneOf(s, {"false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF"})) {
    return false;
  }
  if (auto n = parseNumber11(s)) return *n;
  return json::string(s);
}

json::value coreScalar(const std::string& tag, const std::string& s) {
  if (tag == "?") return resolveCore(s);
  if (tag == "!" || tag.empty()) return json::string(s);     // quoted: always a string
  if (!tag.starts_with(kTagPrefix)) return json::string(s);  // local tags: keep the text
  const std::string_view type = std::string_view(tag).substr(kTagPrefix.size());
  if (type == "str") return json::string(s);
  if (type == "null") return nullptr;
  json::value v = resolveCore(s);
  if (type == "int" && !v.is_int64() && !v.is_uint64()) {
    throw std::runtime_error("\"" + s + "\" is not an integer");
  }
  if (type == "bool" && !v.is_bool()) throw std::runtime_error("\"" + s + "\" is not a bool");
  if (type == "float" && !v.is_number()) throw std::runtime_error("\"" + s + "\" is not a float");
  return v;
}

}  // namespace

json::value resolvePlainScalar(const std::string& s, YamlSchema schema) {
  return schema == YamlSchema::kCore ? resolveCore(s) : resolveYaml11(s);
}

json::value scalarToJson(const std::string& tag, const std::string& text, YamlSchema schema) {
  if (schema == YamlSchema::kCore) return coreScalar(tag, text);
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::string(text);
  return resolveYaml11(text);
}

namespace {

std::vector<ManifestDocument> parseJsonText(std::string_view text, const std::string& origin,
                                            std::vector<std::string>& errors) {
  std::vector<ManifestDocument> docs;
  json::stream_parser parser;
  std::size_t pos = 0;
  while (true) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == text.size()) break;
    boost::system::error_code ec;
    pos += parser.write_some(text.data() + pos, text.size() - pos, ec);
    if (!ec && !parser.done()) parser.finish(ec);
    if (ec) {
      errors.push_back(origin + ": offset " + std::to_string(pos) + ": " + ec.message());
      return {};
    }
    docs.push_back({parser.release(), docs.size() + 1});
    parser.reset();
  }
  return docs;
}

}  // namespace

std::vector<ManifestDocument> parseManifestDocuments(std::string_view text, bool isJson,
                                                     const std::string& origin,
                                                     std::vector<std::string>& errors) {
  if (isJson) return parseJsonText(text, origin, errors);
  std::vector<json::value> values;
  try {
    values = yamlToJson(text);
  } catch (const YamlError& e) {
    errors.push_back(origin + ":" + e.what());
    return {};
  }
  std::vector<ManifestDocument> docs;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!values[i].is_null()) docs.push_back({std::move(values[i]), i + 1});
  }
  return docs;
}

std::vector<json::value> parseManifestText(std::string_view text, bool isJson,
                                           const std::string& origin,
                                           std::vector<std::string>& errors) {
  std::vector<json::value> values;
  for (auto& d : parseManifestDocuments(text, isJson, origin, errors)) {
    values.push_back(std::move(d.value));
  }
  return values;
}

void flattenManifestValue(json::value doc, const std::string& origin,
                          std::vector<json::object>& out, std::vector<std::string>& errors) {
  auto* obj = doc.if_object();
  if (obj == nullptr) {
    errors.push_back(origin + ": a document is not an object");
    return;
  }
  const json::value* kind = obj->if_contains("kind");
  const std::string_view k = kind && kind->is_string() ? std::string_view(kind->get_string()) : "";
  // kubectl refuses an object without a kind ("Object 'Kind' is missing"), and the local API
  // server files objects by kind: report it like a document that is no object.
  if (k.empty()) {
    errors.push_back(origin + ": an object has no kind");
    return;
  }
  json::value* items = obj->if_contains("items");
  if (!k.ends_with("List") || items == nullptr || !items->is_array()) {
    out.push_back(std::move(*obj));
    return;
  }
  // A typed list (ServiceList) omits each item's kind; a plain List carries it per item.
  const std::string_view itemKind = k == "List" ? "" : k.substr(0, k.size() - 4);
  for (auto& item : items->get_array()) {
    if (auto* io = item.if_object(); io && !itemKind.empty() && !io->contains("kind")) {
      (*io)["kind"] = itemKind;
    }
    flattenManifestValue(std::move(item), origin, out, errors);
  }
}

}  // namespace k8swatch
