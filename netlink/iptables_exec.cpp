#include "netlink/iptables_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

extern char** environ;

namespace netlink {

namespace {

using Clock = std::chrono::steady_clock;

std::error_code lastErrno() { return {errno, std::generic_category()}; }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// The child's dup2 targets are 0-2. If the agent runs with one of them closed, a new fd could
// land there, and dup2 onto itself would keep O_CLOEXEC; so every fd handed over sits above 2.
ipvs::Result<Fd> aboveStdio(int fd) {
  if (fd > 2) return Fd(fd);
  const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const std::error_code ec = lastErrno();
  ::close(fd);
  if (moved < 0) return ec;
  return Fd(moved);
}

struct Pipes {
  Fd parentIn, childIn, parentOut, childOut, parentErr, childErr;
};

ipvs::Result<Pipes> makePipes() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return lastErrno();
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    const std::error_code ec = lastErrno();
    ::close(sv[0]);
    ::close(sv[1]);
    return ec;
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    const std::error_code ec = lastErrno();
    for (int fd : {sv[0], sv[1], out[0], out[1]}) ::close(fd);
    return ec;
  }
  Pipes p;
  const std::array<std::pair<Fd*, int>, 6> all{{{&p.parentIn, sv[0]},
                                                {&p.childIn, sv[1]},
                                                {&p.parentOut, out[0]},
                                                {&p.childOut, out[1]},
                                                {&p.parentErr, err[0]},
                                                {&p.childErr, err[1]}}};
  std::error_code first;
  for (const auto& [slot, fd] : all) {
    auto moved = aboveStdio(fd);
    if (moved) {
      *slot = std::move(*moved);
    } else if (!first) {
      first = moved.error();
    }
  }
  if (first) return first;
  for (int fd : {p.parentIn.get(), p.parentOut.get(), p.parentErr.get()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return p;
}

struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

ipvs::Result<pid_t> spawn(const std::vector<std::string>& argv, const Pipes& p) {
  SpawnSetup s;
  posix_spawn_file_actions_adddup2(&s.actions, p.childIn.get(), 0);
  posix_spawn_file_actions_adddup2(&s.actions, p.childOut.get(), 1);
  posix_spawn_file_actions_adddup2(&s.actions, p.childErr.get(), 2);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setsigdefault(&s.attr, &defaults);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), environ); rc != 0) {
    return std::error_code(rc, std::generic_category());
  }
  return pid;
}

// Appends what is readable on `fd` to `sink` (up to `cap`); closes `fd` at EOF or error.
void drainInto(Fd& fd, std::string& sink, std::size_t cap, bool& truncated) {
  std::array<char, 65536> buf;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n > 0) {
      const std::size_t room = cap > sink.size() ? cap - sink.size() : 0;
      const std::size_t take = std::min(room, static_cast<std::size_t>(n));
      sink.append(buf.data(), take);
      if (take < static_cast<std::size_t>(n)) truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fd.reset();
    return;
  }
}

void feed(Fd& fd, std::string_view text, std::size_t& written) {
  while (written < text.size()) {
    const ssize_t n =
        ::send(fd.get(), text.data() + written, text.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;  // EPIPE: the child stopped reading; its exit status tells the story
  }
  fd.reset();  // all written (EOF for the child) or the child went away
}

int msLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 1 << 30));
}

// Reaps the child; kills it once the deadline has passed.
void reap(pid_t pid, Clock::time_point deadline, ProcessResult& r) {
  int status = 0;
  int sleepMs = 1;
  for (;;) {
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) return;  // ECHILD: someone else reaped it
    if (got == 0 && msLeft(deadline) == 0 && !r.timedOut) {
      r.timedOut = true;
      kill(pid, SIGKILL);
    }
    poll(nullptr, 0, sleepMs);
    sleepMs = std::min(sleepMs * 2, 20);
  }
  if (WIFEXITED(status)) r.exitStatus = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
}

}  // namespace

ipvs::Result<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                       std::string_view stdinText, const ProcessLimits& limits) {
  if (argv.empty() || argv.front().empty()) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  auto pipes = makePipes();
  if (!pipes) return pipes.error();
  Pipes& p = *pipes;
  auto pid = spawn(argv, p);
  if (!pid) return pid.error();
  p.childIn.reset();
  p.childOut.reset();
  p.childErr.reset();

  const Clock::time_point deadline = Clock::now() + limits.timeout;
  ProcessResult r;
  std::size_t written = 0;
  if (stdinText.empty()) p.parentIn.reset();
  while (p.parentOut.open() || p.parentErr.open()) {
    if (msLeft(deadline) == 0) {
      r.timedOut = true;
      kill(*pid, SIGKILL);
      break;
    }
    std::array<pollfd, 3> fds{{{p.parentIn.get(), POLLOUT, 0},
                               {p.parentOut.get(), POLLIN, 0},
                               {p.parentErr.get(), POLLIN, 0}}};  // fd -1 is ignored by poll
    const int n = poll(fds.data(), fds.size(), msLeft(deadline));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (fds[0].revents != 0) feed(p.parentIn, stdinText, written);
    if (fds[1].revents != 0) drainInto(p.parentOut, r.out, limits.maxStdout, r.truncated);
    if (fds[2].revents != 0) drainInto(p.parentErr, r.err, limits.maxStderr, r.truncated);
  }
  p.parentIn.reset();
  p.parentOut.reset();
  p.parentErr.reset();
  reap(*pid, deadline, r);
  return r;
}

}  // namespace netlink
