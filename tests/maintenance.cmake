# Maintenance: prune, mark-dead, wipe, the compaction journal, and
# crash-safe compaction (fault injection, SIGKILL, Python's view, churn with
# Python and promdir-loadgen writers).
promdir_test(maintenance_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/maintenance_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/compact_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/compact_churn_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/hostile_dir_test.cc
  LIBS promdir_maintenance promdir_reader promdir_writer)
if(TARGET promdir-loadgen)
  add_dependencies(maintenance_test promdir-loadgen)
endif()
