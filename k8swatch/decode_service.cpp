// Service decoding: spec and status.loadBalancer, with the API server's defaults applied.

#include <boost/json/value.hpp>

#include "k8swatch/decode.h"
#include "k8swatch/decode_util.h"

namespace k8swatch {

namespace json = boost::json;
using detail::DecodeContext;

std::string_view resourceKindName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kService:
      return "Service";
    case ResourceKind::kEndpointSlice:
      return "EndpointSlice";
    case ResourceKind::kNode:
      return "Node";
  }
  return "Object";
}

std::optional<ipvs::ObjectKey> decodeKey(const json::value& v) {
  const auto* obj = v.if_object();
  const json::value* meta = obj ? detail::field(*obj, "metadata") : nullptr;
  const auto* m = meta ? meta->if_object() : nullptr;
  if (m == nullptr) return std::nullopt;
  const json::value* name = detail::field(*m, "name");
  const json::value* ns = detail::field(*m, "namespace");
  if (name == nullptr || !name->is_string() || name->get_string().empty()) return std::nullopt;
  ipvs::ObjectKey key;
  key.name = std::string(name->get_string());
  if (ns != nullptr && ns->is_string()) key.ns = std::string(ns->get_string());
  return key;
}

std::string decodeResourceVersion(const json::value& v) {
  const auto* obj = v.if_object();
  const json::value* meta = obj ? detail::field(*obj, "metadata") : nullptr;
  const auto* m = meta ? meta->if_object() : nullptr;
  const json::value* rv = m ? detail::field(*m, "resourceVersion") : nullptr;
  return rv != nullptr && rv->is_string() ? std::string(rv->get_string()) : std::string();
}

