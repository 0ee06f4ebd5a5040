# Tests of the reader area: file reader, liveness, merge engine, exposition,
# and the prometheus-cpp Collectable.
promdir_test(reader_test
  SOURCES reader_test.cc liveness_test.cc reader_test_util.cc
  LIBS promdir_reader)
promdir_test(merge_test
  SOURCES merge_golden_test.cc merge_test.cc exposition_test.cc merge_liveness_test.cc
          exposition_parse.cc reader_test_util.cc
  LIBS promdir_reader)
if(TARGET promdir_prometheus)
  promdir_test(collectable_test
    SOURCES collectable_test.cc exposition_parse.cc reader_test_util.cc
    LIBS promdir_prometheus promdir_reader prometheus-cpp::pull)
endif()
promdir_test(merge_unchanged_test
  SOURCES merge_unchanged_test.cc exposition_parse.cc
  LIBS promdir_reader promdir_writer)
# Crafted files (bench/crafted_files.h), the `used` cap, the bad-file memo
# and a churn soak of the key table's memory.
promdir_test(crafted_test
  SOURCES crafted_test.cc
  LIBS promdir_reader)
# The merge engine's parts, each on its own: the executor (its one source of
# threads), the arena, the key table, the file cache, the prefix predictor,
# the entry parser, the accumulator, the plan builder and the change tracker.
promdir_test(engine_parts_test
  SOURCES executor_test.cc arena_test.cc key_table_test.cc file_cache_test.cc
          prefix_predictor_test.cc merge_parts_test.cc
  LIBS promdir_reader)
