# Tests of the reader area: file reader, liveness, merge engine, exposition.
promdir_test(reader_test
  SOURCES reader_test.cc liveness_test.cc
  LIBS promdir_reader)
promdir_test(merge_test
  SOURCES merge_golden_test.cc exposition_test.cc exposition_parse.cc
  LIBS promdir_reader)
promdir_test(collectable_test
  SOURCES collectable_test.cc exposition_parse.cc
  LIBS promdir_reader prometheus-cpp::pull)
