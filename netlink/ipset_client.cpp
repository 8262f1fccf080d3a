#include "netlink/ipset_client.h"

#include <libipset/data.h>
#include <libipset/ipset.h>
#include <libipset/parse.h>
#include <libipset/session.h>
#include <libipset/types.h>
#include <linux/netlink.h>

#include <cstdarg>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string_view>
#include <utility>

#include "netlink/nl_socket.h"

namespace netlink {

struct IpsetClient::Capture {
  std::string output;               // what the library printed (save output)
  std::vector<std::string> errors;  // its error reports, in order
  bool failed = false;
  // When set, each complete line of output goes here as soon as it is printed, and `output`
  // keeps only the unfinished line: a save of 10,000 members is never held as one text.
  std::function<void(std::string_view)> onLine;

  void drainLines(bool all) {
    std::size_t start = 0;
    for (std::size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1)
      onLine(std::string_view(output).substr(start, nl - start));
    if (all && start < output.size()) {
      onLine(std::string_view(output).substr(start));
      start = output.size();
    }
    output.erase(0, start);
  }

  void reset() {
    output.clear();
    errors.clear();
    failed = false;
  }
  std::string message() const {
    std::string out;
    for (const std::string& e : errors) out += (out.empty() ? "" : "; ") + e;
    return out;
  }
};

namespace {

std::string vformat(const char* fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return {};
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  std::vsnprintf(out.data(), out.size(), fmt, ap);
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The three callbacks replace libipset's defaults, which print and call exit(). They run inside
// C frames, so nothing may throw out of them.
int onCustomError(struct ipset* handle, void* p, int status, const char* msg, ...) noexcept {
  auto* capture = static_cast<IpsetClient::Capture*>(p);
  try {
    if (status != 0) {
      capture->failed = true;
      if (msg != nullptr) {
        va_list ap;
        va_start(ap, msg);
        capture->errors.push_back(vformat(msg, ap));
        va_end(ap);
      }
    }
  } catch (...) {
    capture->failed = true;
  }
  if (struct ipset_session* s = ipset_session(handle)) ipset_session_report_reset(s);
  return status != 0 ? -1 : 0;
}

int onStandardError(struct ipset* handle, void* p) noexcept {
  auto* capture = static_cast<IpsetClient::Capture*>(p);
  struct ipset_session* s = ipset_session(handle);
  const enum ipset_err_type type = ipset_session_report_type(s);
  // Warnings are success (the CLI exits 0 on them); notices and errors are failures.
  if (type == IPSET_ERROR || type == IPSET_NOTICE) {
    capture->failed = true;
    try {
      const char* msg = ipset_session_report_msg(s);
      std::string text = msg != nullptr ? msg : "unknown ipset error";
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      for (char& c : text) {
        if (c == '\n') c = ';';  // the library stacks several lines for one failure
      }
      capture->errors.push_back(std::move(text));
    } catch (...) {
    }
  }
  ipset_session_report_reset(s);
  return type == IPSET_ERROR || type == IPSET_NOTICE ? -1 : 0;
}

int onPrint(struct ipset_session*, void* p, const char* fmt, ...) noexcept {
  auto* capture = static_cast<IpsetClient::Capture*>(p);
  va_list ap;
  va_start(ap, fmt);
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  try {
    if (n > 0) {
      const std::size_t old = capture->output.size();
      capture->output.resize(old + static_cast<std::size_t>(n) + 1);
      std::vsnprintf(capture->output.data() + old, static_cast<std::size_t>(n) + 1, fmt, ap);
      capture->output.resize(old + static_cast<std::size_t>(n));
      if (capture->onLine) capture->drainLines(false);
    }
  } catch (...) {
    capture->failed = true;
  }
  va_end(ap);
  return n;
}

std::once_flag gTypesLoaded;

}  // namespace

void IpsetHandleDeleter::operator()(struct ipset* handle) const noexcept { ipset_fini(handle); }

IpsetClient::IpsetClient(std::unique_ptr<struct ipset, IpsetHandleDeleter> handle,
                         std::unique_ptr<Capture> capture, std::unique_ptr<NetlinkSocket> socket)
    : handle_(std::move(handle)),
      capture_(std::move(capture)),
      counters_(std::make_unique<IpsetCounters>()),
      socket_(std::move(socket)),
      packed_(std::make_unique<PackedRequests>()) {}
IpsetClient::IpsetClient(IpsetClient&&) noexcept = default;
IpsetClient& IpsetClient::operator=(IpsetClient&&) noexcept = default;
IpsetClient::~IpsetClient() = default;

namespace {

// A libipset handle whose messages go to `capture`; null if the library cannot make one.
std::unique_ptr<struct ipset, IpsetHandleDeleter> newHandle(IpsetClient::Capture* capture) {
  std::call_once(gTypesLoaded, [] { ipset_load_types(); });
  std::unique_ptr<struct ipset, IpsetHandleDeleter> handle(ipset_init());
  if (!handle ||
      ipset_custom_printf(handle.get(), onCustomError, onStandardError, onPrint, capture) < 0) {
    return nullptr;
  }
  ipset_session_output(ipset_session(handle.get()), IPSET_LIST_SAVE);
  return handle;
}

}  // namespace

ipvs::Result<IpsetClient> IpsetClient::open() {
  auto capture = std::make_unique<Capture>();
  auto handle = newHandle(capture.get());
  if (!handle) return make_error_code(IpsetError::kLibrary);
  // Without this socket (e.g. a seccomp profile that forbids it) libipset does all the work,
  // one entry per round trip.
  std::unique_ptr<NetlinkSocket> socket;
  if (auto opened = NetlinkSocket::open(SocketOptions{NETLINK_NETFILTER})) {
    socket = std::make_unique<NetlinkSocket>(std::move(*opened));
  }
  return IpsetClient(std::move(handle), std::move(capture), std::move(socket));
}

std::error_code IpsetClient::fail(std::error_code ec, const std::string& context) {
  ++counters_->failures;
  const std::string said = capture_->message();
  lastError_ = context + ": " + (said.empty() ? ec.message() : said);
  return ec;
}

void IpsetClient::resetCapture() { capture_->reset(); }

void IpsetClient::recordError(std::string message) {
  capture_->failed = true;
  capture_->errors.push_back(std::move(message));
}

ipvs::Result<void> IpsetClient::run(std::vector<std::string> args, bool exist) {
  capture_->reset();
  struct ipset_session* s = ipset_session(handle_.get());
  if (exist) {
    ipset_envopt_set(s, IPSET_ENV_EXIST);
  } else {
    ipset_envopt_unset(s, IPSET_ENV_EXIST);
  }
  std::string program = "ipset";
  std::vector<char*> argv{program.data()};
  for (std::string& a : args) argv.push_back(a.data());
  const int ret = ipset_parse_argv(handle_.get(), static_cast<int>(argv.size()), argv.data());
  ipset_envopt_unset(s, IPSET_ENV_EXIST);
  if (ret < 0 || capture_->failed) {
    // A fresh session for the next command: after a failure libipset's session (its socket,
    // sequence numbers and set cache) is not trusted again. On the guest's 6.1 kernel, commands
    // after a failed destroy otherwise failed with "Internal protocol error" (reliability.md).
    if (auto fresh = newHandle(capture_.get())) handle_ = std::move(fresh);
    return make_error_code(capture_->errors.empty() ? IpsetError::kLibrary
                                                    : classifyIpsetMessage(capture_->errors[0]));
  }
  return {};
}

ipvs::Result<void> IpsetClient::createNamed(std::string_view name, ipvs::IpsetId id,
                                            ipvs::Family family) {
  const ipvs::IpsetDef& def = ipvs::ipsetDef(id);
  auto r = run(ipsetCreateArgs(name, def.type, family), true);
  const std::string context = "ipset create " + std::string(name) + " " + std::string(def.type);
  if (r) {
    ++counters_->creates;
    return {};
  }
  if (r.error() != IpsetError::kSetExists) return fail(r.error(), context);
  // Same name, other options: keep it when the type and family match (only maxelem or an
  // extension differ, and the agent's entries fit either way).
  auto info = describe(name);
  if (!info) return info.error();
  const bool familyOk =
      def.type == "bitmap:port" || info->family == (family == ipvs::Family::kV4 ? "inet" : "inet6");
  if (info->type == def.type && familyOk) {
    ++counters_->adopted;
    return {};
  }
  capture_->reset();
  return fail(make_error_code(IpsetError::kTypeMismatch),
              context + ": exists as " + info->type + " " + info->family);
}

ipvs::Result<void> IpsetClient::createSet(ipvs::IpsetId id, ipvs::Family family) {
  return createNamed(ipvs::ipsetName(id, family), id, family);
}

ipvs::Result<void> IpsetClient::createAll(ipvs::Family family) {
  for (const ipvs::IpsetDef& def : ipvs::ipsetDefs()) {
    if (auto r = createSet(def.id, family); !r) return r;
  }
  return {};
}

ipvs::Result<void> IpsetClient::change(const ipvs::IpsetEntry& entry, bool add) {
  const std::string name = ipvs::ipsetName(entry.set, entry.family);
  const std::string context =
      std::string(add ? "ipset add " : "ipset del ") + name + " " + entry.entry;
  if (!plausibleIpsetEntry(entry.entry)) {
    ++counters_->invalidEntries;
    capture_->reset();
    return fail(make_error_code(IpsetError::kSyntax), context);
  }
  auto r = run({add ? "add" : "del", name, entry.entry}, false);
  if (r) {
    ++(add ? counters_->adds : counters_->deletes);
    return {};
  }
  if (r.error() == (add ? IpsetError::kAlreadyAdded : IpsetError::kNotAdded)) {
    ++counters_->idempotent;
    return {};
  }
  if (r.error() == IpsetError::kSyntax) ++counters_->invalidEntries;
  return fail(r.error(), context);
}

ipvs::Result<void> IpsetClient::add(const ipvs::IpsetEntry& entry) {
  const IpsetChange one{&entry, true};
  const ipvs::ApplyReport r = apply(std::span(&one, 1));
  if (r.results[0]) return r.results[0];
  return {};
}

ipvs::Result<void> IpsetClient::del(const ipvs::IpsetEntry& entry) {
  const IpsetChange one{&entry, false};
  const ipvs::ApplyReport r = apply(std::span(&one, 1));
  if (r.results[0]) return r.results[0];
  return {};
}

ipvs::Result<IpsetSetInfo> IpsetClient::describe(std::string_view name) {
  if (auto r = run({"save", std::string(name)}, false); !r) {
    return fail(r.error(), "ipset save " + std::string(name));
  }
  for (IpsetSaveHeader& h : parseIpsetSave(capture_->output).sets) {
    if (h.name == name) return IpsetSetInfo{std::move(h.name), std::move(h.type), h.family};
  }
  return fail(make_error_code(IpsetError::kSetMissing), "ipset save " + std::string(name));
}

ipvs::Result<std::set<ipvs::IpsetEntry>> IpsetClient::list(ipvs::Family family) {
  std::set<ipvs::IpsetEntry> out;
  auto listed = listEach(family, [&out](ipvs::IpsetEntry&& e) { out.insert(std::move(e)); });
  if (!listed) return listed.error();
  return out;
}

ipvs::Result<void> IpsetClient::listEach(ipvs::Family family,
                                         const std::function<void(ipvs::IpsetEntry&&)>& each) {
  for (const ipvs::IpsetDef& def : ipvs::ipsetDefs()) {
    const std::string name = ipvs::ipsetName(def.id, family);
    capture_->onLine = [&](std::string_view line) {
      if (const auto member = ipsetSaveMember(line); member && member->first == name)
        each(ipvs::IpsetEntry{def.id, family, std::string(member->second)});
    };
    auto r = run({"save", name}, false);
    if (r) capture_->drainLines(true);
    capture_->onLine = nullptr;
    if (!r) {
      if (r.error() == IpsetError::kSetMissing) {
        ++counters_->missingSets;
        continue;
      }
      return fail(r.error(), "ipset save " + name);
    }
  }
  return {};
}

ipvs::Result<void> IpsetClient::destroyNamed(std::string_view name) {
  auto r = run({"destroy", std::string(name)}, false);
  if (r) {
    ++counters_->destroys;
    return {};
  }
  if (r.error() == IpsetError::kSetMissing) {
    ++counters_->idempotent;
    return {};
  }
  return fail(r.error(), "ipset destroy " + std::string(name));
}

ipvs::Result<void> IpsetClient::destroy(ipvs::IpsetId id, ipvs::Family family) {
  return destroyNamed(ipvs::ipsetName(id, family));
}

ipvs::Result<void> IpsetClient::destroyAll(ipvs::Family family) {
  ipvs::Result<void> first;
  std::string errors;  // every set that stays, not only the last (lastError() after this)
  for (const ipvs::IpsetDef& def : ipvs::ipsetDefs()) {
    if (auto r = destroy(def.id, family); !r) {
      if (first) first = r;
      errors += (errors.empty() ? "" : "; ") + lastError_;
    }
  }
  if (!errors.empty()) lastError_ = std::move(errors);
  return first;
}

}  // namespace netlink
