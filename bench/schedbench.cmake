# Scheduler comparison benchmark (issue 7): an HTTP backend and a load generator run in the qemu
# guest's namespaces, and a report writer run on the host. Run with scripts/bench-schedulers.

# Pure parts (statistics, HTTP, option lists, service times, counters, the report's figures),
# unit-tested in tests/unit/bench/; the Asio client and server classes, tested on 127.0.0.1.
add_library(sched_bench STATIC
  ${CMAKE_CURRENT_LIST_DIR}/sched/stats.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/http.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/address_list.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/service_time.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/run_recorder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/backend_server.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/client_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/load_engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/hold_session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/report_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/report_json.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/report_markdown.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sched/report_plots.cpp)
add_library(ipvs_agent::sched_bench ALIAS sched_bench)
target_include_directories(sched_bench PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(sched_bench PUBLIC Boost::headers Boost::json PRIVATE ipvs_agent_warnings)

add_executable(sched_backend ${CMAKE_CURRENT_LIST_DIR}/sched/backend.cpp)
target_link_libraries(sched_backend PRIVATE sched_bench ipvs_agent_warnings)

add_executable(sched_loadgen ${CMAKE_CURRENT_LIST_DIR}/sched/loadgen.cpp)
target_link_libraries(sched_loadgen PRIVATE sched_bench ipvs_agent_warnings)

# Host side: the report (Markdown, JSON, gnuplot charts) from the files the guest exported.
add_executable(sched_report ${CMAKE_CURRENT_LIST_DIR}/sched/report.cpp)
target_link_libraries(sched_report PRIVATE sched_bench ipvs_agent_warnings)
