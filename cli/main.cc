// promdir: inspect, check, collect and maintain a multiprocess metrics
// directory. Argument parsing only; the commands live in cli/src/commands.cc
// and the library.

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "src/commands.h"
#include "src/heap.h"
#include "promdir/merge.h"

#ifndef PROMDIR_VERSION
#define PROMDIR_VERSION "0.0.0"
#endif

namespace {

constexpr const char kExitCodes[] = R"(
Exit codes:
  0  done; nothing wrong found
  1  problems found (a bad file, a failed delete or write)
  2  usage error (bad flag or value, no directory)
  3  busy (another compaction runs; wipe: live writers hold files)

The directory is --dir, else $PROMETHEUS_MULTIPROC_DIR, else
$prometheus_multiproc_dir.)";

constexpr const char kMainFooter[] = R"(
Examples:
  promdir ls --dir /run/metrics            one row per file, with its writer's state
  promdir check                            exit 1 if any file is unreadable
  promdir collect --format openmetrics     merged metrics to stdout
  promdir mark-dead 4242                   in a gunicorn child_exit hook
  promdir compact                          fold dead writers' files into archives
  promdir wipe                             before the server starts
)";

// Every flag of every subcommand; each subcommand's Add* sets up its own.
struct Flags {
  std::string dir;
  std::string liveness = "auto";
  bool json = false;
  bool dry_run = false;
  bool force = false;
  std::string format = "text";
  std::string escaping;
  std::string dump_path;
  std::vector<std::string> ids;
};

void AddDir(CLI::App* sub, Flags* f) {
  sub->add_option("--dir", f->dir,
                  "the metrics directory (default: $PROMETHEUS_MULTIPROC_DIR)");
}

void AddLiveness(CLI::App* sub, Flags* f) {
  sub->add_option("--liveness", f->liveness,
                  "how a writer counts as dead: auto (the kernel: no promdir "
                  "lock and no process has the file open for writing), "
                  "lock, pid, none")
      ->check(CLI::IsMember({"auto", "lock", "pid", "none"}))
      ->capture_default_str();
}

CLI::App* AddLs(CLI::App* app, Flags* f) {
  CLI::App* ls = app->add_subcommand(
      "ls",
      "one row per *.db file (and native histogram *.ndb file): type, "
      "gauge mode, id, layout, entries, used, size, writer state "
      "(live/dead/unknown/bad) and how that was decided");
  AddDir(ls, f);
  AddLiveness(ls, f);
  ls->add_flag("--json", f->json, "print a JSON array of objects");
  ls->footer(
      std::string("\nExamples:\n  promdir ls\n  promdir ls --json "
                  "--liveness pid | jq '.[] | select(.state==\"dead\")'\n") +
      kExitCodes);
  return ls;
}

CLI::App* AddDump(CLI::App* app, Flags* f) {
  CLI::App* dump = app->add_subcommand(
      "dump",
      "every entry of one file: family, sample, labels, value, "
      "timestamp (16-byte layout); for a native histogram file "
      "(histogram_native_<id>.ndb) each series' count, sum, schema, zero "
      "bucket, table use and buckets");
  dump->add_option("FILE", f->dump_path, "the file to dump")->required();
  dump->add_flag("--json", f->json, "print a JSON array of objects");
  dump->footer(
      std::string("\nExamples:\n  promdir dump /run/metrics/counter_4242.db\n"
                  "  promdir dump --json counter_archive.db\n") +
      kExitCodes);
  return dump;
}

CLI::App* AddCheck(CLI::App* app, Flags* f) {
  CLI::App* check = app->add_subcommand(
      "check",
      "read every file; name each bad one with the reason; exit 1 "
      "if any is bad");
  AddDir(check, f);
  check->footer(
      std::string("\nOutput: one line per bad file, \"<path>: <reason>: "
                  "<message>\", then a count.\nExample:\n  promdir check "
                  "|| echo 'bad files found'\n") +
      kExitCodes);
  return check;
}

CLI::App* AddCollect(CLI::App* app, Flags* f) {
  CLI::App* collect = app->add_subcommand(
      "collect",
      "merge the directory once, as Python's "
      "MultiProcessCollector would, and print it to stdout; bad "
      "files are skipped and named on stderr (exit 0)");
  AddDir(collect, f);
  AddLiveness(collect, f);
  collect->add_option("--format", f->format,
                      "text (0.0.4), text-1.0.0, openmetrics (1.0.0), "
                      "openmetrics-0.0.1, or protobuf (delimited, binary)")
      ->check(CLI::IsMember(
          {"text", "text-1.0.0", "openmetrics", "openmetrics-0.0.1", "protobuf"}))
      ->capture_default_str();
  collect->add_option("--escaping", f->escaping,
                      "names that are not legacy Prometheus names, in "
                      "text-1.0.0, openmetrics and protobuf: underscores "
                      "(default), allow-utf-8, dots or values")
      ->check(CLI::IsMember({"underscores", "allow-utf-8", "dots", "values"}));
  collect->footer(
      std::string("\nExamples:\n  promdir collect | promtool check metrics\n"
                  "  promdir collect --format openmetrics --liveness none\n"
                  "  promdir collect --format text-1.0.0 --escaping allow-utf-8\n") +
      kExitCodes);
  return collect;
}

