#pragma once
// The operations a plan is made of. A plan is an ordered list of these; the Dataplane applies
// them in order and reports a result for each.

#include <string>
#include <variant>
#include <vector>

#include "ipvs/kernel_objects.h"

namespace ipvs {

struct AddVirtualServer {
  VirtualServer server;
};
struct EditVirtualServer {  // in place: scheduler, flags, timeout or netmask changed
  VirtualServer server;
};
struct DeleteVirtualServer {
  VirtualServerKey key;
};
struct AddRealServer {
  VirtualServerKey virtualServer;
  RealServer server;
};
struct EditRealServer {  // weight, method or thresholds changed
  VirtualServerKey virtualServer;
  RealServer server;
};
struct DeleteRealServer {
  VirtualServerKey virtualServer;
  RealServerKey key;
};
struct AddIpsetEntry {
  IpsetEntry entry;
};
struct DeleteIpsetEntry {
  IpsetEntry entry;
};
struct BindAddress {  // on kube-ipvs0, as /32 or /128
  IpAddress address;
};
struct UnbindAddress {
  IpAddress address;
};

using Operation =
    std::variant<AddVirtualServer, EditVirtualServer, DeleteVirtualServer, AddRealServer,
                 EditRealServer, DeleteRealServer, AddIpsetEntry, DeleteIpsetEntry, BindAddress,
                 UnbindAddress>;

// A short stable name for metrics labels and logs: "add_virtual_server", ...
std::string_view operationKind(const Operation& op);
// A human-readable one-liner, e.g. "add real server 10.180.0.1:80 w1 to TCP 10.20.30.41:80".
std::string describe(const Operation& op);

// Applies one operation to an in-memory kernel state, with the kernel's semantics: adding what
// exists or deleting what is missing is an error (returned as false) and changes nothing.
// Deleting a virtual server deletes its real servers. This is the model the fake dataplane and
// the property tests use.
bool applyTo(KernelState& state, const Operation& op);

}  // namespace ipvs
