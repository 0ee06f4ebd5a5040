# Tests of the reader area: file reader, liveness, merge engine, exposition.
promdir_test(reader_test
  SOURCES reader_test.cc liveness_test.cc
  LIBS promdir_reader)
