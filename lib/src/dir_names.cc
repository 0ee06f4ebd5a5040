#include "lib/src/dir_names.h"

#include "lib/src/format.h"

namespace promdir::maintenance {

std::string_view ArchiveId(ValueLayout layout) {
  return layout == ValueLayout::k8 ? "archive8" : "archive";
}

bool IsArchiveId(std::string_view id) {
  return id == "archive" || id == "archive8";
}

std::string_view WriterId(std::string_view id) {
  size_t mark = id.rfind(kStagingMark);
  if (mark == std::string_view::npos || mark == 0) return id;
  for (char c : id.substr(mark + sizeof(kStagingMark) - 1)) {
    if (c < '0' || c > '9') return id;
  }
  return id.substr(0, mark);
}

bool IsStagedId(std::string_view id) { return WriterId(id) != id; }

std::string StagedId(std::string_view writer_id, int attempt) {
  std::string s(writer_id);
  s += kStagingMark;
  if (attempt > 0) s += std::to_string(attempt);
  return s;
}

std::string TempName(std::string_view archive_name) {
  std::string s(kTempPrefix);
  s += archive_name;
  s += kTempSuffix;
  return s;
}

bool IsTempName(std::string_view name) {
  return name.starts_with(kTempPrefix) && name.ends_with(kTempSuffix) &&
         name.size() > sizeof(kTempPrefix) - 1 + sizeof(kTempSuffix) - 1;
}

}  // namespace promdir::maintenance

namespace promdir {

namespace {

constexpr std::string_view kJournalMagic = "promdir-compact-journal 1";

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  *out = v;
  return true;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return out;
    }
    out.push_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
}

void AppendFile(const JournalFile& f, std::string* out) {
  *out += f.name;
  *out += '\t';
  *out += std::to_string(f.device);
  *out += '\t';
  *out += std::to_string(f.inode);
}

// A plain metrics file name of this directory, nothing that resolves
// elsewhere.
bool PlainMetricsName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return false;
  }
  return format::ParseFileName(name).has_value();
}

bool ParseFile(std::string_view name, std::string_view dev,
               std::string_view ino, JournalFile* f) {
  if (!PlainMetricsName(name)) return false;
  f->name = std::string(name);
  return ParseU64(dev, &f->device) && ParseU64(ino, &f->inode);
}

bool ValidArchive(const JournalArchive& a) {
  std::optional<format::FileName> f = format::ParseFileName(a.archive.name);
  return f && maintenance::IsArchiveId(f->id) &&
         a.temp_name == maintenance::TempName(a.archive.name);
}

}  // namespace

std::string EncodeJournal(const CompactionJournal& journal) {
  std::string out(kJournalMagic);
  out += '\n';
  for (const JournalArchive& a : journal.archives) {
    out += "archive\t";
    AppendFile(a.archive, &out);
    out += '\t';
    out += a.temp_name;
    out += '\n';
    for (const JournalFile& s : a.sources) {
      out += "source\t";
      AppendFile(s, &out);
      out += '\n';
    }
  }
  out += "end\t" + std::to_string(journal.archives.size()) + "\n";
  return out;
}

Status DecodeJournal(std::string_view text, const std::string& path,
                     CompactionJournal* journal) {
  journal->archives.clear();
  auto bad = [&](std::string_view why) {
    return Status::Corruption(path + ": " + std::string(why));
  };
  size_t pos = 0;
  bool first = true;
  bool ended = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return bad("last line is not complete");
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (ended) return bad("data after the end record");
    if (first) {
      if (line != kJournalMagic) return bad("not a compaction journal");
      first = false;
      continue;
    }
    std::vector<std::string_view> f = SplitTabs(line);
    if (f[0] == "archive" && f.size() == 5) {
      JournalArchive a;
      if (!ParseFile(f[1], f[2], f[3], &a.archive)) {
        return bad("bad archive record");
      }
      a.temp_name = std::string(f[4]);
      if (!ValidArchive(a)) return bad("bad archive record");
      journal->archives.push_back(std::move(a));
    } else if (f[0] == "source" && f.size() == 4) {
      if (journal->archives.empty()) return bad("source before any archive");
      JournalFile s;
      if (!ParseFile(f[1], f[2], f[3], &s)) return bad("bad source record");
      journal->archives.back().sources.push_back(std::move(s));
    } else if (f[0] == "end" && f.size() == 2) {
      uint64_t n = 0;
      if (!ParseU64(f[1], &n) || n != journal->archives.size()) {
        return bad("end record does not match the archives");
      }
      ended = true;
    } else {
      return bad("unknown record");
    }
  }
  if (!ended) return bad("no end record");
  return Status::OK();
}

}  // namespace promdir
