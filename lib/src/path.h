// Paths: the one place a directory and a name are joined.
//
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_PATH_H_
#define PROMDIR_LIB_SRC_PATH_H_

#include <string>
#include <string_view>

namespace promdir {

// "<dir>/<name>"; no doubled slash when `dir` ends in one. REQUIRES: `name`
// is a plain name of the directory (no slash).
inline std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path.append(dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(name);
  return path;
}

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_PATH_H_
