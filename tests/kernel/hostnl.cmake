# Host-side kernel adapters (ipsets via libipset, kube-ipvs0 via rtnetlink, iptables via
# iptables-restore, sysctls), checked in the guest with the real ipset, ip and iptables-save.
add_executable(hostnl_probe ${CMAKE_CURRENT_LIST_DIR}/hostnl_probe.cpp)
target_link_libraries(hostnl_probe PRIVATE ipvs_agent::netlink ipvs_agent_warnings)

ipvs_agent_kernel_test(netlink.hostnl
  SCRIPT hostnl.sh
  BINARIES hostnl_probe
  TIMEOUT 300)
