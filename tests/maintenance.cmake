# Maintenance: prune, mark-dead, wipe, the compaction journal, and
# crash-safe compaction (fault injection, SIGKILL, Python's view).
promdir_test(maintenance_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/maintenance_test.cc
          ${CMAKE_CURRENT_SOURCE_DIR}/compact_test.cc
  LIBS promdir_maintenance promdir_reader)
