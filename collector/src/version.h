// The version promdir-collector reports (--version, the landing page and
// promdir_collector_build_info): the project's CMake version.

#ifndef PROMDIR_COLLECTOR_SRC_VERSION_H_
#define PROMDIR_COLLECTOR_SRC_VERSION_H_

namespace promdir::http {

#ifdef PROMDIR_VERSION
inline constexpr const char* kPromdirVersion = PROMDIR_VERSION;
#else
inline constexpr const char* kPromdirVersion = "unknown";
#endif

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_VERSION_H_
