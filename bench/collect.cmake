# promdir-collect-bench: cold and warm scrapes of the merge engine on a
# directory (bench/bench_collect.sh compares it with Python).
add_executable(promdir-collect-bench ${CMAKE_CURRENT_SOURCE_DIR}/collect_bench.cc)
target_link_libraries(promdir-collect-bench PRIVATE promdir_reader)

# promdir-crafted-bench: cold scrapes of crafted files (bench/bench_crafted.sh).
add_executable(promdir-crafted-bench ${CMAKE_CURRENT_SOURCE_DIR}/crafted_bench.cc)
target_link_libraries(promdir-crafted-bench PRIVATE promdir_reader)

# promdir-churn-bench: the engine's RSS while series come and go.
add_executable(promdir-churn-bench ${CMAKE_CURRENT_SOURCE_DIR}/churn_bench.cc)
target_link_libraries(promdir-churn-bench PRIVATE promdir_reader)
