#include "k8swatch/event_stream.h"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <cctype>
#include <cstring>
#include <new>

namespace k8swatch {

namespace json = boost::json;

void* EventStreamParser::CountingResource::do_allocate(std::size_t n, std::size_t align) {
  void* p = ::operator new(n, std::align_val_t(align));
  const std::size_t now = count_->live.fetch_add(n, std::memory_order_relaxed) + n;
  std::size_t peak = count_->peak.load(std::memory_order_relaxed);
  while (now > peak && !count_->peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return p;
}

void EventStreamParser::CountingResource::do_deallocate(void* p, std::size_t n, std::size_t align) {
  count_->live.fetch_sub(n, std::memory_order_relaxed);
  ::operator delete(p, std::align_val_t(align));
}

EventStreamParser::EventStreamParser(std::size_t maxEventBytes, EventFn onEvent,
                                     OversizeFn onOversize)
    : maxEventBytes_(maxEventBytes),
      onEvent_(std::move(onEvent)),
      onOversize_(std::move(onOversize)),
      counting_(json::make_shared_resource<CountingResource>(count_)),
      parser_(counting_) {}

void EventStreamParser::setSliceFn(SliceFn fn) {
  onSlice_ = std::move(fn);
  if (!slices_) slices_ = std::make_unique<SliceEventParser>();
}

std::size_t EventStreamParser::peakBufferedBytes() const {
  return count_->peak.load(std::memory_order_relaxed);
}

bool EventStreamParser::startValue(char c) {
  if (c != '{') {
    error_ = "watch stream: unexpected byte 0x" +
             std::string(1, "0123456789abcdef"[(static_cast<unsigned char>(c) >> 4) & 0xf]) +
             std::string(1, "0123456789abcdef"[static_cast<unsigned char>(c) & 0xf]) +
             " between events";
    return false;
  }
  // Each event's DOM lives in its own arena, freed at once when the event is done. Text mode
  // makes one only for an event the slice parser declines.
  if (slices_) {
    slices_->start();
    depth_ = 1;  // inside an event; the slice parser, not the scanner, finds its end
  } else {
    newArena();
  }
  skipping_ = false;
  valueBytes_ = 0;
  inString_ = false;
  escape_ = false;
  return true;
}

namespace {
// Text mode keeps its buffer between events up to this size (a few typical events).
constexpr std::size_t kKeptTextBytes = 1u << 20;

// Bytes the scanner must look at; everything else is skipped by a tight table lookup.
constexpr auto kSpecial = [] {
  std::array<bool, 256> t{};
  for (const char c : {'"', '\\', '{', '}', '[', ']'}) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
}  // namespace

std::size_t EventStreamParser::scan(const char* p, std::size_t n) {
  // Every byte of the stream passes here. The state lives in locals (the compiler must reload
  // members after each char read, which may alias them), and a string's body, most of the
  // bytes, is searched with memchr for its end and for a backslash before it.
  bool inString = inString_;
  bool escape = escape_;
  std::size_t depth = depth_;
  std::size_t i = 0;
  while (i < n) {
    if (escape) {
      escape = false;
      ++i;
    } else if (inString) {
      const auto* quote = static_cast<const char*>(std::memchr(p + i, '"', n - i));
      const std::size_t stop = quote != nullptr ? static_cast<std::size_t>(quote - p) : n;
      const auto* slash = static_cast<const char*>(std::memchr(p + i, '\\', stop - i));
      if (slash != nullptr) {
        escape = true;
        i = static_cast<std::size_t>(slash - p) + 1;
      } else {
        inString = quote == nullptr;
        i = quote != nullptr ? stop + 1 : n;
      }
    } else {
      const auto c = static_cast<unsigned char>(p[i++]);
      if (!kSpecial[c]) continue;
      if (c == '"') {
        inString = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        break;
      }
    }
  }
  inString_ = inString;
  escape_ = escape;
  depth_ = depth;
  return i;
}

void EventStreamParser::newArena() {
  parser_.reset(json::make_shared_resource<json::monotonic_resource>(arenaSize_, counting_));
}

void EventStreamParser::countText() {
  const std::size_t now = text_.capacity();
  if (now < textCounted_) count_->live.fetch_sub(textCounted_ - now, std::memory_order_relaxed);
  if (now > textCounted_) {
    const std::size_t grown = now - textCounted_;
    const std::size_t live = count_->live.fetch_add(grown, std::memory_order_relaxed) + grown;
    if (live > count_->peak.load(std::memory_order_relaxed)) {
      count_->peak.store(live, std::memory_order_relaxed);  // only this thread grows text_
    }
  }
  textCounted_ = now;
}

void EventStreamParser::clearText() {
  text_.clear();
  if (text_.capacity() > kKeptTextBytes) {
    std::string().swap(text_);  // an event this large is rare: do not hold on to its buffer
    countText();
  }
}

void EventStreamParser::appendText(const char* p, std::size_t n) {
  if (text_.size() + n > text_.capacity()) {  // grow geometrically, but never past the bound
    text_.reserve(std::min(maxEventBytes_, std::max(text_.capacity() * 2, text_.size() + n)));
    countText();
  }
  text_.append(p, n);
}

std::size_t EventStreamParser::parseSome(const char* p, std::size_t n) {
  // Exactly the first maxEventBytes_ bytes reach the parser, as in forward().
  const std::size_t take = std::min(n, maxEventBytes_ - valueBytes_);
  boost::system::error_code ec;
  const std::size_t used = slices_->write(p, take, ec);
  if (ec) {
    error_ = "watch stream: invalid JSON: " + ec.message();
    return kFailed;
  }
  valueBytes_ += used;
  if (slices_->done()) {
    depth_ = 0;
    // The text is copied only when the event began in an earlier piece.
    if (text_.empty()) return endText(std::string_view(p, used)) ? used : kFailed;
    appendText(p, used);
    return endText(text_) ? used : kFailed;
  }
  if (used == n) {
    appendText(p, used);  // the piece is gone after feed(): keep the event's part of it
    return used;
  }
  // Past the bound the event is only scanned for its end, as forward() does; the scanner's
  // state at the bound comes from the text (valid JSON so far, so it cannot end there).
  skipping_ = true;
  depth_ = 0;
  scan(text_.data(), text_.size());
  scan(p, used);
  clearText();
  return used;
}

bool EventStreamParser::endText(std::string_view text) {
  if (auto ev = slices_->take()) {
    onSlice_(std::move(*ev), text);
    clearText();
    return true;
  }
  // Declined: the DOM from the text, already known to be valid JSON.
  boost::system::error_code ec;
  newArena();
  parser_.write(text.data(), text.size(), ec);
  if (!ec) parser_.finish(ec);
  clearText();
  if (ec) {
    error_ = "watch stream: invalid JSON: " + ec.message();
    return false;
  }
  onEvent_(parser_.release());
  sizeNextArena();
  return true;
}

void EventStreamParser::sizeNextArena() {
  arenaSize_ = std::clamp<std::size_t>(valueBytes_ * 2, 4096, 1u << 20);
}

bool EventStreamParser::forward(const char* p, std::size_t n, bool last) {
  // Exactly the first maxEventBytes_ bytes of an event reach the parser, however the reads
  // split: capping each piece at the bytes left under the bound makes a syntax error there a
  // stream error for every split, and an error past the bound never seen (issue #14, defect 7).
  const std::size_t room = maxEventBytes_ - std::min(valueBytes_, maxEventBytes_);
  valueBytes_ += n;
  if (!skipping_) {
    boost::system::error_code ec;
    if (const std::size_t take = std::min(n, room); take > 0) parser_.write(p, take, ec);
    if (!ec && valueBytes_ > maxEventBytes_) {
      skipping_ = true;  // drop what the parser holds; the rest of the value is only scanned
      parser_.reset();
    } else if (!ec && last) {
      parser_.finish(ec);
    }
    if (ec) {
      error_ = "watch stream: invalid JSON: " + ec.message();
      return false;
    }
  }
  if (skipping_) {
    if (last) onOversize_(valueBytes_);
    return true;
  }
  if (last) {
    json::value v = parser_.release();
    onEvent_(std::move(v));
    sizeNextArena();
  }
  return true;
}

bool EventStreamParser::feed(std::string_view bytes) {
  if (!error_.empty()) return false;
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  while (n > 0) {
    if (depth_ == 0) {
      // Between events: skip whitespace, then an object must start.
      while (n > 0 && std::isspace(static_cast<unsigned char>(*p))) {
        ++p;
        --n;
        ++consumed_;
      }
      if (n == 0) break;
      if (!startValue(*p)) return false;
    }
    std::size_t used = 0;
    if (slices_ && !skipping_) {
      used = parseSome(p, n);
      if (used == kFailed) return false;
    } else {
      used = scan(p, n);
      if (!forward(p, used, depth_ == 0)) return false;
    }
    p += used;
    n -= used;
    consumed_ += used;
  }
  return true;
}

}  // namespace k8swatch
