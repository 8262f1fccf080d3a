# The real agent (standalone, --source) and the iptables paths with packets: source IP
# (Cluster/Local), masqueradeAll, hairpin, LoadBalancer source ranges, unknown ClusterIP ports,
# no endpoints (issue #18 §4). One boot.
ipvs_agent_kernel_test(agent.iptables
  SCRIPT agent_iptables.sh
  BINARIES ipvs-agent
  FILES data/iptables/services.yaml:/test/m/services.yaml
        data/iptables/endpointslices.yaml:/test/m/endpointslices.yaml
        data/iptables/node.yaml:/test/m/node.yaml
  TIMEOUT 900)
