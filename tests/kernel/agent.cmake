# End-to-end tests of the real ipvs-agent binary in the guest.
ipvs_agent_kernel_test(agent.standalone
  SCRIPT agent_standalone.sh
  BINARIES ipvs-agent
  FILES ${PROJECT_SOURCE_DIR}/manifests/examples/services.yaml:/test/m/services.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/endpointslices.yaml:/test/m/endpointslices.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/node.yaml:/test/m/node.yaml
  TIMEOUT 400)
