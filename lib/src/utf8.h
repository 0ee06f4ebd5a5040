// Strict UTF-8, as scrapers require it: no surrogate code points (U+D800 to
// U+DFFF, which Python writes for a lone surrogate escape such as \udc80),
// no overlong forms, nothing past U+10FFFF.
//
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_UTF8_H_
#define PROMDIR_LIB_SRC_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace promdir {

// Decodes the UTF-8 sequence at s[*i] into *cp and advances *i. Rejects
// overlong forms, values past U+10FFFF and cut-off or malformed sequences;
// accepts surrogate code points (as JSON text may hold them escaped, and
// Python's reader does). REQUIRES: *i < s.size().
bool DecodeCodePoint(std::string_view s, size_t* i, uint32_t* cp);

// True iff `text` is valid UTF-8 in that strict sense.
bool IsStrictUtf8(std::string_view text);

// `text` for a log line: each byte that is not part of a strictly valid
// UTF-8 sequence becomes \xNN.
std::string ShowBytes(std::string_view text);

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_UTF8_H_
