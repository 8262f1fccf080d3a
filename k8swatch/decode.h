#pragma once
// Kubernetes JSON (Boost.JSON DOM) -> the ipvs model, with validation and the API's defaults.
// Pure functions: no I/O, no logging, no state. A bad object is rejected alone with a stable
// reason id, the field path and the object's namespace/name; unknown fields are ignored.
// Values echoed in messages are quoted and cut (no NUL, no megabyte log lines). Services and
// EndpointSlices are declared here, Nodes in decode_node.h.

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ipvs/model.h"
#include "k8swatch/event_sink.h"

namespace k8swatch {

// Reason ids: stable strings, used as the `reason` metric label.
namespace reason {
inline constexpr std::string_view kNotObject = "not-object";      // not a JSON object
inline constexpr std::string_view kMissingName = "missing-name";  // metadata.name absent/empty
inline constexpr std::string_view kBadType = "bad-type";          // a field has the wrong type
inline constexpr std::string_view kBadAddress = "bad-address";    // not an IP address
inline constexpr std::string_view kBadCidr = "bad-cidr";          // not a CIDR
inline constexpr std::string_view kBadPort = "bad-port";          // port out of range
inline constexpr std::string_view kBadProtocol = "bad-protocol";  // not TCP/UDP/SCTP
inline constexpr std::string_view kBadValue = "bad-value";        // unknown enum or bad range
inline constexpr std::string_view kTooLarge = "too-large";        // a list or name too long
inline constexpr std::string_view kMissingServiceName = "missing-service-name";  // slice label
inline constexpr std::string_view kOversizeEvent = "oversize-event";  // watch event over bound
inline constexpr std::string_view kBadEvent = "bad-event";            // watch event malformed
}  // namespace reason

// Sanity bounds (the API's own limits are lower; these only stop absurd input).
inline constexpr std::size_t kMaxNameLength = 253;
inline constexpr std::size_t kMaxPorts = 1000;
inline constexpr std::size_t kMaxEndpoints = 10000;
inline constexpr std::size_t kMaxAddresses = 1000;  // IPs, ranges, hints, node addresses
inline constexpr std::size_t kMaxLabels = 1000;
// A label key may be a 253-byte DNS prefix, '/', and a 63-byte name; values are shorter. Every
// other identifier-like string (port and node names, zones, resourceVersion) gets kMaxNameLength.
inline constexpr std::size_t kMaxLabelLength = 317;
inline constexpr std::size_t kMaxAnnotationBytes = 256 * 1024;  // the API server's own total

struct Rejection {
  ResourceKind kind = ResourceKind::kService;
  std::string object;       // "namespace/name", or "<unnamed>"
  std::string_view reason;  // one of reason::k*
  std::string message;      // "Service ns/name: spec.ports[1].port: 70000 is out of range ..."
};

// An object deliberately ignored, not an error (an FQDN EndpointSlice).
struct Skipped {
  std::string object;
  std::string_view why;
};

template <class T>
using Decoded = std::variant<T, Skipped, Rejection>;

Decoded<ipvs::Service> decodeService(const boost::json::value& v);
Decoded<ipvs::EndpointSlice> decodeEndpointSlice(const boost::json::value& v);

// metadata.namespace/name of any object, for DELETED events and diagnostics. nullopt when the
// name is missing or not a string.
std::optional<ipvs::ObjectKey> decodeKey(const boost::json::value& v);

// metadata.resourceVersion, or "" when absent.
std::string decodeResourceVersion(const boost::json::value& v);

}  // namespace k8swatch
