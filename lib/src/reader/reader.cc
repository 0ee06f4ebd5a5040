#include "promdir/reader.h"

#include <string>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/native_format.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/native_file.h"

namespace promdir {

namespace {

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

reader::ReadError ReadFile(Env* env, const std::string& path,
                           FileContents* out, ValueLayout preferred) {
  using reader::BadReason;
  int fd = -1;
  FileInfo info;
  reader::ReadError e = reader::OpenMetricsFile(env, path, &fd, &info);
  if (!e.ok()) return e;
  std::string_view base = BaseName(path);
  std::optional<format::FileName> name;
  if (base.ends_with(".db")) {
    name = format::ParseFileName(base);
    if (!name) {
      env->Close(fd);
      return reader::Bad(BadReason::kUnknownType, path,
                         "the name has a type or gauge mode no client writes");
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
  if (!e.ok()) return e;
  out->used = buf.size();
  ValueLayout layout;
  e = reader::DetectLayout(buf, format::kHeaderSize, preferred, path, &layout);
  if (!e.ok()) return e;
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
  if (!e.ok()) return e;
  if (bad != BadReason::kNone) {
    out->entries.clear();
    return reader::Bad(bad, path,
                       why + " (entry at offset " + std::to_string(bad_at) +
                           ")");
  }
  return {};
}

}  // namespace

Status ReadMetricsFile(Env* env, const std::string& path, FileContents* out,
                       ValueLayout preferred) {
  *out = FileContents();
  reader::ReadError e =
      ReadFile(env != nullptr ? env : Env::Default(), path, out, preferred);
  out->bad_reason = e.reason;
  return e.status;
}

bool IsNativeFileName(std::string_view base_name) {
  return native::ParseFileName(base_name).has_value();
}

Status ReadNativeMetricsFile(Env* env, const std::string& path,
                             std::vector<NativeFileEntry>* out,
                             BadFileReason* reason) {
  out->clear();
  uint64_t bytes = 0;
  reader::ReadError e = reader::ReadNativeFile(
      env != nullptr ? env : Env::Default(), path, out, &bytes);
  if (reason != nullptr) *reason = e.reason;
  return e.status;
}

std::string_view BadFileReasonCode(BadFileReason reason) {
  switch (reason) {
    case BadFileReason::kNone: return "";
    case BadFileReason::kEmpty: return "empty";
    case BadFileReason::kTruncated: return "truncated";
    case BadFileReason::kBadLength: return "bad_length";
    case BadFileReason::kBadKey: return "bad_key";
    case BadFileReason::kOldKeyFormat: return "old_key_format";
    case BadFileReason::kBadLayout: return "bad_layout";
    case BadFileReason::kNotRegular: return "not_regular";
    case BadFileReason::kSymlink: return "symlink";
    case BadFileReason::kBadLe: return "bad_le";
    case BadFileReason::kUnknownType: return "unknown_type";
    case BadFileReason::kIoError: return "io_error";
  }
  return "";
}

}  // namespace promdir
