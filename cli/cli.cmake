# promdir: the command-line tool. The commands are a small library so tests
# run them in-process; main.cc only parses arguments.
add_library(promdir_cli_commands STATIC ${CMAKE_CURRENT_SOURCE_DIR}/src/commands.cc
            ${CMAKE_CURRENT_SOURCE_DIR}/src/heap.cc
            ${CMAKE_CURRENT_SOURCE_DIR}/src/dump_native.cc)
target_link_libraries(promdir_cli_commands PUBLIC promdir_maintenance promdir_reader promdir_core)
target_compile_options(promdir_cli_commands PRIVATE -Wall -Wextra)

add_executable(promdir_cli ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
set_target_properties(promdir_cli PROPERTIES OUTPUT_NAME promdir)
target_compile_definitions(promdir_cli PRIVATE PROMDIR_VERSION="${PROJECT_VERSION}")
target_link_libraries(promdir_cli PRIVATE promdir_cli_commands CLI11::CLI11)
