#include "agent/config_codec.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "agent/config_defaults.h"

namespace agent {
namespace json = boost::json;
namespace {

std::string describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return "string";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::array:
      return "list";
    case json::kind::object:
      return "mapping";
    case json::kind::null:
      return "null";
  }
  return "value";
}

// Reads one JSON object of the schema. Every key read is remembered, so finish() can report
// the rest as unknown fields.
class Reader {
 public:
  Reader(const json::object* obj, std::string path, std::vector<std::string>& warnings)
      : obj_(obj), path_(std::move(path)), warnings_(warnings) {}

  void string(std::string_view key, std::string& out) {
    if (const auto* v = take(key)) {
      if (!v->is_string()) fail(key, "must be a string, got a " + describe(*v));
      out = std::string(v->get_string());
    }
  }
  void boolean(std::string_view key, bool& out) {
    if (const auto* v = take(key)) {
      if (!v->is_bool()) fail(key, "must be true or false, got a " + describe(*v));
      out = v->get_bool();
    }
  }
  void int32(std::string_view key, std::int32_t& out) {
    if (const auto* v = take(key)) {
      std::int64_t n = 0;
      if (v->is_int64()) {
        n = v->get_int64();
      } else if (v->is_uint64() && v->get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
        n = static_cast<std::int64_t>(v->get_uint64());
      } else {
        fail(key, "must be an integer, got a " + describe(*v));
      }
      if (n < std::numeric_limits<std::int32_t>::min() ||
          n > std::numeric_limits<std::int32_t>::max()) {
        fail(key, "must fit in a 32-bit integer, got " + std::to_string(n));
      }
      out = static_cast<std::int32_t>(n);
    }
  }
  void float32(std::string_view key, float& out) {
    if (const auto* v = take(key)) {
      if (!v->is_number()) fail(key, "must be a number, got a " + describe(*v));
      const double d = v->to_number<double>();
      if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
        fail(key, "must be a finite 32-bit number");
      }
      out = static_cast<float>(d);
    }
  }
  void duration(std::string_view key, Duration& out) {
    if (const auto* v = take(key)) {
      // Go rejects a bare number; 0 is accepted here because it cannot be misread.
      if ((v->is_int64() && v->get_int64() == 0) || (v->is_uint64() && v->get_uint64() == 0)) {
        out = Duration::zero();
        return;
      }
      if (!v->is_string()) {
        fail(key, "must be a duration string such as \"30s\", got a " + describe(*v));
      }
      const auto d = parseGoDuration(v->get_string());
      if (!d) {
        fail(key, "invalid duration \"" + std::string(v->get_string()) +
                      "\" (use Go syntax such as 500ms, 30s, 1m30s, 2h)");
      }
      out = *d;
    }
  }
  // logging.flushFrequency is a TimeOrMetaDuration upstream: a Go duration string or an integer
  // count of nanoseconds (kubeadm writes `flushFrequency: 0`).
  void durationOrNanos(std::string_view key, Duration& out) {
    if (const auto* v = take(key); v && v->is_int64()) {
      if (v->get_int64() < 0) fail(key, "must be greater than or equal to 0");
      out = Duration(v->get_int64());
      return;
    }
    duration(key, out);
  }
  // A resource.Quantity such as infoBufferSize: "0", 0, "64Ki". Kept as text.
  void quantity(std::string_view key, std::string& out) {
    if (const auto* v = take(key)) {
      if (v->is_int64()) {
        out = std::to_string(v->get_int64());
      } else if (v->is_string()) {
        out = std::string(v->get_string());
      } else {
        fail(key, "must be a quantity such as \"0\" or \"64Ki\", got a " + describe(*v));
      }
    }
  }
  // True when the key holds anything but null, an empty list or an empty mapping.
  bool nonEmpty(std::string_view key) {
    const auto* v = take(key);
    if (!v) return false;
    if (v->is_array()) return !v->get_array().empty();
    if (v->is_object()) return !v->get_object().empty();
    return !(v->is_string() && v->get_string().empty());
  }
  void stringList(std::string_view key, std::vector<std::string>& out) {
    if (const auto* v = take(key)) {
      if (!v->is_array()) fail(key, "must be a list of strings, got a " + describe(*v));
      std::vector<std::string> items;
      for (std::size_t i = 0; i < v->get_array().size(); ++i) {
        const auto& item = v->get_array()[i];
        if (!item.is_string()) {
          fail(std::string(key) + "[" + std::to_string(i) + "]",
               "must be a string, got a " + describe(item));
        }
        items.emplace_back(item.get_string());
      }
      out = std::move(items);
    }
  }
  void boolMap(std::string_view key, std::map<std::string, bool>& out) {
    if (const auto* v = take(key)) {
      if (!v->is_object()) fail(key, "must be a mapping of names to true/false");
      for (const auto& [name, value] : v->get_object()) {
        if (!value.is_bool()) {
          fail(std::string(key) + "." + std::string(name), "must be true or false");
        }
        out[std::string(name)] = value.get_bool();
      }
    }
  }
  // A nested object; a missing or null one reads as empty (all defaults).
  Reader child(std::string_view key) {
    const auto* v = take(key);
    if (v && !v->is_object()) fail(key, "must be a mapping, got a " + describe(*v));
    return Reader(v ? &v->get_object() : nullptr, field(key), warnings_);
  }
  void ignore(std::string_view key) { consumed_.insert(std::string(key)); }

  void finish() {
    if (!obj_) return;
    for (const auto& [key, value] : *obj_) {
      if (!consumed_.count(std::string(key))) {
        warnings_.push_back("unknown field \"" + field(key) + "\" ignored");
      }
    }
  }

 private:
  const json::value* take(std::string_view key) {
    consumed_.insert(std::string(key));
    if (!obj_) return nullptr;
    const auto* v = obj_->if_contains(key);
    return (v && !v->is_null()) ? v : nullptr;
  }
  std::string field(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[noreturn]] void fail(std::string_view key, const std::string& message) const {
    throw ConfigError(field(key) + ": " + message);
  }

  const json::object* obj_;
  std::string path_;
  std::vector<std::string>& warnings_;
  std::set<std::string> consumed_;
};

