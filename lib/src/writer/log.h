// One-line diagnostics of the writer on stderr, "promdir: <message>".
//
// Threads: one write(2) per line, so lines of concurrent threads and
// processes do not interleave.

#ifndef PROMDIR_LIB_SRC_WRITER_LOG_H_
#define PROMDIR_LIB_SRC_WRITER_LOG_H_

#include <string_view>

namespace promdir::writer {

void LogLine(std::string_view message);

}  // namespace promdir::writer

#endif  // PROMDIR_LIB_SRC_WRITER_LOG_H_
