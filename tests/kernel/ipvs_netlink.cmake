# IpvsClient (netlink/ipvs_*) against the real kernel: Catch2 cases compared with ipvsadm (one
# drives reconcile::Reconciler through a provoked ENOBUFS), plus real traffic through weight
# changes. See ipvs_netlink.sh.
add_executable(ipvs_netlink_kernel_tests ${CMAKE_CURRENT_LIST_DIR}/ipvs_netlink_test.cpp
  $<TARGET_OBJECTS:ipvs_agent_catch_main>)
target_link_libraries(ipvs_netlink_kernel_tests PRIVATE ipvs_agent::netlink ipvs_agent::ipvs
  ipvs_agent::reconcile Catch2::Catch2 ipvs_agent_warnings)
ipvs_agent_kernel_test(ipvs.netlink
  SCRIPT ipvs_netlink.sh
  BINARIES ipvs_netlink_kernel_tests
  TIMEOUT 600)
