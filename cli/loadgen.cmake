# promdir-loadgen: forks worker processes that write metrics through the
# library, with deterministic totals (tests, benchmarks and the demo).
add_executable(promdir-loadgen ${CMAKE_CURRENT_SOURCE_DIR}/loadgen_main.cc)
target_compile_options(promdir-loadgen PRIVATE -Wall -Wextra)
target_link_libraries(promdir-loadgen PRIVATE promdir_writer CLI11::CLI11)
if(PROMDIR_INSTALL)
  install(TARGETS promdir-loadgen RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
