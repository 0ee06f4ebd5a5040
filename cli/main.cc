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

  std::string dir_flag;
  std::string liveness_text = "auto";
  bool json = false;
  bool dry_run = false;
  bool force = false;
  std::string format_text = "text";
  std::string escaping_text;
  std::string dump_path;
  std::vector<std::string> ids;

  auto add_dir = [&](CLI::App* sub) {
    sub->add_option(
        "--dir", dir_flag,
        "the metrics directory (default: $PROMETHEUS_MULTIPROC_DIR)");
  };
  auto add_liveness = [&](CLI::App* sub) {
    sub->add_option("--liveness", liveness_text,
                    "how a writer counts as dead: auto (the kernel: no promdir "
                    "lock and no process has the file open for writing), "
                    "lock, pid, none")
        ->check(CLI::IsMember({"auto", "lock", "pid", "none"}))
        ->capture_default_str();
  };

  CLI::App* ls = app.add_subcommand(
      "ls",
      "one row per *.db file: type, gauge mode, id, layout, entries, "
      "used, size, writer state (live/dead/unknown/bad) and how that "
      "was decided");
  add_dir(ls);
  add_liveness(ls);
  ls->add_flag("--json", json, "print a JSON array of objects");
  ls->footer(
      std::string("\nExamples:\n  promdir ls\n  promdir ls --json "
                  "--liveness pid | jq '.[] | select(.state==\"dead\")'\n") +
      kExitCodes);

  CLI::App* dump = app.add_subcommand(
      "dump",
      "every entry of one file: family, sample, labels, value, "
      "timestamp (16-byte layout)");
  dump->add_option("FILE", dump_path, "the file to dump")->required();
  dump->add_flag("--json", json, "print a JSON array of objects");
  dump->footer(
      std::string("\nExamples:\n  promdir dump /run/metrics/counter_4242.db\n"
                  "  promdir dump --json counter_archive.db\n") +
      kExitCodes);

  CLI::App* check = app.add_subcommand(
      "check",
      "read every file; name each bad one with the reason; exit 1 "
      "if any is bad");
  add_dir(check);
  check->footer(
      std::string("\nOutput: one line per bad file, \"<path>: <reason>: "
                  "<message>\", then a count.\nExample:\n  promdir check "
                  "|| echo 'bad files found'\n") +
      kExitCodes);

  CLI::App* collect = app.add_subcommand(
      "collect",
      "merge the directory once, as Python's "
      "MultiProcessCollector would, and print it to stdout; bad "
      "files are skipped and named on stderr (exit 0)");
  add_dir(collect);
  add_liveness(collect);
  collect->add_option("--format", format_text,
                      "text (0.0.4), text-1.0.0, openmetrics (1.0.0), "
                      "openmetrics-0.0.1, or protobuf (delimited, binary)")
      ->check(CLI::IsMember(
          {"text", "text-1.0.0", "openmetrics", "openmetrics-0.0.1", "protobuf"}))
      ->capture_default_str();
  collect->add_option("--escaping", escaping_text,
                      "names that are not legacy Prometheus names, in "
                      "text-1.0.0, openmetrics and protobuf: underscores "
                      "(default), allow-utf-8, dots or values")
      ->check(CLI::IsMember({"underscores", "allow-utf-8", "dots", "values"}));
  collect->footer(
      std::string("\nExamples:\n  promdir collect | promtool check metrics\n"
                  "  promdir collect --format openmetrics --liveness none\n"
                  "  promdir collect --format text-1.0.0 --escaping allow-utf-8\n") +
      kExitCodes);

  CLI::App* prune = app.add_subcommand(
      "prune",
      "delete the live* gauge files of every dead writer, as "
      "mark_process_dead does, and temporary files of writers killed while "
      "creating a file");
  add_dir(prune);
  add_liveness(prune);
  prune->add_flag("--dry-run", dry_run, "only print what would be deleted");
  prune->footer(
      std::string(
          "\nA promdir writer creates each file under a hidden name,\n"
          ".<name>.db.tmp-<pid>, and renames it into place; prune deletes one\n"
          "that nobody holds locked and that is over a minute old.\n"
          "\nExample:\n  promdir prune --dry-run\n") +
      kExitCodes);

  CLI::App* mark_dead = app.add_subcommand(
      "mark-dead",
      "what mark_process_dead(ID) does: delete gauge_live*_ID.db "
      "for each ID");
  add_dir(mark_dead);
  mark_dead->add_option("ID", ids, "writer ids (pids)")->required();
  mark_dead->footer(std::string("\nExample (gunicorn.conf.py):\n"
                                "  def child_exit(server, worker):\n"
                                "      subprocess.run([\"promdir\", "
                                "\"mark-dead\", str(worker.pid)])\n") +
                    kExitCodes);

  CLI::App* compact = app.add_subcommand(
      "compact",
      "fold every dead writer's files into archives Python's "
      "collector reads (totals unchanged); delete dead writers' "
      "live*/all/liveall gauges. Crash-safe; one at a time.");
  add_dir(compact);
  add_liveness(compact);
  compact->add_flag("--dry-run", dry_run, "only print what would change");
  compact->footer(
      std::string("\nOutput: removed/folded/wrote lines, then a summary.\n"
                  "Examples:\n  promdir compact --dry-run\n"
                  "  */10 * * * *  promdir compact --dir /run/metrics\n") +
      kExitCodes);

  CLI::App* wipe = app.add_subcommand(
      "wipe",
      "remove every metrics file and promdir's bookkeeping; refuses, "
      "naming them, while live promdir writers hold files");
  add_dir(wipe);
  wipe->add_flag("--force", force, "remove even files live writers hold");
  wipe->add_flag("--dry-run", dry_run, "only print what would be removed");
  wipe->footer(
      std::string("\nExample (before the server starts):\n  promdir wipe && "
                  "exec gunicorn app:app\n") +
      kExitCodes);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  promdir::MaintenanceOptions options;
  options.dry_run = dry_run;
  promdir::ParseLivenessMode(liveness_text, &options.liveness);
  if (!dump->parsed()) {
    options.directory = promdir::cli::ResolveDirectory(dir_flag);
    if (options.directory.empty()) {
      std::cerr << "promdir: no directory: pass --dir or set "
                   "PROMETHEUS_MULTIPROC_DIR\n";
      return kExitUsage;
    }
  }
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;
  namespace c = promdir::cli;
  if (ls->parsed()) return c::RunLs(options, json, out, err);
  if (dump->parsed()) return c::RunDump(dump_path, json, out, err);
  if (check->parsed()) return c::RunCheck(options, out, err);
  if (collect->parsed()) {
    using F = promdir::ExpositionFormat;
    promdir::Exposition format =
        format_text == "openmetrics"         ? F::kOpenMetrics100
        : format_text == "text-1.0.0"        ? F::kText100
        : format_text == "openmetrics-0.0.1" ? F::kOpenMetrics001
        : format_text == "protobuf"          ? F::kProtobuf
                                             : F::kText004;
    if (!escaping_text.empty()) {
      if (format.format == F::kText004 || format.format == F::kOpenMetrics001) {
        std::cerr << "promdir collect: --escaping " << escaping_text
                  << " needs --format text-1.0.0, openmetrics or protobuf ("
                  << format_text << " has legacy names only)\n";
        return kExitUsage;
      }
      promdir::ParseNameEscaping(escaping_text, &format.escaping);
    }
    return c::RunCollect(options, format, out, err, /*process_exits=*/true);
  }
  if (prune->parsed()) return c::RunPrune(options, out, err);
  if (mark_dead->parsed()) return c::RunMarkDead(options, ids, out, err);
  if (compact->parsed()) return c::RunCompact(options, out, err);
  if (wipe->parsed()) return c::RunWipe(options, force, out, err);
  return kExitUsage;
}
