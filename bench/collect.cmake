# promdir-collect-bench: cold and warm scrapes of the merge engine on a
# directory (bench/bench_collect.sh compares it with Python).
add_executable(promdir-collect-bench ${CMAKE_CURRENT_SOURCE_DIR}/collect_bench.cc)
target_link_libraries(promdir-collect-bench PRIVATE promdir_reader)
