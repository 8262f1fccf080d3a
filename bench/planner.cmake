# Planner benchmark: translate + desired state + diff at cluster scale (see planner_bench.cpp).
add_executable(planner_bench ${CMAKE_CURRENT_SOURCE_DIR}/planner_bench.cpp)
target_link_libraries(planner_bench PRIVATE ipvs_agent::ipvs ipvs_agent_warnings)
