#include "lib/src/writer/log.h"

#include <unistd.h>

#include <string>

namespace promdir::writer {

void LogLine(std::string_view message) {
  std::string line = "promdir: ";
  line.append(message);
  line.push_back('\n');
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace promdir::writer
