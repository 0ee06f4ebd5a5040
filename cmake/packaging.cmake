# The Debian package (CPack DEB) and the install rules it needs beyond
# cmake/install.cmake: the binaries, the systemd units, the documentation
# and the operations kit.
#
#   cmake --build build && (cd build && cpack -G DEB)
#   -> build/promdir_<version>_<arch>.deb
#
# The package installs under /usr: bin/promdir, bin/promdir-collector,
# bin/promdir-loadgen; lib/libpromdir_*.a, include/promdir/*.h and
# lib/cmake/promdir (find_package(promdir)); lib/systemd/system/promdir-*;
# lib/sysusers.d/promdir.conf (the user promdir) and lib/tmpfiles.d/
# promdir.conf (/run/promdir), which its postinst applies; share/doc/promdir
# (README, FORMAT, examples).
if(NOT PROMDIR_INSTALL)
  return()
endif()

# Every executable defined under cli/ and collector/ (the targets' own names
# are their owners' business; their output names are the binaries').
foreach(_dir cli collector)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${_dir}/CMakeLists.txt AND PROMDIR_BUILD_TOOLS)
    get_property(_targets DIRECTORY ${PROJECT_SOURCE_DIR}/${_dir}
                 PROPERTY BUILDSYSTEM_TARGETS)
    foreach(_t IN LISTS _targets)
      get_target_property(_type ${_t} TYPE)
      if(_type STREQUAL "EXECUTABLE")
        install(TARGETS ${_t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
      endif()
    endforeach()
  endif()
endforeach()

install(FILES
          ${PROJECT_SOURCE_DIR}/scripts/systemd/promdir-collector.service
          ${PROJECT_SOURCE_DIR}/scripts/systemd/promdir-compact.service
          ${PROJECT_SOURCE_DIR}/scripts/systemd/promdir-compact.timer
        DESTINATION lib/systemd/system)
# What the units need: their user (sysusers.d) and directory (tmpfiles.d),
# made by the postinst at installation and by systemd at boot.
install(FILES ${PROJECT_SOURCE_DIR}/scripts/systemd/promdir.sysusers
        DESTINATION lib/sysusers.d RENAME promdir.conf)
install(FILES ${PROJECT_SOURCE_DIR}/scripts/systemd/promdir.tmpfiles
        DESTINATION lib/tmpfiles.d RENAME promdir.conf)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
        DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(FILES
          ${PROJECT_SOURCE_DIR}/scripts/gunicorn.conf.py
          ${PROJECT_SOURCE_DIR}/scripts/uwsgi.ini
          ${PROJECT_SOURCE_DIR}/scripts/prometheus.yml
          ${PROJECT_SOURCE_DIR}/scripts/kubernetes/sidecar.yaml
          ${PROJECT_SOURCE_DIR}/scripts/grafana/promdir-dashboard.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME promdir)
set(CPACK_PACKAGE_VENDOR "promdir")
set(CPACK_PACKAGE_CONTACT "promdir maintainers <promdir@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Multiprocess Prometheus metrics: lock-free writers and a fast collector")
set(CPACK_PACKAGE_DESCRIPTION
    "promdir merges the per-process metric files of preforking servers
(gunicorn, uWSGI, C++ prefork servers) written in prometheus_client's
multiprocess format into one Prometheus endpoint, and keeps the directory
small with crash-safe compaction. Includes promdir-collector, the promdir
CLI, systemd units, and the C++ library with its headers and CMake config.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)  # binaries without debug info
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/promdir/promdir")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Runtime libraries from the binaries themselves; the headers and the
# static libraries need prometheus-cpp's and Boost's development packages.
find_program(_dpkg_shlibdeps dpkg-shlibdeps)
if(_dpkg_shlibdeps)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libstdc++6, libcpp-httplib0.11, zlib1g, libprotobuf32")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/scripts/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "prometheus-cpp-dev, libboost-dev, libprotobuf-dev")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, python3-prometheus-client")
include(CPack)
