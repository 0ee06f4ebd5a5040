# Installs the libraries, headers, binaries and an exported CMake config, so
# that a C++ user's find_package(promdir) gives promdir::promdir.
include(CMakePackageConfigHelpers)

install(TARGETS promdir promdir_core promdir_writer promdir_reader promdir_maintenance
                promdir_proto
        EXPORT promdirTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET promdir_prometheus)
  # Its own export set: a user's find_package(promdir) loads it only when
  # prometheus-cpp is found too (promdirConfig.cmake).
  install(TARGETS promdir_prometheus EXPORT promdirPrometheusTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT promdirPrometheusTargets NAMESPACE promdir::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/promdir)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/promdir
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT promdirTargets NAMESPACE promdir::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/promdir)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/promdirConfig.cmake.in
        ${PROJECT_BINARY_DIR}/promdirConfig.cmake
        INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/promdir)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/promdirConfigVersion.cmake
        COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/promdirConfig.cmake
              ${PROJECT_BINARY_DIR}/promdirConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/promdir)
