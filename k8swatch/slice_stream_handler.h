#pragma once
// The basic_parser handler behind the streaming EndpointSlice decoder (decode_slice_stream.h):
// internal to k8swatch. Purpose: fill one ipvs::EndpointSlice as the parser tokenizes, checking
// what the DOM decoder checks, and "decline" (stop the parse) on anything that decoder would
// reject or that one pass cannot settle. Threading: one parse, one thread. Ownership: owns the
// slice until finish() hands it over. Errors: a decline is a parse error code; the caller
// tells it from invalid JSON by not caring, since both mean "use the DOM decoder".
// A stack of frames mirrors the open objects and arrays; each frame has a Role saying what the
// container is, and the role of the value about to start comes from the key just read
// (objects) or the element index (arrays).

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ipvs/model.h"

namespace k8swatch::detail {

namespace json = boost::json;

enum class Role : std::uint8_t {
  kSkip,     // a field the decoder never reads: anything goes, nested or not
  kInvalid,  // a value the decoder rejects whatever it is (an element over a list's limit)
  kEvent,
  kType,
  kSlice,
  kMetadata,
  kName,
  kNamespace,
  kResourceVersion,
  kLabels,
  kServiceLabel,
  kAddressType,
  kPorts,
  kPort,
  kPortName,
  kProtocol,
  kPortNumber,
  kEndpoints,
  kEndpoint,
  kAddresses,
  kFirstAddress,
  kConditions,
  kReady,
  kServing,
  kTerminating,
  kNodeName,
  kZone,
  kHints,
  kHintZones,
  kHintNodes,
  kHint,
  kHintName,
};

// Node and zone names of recent slices, kept across a watch stream's events by its parser
// (SliceEventParser): they repeat across a slice's endpoints and across slices, and a hit costs
// a hash and a reference count instead of the intern table's mutex and lookup. Bounded: it
// starts over when full, so it holds no more than kMaxNames names alive.
class NameCache {
 public:
  static constexpr std::size_t kMaxNames = 4096;
  ipvs::Name get(std::string_view s);
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string_view, ipvs::Name> names_;  // keys view their Name's text
};

struct Frame {
  Role role;
  bool array;
  std::uint32_t seen = 0;   // objects: the known keys read so far (a duplicate declines)
  std::size_t entries = 0;  // array elements / object members so far
};

class SliceHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();  // as the DOM parser
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  // `names`, when given, outlives the handler (a watch stream's); else a small local one.
  explicit SliceHandler(bool event, NameCache* names = nullptr)
      : root_(event ? Role::kEvent : Role::kSlice), names_(names) {}

  bool on_document_begin(boost::system::error_code&) {
    stack_.reserve(8);
    pending_ = root_;
    return true;
  }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code& ec) { return begin(false, ec); }
  bool on_array_begin(boost::system::error_code& ec) { return begin(true, ec); }
  bool on_object_end(std::size_t n, boost::system::error_code& ec) { return end(n, ec); }
  bool on_array_end(std::size_t n, boost::system::error_code& ec) { return end(n, ec); }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec);
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
    if (!inString_) {
      inString_ = true;
      stringRole_ = valueRole();
      text_.clear();
    }
    if (stringRole_ != Role::kSkip) text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code& ec);
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, boost::system::error_code& ec);
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code& ec) {
    return scalar(ec);
  }
  bool on_double(double, json::string_view, boost::system::error_code& ec) { return scalar(ec); }
  bool on_bool(bool b, boost::system::error_code& ec);
  bool on_null(boost::system::error_code& ec);
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

  // After a complete parse: the decoded slice, if every required field was there.
  std::optional<ipvs::EndpointSlice> finish();
  const std::string& eventType() const { return type_; }

 private:
  Role valueRole();
  bool begin(bool array, boost::system::error_code& ec);
  bool end(std::size_t n, boost::system::error_code& ec);
  bool text(Role role, std::string_view s, boost::system::error_code& ec);
  bool itemText(Role role, std::string_view s, boost::system::error_code& ec);
  bool scalar(boost::system::error_code& ec) { return valueRole() == Role::kSkip || decline(ec); }
  // Stops the parse: the caller goes through the DOM decoder instead.
  bool decline(boost::system::error_code& ec) {
    ec = json::error::exception;
    return false;
  }
  ipvs::Endpoint& endpoint() { return slice_.endpoints.back(); }
  // Node and zone names repeat across a slice's endpoints: a copy of a recent Name is a
  // reference count, interning the text again is a hash lookup under a mutex.
  ipvs::Name name(std::string_view s);

  const Role root_;
  Role pending_ = Role::kSkip;  // the role of an object member's value, from its key
  std::vector<Frame> stack_;
  std::string key_;   // a key arriving in parts
  std::string text_;  // a string value arriving in parts
  bool inString_ = false;
  Role stringRole_ = Role::kSkip;

  ipvs::EndpointSlice slice_;
  std::string type_;
  bool haveName_ = false;
  bool haveAddressType_ = false;
  bool haveServiceLabel_ = false;
  bool haveAddress_ = false;  // the current endpoint's
  std::optional<bool> ready_, serving_, terminating_;
  NameCache* names_;
  std::array<ipvs::Name, 8> recent_;  // without names_
  std::size_t nextRecent_ = 0;
};

}  // namespace k8swatch::detail
