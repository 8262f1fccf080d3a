// EndpointSlice and Node decoding. Endpoints are the hot path (a large cluster has 10^5 of
// them), so each endpoint object is walked once, member by member.

#include <boost/json/value.hpp>

#include "k8swatch/decode.h"
#include "k8swatch/decode_util.h"

namespace k8swatch {

namespace json = boost::json;
using detail::DecodeContext;

namespace {

bool readConditions(DecodeContext& ctx, const json::object& c, ipvs::Endpoint& ep) {
  const auto ready = detail::optBool(ctx, c, "ready");
  const auto serving = detail::optBool(ctx, c, "serving");
  const auto terminating = detail::optBool(ctx, c, "terminating");
  if (!ctx.ok()) return false;
  // The API's defaults: ready nil => true, serving nil => ready, terminating nil => false.
  ep.ready = ready.value_or(true);
  ep.serving = serving.value_or(ep.ready);
  ep.terminating = terminating.value_or(false);
  return true;
}

bool readHintNames(DecodeContext& ctx, const json::object& hints, std::string_view key,
                   std::vector<std::string>& out) {
  const json::array* a = detail::optArray(ctx, hints, key);
  if (a == nullptr) return ctx.ok();
  if (a->size() > kMaxAddresses) return ctx.fail(reason::kTooLarge, key, "too many hints");
  out.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* h = (*a)[i].if_object();
    const auto name = h ? detail::optString(ctx, *h, "name") : std::nullopt;
    if (h == nullptr) ctx.fail(reason::kBadType, "", "want object");
    if (!ctx.ok()) {
      ctx.withinIndex(key, i);
      return false;
    }
    if (name) out.emplace_back(*name);
  }
  return true;
}

bool readAddress(DecodeContext& ctx, const json::value& v, ipvs::Family family,
                 ipvs::Endpoint& ep) {
  const auto* a = v.if_array();
  if (a == nullptr) return ctx.fail(reason::kBadType, "addresses", "want array");
  if (a->empty()) return ctx.fail(reason::kBadAddress, "addresses", "no address");
  if (a->size() > kMaxAddresses) return ctx.fail(reason::kTooLarge, "addresses", "too many");
  // kube-proxy uses only the first address; the rest are still checked to be strings.
  auto ip = detail::parseIp(ctx, (*a)[0], "");
  if (!ip) {
    ctx.within("addresses[0]");
    return false;
  }
  if (ip->family() != family) {
    return ctx.fail(reason::kBadAddress, "addresses[0]",
                    ip->toString() + " does not match the slice's addressType");
  }
  ep.address = *ip;
  return true;
}

bool readEndpoint(DecodeContext& ctx, const json::object& o, ipvs::Family family,
                  ipvs::Endpoint& ep) {
  bool haveAddress = false;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (v.is_null()) continue;
    if (key == "addresses") {
      if (!readAddress(ctx, v, family, ep)) return false;
      haveAddress = true;
    } else if (key == "conditions") {
      const auto* c = v.if_object();
      if (c == nullptr) return ctx.fail(reason::kBadType, key, "want object");
      if (!readConditions(ctx, *c, ep)) {
        ctx.within(key);
        return false;
      }
    } else if (key == "nodeName" || key == "zone") {
      const auto s = detail::asString(ctx, v, key);
      if (!s) return false;
      (key == "zone" ? ep.zone : ep.nodeName) = std::string(*s);
    } else if (key == "hints") {
      const auto* h = v.if_object();
      if (h == nullptr) return ctx.fail(reason::kBadType, key, "want object");
      if (!readHintNames(ctx, *h, "forZones", ep.hintZones) ||
          !readHintNames(ctx, *h, "forNodes", ep.hintNodes)) {
        ctx.within(key);
        return false;
      }
    }
  }
  return haveAddress || ctx.fail(reason::kBadAddress, "addresses", "missing");
}

