#include "commands.h"

#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <memory>
#include <sstream>

#include "promdir/directory.h"
#include "promdir/merge.h"
#include "promdir/reader.h"
#include "promdir/text.h"

namespace promdir::cli {

namespace {

// Replaces bytes that are not UTF-8 so AppendJsonString accepts the text.
std::string ValidUtf8(std::string_view s) {
  std::string probe;
  if (AppendJsonString(s, &probe)) return std::string(s);
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += "\xef\xbf\xbd";
    }
  }
  return out;
}

void PrintResult(const MaintenanceOptions& options, const MaintenanceResult& r,
                 std::ostream& out, std::ostream& err) {
  const char* would = options.dry_run ? "would " : "";
  for (const auto& p : r.removed)
    out << (options.dry_run ? "would remove " : "removed ") << p << "\n";
  for (const auto& p : r.folded)
    out << would << (options.dry_run ? "fold " : "folded ") << p << "\n";
  for (const auto& p : r.written)
    out << (options.dry_run ? "would write " : "wrote ") << p << "\n";
  for (const auto& p : r.skipped) err << "promdir: skipped " << p << "\n";
  for (const auto& p : r.errors) err << "promdir: error: " << p << "\n";
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string ResolveDirectory(const std::string& flag) {
  if (!flag.empty()) return flag;
  return DirectoryFromEnvironment();
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  if (status.IsBusy()) return kExitBusy;
  if (status.IsInvalidArgument()) return kExitUsage;
  return kExitProblem;
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(ValidUtf8(s), &out);
  return out;
}

std::string JsonNumber(double v) {
  if (std::isnan(v) || std::isinf(v)) return "\"" + GoFloat(v) + "\"";
  std::string out;
  AppendPythonRepr(v, &out);
  return out;
}

int RunLs(const MaintenanceOptions& options, bool json, std::ostream& out,
          std::ostream& err) {
  std::vector<FileReport> reports;
  Status s = InspectDirectory(options, &reports);
  if (!s.ok()) {
    err << "promdir ls: " << s.message() << "\n";
    return ExitCodeFor(s);
  }
  if (json) {
    out << "[";
    for (size_t i = 0; i < reports.size(); ++i) {
      const FileReport& r = reports[i];
      out << (i ? ",\n " : "\n ") << "{\"file\": " << JsonString(r.name)
          << ", \"type\": " << JsonString(r.type)
          << ", \"mode\": " << JsonString(r.mode)
          << ", \"id\": " << JsonString(r.id)
          << ", \"layout\": " << (r.layout.empty() ? "null" : r.layout)
          << ", \"entries\": " << r.entries << ", \"used\": " << r.used
          << ", \"size\": " << r.size
          << ", \"archive\": " << (r.archive ? "true" : "false")
          << ", \"state\": "
          << JsonString(r.bad ? "bad" : std::string(WriterStateName(r.state)))
          << ", \"how\": " << JsonString(r.bad ? r.message : r.how);
      if (r.bad) {
        out << ", \"reason\": " << JsonString(BadFileReasonCode(r.reason));
      }
      out << "}";
    }
    out << (reports.empty() ? "]\n" : "\n]\n");
    return kExitOk;
  }
  out << Pad("TYPE", 10) << Pad("MODE", 15) << Pad("ID", 12) << Pad("LAYOUT", 7)
      << std::setw(8) << "ENTRIES" << std::setw(11) << "USED" << std::setw(11)
      << "SIZE"
      << "  " << Pad("STATE", 8) << "HOW / FILE\n";
  for (const FileReport& r : reports) {
    out << Pad(r.type.empty() ? "?" : r.type, 10)
        << Pad(r.mode.empty() ? "-" : r.mode, 15)
        << Pad(r.id.empty() ? "-" : r.id, 12)
        << Pad(r.layout.empty() ? "-" : r.layout, 7) << std::setw(8)
        << r.entries << std::setw(11) << r.used << std::setw(11) << r.size
        << "  " << Pad(r.bad ? "bad" : std::string(WriterStateName(r.state)), 8)
        << (r.bad ? std::string(BadFileReasonCode(r.reason)) + ": " + r.message
                  : r.how)
        << "  " << r.name
        << "\n";
  }
  return kExitOk;
}

int RunDump(const std::string& path, bool json, std::ostream& out,
            std::ostream& err) {
  if (IsNativeFileName(path.substr(path.rfind('/') + 1))) {
    return RunDumpNative(path, json, out, err);
  }
  FileContents contents;
  Status s = ReadMetricsFile(/*env=*/nullptr, path, &contents);
  if (!s.ok()) {
    err << "promdir dump: " << s.message() << "\n";
    return s.IsNotFound() ? kExitProblem : ExitCodeFor(s);
  }
  if (json) out << "[";
  size_t n = 0;
  for (const FileEntry& e : contents.entries) {
    DecodedKey k;
    Status ks = DecodeKey(e.key, &k);
    if (!ks.ok()) {
      err << "promdir dump: " << path << ": entry at offset " << e.offset
          << ": " << ks.message() << "\n";
      continue;
    }
    if (json) {
      out << (n ? ",\n " : "\n ")
          << "{\"family\": " << JsonString(k.metric_name)
          << ", \"sample\": " << JsonString(k.sample_name) << ", \"labels\": {";
      for (size_t i = 0; i < k.labels.size(); ++i) {
        out << (i ? ", " : "") << JsonString(k.labels[i].first) << ": "
            << JsonString(k.labels[i].second);
      }
      out << "}, \"value\": " << JsonNumber(e.value)
          << ", \"timestamp\": " << JsonNumber(e.timestamp)
          << ", \"help\": " << JsonString(k.help) << "}";
    } else {
      // A name that is not a legacy Prometheus name is shown quoted.
      auto name = [](const std::string& n, bool label) {
        bool legacy = label ? IsLegacyLabelName(n) : IsLegacyMetricName(n);
        std::string q;
        if (legacy) return n;
        AppendJsonString(n, &q);
        return q;
      };
      out << name(k.metric_name, false) << "  " << name(k.sample_name, false)
          << "{";
      for (size_t i = 0; i < k.labels.size(); ++i) {
        std::string v;
        AppendJsonString(ValidUtf8(k.labels[i].second), &v);
        out << (i ? "," : "") << name(k.labels[i].first, true) << "=" << v;
      }
      out << "}  " << GoFloat(e.value);
      if (contents.layout == ValueLayout::k16) {
        out << "  @" << GoFloat(e.timestamp);
      }
      out << "\n";
    }
    ++n;
  }
  if (json) out << (n ? "\n]\n" : "]\n");
  return kExitOk;
}

int RunCheck(const MaintenanceOptions& options, std::ostream& out,
             std::ostream& err) {
  std::vector<FileReport> reports;
  Status s = InspectDirectory(options, &reports);
  if (!s.ok()) {
    err << "promdir check: " << s.message() << "\n";
    return ExitCodeFor(s);
  }
  size_t bad = 0;
  for (const FileReport& r : reports) {
    if (!r.bad) continue;
    ++bad;
    // "<path>: <reason>: <message>", without the path twice.
    std::string_view what = r.message;
    if (what.starts_with(r.path + ": ")) what.remove_prefix(r.path.size() + 2);
    out << r.path << ": " << BadFileReasonCode(r.reason) << ": " << what
        << "\n";
  }
  out << reports.size() << " files checked, " << bad << " bad\n";
  return bad ? kExitProblem : kExitOk;
}

int RunCollect(const MaintenanceOptions& options, Exposition format,
               std::ostream& out, std::ostream& err, bool process_exits) {
  CollectorOptions co;
  co.directory = options.directory;
  co.liveness = options.liveness;
  co.prune = false;
  co.reuse_unchanged = false;  // one scrape: nothing to reuse
  co.env = options.env;
  auto collector = std::make_unique<DirectoryCollector>(co);
  std::string body;
  ScrapeStats stats;
  Status s = collector->Render(format, &body, &stats);
  if (process_exits) (void)collector.release();  // the OS frees it at exit
  if (!s.ok()) {
    err << "promdir collect: " << s.message() << "\n";
    return ExitCodeFor(s);
  }
  AppendEof(format, &body);
  for (const BadFile& b : stats.new_bad_files) {
    err << "promdir collect: skipped " << b.message << " [" << b.reason
        << "]\n";
  }
  for (const BadFile& e : stats.new_read_errors) {
    err << "promdir collect: " << e.message << " [" << e.reason << "]\n";
  }
  for (const std::string& series : stats.new_invalid_series) {
    err << "promdir collect: left out " << series
        << ": not valid UTF-8 [invalid_utf8]\n";
  }
  if (!stats.liveness_unavailable.empty()) {
    err << "promdir collect: " << stats.liveness_unavailable << "\n";
  }
  if (stats.lock_timeouts > 0) {
    err << "promdir collect: " << stats.lock_timeout_message << "\n";
  }
  out << body;
  return kExitOk;
}

int RunPrune(const MaintenanceOptions& options, std::ostream& out,
             std::ostream& err) {
  MaintenanceResult r;
  Status s = Prune(options, &r);
  PrintResult(options, r, out, err);
  if (!s.ok()) err << "promdir prune: " << s.message() << "\n";
  return ExitCodeFor(s);
}

int RunMarkDead(const MaintenanceOptions& options,
                const std::vector<std::string>& ids, std::ostream& out,
                std::ostream& err) {
  MaintenanceResult r;
  Status s = MarkDead(options, ids, &r);
  PrintResult(options, r, out, err);
  if (!s.ok()) err << "promdir mark-dead: " << s.message() << "\n";
  return ExitCodeFor(s);
}

int RunCompact(const MaintenanceOptions& options, std::ostream& out,
               std::ostream& err) {
  MaintenanceResult r;
  Status s = Compact(options, &r);
  PrintResult(options, r, out, err);
  if (!s.ok()) {
    err << "promdir compact: " << s.message() << "\n";
    return ExitCodeFor(s);
  }
  out << (options.dry_run ? "would fold " : "folded ") << r.folded.size()
      << " file(s) into " << r.written.size() << " archive(s), "
      << (options.dry_run ? "would remove " : "removed ") << r.removed.size()
      << " per-process file(s)\n";
  return r.errors.empty() ? kExitOk : kExitProblem;
}

int RunWipe(const MaintenanceOptions& options, bool force, std::ostream& out,
            std::ostream& err) {
  MaintenanceResult r;
  Status s = Wipe(options, force, &r);
  if (s.IsBusy()) {
    err << "promdir wipe: " << s.message() << "\n";
    return kExitBusy;
  }
  PrintResult(options, r, out, err);
  if (!s.ok()) err << "promdir wipe: " << s.message() << "\n";
  return ExitCodeFor(s);
}

}  // namespace promdir::cli