void readClientConnection(Reader r, ClientConnectionConfig& c) {
  r.string("kubeconfig", c.kubeconfig);
  r.string("acceptContentTypes", c.acceptContentTypes);
  r.string("contentType", c.contentType);
  r.float32("qps", c.qps);
  r.int32("burst", c.burst);
  r.finish();
}

void readLoggingOptions(Reader r, LoggingOptions& o) {
  Reader json = r.child("json");
  json.boolean("splitStream", o.jsonSplitStream);
  json.quantity("infoBufferSize", o.jsonInfoBufferSize);
  json.finish();
  Reader text = r.child("text");
  text.boolean("splitStream", o.textSplitStream);
  text.quantity("infoBufferSize", o.textInfoBufferSize);
  text.finish();
  r.finish();
}

void readLogging(Reader r, LoggingConfig& c) {
  r.string("format", c.format);
  r.durationOrNanos("flushFrequency", c.flushFrequency);
  r.int32("verbosity", c.verbosity);
  c.vmodule = r.nonEmpty("vmodule");
  readLoggingOptions(r.child("options"), c.options);
  r.finish();
}

void readIptables(Reader r, IptablesConfig& c) {
  r.int32("masqueradeBit", c.masqueradeBit);
  r.boolean("masqueradeAll", c.masqueradeAll);
  r.boolean("localhostNodePorts", c.localhostNodePorts);
  r.duration("syncPeriod", c.syncPeriod);
  r.duration("minSyncPeriod", c.minSyncPeriod);
  r.ignore("snatNodeInternalIP");
  r.finish();
}

void readIpvs(Reader r, IpvsConfig& c) {
  r.duration("syncPeriod", c.syncPeriod);
  r.duration("minSyncPeriod", c.minSyncPeriod);
  r.string("scheduler", c.scheduler);
  r.stringList("excludeCIDRs", c.excludeCIDRs);
  r.boolean("strictARP", c.strictARP);
  r.duration("tcpTimeout", c.tcpTimeout);
  r.duration("tcpFinTimeout", c.tcpFinTimeout);
  r.duration("udpTimeout", c.udpTimeout);
  r.finish();
}

void readConntrack(Reader r, ConntrackConfig& c) {
  r.int32("maxPerCore", c.maxPerCore);
  r.int32("min", c.min);
  r.duration("tcpEstablishedTimeout", c.tcpEstablishedTimeout);
  r.duration("tcpCloseWaitTimeout", c.tcpCloseWaitTimeout);
  r.boolean("tcpBeLiberal", c.tcpBeLiberal);
  r.duration("udpTimeout", c.udpTimeout);
  r.duration("udpStreamTimeout", c.udpStreamTimeout);
  r.finish();
}

