# The end-to-end agent benchmark's outside probe (scripts/bench-agent; see ipvs_wait.cpp).
add_executable(ipvs-wait ${CMAKE_CURRENT_SOURCE_DIR}/ipvs_wait.cpp)
target_link_libraries(ipvs-wait PRIVATE ipvs_agent::netlink ipvs_agent::ipvs ipvs_agent_warnings)
