// EndpointSlice decoding. Endpoints are the hot path (a large cluster has 10^5 of
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
                   ipvs::NameList& out) {
  const json::array* a = detail::optArray(ctx, hints, key);
  if (a == nullptr) return ctx.ok();
  if (a->size() > kMaxAddresses) return ctx.fail(reason::kTooLarge, key, "too many hints");
  out.reserve(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* h = (*a)[i].if_object();
    const auto name = h ? detail::optName(ctx, *h, "name") : std::nullopt;
    if (h == nullptr) ctx.fail(reason::kBadType, "", "want object");
    if (!ctx.ok()) {
      ctx.withinIndex(key, i);
      return false;
    }
    if (name) out.push_back(ipvs::Name(*name));
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
      const auto s = detail::asName(ctx, v, key);
      if (!s) return false;
      (key == "zone" ? ep.zone : ep.nodeName) = ipvs::Name(*s);
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
    const auto name = p ? detail::optName(ctx, *p, "name") : std::nullopt;
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
  auto pre = detail::readPreamble(ctx, v, kKind);
  if (auto* r = std::get_if<Rejection>(&pre)) return std::move(*r);
  auto& [obj, md] = std::get<detail::Preamble>(pre);
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
             type ? "unknown address type " + detail::quoted(*type) : "missing");
    return ctx.rejection(kKind, name);
  }

  // Only the service-name label is used, so the others are counted but not copied.
  const json::object* labels = detail::optObject(ctx, *md.meta, "labels");
  if (labels != nullptr && labels->size() > kMaxLabels) {
    ctx.fail(reason::kTooLarge, "", "too many entries");
  }
  const auto service =
      labels && ctx.ok() ? detail::optName(ctx, *labels, ipvs::kLabelServiceName) : std::nullopt;
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

}  // namespace k8swatch
