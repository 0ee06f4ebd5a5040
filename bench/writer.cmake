# promdir-bench: the worker library's hot path (Google Benchmark).
# bench/bench_writer.py runs it beside Python's client and prints ratios.
add_executable(promdir-bench ${CMAKE_CURRENT_SOURCE_DIR}/writer_bench.cc)
target_compile_options(promdir-bench PRIVATE -Wall -Wextra)
target_link_libraries(promdir-bench PRIVATE promdir_writer benchmark::benchmark)

# promdir-fork-bench: fork cost, leftover files and VSZ/RSS of a worker.
add_executable(promdir-fork-bench ${CMAKE_CURRENT_SOURCE_DIR}/fork_bench.cc)
target_compile_options(promdir-fork-bench PRIVATE -Wall -Wextra)
target_link_libraries(promdir-fork-bench PRIVATE promdir_writer)
