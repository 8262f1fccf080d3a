#include "k8swatch/slice_stream_handler.h"

#include "k8swatch/decode.h"

namespace k8swatch::detail {

namespace {

struct KeyRole {
  std::string_view key;
  Role role;
};

// The fields each object role reads; the position in the list is the duplicate-detection bit.
constexpr KeyRole kEventKeys[] = {{"type", Role::kType}, {"object", Role::kSlice}};
constexpr KeyRole kSliceKeys[] = {{"metadata", Role::kMetadata},
                                  {"addressType", Role::kAddressType},
                                  {"ports", Role::kPorts},
                                  {"endpoints", Role::kEndpoints}};
constexpr KeyRole kMetaKeys[] = {{"name", Role::kName},
                                 {"namespace", Role::kNamespace},
                                 {"resourceVersion", Role::kResourceVersion},
                                 {"labels", Role::kLabels}};
constexpr KeyRole kLabelKeys[] = {{ipvs::kLabelServiceName, Role::kServiceLabel}};
constexpr KeyRole kPortKeys[] = {
    {"name", Role::kPortName}, {"protocol", Role::kProtocol}, {"port", Role::kPortNumber}};
constexpr KeyRole kEndpointKeys[] = {{"addresses", Role::kAddresses},
                                     {"conditions", Role::kConditions},
                                     {"nodeName", Role::kNodeName},
                                     {"zone", Role::kZone},
                                     {"hints", Role::kHints}};
constexpr KeyRole kConditionKeys[] = {
    {"ready", Role::kReady}, {"serving", Role::kServing}, {"terminating", Role::kTerminating}};
constexpr KeyRole kHintKeys[] = {{"forZones", Role::kHintZones}, {"forNodes", Role::kHintNodes}};
constexpr KeyRole kHintItemKeys[] = {{"name", Role::kHintName}};

template <std::size_t N>
bool lookup(const KeyRole (&keys)[N], std::string_view key, Frame& f, Role& role) {
  for (std::size_t i = 0; i < N; ++i) {
    if (keys[i].key != key) continue;
    const std::uint32_t bit = 1u << i;
    if ((f.seen & bit) != 0) return false;  // boost::json keeps the last; never guess
    f.seen |= bit;
    role = keys[i].role;
    return true;
  }
  role = Role::kSkip;
  return true;
}

}  // namespace

bool SliceHandler::on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
  std::string_view key(s.data(), s.size());
  if (!key_.empty()) {
    key_.append(s.data(), s.size());
    key = key_;
  }
  Frame& f = stack_.back();
  bool ok = true;
  switch (f.role) {
    case Role::kEvent:
      ok = lookup(kEventKeys, key, f, pending_);
      break;
    case Role::kSlice:
      ok = lookup(kSliceKeys, key, f, pending_);
      break;
    case Role::kMetadata:
      ok = lookup(kMetaKeys, key, f, pending_);
      break;
    case Role::kLabels:
      ok = ++f.entries <= kMaxLabels && lookup(kLabelKeys, key, f, pending_);
      break;
    case Role::kPort:
      ok = lookup(kPortKeys, key, f, pending_);
      break;
    case Role::kEndpoint:
      ok = lookup(kEndpointKeys, key, f, pending_);
      break;
    case Role::kConditions:
      ok = lookup(kConditionKeys, key, f, pending_);
      break;
    case Role::kHints:
      ok = lookup(kHintKeys, key, f, pending_);
      break;
    case Role::kHint:
      ok = lookup(kHintItemKeys, key, f, pending_);
      break;
    default:
      pending_ = Role::kSkip;
      break;
  }
  key_.clear();
  return ok || decline(ec);
}

Role SliceHandler::valueRole() {
  if (stack_.empty() || !stack_.back().array) return pending_;
  Frame& f = stack_.back();
  const std::size_t i = f.entries++;
  switch (f.role) {
    case Role::kPorts:
      return i < kMaxPorts ? Role::kPort : Role::kInvalid;
    case Role::kEndpoints:
      return i < kMaxEndpoints ? Role::kEndpoint : Role::kInvalid;
    case Role::kAddresses:  // only the first is read; the rest may be anything
      return i == 0 ? Role::kFirstAddress : i < kMaxAddresses ? Role::kSkip : Role::kInvalid;
    case Role::kHintZones:
    case Role::kHintNodes:
      return i < kMaxAddresses ? Role::kHint : Role::kInvalid;
    default:
      return Role::kSkip;
  }
}

bool SliceHandler::begin(bool array, boost::system::error_code& ec) {
  const Role role = valueRole();
  bool ok = false;
  switch (role) {
    case Role::kSkip:
      ok = true;
      break;
    case Role::kPorts:
    case Role::kEndpoints:
    case Role::kAddresses:
    case Role::kHintZones:
    case Role::kHintNodes:
      ok = array;
      break;
    case Role::kEvent:
    case Role::kSlice:
    case Role::kMetadata:
    case Role::kLabels:
    case Role::kPort:
    case Role::kEndpoint:
    case Role::kConditions:
    case Role::kHints:
    case Role::kHint:
      ok = !array;
      break;
    default:
      break;
  }
  if (!ok) return decline(ec);
  if (role == Role::kPort) slice_.ports.emplace_back();
  if (role == Role::kEndpoint) {
    slice_.endpoints.emplace_back();
    haveAddress_ = false;
  }
  if (role == Role::kConditions) ready_ = serving_ = terminating_ = std::nullopt;
  // Inside a skipped value everything is skipped; a member's role comes from its key.
  pending_ = Role::kSkip;
  stack_.push_back(Frame{role, array});
  return true;
}

