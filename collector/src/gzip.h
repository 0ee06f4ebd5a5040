// Gzip: compresses a response body with zlib into the gzip format
// (RFC 1952), so that the collector decides itself when a body is
// compressed instead of leaving it to the HTTP library.
//
// Threads: pure functions; safe from any thread. GzipCompress compresses a
// large body (256 KiB and up) in parts on one thread per core, joined
// before it returns.

#ifndef PROMDIR_COLLECTOR_SRC_GZIP_H_
#define PROMDIR_COLLECTOR_SRC_GZIP_H_

#include <string>
#include <string_view>

#include "promdir/status.h"

namespace promdir::http {

// Replaces *out with `input` gzipped at `level` (1 fastest .. 9 smallest):
// one gzip member, whatever the number of parts. Returns an error only if
// zlib fails (out of memory).
Status GzipCompress(std::string_view input, int level, std::string* out);

// Replaces *out with the decompressed gzip stream `input`. Corruption if it
// is not a complete gzip stream. For tests and tools.
Status GzipDecompress(std::string_view input, std::string* out);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_GZIP_H_
