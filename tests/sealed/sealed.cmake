# The sealed API (included by the top CMakeLists.txt, after every binary): with each binary's include path (the transitive include
# directories of the target), the public headers compile and a lib/src
# include does not. The probes are built by the test only.
set(_sealed_targets)
foreach(_t IN ITEMS promdir_cli promdir-loadgen promdir_cli_commands
                    promdir-collector promdir_http promdir-collect-bench
                    promdir-crafted-bench promdir-churn-bench promdir-bench
                    promdir-fork-bench)
  if(NOT TARGET ${_t})
    continue()
  endif()
  foreach(_kind IN ITEMS public refused)
    add_library(sealed_${_kind}_${_t} OBJECT EXCLUDE_FROM_ALL
                ${CMAKE_CURRENT_LIST_DIR}/${_kind}.cc)
    target_include_directories(sealed_${_kind}_${_t} PRIVATE
      $<TARGET_PROPERTY:${_t},INCLUDE_DIRECTORIES>)
    target_compile_features(sealed_${_kind}_${_t} PRIVATE cxx_std_20)
  endforeach()
  list(APPEND _sealed_targets ${_t})
endforeach()
add_test(NAME sealed_api
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_sealed.sh
                 ${PROJECT_BINARY_DIR} ${_sealed_targets})
