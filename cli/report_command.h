// `drover report [RUN] --format md|json|html [--output FILE]`: a run's funnel, failure
// reasons, slowest jobs, tokens, PRs and burndown (fleet/report.h), on stdout or into a file.
// `drover track RUN`: refreshes the state of every PR the run published through its forge
// (tokens from the environment, by the name each PR was published with) and prints changes.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace drover::cli {

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

// Register the subcommands; the flags must outlive parsing. `default_state_dir` is the
// state directory when --state-dir is not given.
CLI::App* AddReportCommand(CLI::App& app, ReportFlags& flags, const std::string& default_state_dir);
CLI::App* AddTrackCommand(CLI::App& app, TrackFlags& flags, const std::string& default_state_dir);

// Exit codes: kOk; kInvalidInput for an unknown run; kEnvironment when the state store or the
// output file cannot be used.
int ReportCommand(const ReportFlags& flags);
// Exit codes: kOk when every PR was read; kJobsFailed when some could not be (each named on
// stderr); kInvalidInput for an unknown run; kEnvironment for the state store.
int TrackCommand(const TrackFlags& flags, bool json, const std::map<std::string, std::string>& env);

}  // namespace drover::cli
