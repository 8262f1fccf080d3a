# IPVS load benchmark: batched netlink vs one-by-one vs ipvsadm -R, in the qemu guest.
# Run with scripts/bench-netlink (see ipvs_load_bench.cpp).
add_executable(ipvs_load_bench ${CMAKE_CURRENT_SOURCE_DIR}/ipvs_load_bench.cpp)
target_link_libraries(ipvs_load_bench PRIVATE ipvs_agent::netlink ipvs_agent::ipvs
  ipvs_agent_warnings)
