# End-to-end tests of the real ipvs-agent binary in the guest.
ipvs_agent_kernel_test(agent.standalone
  SCRIPT agent_standalone.sh
  BINARIES ipvs-agent
  FILES ${PROJECT_SOURCE_DIR}/manifests/examples/services.yaml:/test/m/services.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/endpointslices.yaml:/test/m/endpointslices.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/node.yaml:/test/m/node.yaml
  TIMEOUT 400)

# The agent against the local API server on the host (fake-apiserver), through a guestfwd.
ipvs_agent_kernel_test(agent.api
  SCRIPT agent_api.sh
  BINARIES ipvs-agent
  WRAPPER agent_api_wrapper.sh
  FILES ${PROJECT_SOURCE_DIR}/tests/kernel/data/monitoring/kube_proxy_families.txt
  TIMEOUT 450)
set_tests_properties(kernel.agent.api PROPERTIES ENVIRONMENT
  "FAKE_APISERVER=$<TARGET_FILE:fake-apiserver>;MANIFESTS=${PROJECT_SOURCE_DIR}/manifests/examples;MANIFEST_CHECK=$<TARGET_FILE:manifest_check>;MANIFESTS_BASE=${PROJECT_SOURCE_DIR}/manifests/base")
