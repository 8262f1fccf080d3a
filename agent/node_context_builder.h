#pragma once
// Builds the planner's NodeContext from the configuration, the agent's own Node object and the
// host's addresses. Pure: the caller reads the Node and the interfaces.

#include <span>
#include <string>
#include <vector>

#include "agent/config.h"
#include "ipvs/model.h"
#include "ipvs/node_context.h"

namespace agent {

struct NodeInputs {
  std::string nodeName;
  const ipvs::Node* node = nullptr;  // the agent's Node object, if known
  // Addresses NodePorts may listen on: the host's addresses except kube-ipvs0's (agent), or the
  // Node's status addresses (dry run).
  std::vector<ipvs::IpAddress> candidateAddresses;
  std::vector<ipvs::IpAddress> otherLocalAddresses;  // on interfaces other than kube-ipvs0
  std::vector<ipvs::Family> families;                // empty: IPv4, plus IPv6 if a node IP is v6
};

struct NodeContextResult {
  ipvs::NodeContext context;
  std::vector<std::string> warnings;  // e.g. a --nodeport-addresses entry that did not parse
};

NodeContextResult buildNodeContext(const Config& config, const NodeInputs& inputs);

}  // namespace agent
