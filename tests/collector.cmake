# Tests of promdir-collector: unit tests of promdir_http, and end-to-end
# tests that run the real binary and scrape it over HTTP.
if(TARGET promdir_http)
  promdir_test(collector_unit_test
    SOURCES collector_unit_test.cc
    LIBS promdir_http CLI11::CLI11)
  promdir_test(collector_net_test
    SOURCES collector_net_test.cc
    LIBS promdir_http)
endif()
if(TARGET promdir-collector)
  promdir_test(collector_e2e_test
    SOURCES collector_e2e_test.cc collector_process.cc
    LIBS promdir_http PkgConfig::HTTPLIB)
  add_dependencies(collector_e2e_test promdir-collector)
  promdir_test(negotiation_e2e_test
    SOURCES negotiation_e2e_test.cc collector_process.cc exposition_parse.cc
    LIBS promdir_http promdir_proto PkgConfig::HTTPLIB)
  add_dependencies(negotiation_e2e_test promdir-collector promdir_cli)
  if(TARGET promdir-loadgen)
    add_dependencies(collector_e2e_test promdir-loadgen)
  endif()
endif()