void readAgent(Reader r, AgentConfig& c) {
  r.string("source", c.source);
  r.boolean("dryRun", c.dryRun);
  r.duration("gracefulTerminationTimeout", c.gracefulTerminationTimeout);
  r.finish();
}

void checkTypeMeta(const json::object& root) {
  const auto* apiVersion = root.if_contains("apiVersion");
  const auto* kind = root.if_contains("kind");
  if (!apiVersion || !apiVersion->is_string() || apiVersion->get_string().empty()) {
    throw ConfigError("apiVersion: missing; expected \"" + std::string(kConfigApiVersion) + "\"");
  }
  if (!kind || !kind->is_string() || kind->get_string().empty()) {
    throw ConfigError("kind: missing; expected \"" + std::string(kConfigKind) + "\"");
  }
  if (kind->get_string() != kConfigKind) {
    throw ConfigError("kind: \"" + std::string(kind->get_string()) +
                      "\" is not supported; expected \"" + std::string(kConfigKind) + "\"");
  }
  if (apiVersion->get_string() != kConfigApiVersion) {
    throw ConfigError("apiVersion: \"" + std::string(apiVersion->get_string()) +
                      "\" is not supported; ipvs-agent reads \"" + std::string(kConfigApiVersion) +
                      "\"");
  }
}

// Fields kube-proxy knows that mean nothing in IPVS mode on Linux: read silently.
void ignoreOtherModes(Reader& r) {
  for (const char* key : {"apiVersion", "kind", "nftables", "winkernel", "windowsRunAsService",
                          "udpIdleTimeout", "resourceContainer"}) {
    r.ignore(key);
  }
}

}  // namespace

Config configFromJson(const json::object& root, std::vector<std::string>& warnings) {
  checkTypeMeta(root);
  Config c = zeroValueConfig();
  Reader r(&root, "", warnings);
  ignoreOtherModes(r);
  r.boolMap("featureGates", c.featureGates);
  readClientConnection(r.child("clientConnection"), c.clientConnection);
  readLogging(r.child("logging"), c.logging);
  r.string("hostnameOverride", c.hostnameOverride);
  r.string("bindAddress", c.bindAddress);
  r.string("healthzBindAddress", c.healthzBindAddress);
  r.string("metricsBindAddress", c.metricsBindAddress);
  r.boolean("bindAddressHardFail", c.bindAddressHardFail);
  r.boolean("enableProfiling", c.enableProfiling);
  r.string("showHiddenMetricsForVersion", c.showHiddenMetricsForVersion);
  r.string("mode", c.mode);
  readIptables(r.child("iptables"), c.iptables);
  readIpvs(r.child("ipvs"), c.ipvs);
  r.string("detectLocalMode", c.detectLocalMode);
  {
    Reader d = r.child("detectLocal");
    d.string("bridgeInterface", c.detectLocal.bridgeInterface);
    d.string("interfaceNamePrefix", c.detectLocal.interfaceNamePrefix);
    d.finish();
  }
  r.string("clusterCIDR", c.clusterCIDR);
  r.stringList("nodePortAddresses", c.nodePortAddresses);
  r.int32("oomScoreAdj", c.oomScoreAdj);
  readConntrack(r.child("conntrack"), c.conntrack);
  r.duration("configSyncPeriod", c.configSyncPeriod);
  r.string("portRange", c.portRange);
  r.string("serviceProxyName", c.serviceProxyName);
  readAgent(r.child("ipvsAgent"), c.agent);
  r.finish();
  setKubeProxyDefaults(c);
  return c;
}

namespace {

json::value str(const std::string& s) { return json::value(s); }
json::value dur(Duration d) { return json::value(formatGoDuration(d)); }
json::value list(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;  // Go writes a nil slice as null
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}
// qps is a float32: keep its short decimal form (5, 0.1), not the widened double's digits.
json::value float32(float f) {
  if (std::floor(f) == f && std::fabs(f) < 1e15f) return static_cast<std::int64_t>(f);
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf - 1, f);  // shortest form of the float
  *res.ptr = '\0';
  return std::strtod(buf, nullptr);
}

