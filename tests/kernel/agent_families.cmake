# The real agent (standalone, --source) with every family and protocol: dual-stack and IPv6-only
# TCP, UDP as DNS uses it, SCTP; real traffic and a readback, in one boot (issue #18 §1-§3).
add_executable(families_probe ${CMAKE_CURRENT_LIST_DIR}/families_probe.cpp)
target_link_libraries(families_probe PRIVATE ipvs_agent_warnings)
ipvs_agent_kernel_test(agent.families
  SCRIPT agent_families.sh
  BINARIES ipvs-agent families_probe
  FILES data/families/services.yaml:/test/m/services.yaml
        data/families/endpointslices.yaml:/test/m/endpointslices.yaml
        data/families/node.yaml:/test/m/node.yaml
  TIMEOUT 900)
