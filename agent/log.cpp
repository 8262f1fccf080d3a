#include "agent/log.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

namespace agent {
namespace {

constexpr std::string_view kRedacted = "<redacted>";
constexpr std::size_t kMaxSecrets = 16;  // addSecret() keeps the newest values

bool iequalsAt(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  }
  return true;
}

bool tokenChar(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '"' && c != '\'' && c != ',';
}

// "Bearer abc" -> "Bearer <redacted>", keeping the caller's spelling of "Bearer".
std::string redactBearer(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (iequalsAt(text, i, "bearer ")) {
      std::size_t start = i + 7;
      while (start < text.size() && text[start] == ' ') ++start;
      std::size_t end = start;
      while (end < text.size() && tokenChar(text[end])) ++end;
      out.append(text.substr(i, start - i));
      if (end > start) out.append(kRedacted);
      i = end;
      continue;
    }
    out.push_back(text[i++]);
  }
  return out;
}

// "https://user:pass@host" -> "https://<redacted>@host".
std::string redactUserinfo(std::string s) {
  for (std::size_t pos = s.find("://"); pos != std::string::npos; pos = s.find("://", pos + 3)) {
    const std::size_t start = pos + 3;
    std::size_t end = start;
    while (end < s.size() && s[end] != '/' && s[end] != '@' && tokenChar(s[end])) ++end;
    if (end < s.size() && s[end] == '@' && end > start) s.replace(start, end - start, kRedacted);
  }
  return s;
}

bool secretKey(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view word : {"token", "password", "secret", "authorization", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string sanitizeKey(std::string_view key) {
  if (key.empty()) return "_";
  std::string out(key);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '=' || c == '"' || c == 0x7f) c = '_';
  }
  return out;
}

void writeStderr(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

struct Logger::Core {
  std::atomic<int> verbosity{0};
  Sink sink;
  const ipvs::Clock* clock = nullptr;
  std::mutex mutex;  // guards the sink (whole lines), secrets and hook
  std::vector<std::string> secrets;
  ErrorHook hook;
};

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
  }
  return "info";
}

LogField::LogField(std::string_view key, double value) : key_(key) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  value_.assign(buf, r.ptr);
}

Logger::Logger() : Logger(Options{}) {}

Logger::Logger(Options options) : core_(std::make_shared<Core>()) {
  core_->verbosity = options.verbosity;
  core_->sink = options.sink ? std::move(options.sink) : Sink(writeStderr);
  core_->clock = options.clock != nullptr ? options.clock : &ipvs::steadyClock();
}

Logger::Logger(std::shared_ptr<Core> core, std::string component)
    : core_(std::move(core)), component_(std::move(component)) {}

Logger Logger::withComponent(std::string component) const {
  return Logger(core_, std::move(component));
}

void Logger::setVerbosity(int verbosity) { core_->verbosity = verbosity; }
int Logger::verbosity() const { return core_->verbosity.load(std::memory_order_relaxed); }

void Logger::setErrorHook(ErrorHook hook) {
  std::lock_guard lock(core_->mutex);
  core_->hook = std::move(hook);
}

void Logger::addSecret(std::string secret) {
  if (secret.size() < 4) return;  // masking "a" everywhere would wreck every line
  std::lock_guard lock(core_->mutex);
  auto& secrets = core_->secrets;
  if (std::find(secrets.begin(), secrets.end(), secret) != secrets.end()) return;
  // A rotating token file adds one value an hour: keep the newest few, not every one ever seen.
  if (secrets.size() >= kMaxSecrets) secrets.erase(secrets.begin());
  secrets.push_back(std::move(secret));
}

void Logger::write(LogLevel level, std::string_view msg, LogFields fields) const {
  std::string line = "time=" + formatLogTime(core_->clock->wallNow());
  line += " level=";
  line += logLevelName(level);
  line += " msg=" + logfmtValue(redactSecrets(msg));
  if (!component_.empty()) line += " component=" + logfmtValue(component_);
  for (const auto& f : fields) {
    line += ' ' + sanitizeKey(f.key()) + '=';
    line += secretKey(f.key()) && !f.value().empty() ? std::string(kRedacted)
                                                     : logfmtValue(redactSecrets(f.value()));
  }
  line += '\n';
  ErrorHook hook;
  {
    std::lock_guard lock(core_->mutex);
    for (const auto& secret : core_->secrets) {
      for (std::size_t pos = line.find(secret); pos != std::string::npos;
           pos = line.find(secret, pos + kRedacted.size())) {
        line.replace(pos, secret.size(), kRedacted);
      }
    }
    try {
      core_->sink(line);
    } catch (...) {  // a broken sink must not take the caller down
    }
    if (level != LogLevel::kInfo) hook = core_->hook;
  }
  if (hook) hook(component_.empty() ? std::string_view("agent") : component_, level);
}

std::string redactSecrets(std::string_view text) { return redactUserinfo(redactBearer(text)); }

std::string logfmtValue(std::string_view value) {
  const bool needsQuotes = value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
                             const auto u = static_cast<unsigned char>(c);
                             return u <= ' ' || u == 0x7f || c == '=' || c == '"' || c == '\\';
                           });
  if (!needsQuotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < ' ' || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string formatLogTime(ipvs::Clock::WallTime t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const auto millis = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace agent
