#include "ipvs/memory_dataplane.h"

#include <algorithm>
#include <cerrno>
#include <variant>

#include "ipvs/apply_outcome.h"

namespace ipvs {
namespace {

bool isAdd(const Operation& op) {
  return std::holds_alternative<AddVirtualServer>(op) ||
         std::holds_alternative<AddRealServer>(op) || std::holds_alternative<AddIpsetEntry>(op) ||
         std::holds_alternative<BindAddress>(op);
}

bool isDelete(const Operation& op) {
  return std::holds_alternative<DeleteVirtualServer>(op) ||
         std::holds_alternative<DeleteRealServer>(op) ||
         std::holds_alternative<DeleteIpsetEntry>(op) || std::holds_alternative<UnbindAddress>(op);
}

bool isVirtualServerOp(const Operation& op) {
  return std::holds_alternative<EditVirtualServer>(op) ||
         std::holds_alternative<DeleteVirtualServer>(op);
}

}  // namespace

void MemoryDataplane::rejectScheduler(std::string scheduler) {
  injectErrors([scheduler = std::move(scheduler)](const Operation& op) {
    const VirtualServer* vs = nullptr;
    if (const auto* add = std::get_if<AddVirtualServer>(&op)) vs = &add->server;
    if (const auto* edit = std::get_if<EditVirtualServer>(&op)) vs = &edit->server;
    return vs != nullptr && vs->scheduler == scheduler ? errnoCode(ENOENT) : std::error_code{};
  });
}

class MemoryDataplane::Reader final : public KernelReader {
 public:
  explicit Reader(MemoryDataplane& owner) : owner_(owner) {}
  Result<KernelState> observe() override {
    Result<KernelState> state = owner_.observe();
    if (owner_.readerHook_) owner_.readerHook_();
    return state;
  }

 private:
  MemoryDataplane& owner_;
};

Result<KernelState> MemoryDataplane::observe() {
  const std::lock_guard lock(mutex_);
  ++observeCalls_;
  if (observeError_) return observeError_;
  return state_;
}

std::unique_ptr<KernelReader> MemoryDataplane::openReader() {
  return std::make_unique<Reader>(*this);
}

Result<std::vector<ObservedRealServer>> MemoryDataplane::observeRealServers(
    const VirtualServerKey& key) {
  const std::lock_guard lock(mutex_);
  realServerReads_.push_back(key);
  if (observeError_) return observeError_;
  auto it = state_.virtualServers.find(key);
  if (it == state_.virtualServers.end()) return errnoCode(ENOENT);
  return it->second.realServers;
}

ApplyReport MemoryDataplane::apply(std::span<const Operation> ops) {
  const std::lock_guard lock(mutex_);
  ++applyCalls_;
  ApplyReport report;
  report.results.reserve(ops.size());
  for (const auto& op : ops) {
    std::error_code ec = injector_ ? injector_(op) : std::error_code{};
    if (!ec) {
      switch (applyOperation(state_, op)) {
        case ApplyOutcome::kApplied:
          break;
        case ApplyOutcome::kExists:
          if (isAdd(op)) ++report.idempotent;
          break;
        case ApplyOutcome::kMissing:
          // The kernel says ESRCH for a missing service, ENOENT for a missing destination.
          if (isDelete(op)) {
            ++report.idempotent;
          } else {
            ec = errnoCode(isVirtualServerOp(op) ? ESRCH : ENOENT);
          }
          break;
        case ApplyOutcome::kNoVirtualServer:
          // Deleting a real server of a missing service: it is gone either way.
          if (isDelete(op)) {
            ++report.idempotent;
          } else {
            ec = errnoCode(ESRCH);
          }
          break;
      }
    }
    if (ec) ++report.failed;
    report.results.push_back(ec);
  }
  return report;
}

bool MemoryDataplane::setConnections(const VirtualServerKey& vs, const RealServerKey& rs,
                                     std::uint32_t activeConns, std::uint32_t inactiveConns) {
  auto it = state_.virtualServers.find(vs);
  if (it == state_.virtualServers.end()) return false;
  auto& rss = it->second.realServers;
  auto r = std::find_if(rss.begin(), rss.end(), [&](const auto& o) { return o.server.key == rs; });
  if (r == rss.end()) return false;
  r->conns.activeConns = activeConns;
  r->conns.inactiveConns = inactiveConns;
  return true;
}

}  // namespace ipvs
