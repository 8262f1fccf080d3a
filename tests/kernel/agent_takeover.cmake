# Taking over a node that kube-proxy's IPVS mode ran, under load (issue #18 §5). One boot.
ipvs_agent_kernel_test(agent.takeover
  SCRIPT agent_takeover.sh
  BINARIES ipvs-agent
  FILES data/takeover/services.yaml:/test/m/services.yaml
        data/takeover/endpointslices.yaml:/test/m/endpointslices.yaml
        data/takeover/node.yaml:/test/m/node.yaml
        data/takeover:/test/takeover
  TIMEOUT 900)
