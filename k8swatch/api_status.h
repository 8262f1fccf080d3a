#pragma once
// A Kubernetes Status object (a failed request's body, or the object of a watch ERROR event),
// read for what the reflector does next: relist, relist from scratch (410 Gone), or relist
// without a resourceVersion ("Too large resource version"). Pure functions; anything missing or
// of the wrong type reads as empty, never as an error.

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

namespace k8swatch {

struct StatusInfo {
  std::int64_t code = 0;
  std::string reason;
  std::string message;
};

// `v` may be null or not an object: then the HTTP status alone.
StatusInfo readStatus(const boost::json::value* v, unsigned httpStatus);
bool isGone(const StatusInfo& s);           // 410, or reason Expired/Gone
bool isTooLargeRv(const StatusInfo& s);     // the resourceVersion is ahead of the server's cache
std::string describe(const StatusInfo& s);  // "HTTP 410 Expired: message"

}  // namespace k8swatch
