# The worker-side library's tests: API and file bytes, real processes (fork,
# SIGKILL, worker ids, ENOSPC), interop with Debian's prometheus_client, and
# promdir-loadgen; the writer as a guest in a worker (fork, exec, an
# address-space limit, files growing past their first mapping).
promdir_test(writer_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/writer_api_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/writer_process_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/writer_fork_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/writer_python_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/writer_loadgen_test.cc
  LIBS promdir_writer promdir_reader prometheus-cpp::core)
if(TARGET promdir-loadgen)
  add_dependencies(writer_test promdir-loadgen)
endif()
