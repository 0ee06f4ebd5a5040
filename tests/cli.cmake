# The promdir binary: every command on the fixtures, exit codes, help.
if(TARGET promdir_cli)
  promdir_test(cli_test
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.cc
    LIBS promdir_cli_commands promdir_maintenance promdir_reader)
  add_dependencies(cli_test promdir_cli)
endif()
