# promdir_proto: the io.prometheus.client messages (metrics.proto), compiled
# with Debian's protoc and linked against its libprotobuf. The reader's
# protobuf exposition uses it; tests decode bodies with it.
find_package(Protobuf REQUIRED)
protobuf_generate_cpp(_promdir_pb_srcs _promdir_pb_hdrs
                      ${CMAKE_CURRENT_LIST_DIR}/metrics.proto)
add_library(promdir_proto STATIC ${_promdir_pb_srcs} ${_promdir_pb_hdrs})
target_compile_features(promdir_proto PUBLIC cxx_std_20)
# The generated header is included as "metrics.pb.h".
target_include_directories(promdir_proto PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_BINARY_DIR}>)
target_link_libraries(promdir_proto PUBLIC protobuf::libprotobuf)
add_library(promdir::promdir_proto ALIAS promdir_proto)
set_target_properties(promdir_proto PROPERTIES EXPORT_NAME promdir_proto)
