// Node decoding: the labels (topology) and the IP addresses of the agent's own Node.

#include "k8swatch/decode_node.h"

#include <boost/json/value.hpp>

#include "k8swatch/decode_util.h"

namespace k8swatch {

namespace json = boost::json;
using detail::DecodeContext;

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
  auto pre = detail::readPreamble(ctx, v, kKind);
  if (auto* r = std::get_if<Rejection>(&pre)) return std::move(*r);
  auto& [obj, md] = std::get<detail::Preamble>(pre);
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
