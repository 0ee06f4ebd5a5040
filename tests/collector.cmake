# Tests of promdir-collector: unit tests of promdir_http, and end-to-end
# tests that run the real binary and scrape it over HTTP.
if(TARGET promdir_http)
  promdir_test(collector_unit_test
    SOURCES collector_unit_test.cc
    LIBS promdir_http CLI11::CLI11)
endif()
