// Entry keys: Python's json.dumps([metric, sample, labels, help],
// sort_keys=True), byte for byte, and the parser that reads them back.
//
// The writer must produce the very bytes Python produces, because a process
// that reopens its file finds its series by key bytes, and the merge matches
// series across files by them. Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_KEY_CODEC_H_
#define PROMDIR_LIB_SRC_KEY_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promdir/status.h"
#include "promdir/text.h"

namespace promdir {

// LabelPairs, DecodedKey, DecodeKey and AppendJsonString are public:
// promdir/text.h.

// Decodes the UTF-8 sequence at s[*i] into *cp and advances *i past it.
// Returns false (and leaves *i) if it is not valid UTF-8.
bool NextUtf8CodePoint(std::string_view s, size_t* i, uint32_t* cp);

// Builds the key for one sample. `labels` may be in any order; they are
// sorted by name (code point order). Returns InvalidArgument naming the
// offending text if a string is not valid UTF-8 or a label name repeats.
Result<std::string> EncodeKey(std::string_view metric_name,
                              std::string_view sample_name, LabelPairs labels,
                              std::string_view help);

// The same parse without copies, for readers that decode many keys: the
// strings are views of `key` (or of `storage`, for strings that held
// escapes), valid while both live and until the next decode into this.
using LabelView = std::pair<std::string_view, std::string_view>;
struct DecodedKeyView {
  std::string_view metric_name;
  std::string_view sample_name;
  std::vector<LabelView> labels;  // sorted by name, unique
  std::string_view help;
  std::string storage;
};
Status DecodeKeyView(std::string_view key, DecodedKeyView* out);

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_KEY_CODEC_H_
