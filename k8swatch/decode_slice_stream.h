#pragma once
// EndpointSlice decoding straight from JSON text, without building the Boost.JSON DOM: a
// basic_parser handler fills ipvs::EndpointSlice as the bytes are tokenized (issue #17: one
// 100-endpoint watch event was ~85 us through the DOM, mostly allocating and walking the tree).
//
// The DOM decoder (decodeEndpointSlice) stays the one definition of what is valid. The streaming
// path only ever *accepts*: on anything it is not certain of (any value the DOM decoder would
// reject, a null where an element is required, a duplicate key the decoder reads, an FQDN slice,
// endpoints before addressType, invalid JSON) it declines, and the text is decoded through the
// DOM instead. So rejections, their messages and counters are the DOM decoder's by construction,
// and an accepted slice equals what the DOM decoder returns (the differential fuzz targets
// fuzz_endpoint_slice_json and fuzz_watch_stream check it). Bad input costs one parse more,
// never less checking. The reflector uses it for EndpointSlice watch events (ADDED/MODIFIED,
// also in a streaming list); paged LISTs still go through the DOM.
// Pure functions: no I/O, no logging, no state. Memory is bounded by the text: nesting by the
// parser's depth limit, lists by the decoder's limits (kMaxEndpoints, ...).

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ipvs/model.h"
#include "k8swatch/decode.h"

namespace k8swatch {

// The streaming path alone: the slice, or nullopt when it declines (see above). For tests, the
// bench, and callers that fall back themselves.
std::optional<ipvs::EndpointSlice> streamDecodeEndpointSlice(std::string_view json);

// One EndpointSlice in JSON text -> the same result as decodeEndpointSlice(json::parse(text)).
// Invalid JSON sets `ec` (as json::parse does) and returns a kNotObject rejection.
Decoded<ipvs::EndpointSlice> decodeEndpointSliceText(std::string_view json,
                                                     boost::system::error_code& ec);

// A watch event {"type":"ADDED"|"MODIFIED","object":<slice>} through the streaming path. nullopt
// for every other event (DELETED, BOOKMARK, ERROR, malformed) and whenever the slice path
// declines: the caller then handles the event through the DOM as before.
struct SliceEvent {
  std::string type;  // "ADDED" or "MODIFIED"
  ipvs::EndpointSlice slice;
};
std::optional<SliceEvent> streamDecodeSliceEvent(std::string_view json);

// The same, fed one watch event's bytes as they arrive (the watch stream's text mode,
// event_stream.h). It is also the event's syntax check: invalid JSON is reported at the bad
// byte, and the parse stops at the event's end, so no separate pass has to find it. A decline
// only stops the decoding; the syntax check goes on to the end.
// Single-threaded; start() before each event.
class SliceEventParser {
 public:
  SliceEventParser();
  ~SliceEventParser();
  SliceEventParser(const SliceEventParser&) = delete;
  SliceEventParser& operator=(const SliceEventParser&) = delete;

  void start();
  // Parses from `p`; returns the bytes used: all `n` until the event is complete, then up to
  // its end (and any whitespace after it). Invalid JSON sets `ec` (the DOM parser's code).
  std::size_t write(const char* p, std::size_t n, boost::system::error_code& ec);
  bool done() const;
  // After done(): the event when the streaming path accepted it, else nullopt (see above).
  std::optional<SliceEvent> take();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace k8swatch
