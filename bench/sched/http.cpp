#include "bench/sched/http.h"

#include <cctype>
#include <charconv>

namespace bench::sched {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// True when the comma-separated header value holds `token` (case-insensitive).
bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// "HTTP/1.0" or "HTTP/1.1" -> minor version; -1 otherwise.
int versionMinor(std::string_view v) {
  if (v == "HTTP/1.1") return 1;
  if (v == "HTTP/1.0") return 0;
  return -1;
}

struct Headers {
  bool closeToken = false;
  bool keepAliveToken = false;
  std::size_t contentLength = 0;
  std::string backend;
};

// Splits `head` (the text after the start line, without the blank line) into header fields.
ParseStatus parseHeaders(std::string_view lines, Headers& h) {
  while (!lines.empty()) {
    const auto eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines = eol == std::string_view::npos ? std::string_view{} : lines.substr(eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseStatus::kBad;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      h.closeToken = h.closeToken || hasToken(value, "close");
      h.keepAliveToken = h.keepAliveToken || hasToken(value, "keep-alive");
    } else if (iequals(name, "content-length")) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size()) return ParseStatus::kBad;
      if (n > kMaxBodyBytes) return ParseStatus::kTooLarge;
      h.contentLength = n;
    } else if (iequals(name, "x-backend")) {
      h.backend = std::string(value);
    } else if (iequals(name, "transfer-encoding")) {
      return ParseStatus::kBad;  // chunked bodies are not part of this protocol
    }
  }
  return ParseStatus::kOk;
}

// Finds the head; splits off its start line and header lines.
ParseStatus splitHead(std::string_view buf, std::string_view& start, std::string_view& fields,
                      std::size_t& headBytes) {
  const auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return buf.size() > kMaxHeadBytes ? ParseStatus::kTooLarge : ParseStatus::kIncomplete;
  }
  if (end + 4 > kMaxHeadBytes) return ParseStatus::kTooLarge;
  headBytes = end + 4;
  const std::string_view head = buf.substr(0, end);
  const auto eol = head.find("\r\n");
  start = head.substr(0, eol);
  fields = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
  return ParseStatus::kOk;
}

bool keepAliveFor(int minor, const Headers& h) {
  if (h.closeToken) return false;
  return minor >= 1 || h.keepAliveToken;
}

}  // namespace

ParseStatus parseRequestHead(std::string_view buf, RequestHead& out, std::size_t& headBytes) {
  std::string_view start, fields;
  if (const auto s = splitHead(buf, start, fields, headBytes); s != ParseStatus::kOk) return s;
  const auto sp1 = start.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) return ParseStatus::kBad;
  out.method = std::string(start.substr(0, sp1));
  out.target = std::string(start.substr(sp1 + 1, sp2 - sp1 - 1));
  out.versionMinor = versionMinor(start.substr(sp2 + 1));
  if (out.versionMinor < 0) return ParseStatus::kBad;
  Headers h;
  if (const auto s = parseHeaders(fields, h); s != ParseStatus::kOk) return s;
  out.keepAlive = keepAliveFor(out.versionMinor, h);
  out.contentLength = h.contentLength;
  return ParseStatus::kOk;
}

ParseStatus parseResponseHead(std::string_view buf, ResponseHead& out, std::size_t& headBytes) {
  std::string_view start, fields;
  if (const auto s = splitHead(buf, start, fields, headBytes); s != ParseStatus::kOk) return s;
  // "HTTP/1.1 200 OK"
  const auto sp1 = start.find(' ');
  if (sp1 == std::string_view::npos) return ParseStatus::kBad;
  out.versionMinor = versionMinor(start.substr(0, sp1));
  if (out.versionMinor < 0) return ParseStatus::kBad;
  const std::string_view code = start.substr(sp1 + 1, 3);
  int status = 0;
  const auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
  if (ec != std::errc{} || end != code.data() + 3 || status < 100) return ParseStatus::kBad;
  out.status = status;
  Headers h;
  if (const auto s = parseHeaders(fields, h); s != ParseStatus::kOk) return s;
  out.keepAlive = keepAliveFor(out.versionMinor, h);
  out.contentLength = h.contentLength;
  out.backend = std::move(h.backend);
  return ParseStatus::kOk;
}

std::string formatRequest(std::string_view host, bool keepAlive) {
  std::string out = "GET / HTTP/1.1\r\nHost: ";
  out += host;
  out += keepAlive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  return out;
}

std::string formatResponse(int status, std::string_view name, std::string_view body,
                           bool keepAlive) {
  std::string out = "HTTP/1.1 " + std::to_string(status);
  out += status == 200 ? " OK" : status == 400 ? " Bad Request" : " Error";
  out += "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size());
  out += "\r\nX-Backend: ";
  out += name;
  if (!keepAlive) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  out += body;
  return out;
}

std::string backendOf(const ResponseHead& head, std::string_view body) {
  if (!head.backend.empty()) return head.backend;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) {
    body.remove_prefix(1);
  }
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) {
    body.remove_suffix(1);
  }
  return std::string(body);
}

}  // namespace bench::sched