bool readSlicePorts(DecodeContext& ctx, const json::object& obj, ipvs::EndpointSlice& slice) {
  const json::array* ports = detail::optArray(ctx, obj, "ports");
  if (ports == nullptr) return ctx.ok();
  if (ports->size() > kMaxPorts) return ctx.fail(reason::kTooLarge, "ports", "too many ports");
  slice.ports.reserve(ports->size());
  for (std::size_t i = 0; i < ports->size(); ++i) {
    const auto* p = (*ports)[i].if_object();
    ipvs::EndpointPort port;
    if (p == nullptr) ctx.fail(reason::kBadType, "", "want object");
    const auto name = p ? detail::optString(ctx, *p, "name") : std::nullopt;
    const auto proto = p && ctx.ok() ? detail::readProtocol(ctx, *p) : std::nullopt;
    if (ctx.ok() && detail::readPort(ctx, *p, "port", true, port.port)) {
      port.protocol = *proto;
      if (name) port.name = std::string(*name);
      slice.ports.push_back(std::move(port));
      continue;
    }
    ctx.withinIndex("ports", i);
    return false;
  }
  return true;
}

bool readEndpoints(DecodeContext& ctx, const json::object& obj, ipvs::EndpointSlice& slice) {
  const json::array* eps = detail::optArray(ctx, obj, "endpoints");
  if (eps == nullptr) return ctx.ok();
  if (eps->size() > kMaxEndpoints) return ctx.fail(reason::kTooLarge, "endpoints", "too many");
  slice.endpoints.resize(eps->size());
  for (std::size_t i = 0; i < eps->size(); ++i) {
    const auto* e = (*eps)[i].if_object();
    if (e == nullptr) ctx.fail(reason::kBadType, "", "want object");
    if (e == nullptr || !readEndpoint(ctx, *e, slice.addressType, slice.endpoints[i])) {
      ctx.withinIndex("endpoints", i);
      return false;
    }
  }
  return true;
}

}  // namespace

Decoded<ipvs::EndpointSlice> decodeEndpointSlice(const json::value& v) {
  constexpr auto kKind = ResourceKind::kEndpointSlice;
  DecodeContext ctx;
  const auto* obj = v.if_object();
  if (obj == nullptr) {
    ctx.fail(reason::kNotObject, "", "not a JSON object");
    return ctx.rejection(kKind, "<unnamed>");
  }
  detail::Metadata md;
  if (!detail::readMetadata(ctx, *obj, true, md))
    return ctx.rejection(kKind, detail::objectName(v));
  ipvs::EndpointSlice slice;
  slice.key = std::move(md.key);
  slice.resourceVersion = std::move(md.resourceVersion);
  const std::string name = slice.key.str();

  const auto type = detail::optString(ctx, *obj, "addressType");
  if (!ctx.ok()) return ctx.rejection(kKind, name);
  if (type && *type == "FQDN") return Skipped{name, "FQDN address type"};
  if (type && *type == "IPv6") {
    slice.addressType = ipvs::Family::kV6;
  } else if (!type || *type != "IPv4") {
    ctx.fail(reason::kBadValue, "addressType",
             type ? "unknown address type \"" + std::string(*type) + "\"" : "missing");
    return ctx.rejection(kKind, name);
  }

  const json::object* labels = detail::optObject(ctx, *md.meta, "labels");
  const auto service =
      labels ? detail::optString(ctx, *labels, ipvs::kLabelServiceName) : std::nullopt;
  if (!ctx.ok()) {
    ctx.within(labels ? "metadata.labels" : "metadata");
    return ctx.rejection(kKind, name);
  }
  if (!service || service->empty()) {
    ctx.fail(reason::kMissingServiceName, "metadata.labels",
             "no " + std::string(ipvs::kLabelServiceName) + " label");
    return ctx.rejection(kKind, name);
  }
  slice.serviceName = std::string(*service);
  if (!readSlicePorts(ctx, *obj, slice) || !readEndpoints(ctx, *obj, slice)) {
    return ctx.rejection(kKind, name);
  }
  return slice;
}

