#include "netlink/sysctl_client.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <utility>

namespace netlink {

namespace {

// Parses an unsigned decimal at the start of `s`, advancing it.
std::optional<unsigned> takeNumber(std::string_view& s) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
  return value;
}

bool validKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/';
}

bool validKey(std::string_view key) {
  if (key.empty() || key.front() == '/' || key.back() == '/') return false;
  for (char c : key) {
    if (!validKeyChar(c)) return false;
  }
  // No empty, "." or ".." component: the key must stay below the root.
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

std::error_code lastErrno() { return {errno, std::generic_category()}; }

}  // namespace

std::optional<KernelVersion> parseKernelVersion(std::string_view release) {
  KernelVersion v;
  const auto major = takeNumber(release);
  if (!major || release.empty() || release.front() != '.') return std::nullopt;
  release.remove_prefix(1);
  const auto minor = takeNumber(release);
  if (!minor) return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  if (!release.empty() && release.front() == '.') {
    release.remove_prefix(1);
    if (const auto patch = takeNumber(release)) v.patch = *patch;
  }
  return v;
}

ipvs::Result<KernelVersion> runningKernelVersion() {
  utsname u{};
  if (uname(&u) != 0) return lastErrno();
  if (auto v = parseKernelVersion(u.release)) return *v;
  return std::make_error_code(std::errc::bad_message);
}

ConnReuseAction connReuseModeAction(KernelVersion kernel) {
  if (kernel < kConnReuseModeMinKernel) return ConnReuseAction::kUnsupported;
  if (kernel >= kConnReuseModeFixedKernel) return ConnReuseAction::kLeaveAsIs;
  return ConnReuseAction::kSetZero;
}

std::vector<SysctlSetting> ipvsSysctls(KernelVersion kernel, bool strictArp) {
  std::vector<SysctlSetting> out{{"net/ipv4/vs/conntrack", 1}};
  if (connReuseModeAction(kernel) == ConnReuseAction::kSetZero) {
    out.push_back({"net/ipv4/vs/conn_reuse_mode", 0});
  }
  out.push_back({"net/ipv4/vs/expire_nodest_conn", 1});
  out.push_back({"net/ipv4/vs/expire_quiescent_template", 1});
  out.push_back({"net/ipv4/ip_forward", 1});
  if (strictArp) {
    out.push_back({"net/ipv4/conf/all/arp_ignore", 1});
    out.push_back({"net/ipv4/conf/all/arp_announce", 2});
  }
  return out;
}

SysctlClient::SysctlClient(std::string root)
    : root_(std::move(root)), counters_(std::make_unique<SysctlCounters>()) {}

std::error_code SysctlClient::fail(std::error_code ec, std::string message) {
  ++counters_->failures;
  lastError_ = std::move(message) + ": " + ec.message();
  return ec;
}

ipvs::Result<std::string> SysctlClient::pathOf(std::string_view key) {
  if (!validKey(key)) {
    return fail(std::make_error_code(std::errc::invalid_argument),
                "sysctl key '" + std::string(key) + "' is not a relative path");
  }
  return root_ + "/" + std::string(key);
}

ipvs::Result<int> SysctlClient::read(std::string_view key) {
  auto path = pathOf(key);
  if (!path) return path.error();
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(lastErrno(), "cannot open sysctl " + std::string(key));
  char buf[64];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof(buf) - 1);
  } while (n < 0 && errno == EINTR);
  const std::error_code readError = n < 0 ? lastErrno() : std::error_code{};
  ::close(fd);
  if (readError) return fail(readError, "cannot read sysctl " + std::string(key));
  std::string_view text(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
    return fail(
        std::make_error_code(std::errc::bad_message),
        "sysctl " + std::string(key) + " holds '" + std::string(text) + "', not an integer");
  }
  return value;
}

ipvs::Result<void> SysctlClient::write(std::string_view key, int value) {
  auto path = pathOf(key);
  if (!path) return path.error();
  const int fd = ::open(path->c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0) return fail(lastErrno(), "cannot open sysctl " + std::string(key) + " for writing");
  const std::string text = std::to_string(value) + "\n";
  ssize_t n;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  std::error_code ec = n < 0 ? lastErrno() : std::error_code{};
  if (!ec && static_cast<std::size_t>(n) != text.size())
    ec = std::make_error_code(std::errc::io_error);
  if (::close(fd) != 0 && !ec) ec = lastErrno();
  if (ec)
    return fail(ec, "cannot write " + std::to_string(value) + " to sysctl " + std::string(key));
  ++counters_->writes;
  return {};
}

ipvs::Result<void> SysctlClient::ensure(std::string_view key, int value) {
  const std::uint64_t failuresBefore = counters_->failures;
  if (auto current = read(key); current && *current == value) {
    ++counters_->unchanged;
    return {};
  }
  counters_->failures = failuresBefore;  // an unreadable value is no failure yet: the write decides
  return write(key, value);
}

ipvs::Result<void> SysctlClient::ensureAll(const std::vector<SysctlSetting>& settings) {
  for (const SysctlSetting& s : settings) {
    if (auto r = ensure(s.key, s.value); !r) return r;
  }
  return {};
}

}  // namespace netlink
