# promdir_http: the collector's server logic (flags, negotiation, gzip,
# self-metrics, logging, lifecycle), unit-tested on its own; and the thin
# promdir-collector binary on top.
file(GLOB _promdir_http_srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc)
find_package(OpenSSL REQUIRED)
add_library(promdir_http STATIC ${_promdir_http_srcs})
target_compile_features(promdir_http PUBLIC cxx_std_20)
target_compile_options(promdir_http PRIVATE -Wall -Wextra)
target_compile_definitions(promdir_http PRIVATE PROMDIR_VERSION="${PROJECT_VERSION}")
target_link_libraries(promdir_http PUBLIC
  promdir_maintenance promdir_reader promdir_core
  PkgConfig::HTTPLIB ZLIB::ZLIB CLI11::CLI11 Threads::Threads
  OpenSSL::SSL OpenSSL::Crypto crypt)

add_executable(promdir-collector ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
target_link_libraries(promdir-collector PRIVATE promdir_http)
if(PROMDIR_INSTALL)
  install(TARGETS promdir-collector RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