bool SliceHandler::end(std::size_t n, boost::system::error_code& ec) {
  const Role role = stack_.back().role;
  stack_.pop_back();
  switch (role) {
    case Role::kAddresses:
      if (n == 0) return decline(ec);  // "no address"
      haveAddress_ = true;
      break;
    case Role::kEndpoint:
      if (!haveAddress_) return decline(ec);
      break;
    case Role::kConditions:  // the API's defaults, as readConditions applies them
      endpoint().ready = ready_.value_or(true);
      endpoint().serving = serving_.value_or(endpoint().ready);
      endpoint().terminating = terminating_.value_or(false);
      break;
    default:
      break;
  }
  return true;
}

bool SliceHandler::on_string(json::string_view s, std::size_t, boost::system::error_code& ec) {
  if (!inString_) return text(valueRole(), std::string_view(s.data(), s.size()), ec);
  inString_ = false;
  if (stringRole_ == Role::kSkip) return true;
  text_.append(s.data(), s.size());
  return text(stringRole_, text_, ec);
}

// The strings of the event and the slice's metadata and addressType.
bool SliceHandler::text(Role role, std::string_view s, boost::system::error_code& ec) {
  const bool nameSized = s.size() <= kMaxNameLength;
  switch (role) {
    case Role::kSkip:
      return true;
    case Role::kType:
      type_ = std::string(s);
      return true;
    case Role::kName:
      if (s.empty() || !nameSized) return decline(ec);
      slice_.key.name = std::string(s);
      haveName_ = true;
      return true;
    case Role::kNamespace:
      if (!nameSized) return decline(ec);
      slice_.key.ns = std::string(s);
      return true;
    case Role::kResourceVersion:
      if (!nameSized) return decline(ec);
      slice_.resourceVersion = std::string(s);
      return true;
    case Role::kServiceLabel:
      if (s.empty() || !nameSized) return decline(ec);
      slice_.serviceName = std::string(s);
      haveServiceLabel_ = true;
      return true;
    case Role::kAddressType:
      if (s != "IPv4" && s != "IPv6") return decline(ec);  // FQDN: the DOM path skips it
      slice_.addressType = s == "IPv6" ? ipvs::Family::kV6 : ipvs::Family::kV4;
      haveAddressType_ = true;
      return true;
    default:
      return itemText(role, s, ec);
  }
}

// The strings of ports and endpoints.
bool SliceHandler::itemText(Role role, std::string_view s, boost::system::error_code& ec) {
  const bool nameSized = s.size() <= kMaxNameLength;
  if (!nameSized && role != Role::kProtocol && role != Role::kFirstAddress) return decline(ec);
  switch (role) {
    case Role::kPortName:
      slice_.ports.back().name = std::string(s);
      return true;
    case Role::kProtocol:
      if (s == "TCP") return true;  // the default
      if (s != "UDP" && s != "SCTP") return decline(ec);
      slice_.ports.back().protocol = s == "UDP" ? ipvs::Protocol::kUdp : ipvs::Protocol::kSctp;
      return true;
    case Role::kFirstAddress: {
      auto ip = ipvs::IpAddress::parse(s);
      if (!haveAddressType_ || !ip || ip->family() != slice_.addressType) return decline(ec);
      endpoint().address = *ip;
      return true;
    }
    case Role::kNodeName:
      endpoint().nodeName = name(s);
      return true;
    case Role::kZone:
      endpoint().zone = name(s);
      return true;
    case Role::kHintName: {
      const Role list = stack_[stack_.size() - 2].role;
      (list == Role::kHintZones ? endpoint().hintZones : endpoint().hintNodes).push_back(s);
      return true;
    }
    default:
      return decline(ec);  // a string where the decoder wants another type
  }
}

bool SliceHandler::on_int64(std::int64_t i, json::string_view, boost::system::error_code& ec) {
  const Role role = valueRole();
  if (role == Role::kSkip) return true;
  // readPort with allowZero: 0..65535; anything else is rejected by the DOM decoder.
  if (role != Role::kPortNumber || i < 0 || i > 65535) return decline(ec);
  slice_.ports.back().port = static_cast<std::uint16_t>(i);
  return true;
}

bool SliceHandler::on_bool(bool b, boost::system::error_code& ec) {
  switch (valueRole()) {
    case Role::kSkip:
      return true;
    case Role::kReady:
      ready_ = b;
      return true;
    case Role::kServing:
      serving_ = b;
      return true;
    case Role::kTerminating:
      terminating_ = b;
      return true;
    default:
      return decline(ec);
  }
}

bool SliceHandler::on_null(boost::system::error_code& ec) {
  // A null member is "not set" for the decoder; a null array element is a wrong type, and a
  // null event object or type makes the event malformed.
  const bool element = stack_.empty() || stack_.back().array;
  const Role role = valueRole();
  if (role == Role::kSkip) return true;
  if (element || role == Role::kSlice || role == Role::kType) return decline(ec);
  return true;
}

ipvs::Name NameCache::get(std::string_view s) {
  if (auto it = names_.find(s); it != names_.end()) return it->second;
  if (names_.size() >= kMaxNames) names_.clear();
  ipvs::Name n(s);
  names_.emplace(n.view(), n);
  return n;
}

ipvs::Name SliceHandler::name(std::string_view s) {
  if (names_ != nullptr) return names_->get(s);
  for (const auto& n : recent_) {
    if (n.view() == s) return n;
  }
  ipvs::Name n(s);
  recent_[nextRecent_++ % recent_.size()] = n;
  return n;
}

std::optional<ipvs::EndpointSlice> SliceHandler::finish() {
  if (!haveName_ || !haveAddressType_ || !haveServiceLabel_) return std::nullopt;
  return std::move(slice_);
}

}  // namespace k8swatch::detail