// The per-mode and conntrack sections, split out of configToJson for length.
void addModeSections(json::object& o, const Config& c) {
  o["iptables"] = {{"masqueradeBit", c.iptables.masqueradeBit},
                   {"masqueradeAll", c.iptables.masqueradeAll},
                   {"localhostNodePorts", c.iptables.localhostNodePorts},
                   {"syncPeriod", dur(c.iptables.syncPeriod)},
                   {"minSyncPeriod", dur(c.iptables.minSyncPeriod)}};
  o["ipvs"] = {{"syncPeriod", dur(c.ipvs.syncPeriod)},
               {"minSyncPeriod", dur(c.ipvs.minSyncPeriod)},
               {"scheduler", str(c.ipvs.scheduler)},
               {"excludeCIDRs", list(c.ipvs.excludeCIDRs)},
               {"strictARP", c.ipvs.strictARP},
               {"tcpTimeout", dur(c.ipvs.tcpTimeout)},
               {"tcpFinTimeout", dur(c.ipvs.tcpFinTimeout)},
               {"udpTimeout", dur(c.ipvs.udpTimeout)}};
  o["conntrack"] = {{"maxPerCore", c.conntrack.maxPerCore},
                    {"min", c.conntrack.min},
                    {"tcpEstablishedTimeout", dur(c.conntrack.tcpEstablishedTimeout)},
                    {"tcpCloseWaitTimeout", dur(c.conntrack.tcpCloseWaitTimeout)},
                    {"tcpBeLiberal", c.conntrack.tcpBeLiberal},
                    {"udpTimeout", dur(c.conntrack.udpTimeout)},
                    {"udpStreamTimeout", dur(c.conntrack.udpStreamTimeout)}};
}

}  // namespace

json::object configToJson(const Config& c) {
  json::object o;
  o["apiVersion"] = std::string(kConfigApiVersion);
  o["kind"] = std::string(kConfigKind);
  if (!c.featureGates.empty()) {
    json::object gates;
    for (const auto& [k, v] : c.featureGates) gates[k] = v;
    o["featureGates"] = std::move(gates);
  }
  o["clientConnection"] = {{"acceptContentTypes", str(c.clientConnection.acceptContentTypes)},
                           {"burst", c.clientConnection.burst},
                           {"contentType", str(c.clientConnection.contentType)},
                           {"kubeconfig", str(c.clientConnection.kubeconfig)},
                           {"qps", float32(c.clientConnection.qps)}};
  const LoggingOptions& lo = c.logging.options;
  o["logging"] = {
      {"format", str(c.logging.format)},
      {"flushFrequency", dur(c.logging.flushFrequency)},
      {"options",
       {{"json",
         {{"infoBufferSize", str(lo.jsonInfoBufferSize)}, {"splitStream", lo.jsonSplitStream}}},
        {"text",
         {{"infoBufferSize", str(lo.textInfoBufferSize)}, {"splitStream", lo.textSplitStream}}}}},
      {"verbosity", c.logging.verbosity}};
  o["hostnameOverride"] = str(c.hostnameOverride);
  o["bindAddress"] = str(c.bindAddress);
  o["healthzBindAddress"] = str(c.healthzBindAddress);
  o["metricsBindAddress"] = str(c.metricsBindAddress);
  o["bindAddressHardFail"] = c.bindAddressHardFail;
  o["enableProfiling"] = c.enableProfiling;
  o["showHiddenMetricsForVersion"] = str(c.showHiddenMetricsForVersion);
  o["mode"] = str(c.mode);
  addModeSections(o, c);
  o["detectLocalMode"] = str(c.detectLocalMode);
  o["detectLocal"] = {{"bridgeInterface", str(c.detectLocal.bridgeInterface)},
                      {"interfaceNamePrefix", str(c.detectLocal.interfaceNamePrefix)}};
  o["clusterCIDR"] = str(c.clusterCIDR);
  o["nodePortAddresses"] = list(c.nodePortAddresses);
  o["oomScoreAdj"] = c.oomScoreAdj;
  o["configSyncPeriod"] = dur(c.configSyncPeriod);
  o["portRange"] = str(c.portRange);
  o["serviceProxyName"] = str(c.serviceProxyName);
  o["ipvsAgent"] = {{"source", str(c.agent.source)},
                    {"dryRun", c.agent.dryRun},
                    {"gracefulTerminationTimeout", dur(c.agent.gracefulTerminationTimeout)}};
  return o;
}

}  // namespace agent
