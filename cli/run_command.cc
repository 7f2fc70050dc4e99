// `drover run MIGRATION --repos FILE [...]`: the runner over every target (fleet/runner.h),
// its progress on stderr and the run's table (or its JSON) on stdout.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/eval_command.h"
#include "cli/exit_code.h"
#include "cli/progress.h"
#include "core/fs.h"
#include "core/redact.h"
#include "fleet/report.h"
#include "fleet/run_deps.h"
#include "fleet/runner.h"

namespace drover::cli {
namespace {

// The price a cost budget counts the run's tokens at: the highest of its models' prices.
Result<fleet::Price> CostBudgetPrice(const fleet::ModelSetting& model,
                                     const std::string& prices_file) {
  auto table = LoadPrices(prices_file);
  if (!table) return std::unexpected(table.error());
  if (!*table) return Fail(ErrorCode::kNotFound, "no price table: pass --prices FILE");
  std::vector<std::string> models;
  for (const auto& upstream : model.upstreams) {
    models.push_back(std::string(agent::ProviderName(upstream.provider)) + ":" + upstream.model);
  }
  if (model.replay_dir) models = {"replay"};  // A price table may price replays, for tests.
  return fleet::HighestPrice(**table, models);
}

int RunCommand(const fleet::RunOptions& base, const std::string& model_text,
               const std::string& prices_file, bool json) {
  fleet::RunOptions options = base;
  // What the command prints is masked like the logs: no credential of the environment, nor
  // one a model's or a forge's error message quoted, reaches the terminal.
  Redactor mask(SecretsFromEnvironment(options.parent_env));
  // Every file the user wrote is checked before anything from the environment, so that a
  // broken spec is named as such whatever else is missing.
  if (auto spec = fleet::LoadMigrationSpec(options.migration_file); !spec) {
    std::fprintf(stderr, "drover: %s\n", mask.Redact(spec.error().message).c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  if (auto targets = fleet::LoadTargets(options.repos_file); !targets) {
    std::fprintf(stderr, "drover: %s\n", mask.Redact(targets.error().message).c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  if (model_text.empty()) {
    std::fprintf(stderr,
                 "drover: no model: set DROVER_MODEL (openai:MODEL, openai-responses:MODEL, "
                 "anthropic:MODEL or replay:DIR; a comma-separated list for fallbacks) or "
                 "pass --model\n");
    return ToInt(ExitCode::kUsage);
  }
  auto model = fleet::ParseModelSetting(model_text, options.parent_env);
  if (!model) {
    std::fprintf(stderr, "drover: %s\n", mask.Redact(model.error().message).c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  options.model = *model;
  if (options.max_run_cost_usd > 0) {
    auto price = CostBudgetPrice(options.model, prices_file);
    if (!price) {
      std::fprintf(stderr, "drover: --max-cost: %s\n", mask.Redact(price.error().message).c_str());
      return ToInt(ExitCode::kInvalidInput);
    }
    options.cost_price = *price;
  }
  // The run's collaborators: the real ones (the state store in the state directory, libcurl,
  // local processes, the system clock, libgit2 and the spec's forge).
  auto deps = fleet::ProductionRunDeps::Open(options.state_dir);
  if (!deps) {
    std::fprintf(stderr, "drover: %s\n", mask.Redact(deps.error().message).c_str());
    return ToInt(deps.error().code == ErrorCode::kInvalidArgument ? ExitCode::kInvalidInput
                                                                  : ExitCode::kEnvironment);
  }
  ProgressObserver observer(stderr, ::isatty(STDERR_FILENO) == 1, json);
  auto report = fleet::RunMigration(options, deps->deps(), observer);
  observer.Finish();
  if (!report) {
    std::fprintf(stderr, "drover: %s\n", mask.Redact(report.error().message).c_str());
    return ToInt(report.error().code == ErrorCode::kInvalidArgument ||
                         report.error().code == ErrorCode::kNotFound ||
                         report.error().code == ErrorCode::kParse
                     ? ExitCode::kInvalidInput
                     : ExitCode::kEnvironment);
  }
  if (json) {
    std::cout << mask.Redact(report->ToJson().dump(2)) << std::endl;
  } else {
    std::fputs(fleet::RenderSummaryText(fleet::SummarizeRun(*report)).c_str(), stdout);
  }
  if (!report->paused.empty()) return ToInt(ExitCode::kPaused);
  if (!report->jobs.empty() &&
      report->CountWith(fleet::JobStatus::kSkipped) == static_cast<int>(report->jobs.size())) {
    return ToInt(ExitCode::kAllSkipped);
  }
  return ToInt(report->CountWith(fleet::JobStatus::kFailed) > 0 ? ExitCode::kJobsFailed
                                                                : ExitCode::kOk);
}

struct RunFlags {
  fleet::RunOptions run;
  std::string model_text;  // $DROVER_MODEL unless --model is given.
  std::vector<std::string> model_flags;
  std::string state_dir;
  std::string record_dir;
  std::string prices_file;
  int jobs = 0;
  double mirror_cache_gb = 50;
};

}  // namespace

CommandRun AddRunCommand(CLI::App& cmd, Invocation& invocation) {
  auto flags = std::make_shared<RunFlags>();
  fleet::RunOptions& run = flags->run;
  run.parent_env = invocation.env;
  run.drover_binary = invocation.self;
  flags->state_dir = invocation.state_dir;
  if (auto it = invocation.env.find("DROVER_MODEL"); it != invocation.env.end()) {
    flags->model_text = it->second;
  }
  cmd.add_option("migration", run.migration_file, "migration.md")->required();
  cmd.add_option("--repos", run.repos_file, "Targets: git URLs or paths, one per line")->required();
  cmd.add_option("--model", flags->model_flags,
                 "openai:MODEL, openai-responses:MODEL, anthropic:MODEL or replay:DIR; "
                 "repeat (or separate with commas) for fallback models tried in order "
                 "(default: $DROVER_MODEL)");
  cmd.add_option("--state-dir", flags->state_dir,
                 "Mirrors and runs (default: $DROVER_STATE_DIR or .drover)");
  cmd.add_option("--run-id", run.run_id,
                 "Name of this run (default: the unfinished run of this spec and these "
                 "targets in the state dir, else a new <id>-<time>)");
  cmd.add_flag("--fresh", run.fresh,
               "Start a new run even when an unfinished one of this spec and these "
               "targets could be resumed");
  cmd.add_option("--agents", run.agents,
                 "Agent slots: agents at once, mostly waiting on the model (default 4)")
      ->check(CLI::Range(1, 4096));
  cmd.add_option("--jobs", flags->jobs,
                 "Older form: N repositories in flight and N agent slots (without it, "
                 "up to agents + builds repositories are in flight)")
      ->check(CLI::Range(1, 4096));
  cmd.add_option("--builds", run.builds,
                 "Build slots: verifier and agent commands at once (default: the cores)")
      ->check(CLI::Range(1, 1024));
  cmd.add_option("--record", flags->record_dir,
                 "Save each repository's model exchanges as a cassette here");
  cmd.add_flag("--keep-workspaces", run.keep_workspaces, "Keep each job's checked-out tree");
  cmd.add_option("--mirror-cache-gb", flags->mirror_cache_gb,
                 "Bound of the mirror cache; least recently used mirrors go beyond it "
                 "(default 50; 0: no bound)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--requests-per-minute", run.model_limits.requests_per_minute,
                 "The model key's request limit, shared by every job (paced, not refused)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--tokens-per-minute", run.model_limits.tokens_per_minute,
                 "The model key's token limit, shared by every job")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--max-tokens", run.max_run_tokens,
                 "Token budget of the whole run; no repository starts once it is spent")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--max-cost", run.max_run_cost_usd,
                 "Cost budget of the whole run in USD, priced by --prices; no repository "
                 "starts once it is spent")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--prices", flags->prices_file,
                 "Price table for --max-cost (default: evals/prices.yaml)");
  cmd.add_option("--sandbox", run.sandbox,
                 "required (default): agents and verifiers run isolated, or the run is "
                 "refused; none: plain processes, for repositories you trust")
      ->transform(CLI::CheckedTransformer(std::map<std::string, fleet::SandboxMode>{
          {"required", fleet::SandboxMode::kRequired}, {"none", fleet::SandboxMode::kNone}}));
  cmd.add_option("--forge", run.forge,
                 "local, github or gitlab (default: the spec's forge.kind, else local); "
                 "the token comes from $GITHUB_TOKEN / $GITLAB_TOKEN or forge.token_env")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, fleet::ForgeKind>{{"local", fleet::ForgeKind::kLocal},
                                                  {"github", fleet::ForgeKind::kGitHub},
                                                  {"gitlab", fleet::ForgeKind::kGitLab}}));
  cmd.add_option("--forge-url", run.forge_url,
                 "The forge's API root (GitHub Enterprise: https://HOST/api/v3)");
  cmd.add_flag("--json", invocation.json, "Machine-readable output on stdout");
  return [flags](const Invocation& parsed) {
    fleet::RunOptions options = flags->run;
    std::string model_text = flags->model_text;
    if (!flags->model_flags.empty()) {
      model_text.clear();
      for (const auto& flag : flags->model_flags) {
        model_text += (model_text.empty() ? "" : ",") + flag;
      }
    }
    if (flags->jobs > 0) options.agents = options.max_in_flight = flags->jobs;
    options.mirror_cache_bytes =
        static_cast<uint64_t>(flags->mirror_cache_gb * 1024 * 1024 * 1024);
    options.state_dir = std::filesystem::absolute(flags->state_dir);
    if (!flags->record_dir.empty()) {
      options.record_dir = std::filesystem::absolute(flags->record_dir);
    }
    if (auto made = CreateDirectories(options.state_dir); !made) {
      std::fprintf(stderr, "drover: %s\n", made.error().message.c_str());
      return ToInt(ExitCode::kEnvironment);
    }
    (void)SetUpLogging(parsed.log_level, std::nullopt);
    return RunCommand(options, model_text, flags->prices_file, parsed.json);
  };
}

}  // namespace drover::cli
