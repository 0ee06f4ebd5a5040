# Native histograms: bucket math, the writer with threads and SIGKILLed
# processes, merge arithmetic, bad native files, protobuf, compaction.
promdir_test(native_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/native_test.cc
  LIBS promdir_maintenance promdir_writer promdir_reader promdir_proto)
