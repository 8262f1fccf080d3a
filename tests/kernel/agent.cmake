# End-to-end tests of the real ipvs-agent binary in the guest.
ipvs_agent_kernel_test(agent.standalone
  SCRIPT agent_standalone.sh
  BINARIES ipvs-agent
  FILES ${PROJECT_SOURCE_DIR}/manifests/examples/services.yaml:/test/m/services.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/endpointslices.yaml:/test/m/endpointslices.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/node.yaml:/test/m/node.yaml
  TIMEOUT 400
  SLOT 1)

# The agent against the local API server on the host (fake-apiserver), through a guestfwd.
ipvs_agent_kernel_test(agent.api
  SCRIPT agent_api.sh
  BINARIES ipvs-agent
  WRAPPER agent_api_wrapper.sh
  FILES ${PROJECT_SOURCE_DIR}/tests/kernel/data/monitoring/kube_proxy_families.txt
  TIMEOUT 450)
set_tests_properties(kernel.agent.api PROPERTIES ENVIRONMENT
  "FAKE_APISERVER=$<TARGET_FILE:fake-apiserver>;MANIFESTS=${PROJECT_SOURCE_DIR}/manifests/examples;MANIFEST_CHECK=$<TARGET_FILE:manifest_check>;MANIFESTS_BASE=${PROJECT_SOURCE_DIR}/manifests/base")

# scripts/bench-agent --quick (issue #17): the end-to-end benchmark's smoke run, 200 Services x 10
# endpoints through the real agent and fake-apiserver. It fails only if the run fails (the agent
# never syncs, a probe never sees a change); its figures are printed, never asserted.
add_test(NAME kernel.bench.agent_quick
  COMMAND ${CMAKE_COMMAND} -E env BUILD_DIR=${CMAKE_BINARY_DIR}
          ${PROJECT_SOURCE_DIR}/scripts/bench-agent --quick
          --out ${CMAKE_BINARY_DIR}/bench-agent-quick.md)
set_tests_properties(kernel.bench.agent_quick PROPERTIES LABELS kernel TIMEOUT 600 PROCESSORS 1)
ipvs_agent_kernel_vm_lock(kernel.bench.agent_quick 1)
