// families_probe: tiny UDP and SCTP servers and clients for the kernel guest tests
// (agent_families.sh). busybox has no SCTP at all and its `nc -u` serves a single peer, so the
// guest needs its own: every server answers each datagram or association with its NAME, every
// client prints one line per request (the NAME that answered, or "none").
//
// Threading: single-threaded; servers loop forever (the guest powers off under them).
// Errors: a setup failure prints a message on stderr and exits 2; a request without answer is
// the line "none", never an error, because black-holed requests are what the tests count.
//
//   families_probe udp-serve PORT NAME       UDP on [::]:PORT (IPv4 too), answers NAME
//   families_probe sctp-serve PORT NAME      SCTP (one-to-one) on [::]:PORT, sends NAME, closes
//   families_probe udp-ask IP PORT COUNT [SPORT [STOPFILE]]
//        COUNT datagrams from one socket (bound to SPORT if not 0), 1 s wait for each answer; with
//        STOPFILE it keeps going (COUNT is then a maximum) until that file exists.
//   families_probe sctp-ask IP PORT COUNT    COUNT associations, one answer read from each
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr int kAnswerWaitMs = 1000;
constexpr useconds_t kPauseUs = 100'000;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "families_probe: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

std::uint16_t portOf(const char* s) {
  const long v = std::strtol(s, nullptr, 10);
  if (v < 0 || v > 65535) {
    std::fprintf(stderr, "families_probe: bad port %s\n", s);
    std::exit(2);
  }
  return static_cast<std::uint16_t>(v);
}

// An address of either family; `len` is what bind/connect/sendto take.
struct Peer {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
};

Peer peerOf(const char* ip, std::uint16_t port) {
  Peer p;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&p.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&p.addr);
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    p.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    p.len = sizeof(sockaddr_in6);
    p.family = AF_INET6;
  } else {
    std::fprintf(stderr, "families_probe: bad address %s\n", ip);
    std::exit(2);
  }
  return p;
}

// A socket on [::]:port that takes IPv4 too (V6ONLY off), so one server covers dual-stack.
int anyListener(int type, int protocol, std::uint16_t port) {
  const int fd = socket(AF_INET6, type, protocol);
  if (fd < 0) die("socket");
  const int off = 0, on = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  any.sin6_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) die("bind");
  return fd;
}

int udpServe(std::uint16_t port, const std::string& name) {
  const int fd = anyListener(SOCK_DGRAM, IPPROTO_UDP, port);
  char buf[512];
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    sendto(fd, name.data(), name.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

int sctpServe(std::uint16_t port, const std::string& name) {
  const int fd = anyListener(SOCK_STREAM, IPPROTO_SCTP, port);
  if (listen(fd, 16) != 0) die("listen");
  for (;;) {
    const int c = accept(fd, nullptr, nullptr);
    if (c < 0) continue;
    const std::string line = name + "\n";
    if (write(c, line.data(), line.size()) < 0) std::perror("families_probe: write");
    close(c);
  }
}

void printLine(const std::string& s) {
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

// One datagram and its answer (the answering server's NAME), or "none" after kAnswerWaitMs.
std::string udpOnce(int fd, const Peer& to) {
  static constexpr char kAsk[] = "who";
  if (sendto(fd, kAsk, sizeof kAsk - 1, 0, reinterpret_cast<const sockaddr*>(&to.addr), to.len) <
      0) {
    return "none";
  }
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, kAnswerWaitMs) == 1) {
    char buf[512];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
  }
  return "none";
}

bool exists(const char* path) {
  struct stat st {};
  return path != nullptr && stat(path, &st) == 0;
}

int udpAsk(const Peer& to, long count, std::uint16_t sport, const char* stopFile) {
  const int fd = socket(to.family, SOCK_DGRAM, IPPROTO_UDP);
  if (fd < 0) die("socket");
  if (sport != 0) {
    Peer local = to;  // same family, wildcard address, the fixed source port
    if (to.family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&local.addr)->sin_addr.s_addr = htonl(INADDR_ANY);
      reinterpret_cast<sockaddr_in*>(&local.addr)->sin_port = htons(sport);
    } else {
      reinterpret_cast<sockaddr_in6*>(&local.addr)->sin6_addr = in6addr_any;
      reinterpret_cast<sockaddr_in6*>(&local.addr)->sin6_port = htons(sport);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&local.addr), local.len) != 0) die("bind");
  }
  for (long i = 0; i < count && !exists(stopFile); ++i) {
    printLine(udpOnce(fd, to));
    if (stopFile != nullptr) usleep(kPauseUs);
  }
  return 0;
}

std::string sctpOnce(const Peer& to) {
  const int fd = socket(to.family, SOCK_STREAM, IPPROTO_SCTP);
  if (fd < 0) die("socket");
  std::string out = "none";
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) == 0) {
    pollfd p{fd, POLLIN, 0};
    char buf[512];
    if (poll(&p, 1, 5 * kAnswerWaitMs) == 1) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n > 1) out.assign(buf, static_cast<std::size_t>(n - 1));  // without the newline
    }
  }
  close(fd);
  return out;
}

int sctpAsk(const Peer& to, long count) {
  for (long i = 0; i < count; ++i) printLine(sctpOnce(to));
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: families_probe udp-serve|sctp-serve PORT NAME\n"
               "       families_probe udp-ask IP PORT COUNT [SPORT [STOPFILE]]\n"
               "       families_probe sctp-ask IP PORT COUNT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string mode = argv[1];
  if (mode == "udp-serve") return udpServe(portOf(argv[2]), argv[3]);
  if (mode == "sctp-serve") return sctpServe(portOf(argv[2]), argv[3]);
  if (argc < 5) return usage();
  const Peer to = peerOf(argv[2], portOf(argv[3]));
  const long count = std::strtol(argv[4], nullptr, 10);
  if (mode == "udp-ask") {
    return udpAsk(to, count, argc > 5 ? portOf(argv[5]) : 0, argc > 6 ? argv[6] : nullptr);
  }
  if (mode == "sctp-ask") return sctpAsk(to, count);
  return usage();
}
