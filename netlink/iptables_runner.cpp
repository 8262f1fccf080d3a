#include "netlink/iptables_runner.h"

#include <array>
#include <charconv>
#include <utility>
#include <vector>

#include "netlink/iptables_exec.h"

namespace netlink {

namespace {

class IptablesCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "iptables"; }
  std::string message(int code) const override {
    switch (static_cast<IptablesError>(code)) {
      case IptablesError::kToolFailed:
        return "iptables tool failed";
      case IptablesError::kTimedOut:
        return "iptables tool timed out";
      case IptablesError::kKilled:
        return "iptables tool killed by a signal";
    }
    return "unknown iptables error";
  }
  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<IptablesError>(code)) {
      case IptablesError::kToolFailed:
        return std::errc::io_error;
      case IptablesError::kTimedOut:
        return std::errc::timed_out;
      case IptablesError::kKilled:
        return std::errc::interrupted;
    }
    return {code, *this};
  }
};

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

const std::error_category& iptablesCategory() {
  static const IptablesCategory kCategory;
  return kCategory;
}

std::error_code make_error_code(IptablesError e) {
  return {static_cast<int>(e), iptablesCategory()};
}

bool versionSupportsRandomFully(std::string_view text) {
  const std::size_t v = text.find(" v");
  if (v == std::string_view::npos) return false;
  std::string_view rest = text.substr(v + 2);
  std::array<unsigned, 3> parts{};  // missing trailing parts count as 0
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), parts[i]);
    if (ec != std::errc{}) {
      if (i == 0) return false;
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    if (rest.empty() || rest.front() != '.') break;
    rest.remove_prefix(1);
  }
  return parts >= std::array<unsigned, 3>{1, 6, 2};
}

IptablesRunner::IptablesRunner(IptablesTools tools)
    : tools_(std::move(tools)), counters_(std::make_unique<IptablesCounters>()) {}

std::error_code IptablesRunner::judge(const std::string& what, std::error_code spawnError,
                                      int exitStatus, int signal, bool timedOut,
                                      const std::string& err) {
  std::error_code ec;
  if (spawnError) {
    ec = spawnError;
    lastError_ = what + ": cannot run: " + spawnError.message();
  } else if (timedOut) {
    ec = IptablesError::kTimedOut;
    lastError_ = what + ": timed out after " + std::to_string(tools_.timeout.count()) + " ms";
  } else if (signal != 0) {
    ec = IptablesError::kKilled;
    lastError_ = what + ": killed by signal " + std::to_string(signal);
  } else if (exitStatus != 0) {
    ec = IptablesError::kToolFailed;
    lastError_ = what + ": exit status " + std::to_string(exitStatus);
  }
  if (ec && !err.empty()) lastError_ += ": " + trimmed(err);
  return ec;
}

ipvs::Result<void> IptablesRunner::restore(ipvs::Family family, std::string_view text) {
  const std::vector<std::string> argv{
      family == ipvs::Family::kV4 ? tools_.restore4 : tools_.restore6, "-w",
      std::to_string(tools_.lockWaitSeconds), "--noflush", "--counters"};
  ++counters_->restores;
  auto r = runProcess(argv, text, {.timeout = tools_.timeout});
  const std::error_code ec =
      r ? judge(joined(argv), {}, r->exitStatus, r->signal, r->timedOut, r->err)
        : judge(joined(argv), r.error(), 0, 0, false, {});
  if (ec) {
    ++counters_->restoreFailures;
    return ec;
  }
  return {};
}

ipvs::Result<std::string> IptablesRunner::save(ipvs::Family family, std::string_view table) {
  std::vector<std::string> argv{family == ipvs::Family::kV4 ? tools_.save4 : tools_.save6};
  if (!table.empty()) {
    argv.emplace_back("-t");
    argv.emplace_back(table);
  }
  ++counters_->saves;
  auto r = runProcess(argv, {}, {.timeout = tools_.timeout});
  std::error_code ec = r ? judge(joined(argv), {}, r->exitStatus, r->signal, r->timedOut, r->err)
                         : judge(joined(argv), r.error(), 0, 0, false, {});
  if (!ec && r->truncated) {
    ec = IptablesError::kToolFailed;
    lastError_ = joined(argv) + ": output too large";
  }
  if (ec) {
    ++counters_->saveFailures;
    return ec;
  }
  return std::move(r->out);
}

namespace {

constexpr ipvs::CleanupScope kIptablesModeOnly{false, true};

std::size_t familyIndex(ipvs::Family family) { return family == ipvs::Family::kV4 ? 0 : 1; }

}  // namespace

ipvs::Result<void> IptablesRunner::sync(const ipvs::IptablesRuleInputs& in) {
  bool& clean = cleanSinceSync_[familyIndex(in.family)];
  clean = false;
  std::optional<Prefetched> early = std::exchange(prefetched_[familyIndex(in.family)], {});
  auto current = early && std::chrono::steady_clock::now() - early->taken <= kPrefetchMaxAge
                     ? ipvs::Result<std::string>(std::move(early->text))
                     : save(in.family);
  if (!current) return current.error();
  const std::vector<ipvs::JumpRule> missing = ipvs::missingJumps(*current);
  const bool noLeftovers = ipvs::renderCleanup(*current, kIptablesModeOnly).empty();
  auto restored = restore(in.family, ipvs::renderRestore(in, missing));
  clean = restored && noLeftovers;
  return restored;
}

void IptablesRunner::prefetch(ipvs::Family family) {
  auto& slot = prefetched_[familyIndex(family)];
  slot.reset();
  const auto taken = std::chrono::steady_clock::now();
  if (auto text = save(family)) slot = Prefetched{std::move(*text), taken};
}

ipvs::Result<void> IptablesRunner::cleanup(ipvs::Family family, ipvs::CleanupScope scope) {
  // Our restore only writes IPVS-mode chains and jumps, so a sync's save without iptables-mode
  // leftovers still stands for them after the restore.
  const bool iptablesModeOnly = !scope.ipvsChains && scope.iptablesModeChains;
  if (std::exchange(cleanSinceSync_[familyIndex(family)], false) && iptablesModeOnly) return {};
  auto current = save(family);
  if (!current) return current.error();
  const std::string text = ipvs::renderCleanup(*current, scope);
  if (text.empty()) return {};
  return restore(family, text);
}

ipvs::Result<bool> IptablesRunner::supportsRandomFully() {
  const std::vector<std::string> argv{tools_.version4, "--version"};
  auto r = runProcess(argv, {}, {.timeout = tools_.timeout});
  const std::error_code ec =
      r ? judge(joined(argv), {}, r->exitStatus, r->signal, r->timedOut, r->err)
        : judge(joined(argv), r.error(), 0, 0, false, {});
  // Result<bool> cannot take an error_code implicitly (bool is constructible from it).
  if (ec) return ipvs::Result<bool>(boost::system::in_place_error, ec);
  return versionSupportsRandomFully(r->out);
}

}  // namespace netlink
