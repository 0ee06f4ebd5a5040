# Native histograms: bucket math, the writer with threads and SIGKILLed
# processes, merge arithmetic, bad native files, protobuf.
promdir_test(native_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/native_test.cc
  LIBS promdir_writer promdir_reader promdir_proto)
