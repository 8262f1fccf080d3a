#pragma once
// Splits a watch body (JSON objects concatenated on an endless chunked stream) into events.
// Bytes arrive in arbitrary pieces; an object may span any number of pieces, with a boundary
// anywhere, including inside a string or an escape. Each object is parsed incrementally by a
// Boost.JSON stream_parser while a small scanner tracks nesting, so an object larger than the
// bound is skipped to its end without being held in memory, and the stream goes on.
// Single-threaded; no I/O. Garbage (a top-level byte that cannot start an object, or invalid
// JSON inside one) is an error after which the stream is unusable.
// The outcome never depends on where the reads split: exactly the first maxEventBytes of each
// event are parsed, so invalid JSON there is an error whatever the event's size, while an event
// over the bound is reported through OversizeFn once its end is scanned, whatever follows the
// bound inside it.
// Memory: everything the JSON parser holds for an event (its temporary stack and the event's
// DOM arena) is drawn through one counting resource, whose high-water mark peakBufferedBytes()
// reports, so the bound can be checked from outside, not only argued.
// Text mode (setSliceFn): each event's bytes go, as they arrive, to the streaming EndpointSlice
// decoder (SliceEventParser), which is also the syntax check (invalid JSON is an error at the
// bad byte, as above) and finds the event's end, so the scanner runs only past the bound. An
// event the decoder declines is parsed from its text into the DOM for onEvent (text and DOM
// then coexist for that event), so an event spanning reads is also copied as it arrives (up to
// the bound, counted the same way); one within a single read is used where it lies. The
// outcome is the same as without text mode, for every split.
#include <atomic>
#include <boost/json/memory_resource.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "k8swatch/decode_slice_stream.h"

namespace k8swatch {

class EventStreamParser {
 public:
  using EventFn = std::function<void(boost::json::value&&)>;
  using OversizeFn = std::function<void(std::size_t bytesSkipped)>;
  // An event the streaming decoder accepted, with its text (valid JSON).
  using SliceFn = std::function<void(SliceEvent&& event, std::string_view text)>;

  EventStreamParser(std::size_t maxEventBytes, EventFn onEvent, OversizeFn onOversize);

  // Consumes all of `bytes`. Returns false on garbage (see error()); later calls keep failing.
  bool feed(std::string_view bytes);
  // Text mode (see above); set between events only.
  void setSliceFn(SliceFn fn);
  const std::string& error() const { return error_; }
  // True between events: no partial object is pending (a clean place for the stream to end).
  // Never after an error, whose position would otherwise depend on where the reads split.
  bool idle() const { return depth_ == 0 && error_.empty(); }
  std::size_t bytesConsumed() const { return consumed_; }
  // The most bytes the JSON parser held at once (temporary stack plus DOM arena).
  std::size_t peakBufferedBytes() const;

 private:
  // Bytes live through the counting resource and their high-water mark. Atomic because an
  // event's DOM (and the arena under it) may be freed on another thread.
  struct BufferCount {
    std::atomic<std::size_t> live{0};
    std::atomic<std::size_t> peak{0};
  };
  // operator new/delete, counted into a BufferCount it shares with the parser.
  class CountingResource final : public boost::json::memory_resource {
   public:
    explicit CountingResource(std::shared_ptr<BufferCount> count) : count_(std::move(count)) {}

   private:
    void* do_allocate(std::size_t n, std::size_t align) override;
    void do_deallocate(void* p, std::size_t n, std::size_t align) override;
    bool do_is_equal(const memory_resource& other) const noexcept override {
      return this == &other;
    }
    std::shared_ptr<BufferCount> count_;
  };

  bool startValue(char c);
  void newArena();
  void sizeNextArena();  // after an event: the next arena starts at ~2x its size
  std::size_t scan(const char* p, std::size_t n);  // bytes up to and including the value's end
  bool forward(const char* p, std::size_t n, bool last);
  // Text mode's scan and forward under the bound: the bytes used, or kFailed.
  std::size_t parseSome(const char* p, std::size_t n);
  // The event is complete: to onSlice_ or, declined, through the DOM.
  bool endText(std::string_view text);
  void appendText(const char* p, std::size_t n);
  void clearText();
  void countText();  // text_'s capacity into the counting resource's numbers

  std::size_t maxEventBytes_;
  EventFn onEvent_;
  OversizeFn onOversize_;
  std::shared_ptr<BufferCount> count_ = std::make_shared<BufferCount>();
  // Shared: an event handed out keeps its arena, and so this resource, alive.
  boost::json::storage_ptr counting_;
  boost::json::stream_parser parser_;
  std::size_t depth_ = 0;  // 0: between values
  bool inString_ = false;
  bool escape_ = false;
  bool skipping_ = false;
  std::size_t valueBytes_ = 0;
  std::size_t arenaSize_ = 4096;  // first block of the next event's arena: ~2x the last event
  std::size_t consumed_ = 0;
  static constexpr std::size_t kFailed = ~std::size_t{0};
  SliceFn onSlice_;
  std::unique_ptr<SliceEventParser> slices_;  // text mode's
  std::string text_;                          // text mode: the event so far, at most maxEventBytes
  std::size_t textCounted_ = 0;               // text_'s capacity as counted in count_
  std::string error_;
};

}  // namespace k8swatch
