#include "promdir/reader.h"

#include <string>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/reader/file_reader.h"

namespace promdir {

namespace {

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The phrase each reason's message carries after "<path>: ", so that a
// Status alone can be mapped back to its code.
struct Phrase {
  std::string_view text;
  std::string_view code;
};
constexpr Phrase kPhrases[] = {
    {"neither the 8- nor the 16-byte value layout", "bad_layout"},
    {"zero-length file", "empty"},
    {"past the end of the file", "truncated"},
    {"shorter than its 8-byte header", "truncated"},
    {"negative key length", "bad_length"},
    {"oversized key length", "bad_length"},
    {"runs past used", "bad_length"},
    {"is cut off by used", "bad_length"},
    {"is not a multiple of 8", "bad_layout"},
    {"is below the header size", "bad_layout"},
    {"beyond the largest metrics file", "bad_layout"},
    {"where entries must be", "bad_length"},
    {"3-element list", "old_key_format"},
    {"non-numeric le", "bad_le"},
    {"symbolic link", "symlink"},
    {"not a regular file", "not_regular"},
    {"type or gauge mode no client writes", "unknown_type"},
    {"key", "bad_key"},
};

}  // namespace

Status ReadMetricsFile(Env* env, const std::string& path, FileContents* out,
                       ValueLayout preferred) {
  using reader::BadReason;
  *out = FileContents();
  int fd = -1;
  FileInfo info;
  reader::ReadError e = reader::OpenMetricsFile(env, path, &fd, &info);
  if (!e.ok()) return e.status;
  std::string_view base = BaseName(path);
  std::optional<format::FileName> name;
  if (base.ends_with(".db")) {
    name = format::ParseFileName(base);
    if (!name) {
      env->Close(fd);
      return reader::Bad(BadReason::kUnknownType, path,
                         "the name has a type or gauge mode no client writes")
          .status;
    }
  }
  out->size = info.size;
  out->device = info.device;
  out->inode = info.inode;
  std::string buf;
  bool magic = false;
  uint64_t bytes = 0;
  e = reader::ReadUsed(env, fd, path, info.size, &buf, &magic, &bytes);
  env->Close(fd);
  if (!e.ok()) return e.status;
  out->used = buf.size();
  ValueLayout layout;
  e = reader::DetectLayout(buf, format::kHeaderSize, preferred, path, &layout);
  if (!e.ok()) return e.status;
  out->layout = layout;
  FileType type = name ? name->type : FileType::kCounter;
  std::string why;
  BadReason bad = BadReason::kNone;
  uint64_t bad_at = 0;
  e = reader::WalkEntries(
      buf, format::kHeaderSize, layout, path,
      [&](uint64_t off, std::string_view key, uint64_t voff) {
        if (bad != BadReason::kNone) return;
        bad = reader::CheckKey(key, type, &why);
        if (bad != BadReason::kNone) {
          bad_at = off;
          return;
        }
        FileEntry entry;
        entry.key.assign(key);
        entry.offset = off;
        entry.value_offset = voff;
        entry.value = reader::LoadDouble(buf.data() + voff);
        if (layout == ValueLayout::k16) {
          entry.timestamp = reader::LoadDouble(buf.data() + voff + 8);
        }
        out->entries.push_back(std::move(entry));
      });
  if (!e.ok()) return e.status;
  if (bad != BadReason::kNone) {
    out->entries.clear();
    return reader::Bad(bad, path,
                       why + " (entry at offset " + std::to_string(bad_at) +
                           ")")
        .status;
  }
  return Status::OK();
}

std::string_view BadFileReason(const Status& status) {
  if (status.ok() || status.IsNotFound()) return "";
  if (!status.IsCorruption()) return "io_error";
  // Look only after the last ": " so a path cannot match by accident.
  std::string_view msg = status.message();
  size_t colon = msg.rfind(".db: ");
  if (colon == std::string_view::npos) {
    colon = msg.find(": ");
  }
  if (colon != std::string_view::npos) msg = msg.substr(colon + 2);
  for (const Phrase& p : kPhrases) {
    if (msg.find(p.text) != std::string_view::npos) return p.code;
  }
  return "bad_key";
}

}  // namespace promdir