namespace {

// spec.podCIDRs, or the older single spec.podCIDR when the list is absent (detect-local-mode
// NodeCIDR reads them).
bool readPodCidrs(DecodeContext& ctx, const json::object& obj, std::vector<ipvs::Cidr>& out) {
  const json::object* spec = detail::optObject(ctx, obj, "spec");
  if (spec == nullptr) {
    if (!ctx.ok()) ctx.within("spec");
    return ctx.ok();
  }
  const auto add = [&](std::string_view text) {
    auto cidr = ipvs::Cidr::parse(text);
    if (!cidr || text.find('/') == std::string_view::npos)
      return ctx.fail(reason::kBadAddress, "", "not a CIDR");
    out.push_back(*cidr);
    return true;
  };
  bool ok = true;
  if (const json::array* list = detail::optArray(ctx, *spec, "podCIDRs")) {
    ok = detail::forEachString(ctx, *list, "podCIDRs", add);
  } else if (const auto one = ctx.ok() ? detail::optString(ctx, *spec, "podCIDR") : std::nullopt;
             one && !one->empty()) {
    ok = add(*one);
    if (!ok) ctx.within("podCIDR");
  }
  if (!ok || !ctx.ok()) {
    ctx.within("spec");
    return false;
  }
  return true;
}

}  // namespace

Decoded<ipvs::Node> decodeNode(const json::value& v) {
  constexpr auto kKind = ResourceKind::kNode;
  DecodeContext ctx;
  const auto* obj = v.if_object();
  if (obj == nullptr) {
    ctx.fail(reason::kNotObject, "", "not a JSON object");
    return ctx.rejection(kKind, "<unnamed>");
  }
  detail::Metadata md;
  if (!detail::readMetadata(ctx, *obj, false, md))
    return ctx.rejection(kKind, detail::objectName(v));
  ipvs::Node node;
  node.name = std::move(md.key.name);
  node.resourceVersion = std::move(md.resourceVersion);
  if (!detail::readStringMap(ctx, *md.meta, "labels", node.labels)) {
    ctx.within("metadata");
    return ctx.rejection(kKind, node.name);
  }
  if (!readPodCidrs(ctx, *obj, node.podCIDRs)) return ctx.rejection(kKind, node.name);
  const json::object* status = detail::optObject(ctx, *obj, "status");
  const json::array* addrs = status ? detail::optArray(ctx, *status, "addresses") : nullptr;
  if (!ctx.ok()) {
    ctx.within(status ? "status" : "");
    return ctx.rejection(kKind, node.name);
  }
  const std::size_t count = addrs ? addrs->size() : 0;
  if (count > kMaxAddresses) {
    ctx.fail(reason::kTooLarge, "status.addresses", "too many");
    return ctx.rejection(kKind, node.name);
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto* a = (*addrs)[i].if_object();
    if (a == nullptr) ctx.fail(reason::kBadType, "", "want object");
    const auto type = a ? detail::optString(ctx, *a, "type") : std::nullopt;
    const json::value* address = a ? detail::field(*a, "address") : nullptr;
    // Hostname and InternalDNS entries are names, not IPs: only the two IP types are kept.
    if (ctx.ok() && type && (*type == "InternalIP" || *type == "ExternalIP")) {
      if (address == nullptr) ctx.fail(reason::kBadAddress, "address", "missing");
      auto ip = address ? detail::parseIp(ctx, *address, "address") : std::nullopt;
      if (ip) node.addresses.push_back(*ip);
    }
    if (!ctx.ok()) {
      ctx.withinIndex("status.addresses", i);
      return ctx.rejection(kKind, node.name);
    }
  }
  return node;
}

}  // namespace k8swatch
