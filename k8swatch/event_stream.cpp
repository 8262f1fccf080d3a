#include "k8swatch/event_stream.h"

#include <algorithm>
#include <array>
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
  // Each event's DOM lives in its own arena, freed at once when the event is done.
  parser_.reset(json::make_shared_resource<json::monotonic_resource>(arenaSize_, counting_));
  skipping_ = false;
  valueBytes_ = 0;
  inString_ = false;
  escape_ = false;
  return true;
}

namespace {
// Bytes the scanner must look at; everything else is skipped by a tight table lookup.
constexpr auto kSpecial = [] {
  std::array<bool, 256> t{};
  for (const char c : {'"', '\\', '{', '}', '[', ']'}) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
}  // namespace

std::size_t EventStreamParser::scan(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!kSpecial[static_cast<unsigned char>(p[i])] && !escape_) continue;
    const char c = p[i];
    if (inString_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        inString_ = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        inString_ = true;
        break;
      case '{':
      case '[':
        ++depth_;
        break;
      case '}':
      case ']':
        if (--depth_ == 0) return i + 1;
        break;
      default:
        break;
    }
  }
  return n;
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
    arenaSize_ = std::clamp<std::size_t>(valueBytes_ * 2, 4096, 1u << 20);
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
    const std::size_t used = scan(p, n);
    const bool last = depth_ == 0;
    if (!forward(p, used, last)) return false;
    p += used;
    n -= used;
    consumed_ += used;
  }
  return true;
}

}  // namespace k8swatch
