# Drains on their own timer and a failing Service contained, with the real agent (issue #15).
ipvs_agent_kernel_test(agent.drain
  SCRIPT agent_drain.sh
  BINARIES ipvs-agent
  FILES ${PROJECT_SOURCE_DIR}/manifests/examples/node.yaml:/test/m/node.yaml
  TIMEOUT 600)
