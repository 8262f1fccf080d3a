#pragma once
// PodCidrGate: detect-local-mode NodeCIDR's dependency on the Node's spec.podCIDRs, as
// kube-proxy handles it.
//
// Purpose: an EventSink between the source (Watcher or FileSource) and the ChangeQueue that
//   forwards every change and looks at the agent's own Node on the way:
//   - wait() blocks start-up until the Node has podCIDRs, for at most `timeout` on the clock
//     (kube-proxy: 5 minutes); with `listedIsFinal` (a manifest source, which never changes
//     by itself) the Node's first list without podCIDRs ends the wait at once;
//   - once they are known, a Node whose podCIDRs differ is not forwarded: the gate logs the
//     restart error once and calls onChanged, and the caller exits 1 so that the DaemonSet
//     restarts the agent with the new CIDRs.
// Threading: the sink methods run on the source's thread, wait() on another (the agent's main
//   thread); one mutex guards the state, a condition variable wakes wait().
// Ownership: borrows the next sink and the clock, which must outlive the gate.
// Errors: the timeout, a listed Node without podCIDRs and the changed podCIDRs are each logged
//   once at error level (counted by the logger's error hook); nothing throws.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/health.h"
#include "agent/log.h"
#include "ipvs/clock.h"
#include "ipvs/model.h"
#include "k8swatch/event_sink.h"

namespace agent {

// kube-proxy's wait for the allocator to assign the Node a PodCIDR (pkg/proxy/node.go).
inline constexpr std::chrono::milliseconds kPodCidrWaitTimeout = std::chrono::minutes(5);

struct PodCidrGateOptions {
  std::string nodeName;  // the agent's Node; other Nodes pass through unchecked
  std::chrono::milliseconds timeout = kPodCidrWaitTimeout;
  bool listedIsFinal = false;  // --source: no podCIDRs in the first list is an error at once
};

class PodCidrGate final : public k8swatch::EventSink {
 public:
  enum class Outcome {
    kReady,      // the Node has podCIDRs
    kTimedOut,   // none within the timeout
    kNotListed,  // listedIsFinal and the first list had none
    kStopped,    // `stopped` became true first (SIGTERM)
  };

  // The timeout runs from construction.
  PodCidrGate(k8swatch::EventSink& next, PodCidrGateOptions options, const ipvs::Clock& clock,
              Logger log, std::function<void()> onChanged);

  void serviceUpdated(ipvs::Service svc) override { next_.serviceUpdated(std::move(svc)); }
  void serviceDeleted(const ipvs::ObjectKey& key) override { next_.serviceDeleted(key); }
  void sliceUpdated(ipvs::EndpointSlice slice) override { next_.sliceUpdated(std::move(slice)); }
  void sliceDeleted(const ipvs::EndpointSlice& last) override { next_.sliceDeleted(last); }
  void nodeUpdated(ipvs::Node node) override;
  void nodeDeleted(const std::string& name) override { next_.nodeDeleted(name); }
  void synced(k8swatch::ResourceKind kind) override;
  void rejected(k8swatch::ResourceKind kind, const std::string& object, std::string_view reason,
                const std::string& message) override {
    next_.rejected(kind, object, reason, message);
  }

  // Logs what it waits for, then blocks until an outcome; logs how the wait ended. The clock is
  // read at every wake-up (at least every `poll` of real time), so a test's ManualClock ends
  // the wait as soon as it is moved past the timeout.
  // `health` (may be null) is owed a first sync from the start of the wait: no sync happens
  // before the podCIDRs, so /healthz and /livez report what they report before any first sync,
  // and turn 503 once that owed update is older than the health timeout.
  Outcome wait(const std::function<bool()>& stopped, HealthState* health,
               std::chrono::milliseconds poll = std::chrono::milliseconds(200));
  // The podCIDRs the wait ended with (empty before).
  std::vector<ipvs::Cidr> podCIDRs() const;
  // True once a change of the podCIDRs was seen (onChanged has run).
  bool changed() const;

 private:
  std::optional<Outcome> outcomeLocked() const;

  k8swatch::EventSink& next_;
  const PodCidrGateOptions options_;
  const ipvs::Clock& clock_;
  const ipvs::Clock::TimePoint deadline_;
  Logger log_;
  std::function<void()> onChanged_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<ipvs::Cidr> podCIDRs_;  // fixed by the first Node that has them
  bool nodeListed_ = false;
  bool changed_ = false;
};

}  // namespace agent
