# The README's examples, compiled and run as tests (the README pastes them
# from tests/examples/).
#   promdir_example(<name> <library> <check script args...>)
function(promdir_example name lib)
  add_executable(example_${name} ${CMAKE_CURRENT_SOURCE_DIR}/examples/${name}.cc)
  target_link_libraries(example_${name} PRIVATE ${lib})
  set_target_properties(example_${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/examples)
  add_test(NAME example_${name}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/examples/check_${name}.sh
                   ${ARGN})
endfunction()

promdir_example(quickstart promdir::promdir $<TARGET_FILE:example_quickstart>)
# The prometheus-cpp example, where promdir::prometheus is built.
if(TARGET promdir_prometheus)
  promdir_example(collectable promdir::prometheus
                  $<TARGET_FILE:example_quickstart>
                  $<TARGET_FILE:example_collectable>)
endif()