namespace {

bool readType(DecodeContext& ctx, const json::object& spec, ipvs::Service& svc) {
  const auto t = detail::optString(ctx, spec, "type");
  if (!ctx.ok()) return false;
  if (!t || *t == "ClusterIP") {
    svc.type = ipvs::ServiceType::kClusterIP;
  } else if (*t == "NodePort") {
    svc.type = ipvs::ServiceType::kNodePort;
  } else if (*t == "LoadBalancer") {
    svc.type = ipvs::ServiceType::kLoadBalancer;
  } else if (*t == "ExternalName") {
    svc.type = ipvs::ServiceType::kExternalName;
  } else {
    return ctx.fail(reason::kBadValue, "type", "unknown service type " + detail::quoted(*t));
  }
  return true;
}

bool readPolicy(DecodeContext& ctx, const json::object& spec, std::string_view key,
                ipvs::TrafficPolicy& out) {
  const auto p = detail::optString(ctx, spec, key);
  if (!ctx.ok()) return false;
  if (!p || *p == "Cluster") {
    out = ipvs::TrafficPolicy::kCluster;
  } else if (*p == "Local") {
    out = ipvs::TrafficPolicy::kLocal;
  } else {
    return ctx.fail(reason::kBadValue, key, "unknown traffic policy " + detail::quoted(*p));
  }
  return true;
}

bool readClusterIPs(DecodeContext& ctx, const json::object& spec, ipvs::Service& svc) {
  auto valid = [&](std::string_view s) {
    // "" (ExternalName) and "None" (headless) are the API's two non-addresses.
    return s.empty() || s == "None" || ipvs::IpAddress::parse(s) ||
           ctx.fail(reason::kBadAddress, "", detail::quoted(s) + " is not an IP");
  };
  auto add = [&](std::string_view s) {
    if (!valid(s)) return false;
    if (s == "None") svc.headless = true;
    if (auto ip = ipvs::IpAddress::parse(s)) svc.clusterIPs.push_back(*ip);
    return true;
  };
  // clusterIP is checked even when clusterIPs (which wins) is set: a bad field is a bad object.
  const auto single = detail::optString(ctx, spec, "clusterIP");
  const json::array* ips = ctx.ok() ? detail::optArray(ctx, spec, "clusterIPs") : nullptr;
  if (!ctx.ok()) return false;
  const bool fromList = ips != nullptr && !ips->empty();
  if (fromList && !detail::forEachString(ctx, *ips, "clusterIPs", add)) return false;
  if (single && !(fromList ? valid(*single) : add(*single))) {
    ctx.within("clusterIP");
    return false;
  }
  return true;
}

bool readFamilies(DecodeContext& ctx, const json::object& spec, ipvs::Service& svc) {
  if (const json::array* fams = detail::optArray(ctx, spec, "ipFamilies")) {
    return detail::forEachString(ctx, *fams, "ipFamilies", [&](std::string_view f) {
      if (f == "IPv4") {
        svc.ipFamilies.push_back(ipvs::Family::kV4);
      } else if (f == "IPv6") {
        svc.ipFamilies.push_back(ipvs::Family::kV6);
      } else {
        return ctx.fail(reason::kBadValue, "", "unknown IP family " + detail::quoted(f));
      }
      return true;
    });
  }
  if (!ctx.ok()) return false;
  // Older servers omit ipFamilies: derive them from the cluster IPs.
  for (const auto& ip : svc.clusterIPs) svc.ipFamilies.push_back(ip.family());
  return true;
}

// A port number in 1..65535 or a port name (IntOrString).
bool readTargetPort(DecodeContext& ctx, const json::value& tp, ipvs::ServicePort& port) {
  if (tp.is_string()) {
    const auto name = detail::asName(ctx, tp, "targetPort");
    if (name) port.targetPort = std::string(*name);
    return name.has_value();
  }
  const auto n = detail::asInt(ctx, tp, "targetPort");
  if (n && (*n < 1 || *n > 65535)) {
    return ctx.fail(reason::kBadPort, "targetPort",
                    std::to_string(*n) + " is out of range 1..65535");
  }
  if (n) port.targetPort = std::to_string(*n);
  return n.has_value();
}

bool readPorts(DecodeContext& ctx, const json::object& spec, ipvs::Service& svc) {
  const json::array* ports = detail::optArray(ctx, spec, "ports");
  if (ports == nullptr) return ctx.ok();
  if (ports->size() > kMaxPorts) return ctx.fail(reason::kTooLarge, "ports", "too many ports");
  svc.ports.reserve(ports->size());
  for (std::size_t i = 0; i < ports->size(); ++i) {
    const auto* p = (*ports)[i].if_object();
    ipvs::ServicePort port;
    bool good = p != nullptr || ctx.fail(reason::kBadType, "", "want object");
    if (good) {
      const auto name = detail::optName(ctx, *p, "name");
      const auto proto = detail::readProtocol(ctx, *p);
      good = ctx.ok() && detail::readPort(ctx, *p, "port", false, port.port) &&
             detail::readPort(ctx, *p, "nodePort", true, port.nodePort);
      if (good && proto) port.protocol = *proto;
      if (good && name) port.name = std::string(*name);
      if (const json::value* tp = good ? detail::field(*p, "targetPort") : nullptr) {
        good = readTargetPort(ctx, *tp, port);
      }
    }
    if (!good) {
      ctx.withinIndex("ports", i);
      return false;
    }
    svc.ports.push_back(std::move(port));
  }
  return true;
}

bool readAffinity(DecodeContext& ctx, const json::object& spec, ipvs::Service& svc) {
  const auto affinity = detail::optString(ctx, spec, "sessionAffinity");
  if (!ctx.ok()) return false;
  if (affinity && *affinity != "None" && *affinity != "ClientIP") {
    return ctx.fail(reason::kBadValue, "sessionAffinity",
                    "unknown session affinity " + detail::quoted(*affinity));
  }
  svc.sessionAffinityClientIP = affinity && *affinity == "ClientIP";
  const json::object* cfg = detail::optObject(ctx, spec, "sessionAffinityConfig");
  if (cfg == nullptr) return ctx.ok();
  const json::object* cip = detail::optObject(ctx, *cfg, "clientIP");
  const auto timeout = cip ? detail::optInt(ctx, *cip, "timeoutSeconds") : std::nullopt;
  if (!ctx.ok()) {
    ctx.within(cip ? "sessionAffinityConfig.clientIP" : "sessionAffinityConfig");
    return false;
  }
  if (timeout) {
    if (*timeout <= 0 || *timeout > 86400) {
      return ctx.fail(reason::kBadValue, "sessionAffinityConfig.clientIP.timeoutSeconds",
                      std::to_string(*timeout) + " is out of range 1..86400");
    }
    svc.sessionAffinityTimeoutSeconds = static_cast<std::uint32_t>(*timeout);
  }
  return true;
}

bool readSpec(DecodeContext& ctx, const json::object& spec, ipvs::Service& svc) {
  if (!readType(ctx, spec, svc) || !readClusterIPs(ctx, spec, svc) ||
      !readFamilies(ctx, spec, svc) || !readPorts(ctx, spec, svc) ||
      !readAffinity(ctx, spec, svc) ||
      !readPolicy(ctx, spec, "externalTrafficPolicy", svc.externalTrafficPolicy) ||
      !readPolicy(ctx, spec, "internalTrafficPolicy", svc.internalTrafficPolicy) ||
      !detail::readPort(ctx, spec, "healthCheckNodePort", true, svc.healthCheckNodePort)) {
    return false;
  }
  const json::array* ext = detail::optArray(ctx, spec, "externalIPs");
  if (!ctx.ok()) return false;
  if (ext != nullptr) {
    const bool good = detail::forEachString(ctx, *ext, "externalIPs", [&](std::string_view s) {
      auto ip = ipvs::IpAddress::parse(s);
      if (!ip) return ctx.fail(reason::kBadAddress, "", detail::quoted(s) + " is not an IP");
      svc.externalIPs.push_back(*ip);
      return true;
    });
    if (!good) return false;
  }
  const json::array* ranges = detail::optArray(ctx, spec, "loadBalancerSourceRanges");
  if (ranges != nullptr) {
    return detail::forEachString(ctx, *ranges, "loadBalancerSourceRanges", [&](std::string_view s) {
      // kube-proxy trims spaces around each range; an unparsable one rejects the Service, since
      // dropping it would silently widen who may reach the load balancer.
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      auto cidr = ipvs::Cidr::parse(s);
      if (!cidr) return ctx.fail(reason::kBadCidr, "", detail::quoted(s) + " is not a CIDR");
      svc.loadBalancerSourceRanges.push_back(*cidr);
      return true;
    });
  }
  return ctx.ok();
}

bool readLoadBalancerStatus(DecodeContext& ctx, const json::object& obj, ipvs::Service& svc) {
  const json::object* status = detail::optObject(ctx, obj, "status");
  if (status == nullptr) return ctx.ok();
  const json::object* lb = detail::optObject(ctx, *status, "loadBalancer");
  const json::array* ingress = lb ? detail::optArray(ctx, *lb, "ingress") : nullptr;
  if (!ctx.ok()) ctx.within(lb ? "status.loadBalancer" : "status");
  if (!ctx.ok() || ingress == nullptr) return ctx.ok();
  if (ingress->size() > kMaxAddresses) {
    return ctx.fail(reason::kTooLarge, "status.loadBalancer.ingress", "too many items");
  }
  for (std::size_t i = 0; i < ingress->size(); ++i) {
    const auto* ing = (*ingress)[i].if_object();
    bool good = ing != nullptr || ctx.fail(reason::kBadType, "", "want object");
    const json::value* ip = good ? detail::field(*ing, "ip") : nullptr;
    const auto mode = good ? detail::optString(ctx, *ing, "ipMode") : std::nullopt;
    std::optional<ipvs::IpAddress> addr;
    if (ctx.ok() && ip != nullptr) addr = detail::parseIp(ctx, *ip, "ip");
    if (!ctx.ok()) {
      ctx.withinIndex("status.loadBalancer.ingress", i);
      return false;
    }
    // Hostname-only ingress has no IP; ipMode Proxy means the LB delivers to the node itself.
    if (addr && !(mode && *mode == "Proxy")) svc.loadBalancerIPs.push_back(*addr);
  }
  return true;
}

}  // namespace

Decoded<ipvs::Service> decodeService(const json::value& v) {
  constexpr auto kKind = ResourceKind::kService;
  DecodeContext ctx;
  auto pre = detail::readPreamble(ctx, v, kKind);
  if (auto* r = std::get_if<Rejection>(&pre)) return std::move(*r);
  auto& [obj, md] = std::get<detail::Preamble>(pre);
  ipvs::Service svc;
  svc.key = std::move(md.key);
  svc.resourceVersion = std::move(md.resourceVersion);
  if (!detail::readStringMap(ctx, *md.meta, "labels", svc.labels) ||
      !detail::readStringMap(ctx, *md.meta, "annotations", svc.annotations)) {
    ctx.within("metadata");
    return ctx.rejection(kKind, svc.key.str());
  }
  const json::object* spec = detail::optObject(ctx, *obj, "spec");
  if (ctx.ok() && spec != nullptr && !readSpec(ctx, *spec, svc)) ctx.within("spec");
  if (ctx.ok()) readLoadBalancerStatus(ctx, *obj, svc);
  if (!ctx.ok()) return ctx.rejection(kKind, svc.key.str());
  return svc;
}

}  // namespace k8swatch