CLI::App* AddPrune(CLI::App* app, Flags* f) {
  CLI::App* prune = app->add_subcommand(
      "prune",
      "delete the live* gauge files of every dead writer, as "
      "mark_process_dead does, and temporary files of writers killed while "
      "creating a file");
  AddDir(prune, f);
  AddLiveness(prune, f);
  prune->add_flag("--dry-run", f->dry_run, "only print what would be deleted");
  prune->footer(
      std::string(
          "\nA promdir writer creates each file under a hidden name,\n"
          ".<name>.db.tmp-<pid>, and renames it into place; prune deletes one\n"
          "that nobody holds locked and that is over a minute old.\n"
          "\nExample:\n  promdir prune --dry-run\n") +
      kExitCodes);
  return prune;
}

CLI::App* AddMarkDead(CLI::App* app, Flags* f) {
  CLI::App* mark_dead = app->add_subcommand(
      "mark-dead",
      "what mark_process_dead(ID) does: delete gauge_live*_ID.db "
      "for each ID");
  AddDir(mark_dead, f);
  mark_dead->add_option("ID", f->ids, "writer ids (pids)")->required();
  mark_dead->footer(std::string("\nExample (gunicorn.conf.py):\n"
                                "  def child_exit(server, worker):\n"
                                "      subprocess.run([\"promdir\", "
                                "\"mark-dead\", str(worker.pid)])\n") +
                    kExitCodes);
  return mark_dead;
}

CLI::App* AddCompact(CLI::App* app, Flags* f) {
  CLI::App* compact = app->add_subcommand(
      "compact",
      "fold every dead writer's files into archives Python's "
      "collector reads (totals unchanged); delete dead writers' "
      "live*/all/liveall gauges. Crash-safe; one at a time.");
  AddDir(compact, f);
  AddLiveness(compact, f);
  compact->add_flag("--dry-run", f->dry_run, "only print what would change");
  compact->footer(
      std::string("\nOutput: removed/folded/wrote lines, then a summary.\n"
                  "Examples:\n  promdir compact --dry-run\n"
                  "  */10 * * * *  promdir compact --dir /run/metrics\n") +
      kExitCodes);
  return compact;
}

CLI::App* AddWipe(CLI::App* app, Flags* f) {
  CLI::App* wipe = app->add_subcommand(
      "wipe",
      "remove every metrics file and promdir's bookkeeping; refuses, "
      "naming them, while live promdir writers hold files");
  AddDir(wipe, f);
  wipe->add_flag("--force", f->force, "remove even files live writers hold");
  wipe->add_flag("--dry-run", f->dry_run, "only print what would be removed");
  wipe->footer(
      std::string("\nExample (before the server starts):\n  promdir wipe && "
                  "exec gunicorn app:app\n") +
      kExitCodes);
  return wipe;
}

// `promdir collect` once its flags are parsed.
int Collect(const promdir::MaintenanceOptions& options, const Flags& f) {
  using F = promdir::ExpositionFormat;
  promdir::Exposition format =
      f.format == "openmetrics"         ? F::kOpenMetrics100
      : f.format == "text-1.0.0"        ? F::kText100
      : f.format == "openmetrics-0.0.1" ? F::kOpenMetrics001
      : f.format == "protobuf"          ? F::kProtobuf
                                        : F::kText004;
  if (!f.escaping.empty()) {
    if (format.format == F::kText004 || format.format == F::kOpenMetrics001) {
      std::cerr << "promdir collect: --escaping " << f.escaping
                << " needs --format text-1.0.0, openmetrics or protobuf ("
                << f.format << " has legacy names only)\n";
      return promdir::cli::kExitUsage;
    }
    promdir::ParseNameEscaping(f.escaping, &format.escaping);
  }
  return promdir::cli::RunCollect(options, format, std::cout, std::cerr,
                                  /*process_exits=*/true);
}

}  // namespace

int main(int argc, char** argv) {
  using promdir::cli::kExitUsage;
  promdir::cli::TuneHeapForOneShot();
  CLI::App app{
      "promdir " PROMDIR_VERSION
      ": inspect and maintain a prometheus_client multiprocess directory "
      "(Python's and promdir's writers share it)."};
  app.set_version_flag("--version", std::string("promdir ") + PROMDIR_VERSION);
  app.footer(std::string(kMainFooter) + kExitCodes);
  app.require_subcommand(1);

  Flags f;
  CLI::App* ls = AddLs(&app, &f);
  CLI::App* dump = AddDump(&app, &f);
  CLI::App* check = AddCheck(&app, &f);
  CLI::App* collect = AddCollect(&app, &f);
  CLI::App* prune = AddPrune(&app, &f);
  CLI::App* mark_dead = AddMarkDead(&app, &f);
  CLI::App* compact = AddCompact(&app, &f);
  CLI::App* wipe = AddWipe(&app, &f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  promdir::MaintenanceOptions options;
  options.dry_run = f.dry_run;
  promdir::ParseLivenessMode(f.liveness, &options.liveness);
  if (!dump->parsed()) {
    options.directory = promdir::cli::ResolveDirectory(f.dir);
    if (options.directory.empty()) {
      std::cerr << "promdir: no directory: pass --dir or set "
                   "PROMETHEUS_MULTIPROC_DIR\n";
      return kExitUsage;
    }
  }
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;
  namespace c = promdir::cli;
  if (ls->parsed()) return c::RunLs(options, f.json, out, err);
  if (dump->parsed()) return c::RunDump(f.dump_path, f.json, out, err);
  if (check->parsed()) return c::RunCheck(options, out, err);
  if (collect->parsed()) return Collect(options, f);
  if (prune->parsed()) return c::RunPrune(options, out, err);
  if (mark_dead->parsed()) return c::RunMarkDead(options, f.ids, out, err);
  if (compact->parsed()) return c::RunCompact(options, out, err);
  if (wipe->parsed()) return c::RunWipe(options, f.force, out, err);
  return kExitUsage;
}
