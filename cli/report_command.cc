// `drover report [RUN] --format md|json|html [--output FILE]`: a run's funnel, failure
// reasons, slowest jobs, tokens, PRs and burndown (fleet/report.h), on stdout or into a file.
// `drover track RUN`: refreshes the state of every PR the run published through its forge
// (tokens from the environment, by the name each PR was published with) and prints changes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/fs.h"
#include "core/http.h"
#include "fleet/report.h"
#include "forge/forge_governor.h"
#include "git/git.h"
#include "store/state_store.h"

namespace drover::cli {
namespace {

// The store and the run id (the latest run when none was given); prints why not on stderr.
struct OpenedRun {
  std::unique_ptr<fleet::StateStore> store;
  std::string run_id;
};

Result<OpenedRun> OpenRun(const std::filesystem::path& state_dir, const std::string& run_id) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) return Fail(store.error());
  OpenedRun opened{std::move(*store), run_id};
  if (opened.run_id.empty()) {
    auto runs = opened.store->ListRuns();
    if (!runs) return Fail(runs.error());
    if (runs->empty()) {
      return Fail(ErrorCode::kNotFound, "no runs in " + state_dir.string());
    }
    opened.run_id = runs->back().run_id;
  }
  if (auto run = opened.store->GetRun(opened.run_id); !run) return Fail(run.error());
  return opened;
}

int ExitFor(const Error& error) {
  return ToInt(error.code == ErrorCode::kNotFound ? ExitCode::kInvalidInput
                                                  : ExitCode::kEnvironment);
}

struct ReportFlags {
  std::string run;  // Default: the latest run.
  std::string format = "md";
  std::string output;  // Default: stdout.
  std::string state_dir;
};

struct TrackFlags {
  std::string run;
  std::string state_dir;
};

// Exit codes: kOk; kInvalidInput for an unknown run; kEnvironment when the state store or the
// output file cannot be used.
int ReportCommand(const ReportFlags& flags) {
  auto opened = OpenRun(std::filesystem::absolute(flags.state_dir), flags.run);
  if (!opened) {
    std::fprintf(stderr, "drover report: %s\n", opened.error().message.c_str());
    return ExitFor(opened.error());
  }
  auto report =
      fleet::BuildRunSummary(*opened->store, opened->run_id, std::chrono::system_clock::now());
  if (!report) {
    std::fprintf(stderr, "drover report: %s\n", report.error().message.c_str());
    return ExitFor(report.error());
  }
  std::string text = flags.format == "json"   ? fleet::RenderSummaryJson(*report).dump(2) + "\n"
                     : flags.format == "html" ? fleet::RenderSummaryHtml(*report)
                                              : fleet::RenderSummaryMarkdown(*report);
  if (flags.output.empty()) {
    std::cout << text;
    return ToInt(ExitCode::kOk);
  }
  if (auto wrote = WriteFileAtomic(flags.output, text); !wrote) {
    std::fprintf(stderr, "drover report: %s\n", wrote.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  return ToInt(ExitCode::kOk);
}

// Exit codes: kOk when every PR was read; kJobsFailed when some could not be (each named on
// stderr); kInvalidInput for an unknown run; kEnvironment for the state store.
int TrackCommand(const TrackFlags& flags, bool json,
                 const std::map<std::string, std::string>& env) {
  std::filesystem::path state_dir = std::filesystem::absolute(flags.state_dir);
  auto opened = OpenRun(state_dir, flags.run);
  if (!opened) {
    std::fprintf(stderr, "drover track: %s\n", opened.error().message.c_str());
    return ExitFor(opened.error());
  }
  fleet::GitRepos git(state_dir / "mirrors");
  auto http = MakeCurlHttpClient();
  fleet::ForgeGovernor governor;
  auto changes = fleet::TrackPullRequests(*opened->store, opened->run_id, git, *http, governor, env,
                                          std::chrono::system_clock::now());
  if (!changes) {
    std::fprintf(stderr, "drover track: %s\n", changes.error().message.c_str());
    return ExitFor(changes.error());
  }
  bool all_read = true;
  Json list = Json::array();
  for (const auto& change : *changes) {
    all_read = all_read && change.error.empty();
    list.push_back({{"repository", change.repository},
                    {"url", change.url},
                    {"from", fleet::PrStateName(change.from)},
                    {"to", fleet::PrStateName(change.to)},
                    {"checks", change.checks},
                    {"error", change.error}});
    if (json) continue;
    if (!change.error.empty()) {
      std::fprintf(stderr, "drover track: %s: %s\n", change.repository.c_str(),
                   change.error.c_str());
    } else if (change.changed()) {
      std::printf("%s: %s → %s (checks: %s) %s\n", change.repository.c_str(),
                  std::string(fleet::PrStateName(change.from)).c_str(),
                  std::string(fleet::PrStateName(change.to)).c_str(), change.checks.c_str(),
                  change.url.c_str());
    }
  }
  if (json) {
    std::cout << Json{{"run_id", opened->run_id}, {"pull_requests", list}}.dump(2) << std::endl;
  } else {
    size_t moved = 0;
    for (const auto& change : *changes) moved += change.changed() ? 1 : 0;
    std::printf("%zu pull request(s) tracked, %zu changed state.\n", changes->size(), moved);
  }
  return ToInt(all_read ? ExitCode::kOk : ExitCode::kJobsFailed);
}

}  // namespace

CommandRun AddReportCommand(CLI::App& cmd, Invocation& invocation) {
  auto flags = std::make_shared<ReportFlags>();
  flags->state_dir = invocation.state_dir;
  cmd.add_option("run", flags->run, "Run id (default: the latest)");
  cmd.add_option("--format", flags->format, "md (default), json or html")
      ->check(CLI::IsMember({"md", "json", "html"}));
  cmd.add_option("--output", flags->output, "Write the report here instead of stdout");
  cmd.add_option("--state-dir", flags->state_dir, "Where the runs are (default: .drover)");
  return [flags](const Invocation&) { return ReportCommand(*flags); };
}

CommandRun AddTrackCommand(CLI::App& cmd, Invocation& invocation) {
  auto flags = std::make_shared<TrackFlags>();
  flags->state_dir = invocation.state_dir;
  cmd.add_option("run", flags->run, "Run id")->required();
  cmd.add_option("--state-dir", flags->state_dir, "Where the runs are (default: .drover)");
  cmd.add_flag("--json", invocation.json, "Machine-readable output on stdout");
  return [flags](const Invocation& parsed) {
    (void)SetUpLogging(parsed.log_level, std::nullopt);
    return TrackCommand(*flags, parsed.json, parsed.env);
  };
}

}  // namespace drover::cli
