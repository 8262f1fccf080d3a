# The harness's own tests: the smoke test proves a guest can build namespaces, program IPVS, ipset
# and iptables (nft) with the real tools and pass traffic; the self-check proves failures are seen.
ipvs_agent_kernel_test(harness.smoke SCRIPT harness_smoke.sh TIMEOUT 300)

add_test(NAME kernel.harness.selfcheck
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/harness_selfcheck.sh ${IPVS_AGENT_RUN_GUEST}
    ${IPVS_AGENT_KERNEL_VM_WORK})
set_tests_properties(kernel.harness.selfcheck PROPERTIES LABELS kernel TIMEOUT 400 PROCESSORS 1)
ipvs_agent_kernel_vm_lock(kernel.harness.selfcheck)

# A project-style dynamically linked binary (libnl, libipset, Boost.JSON, yaml-cpp, OpenSSL) run in
# the guest: proves BINARIES brings its ldd closure and that C++ code can reach IPVS and ipset.
add_executable(harness_probe harness_probe.cpp)
target_link_libraries(harness_probe PRIVATE ipvs_agent_warnings PkgConfig::LIBNL PkgConfig::LIBIPSET
  Boost::json yaml-cpp OpenSSL::Crypto)
ipvs_agent_kernel_test(harness.probe SCRIPT harness_probe.sh BINARIES harness_probe TIMEOUT 200)

# A server on the host's loopback reached from the guest (the agent's end-to-end tests need this
# for a local API server): the WRAPPER starts it and adds --hostfwd-apiserver.
ipvs_agent_kernel_test(harness.hostfwd SCRIPT harness_hostfwd.sh WRAPPER harness_hostfwd_wrapper.sh
  TIMEOUT 200)
