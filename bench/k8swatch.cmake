# k8swatch decode benchmark: a generated LIST of 100,000 endpoints and a watch stream of
# 10,000 EndpointSlice updates, through the real parser, decoder and cache (no network).
# Run: build/bench/k8swatch_bench   (see k8swatch_bench.cpp for what is measured)
add_executable(k8swatch_bench ${CMAKE_CURRENT_LIST_DIR}/k8swatch_bench.cpp)
target_link_libraries(k8swatch_bench PRIVATE ipvs_agent::k8swatch ipvs_agent_warnings)
