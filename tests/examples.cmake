# The README's examples, compiled and run as tests (the README pastes them
# from tests/examples/).
add_executable(example_quickstart ${CMAKE_CURRENT_SOURCE_DIR}/examples/quickstart.cc)
target_link_libraries(example_quickstart PRIVATE promdir::promdir)
set_target_properties(example_quickstart PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/examples)
add_test(NAME example_quickstart
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/examples/check_quickstart.sh
                 $<TARGET_FILE:example_quickstart>)
