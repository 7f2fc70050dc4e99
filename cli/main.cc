// drover's composition root: parses the command line, picks implementations, owns stdout,
// the log sinks and the exit code. No business logic lives here.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <type_traits>
#include <variant>
#include <vector>
#include <mutex>

#include "agent/agent.h"
#include "agent/build_slot_runner.h"
#include "llm/http_model_client.h"
#include "agent/task.h"
#include "agent/transcript.h"
#include "cli/exit_code.h"
#include "cli/eval_command.h"
#include "cli/progress.h"
#include "cli/report_command.h"
#include "cli/verify_command.h"
#include "core/fs.h"
#include "core/http.h"
#include "core/log.h"
#include "core/redact.h"
#include "fleet/discovery.h"
#include "fleet/run_deps.h"
#include "fleet/runner.h"
#include "store/state_store.h"
#include "prompts/prompts.h"
#include "sandbox/egress_proxy.h"
#include "sandbox/helper.h"
#include "sandbox/helper_main.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/probe.h"
#include "sandbox/process.h"
#include "sandbox/toolchains.h"

namespace drover::cli {
namespace {

struct CommonFlags {
  bool json = false;
  std::string log_level = "warn";
};

std::string Truncate(std::string text, size_t width) {
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

void PrintTable(const fleet::RunReport& report) {
  std::printf("\n%-18s %-15s %5s %15s  %-34s %s\n", "REPOSITORY", "STATUS", "TURNS",
              "TOKENS in/out", "VERIFIER", "PR / REASON");
  for (const auto& job : report.jobs) {
    std::string tokens = std::to_string(job.input_tokens) + "/" + std::to_string(job.output_tokens);
    std::string verifier = job.verifier.empty() ? "baseline: " + job.baseline : job.verifier;
    std::string last = job.reason;
    if (job.status == fleet::JobStatus::kPublished) {
      // Local PRs are files in the run directory; the path below it is what fits a table.
      auto relative = std::filesystem::path(job.pr_url).lexically_relative(report.run_dir);
      last = relative.empty() || relative.string().starts_with("..") ? job.pr_url
                                                                     : relative.string();
    }
    std::printf("%-18s %-15s %5d %15s  %-34s %s\n", Truncate(job.repository, 18).c_str(),
                std::string(fleet::JobStatusName(job.status)).c_str(), job.turns, tokens.c_str(),
                Truncate(verifier, 34).c_str(), Truncate(last, 90).c_str());
  }
  std::printf("\n%d published, %d failed, %d skipped, %d not applicable in %.1fs\n",
              report.CountWith(fleet::JobStatus::kPublished),
              report.CountWith(fleet::JobStatus::kFailed),
              report.CountWith(fleet::JobStatus::kSkipped),
              report.CountWith(fleet::JobStatus::kNotApplicable), report.seconds);
  if (report.replayed) {
    std::printf("Model: recorded exchanges replayed (a test of the pipeline, not of a model).\n");
  }
  std::printf("Isolation: %s\n", report.isolation.c_str());
  bool any_pr = false;
  for (const auto& job : report.jobs) {
    if (job.status != fleet::JobStatus::kPublished) continue;
    if (!any_pr) std::printf("\nPull requests to look at:\n");
    any_pr = true;
    std::printf("  %s\n  %s\n", (job.job_dir / "pr.md").c_str(), (job.job_dir / "pr.patch").c_str());
  }
  std::printf("\nRun directory: %s (summary.md, jobs/*/attempt-*/transcript.jsonl)\n",
              report.run_dir.c_str());
}

std::filesystem::path SelfPath(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) return self;
  return std::filesystem::absolute(argv0);
}

std::string DefaultStateDir(const std::map<std::string, std::string>& env) {
  if (auto it = env.find("DROVER_STATE_DIR"); it != env.end() && !it->second.empty()) {
    return it->second;
  }
  return ".drover";
}

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
               const std::string& prices_file, const CommonFlags& flags) {
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
  ProgressObserver observer(stderr, ::isatty(STDERR_FILENO) == 1, flags.json);
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
  if (flags.json) {
    std::cout << mask.Redact(report->ToJson().dump(2)) << std::endl;
  } else {
    PrintTable(*report);
  }
  if (!report->paused.empty()) return ToInt(ExitCode::kPaused);
  if (!report->jobs.empty() &&
      report->CountWith(fleet::JobStatus::kSkipped) == static_cast<int>(report->jobs.size())) {
    return ToInt(ExitCode::kAllSkipped);
  }
  return ToInt(report->CountWith(fleet::JobStatus::kFailed) > 0 ? ExitCode::kJobsFailed
                                                                : ExitCode::kOk);
}

// `drover discover SOURCE`: the targets a catalog or a forge knows of, as a repos file on
// stdout; what was left out (and why) goes to stderr.
int DiscoverCommand(const std::string& source, const std::map<std::string, std::string>& env) {
  auto spec = fleet::ParseDiscoverySpec(source);
  if (!spec) {
    std::fprintf(stderr, "drover discover: %s\n", spec.error().message.c_str());
    return ToInt(ExitCode::kUsage);
  }
  auto token = [&](const char* name) -> std::optional<std::string> {
    std::string value = ReadCredential(env, name);
    if (value.empty()) return std::nullopt;
    return value;
  };
  auto http = MakeCurlHttpClient();
  Result<fleet::Discovery> found = std::visit(
      [&](auto& query) -> Result<fleet::Discovery> {
        using Query = std::decay_t<decltype(query)>;
        if constexpr (std::is_same_v<Query, fleet::BackstageQuery>) {
          query.token = token("BACKSTAGE_TOKEN");
          return fleet::DiscoverFromBackstage(*http, query);
        } else {
          query.token = token("GITHUB_TOKEN");
          return fleet::DiscoverFromGitHub(*http, query);
        }
      },
      *spec);
  if (!found) {
    std::fprintf(stderr, "drover discover: %s\n", found.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  std::cout << fleet::FormatReposFile(*found, source, std::chrono::system_clock::now());
  std::fprintf(stderr, "drover discover: %zu repositories, %zu left out\n", found->targets.size(),
               found->skipped.size());
  for (const auto& skipped : found->skipped) {
    std::fprintf(stderr, "  left out %s: %s\n", skipped.ref.c_str(), skipped.reason.c_str());
  }
  return ToInt(ExitCode::kOk);
}

// `drover status [RUN]`: a run's counts by status, its control state, the slowest jobs and
// the failed ones with their reasons, from the state store (works while the run goes on).
int StatusCommand(const std::filesystem::path& state_dir, std::string run_id, bool json) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) {
    std::fprintf(stderr, "drover status: %s\n", store.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  if (run_id.empty()) {
    auto runs = (*store)->ListRuns();
    if (!runs || runs->empty()) {
      std::fprintf(stderr, "drover status: no runs in %s\n", state_dir.c_str());
      return ToInt(ExitCode::kInvalidInput);
    }
    run_id = runs->back().run_id;
  }
  auto run = (*store)->GetRun(run_id);
  auto counts = (*store)->CountJobs(run_id);
  auto slowest = (*store)->SlowestJobs(run_id, 5, std::chrono::system_clock::now());
  auto failed = (*store)->ListJobs(run_id, fleet::JobState::kFailed);
  if (!run || !counts || !slowest || !failed) {
    std::string message = !run ? run.error().message : "reading the state store failed";
    std::fprintf(stderr, "drover status: %s\n", message.c_str());
    return ToInt(run ? ExitCode::kEnvironment : ExitCode::kInvalidInput);
  }
  Json out{{"run", run_id},
           {"migration", run->migration_id},
           {"control", fleet::RunControlName(run->control)},
           {"counts", Json::object()},
           {"slowest", Json::array()},
           {"failed", Json::array()}};
  for (const auto& [state, n] : *counts) out["counts"][std::string(fleet::JobStateName(state))] = n;
  for (const auto& d : *slowest) {
    out["slowest"].push_back({{"repository", d.job.repository},
                              {"state", fleet::JobStateName(d.job.state)},
                              {"step", d.job.step},
                              {"seconds", static_cast<double>(d.elapsed.count()) / 1000.0}});
  }
  for (const auto& job : *failed) {
    out["failed"].push_back({{"repository", job.repository}, {"reason", job.reason}});
  }
  // As last seen by `drover run` or `drover track`.
  if (auto prs = (*store)->ListPullRequests(run_id); prs && !prs->empty()) {
    out["pull_requests"] = {{"open", 0}, {"merged", 0}, {"closed", 0}};
    for (const auto& pr : *prs) {
      auto& count = out["pull_requests"][std::string(fleet::PrStateName(pr.state))];
      count = count.get<int64_t>() + 1;
    }
  }
  if (json) {
    std::cout << out.dump(2) << std::endl;
    return ToInt(ExitCode::kOk);
  }
  std::printf("run %s (%s): %s\n", run_id.c_str(), run->migration_id.c_str(),
              std::string(fleet::RunControlName(run->control)).c_str());
  for (const auto& [state, n] : out["counts"].items()) {
    std::printf("  %-15s %lld\n", state.c_str(), static_cast<long long>(n.get<int64_t>()));
  }
  if (!slowest->empty()) std::printf("slowest:\n");
  for (const auto& d : out["slowest"]) {
    std::printf("  %-30s %8.1fs  %s (%s)\n", d["repository"].get<std::string>().c_str(),
                d["seconds"].get<double>(), d["state"].get<std::string>().c_str(),
                d["step"].get<std::string>().c_str());
  }
  if (out.contains("pull_requests")) {
    const auto& prs = out["pull_requests"];
    std::printf("pull requests: %lld open, %lld merged, %lld closed\n",
                static_cast<long long>(prs["open"].get<int64_t>()),
                static_cast<long long>(prs["merged"].get<int64_t>()),
                static_cast<long long>(prs["closed"].get<int64_t>()));
  }
  if (!failed->empty()) std::printf("failed:\n");
  for (const auto& f : out["failed"]) {
    std::printf("  %-30s %s\n", f["repository"].get<std::string>().c_str(),
                f["reason"].get<std::string>().c_str());
  }
  return ToInt(ExitCode::kOk);
}

// `drover pause|resume|cancel RUN`: seen by the running `drover run` before it starts each
// next repository (those under way finish).
int ControlCommand(const std::filesystem::path& state_dir, const std::string& run_id,
                   fleet::RunControl control) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) {
    std::fprintf(stderr, "drover: %s\n", store.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  if (auto set = (*store)->SetRunControl(run_id, control); !set) {
    std::fprintf(stderr, "drover: %s\n", set.error().message.c_str());
    return ToInt(set.error().code == ErrorCode::kNotFound ? ExitCode::kInvalidInput
                                                          : ExitCode::kUsage);
  }
  std::printf("run %s: %s\n", run_id.c_str(), std::string(fleet::RunControlName(control)).c_str());
  return ToInt(ExitCode::kOk);
}

// `drover retry RUN --status failed`: those jobs go back to pending; the next `drover run`
// with this run id works on them again (and only on them, with the others finished).
int RetryCommand(const std::filesystem::path& state_dir, const std::string& run_id,
                 const std::string& status) {
  auto store = fleet::OpenSqliteStateStore(state_dir / "state.db");
  if (!store) {
    std::fprintf(stderr, "drover retry: %s\n", store.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  static const std::map<std::string, fleet::JobState> kStates = {
      {"failed", fleet::JobState::kFailed},
      {"skipped", fleet::JobState::kSkipped},
      {"not_applicable", fleet::JobState::kNotApplicable}};
  auto retried = (*store)->RetryJobs(run_id, kStates.at(status), std::chrono::system_clock::now());
  if (!retried) {
    std::fprintf(stderr, "drover retry: %s\n", retried.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  std::printf("run %s: %zu %s job(s) will run again; start them with `drover run ... --run-id %s`\n",
              run_id.c_str(), retried->size(), status.c_str(), run_id.c_str());
  for (const auto& job : *retried) std::printf("  %s\n", job.repository.c_str());
  return ToInt(ExitCode::kOk);
}

// `drover agent`: one attempt in one repository. Started by the runner with a clean
// environment; its only way to the model is the gateway socket named in the task.
int AgentCommand(const std::filesystem::path& task_file, const std::filesystem::path& transcript_file,
                 const std::filesystem::path& result_file) {
  auto text = ReadFile(task_file);
  if (!text) {
    std::fprintf(stderr, "drover agent: %s\n", text.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto json = ParseJson(*text, task_file.string());
  if (!json) {
    std::fprintf(stderr, "drover agent: %s\n", json.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto task = agent::AgentTaskFromJson(*json);
  if (!task) {
    std::fprintf(stderr, "drover agent: %s: %s\n", task_file.c_str(), task.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto http = MakeCurlHttpClient();
  agent::HttpModelClientOptions client_options;
  client_options.provider = task->provider;
  client_options.model = task->model;
  client_options.base_url = task->provider == agent::Provider::kAnthropic ? "http://gateway"
                                                                          : "http://gateway/v1";
  client_options.unix_socket = task->gateway_socket;
  client_options.timeout = std::chrono::minutes(10);
  agent::HttpModelClient model(client_options, *http);
  auto local = sandbox::MakeLocalProcessRunner();
  agent::BuildSlotProcessRunner processes(*local, *http, task->gateway_socket);
  agent::Transcript transcript(transcript_file, Redactor());
  auto env = sandbox::CurrentEnvironment();
  // The gateway measures the job's waits for build slots and the rate governor; they do not
  // count against the attempt's wall-clock limit.
  auto capacity_wait = [&http, socket = task->gateway_socket]() {
    HttpRequest request;
    request.method = "GET";
    request.url = "http://gateway/drover/capacity-wait";
    request.unix_socket = socket;
    request.timeout = std::chrono::seconds(10);
    auto response = http->Send(request);
    if (!response || response->status != 200) return std::chrono::milliseconds(0);
    auto body = ParseJson(response->body, "capacity-wait reply");
    if (!body || !body->is_object() || !(*body)["waited_ms"].is_number_integer()) {
      return std::chrono::milliseconds(0);
    }
    return std::chrono::milliseconds((*body)["waited_ms"].get<int64_t>());
  };
  agent::Agent loop(*task, model, processes, transcript, env, capacity_wait);
  agent::AgentOutcome outcome = loop.Run();
  if (auto wrote = WriteFileAtomic(result_file, agent::ToJson(outcome).dump(2) + "\n"); !wrote) {
    std::fprintf(stderr, "drover agent: %s\n", wrote.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  return ToInt(outcome.status == agent::AgentStatus::kFailed ? ExitCode::kAgentFailed
                                                             : ExitCode::kOk);
}

struct SandboxFlags {
  bool probe = false;
  std::string writable;
  std::vector<std::string> allow_hosts;
  int timeout_seconds = 600;
  std::vector<std::string> command;
};

// `drover sandbox --probe` and
// `drover sandbox [--writable DIR] [--allow-host HOST] [--timeout S] -- CMD ARGS...`: the
// policy a job's commands get (toolchains from PATH, limits), for trying it by hand.
int SandboxCommand(const std::filesystem::path& self, const SandboxFlags& flags, bool json,
                   const std::map<std::string, std::string>& env) {
  bool probe = flags.probe;
  const auto& command = flags.command;
  if (probe) {
    auto scratch = std::filesystem::temp_directory_path() /
                   ("drover-probe-" + std::to_string(getpid()));
    std::error_code ec;
    std::filesystem::create_directories(scratch, ec);
    auto result = sandbox::ProbeSandbox(self, scratch);
    std::filesystem::remove_all(scratch, ec);
    if (json) {
      std::cout << sandbox::ToJson(result).dump(2) << std::endl;
    } else {
      std::printf("user_ns %d, mount_ns %d, pid_ns %d, net_ns %d, seccomp %d, landlock %d (ABI %d), "
                  "cgroup limits %d\ncgroup: %s\nlevel: %s\n",
                  result.user_ns, result.mount_ns, result.pid_ns, result.net_ns, result.seccomp,
                  result.landlock, result.landlock_abi, result.cgroup_writable,
                  result.cgroup.c_str(), result.level.c_str());
    }
    return ToInt(result.level.starts_with("none") ? ExitCode::kEnvironment : ExitCode::kOk);
  }
  if (command.empty()) {
    std::fprintf(stderr, "drover sandbox: give --probe or -- CMD ARGS...\n");
    return ToInt(ExitCode::kUsage);
  }
  sandbox::SandboxPolicy policy;
  std::error_code ec;
  policy.workspace = std::filesystem::absolute(flags.writable.empty() ? "." : flags.writable, ec);
  if (std::filesystem::exists(policy.workspace / ".git", ec)) policy.read_only_subpaths = {".git"};
  auto toolchains = sandbox::FindToolchains(env);
  policy.read_only_paths = toolchains.read_only_paths;
  std::unique_ptr<sandbox::EgressProxy> proxy;
  std::filesystem::path proxy_dir;
  if (!flags.allow_hosts.empty()) {
    std::string dir_template = (std::filesystem::temp_directory_path() / "drover-egress-XXXXXX");
    if (::mkdtemp(dir_template.data()) == nullptr) {
      std::fprintf(stderr, "drover sandbox: cannot create a directory for the proxy socket\n");
      return ToInt(ExitCode::kEnvironment);
    }
    proxy_dir = dir_template;
    sandbox::EgressProxyOptions options;
    options.socket_path = proxy_dir / "egress.sock";
    options.allowed_hosts = flags.allow_hosts;
    options.log = [](const std::string& line) {
      std::fprintf(stderr, "drover sandbox: egress %s\n", line.c_str());
    };
    auto started = sandbox::EgressProxy::Start(options);
    if (!started) {
      std::filesystem::remove_all(proxy_dir, ec);
      std::fprintf(stderr, "drover sandbox: --allow-host: %s\n", started.error().message.c_str());
      return ToInt(ExitCode::kUsage);
    }
    proxy = std::move(*started);
    policy.proxy_socket = proxy->socket_path();
  }
  auto runner = sandbox::MakeIsolatedProcessRunner(policy, self);
  sandbox::ProcessSpec spec;
  spec.argv = command;
  spec.cwd = policy.workspace;
  spec.env = sandbox::BaseEnvironment(env);
  for (const auto& [name, value] : toolchains.env) spec.env[name] = value;
  spec.timeout = std::chrono::seconds(flags.timeout_seconds);
  auto result = runner->Run(spec);
  proxy.reset();
  if (!proxy_dir.empty()) std::filesystem::remove_all(proxy_dir, ec);
  if (!result) {
    std::fprintf(stderr, "drover sandbox: %s\n", result.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  std::fwrite(result->output.data(), 1, result->output.size(), stdout);
  if (!result->ok()) std::fprintf(stderr, "drover sandbox: %s\n", result->Describe().c_str());
  return result->timed_out || result->term_signal != 0 ? 124 : result->exit_code;
}

}  // namespace

static_assert(sandbox::kHelperUsageExit == static_cast<int>(ExitCode::kUsage));
static_assert(sandbox::kHelperSetUpFailedExit == static_cast<int>(ExitCode::kEnvironment));

int Main(int argc, char** argv) {
  // The sandbox helper runs before anything else, while the process is single-threaded.
  if (argc > 1 && std::string(argv[1]) == sandbox::kSandboxHelperCommand) {
    return sandbox::SandboxHelperMain("drover __sandbox", argc - 1, argv + 1);
  }
  auto env = sandbox::CurrentEnvironment();
  // Every log line of every command is masked for the credentials the environment holds.
  SetLogRedactor(Redactor(SecretsFromEnvironment(env)));
  CLI::App app{"drover: one code migration across many repositories, with LLM agents"};
  app.require_subcommand(1);
  app.fallthrough();  // Global options (--log-level, --json) may follow the subcommand.
  app.set_version_flag("--version", "drover 0.1.0");
  CommonFlags flags;
  app.add_flag("--json", flags.json, "Machine-readable output on stdout")->group("Output");
  app.add_option("--log-level", flags.log_level, "debug, info, warn or error (stderr)")
      ->group("Output");

  fleet::RunOptions run;
  run.parent_env = env;
  run.drover_binary = SelfPath(argv[0]);
  std::string state_dir = DefaultStateDir(env);
  std::string model_text = env.contains("DROVER_MODEL") ? env["DROVER_MODEL"] : "";
  std::vector<std::string> model_flags;
  std::string record_dir;
  std::string prices_file;
  auto* run_cmd = app.add_subcommand("run", "Run a migration over a list of repositories");
  run_cmd->add_option("migration", run.migration_file, "migration.md")->required();
  run_cmd->add_option("--repos", run.repos_file, "Targets: git URLs or paths, one per line")
      ->required();
  run_cmd->add_option("--model", model_flags,
                      "openai:MODEL, openai-responses:MODEL, anthropic:MODEL or replay:DIR; "
                      "repeat (or separate with commas) for fallback models tried in order "
                      "(default: $DROVER_MODEL)");
  run_cmd->add_option("--state-dir", state_dir, "Mirrors and runs (default: $DROVER_STATE_DIR or .drover)");
  run_cmd->add_option("--run-id", run.run_id,
                      "Name of this run (default: the unfinished run of this spec and these "
                      "targets in the state dir, else a new <id>-<time>)");
  run_cmd->add_flag("--fresh", run.fresh,
                    "Start a new run even when an unfinished one of this spec and these "
                    "targets could be resumed");
  run_cmd->add_option("--agents", run.agents,
                      "Agent slots: agents at once, mostly waiting on the model (default 4)")
      ->check(CLI::Range(1, 4096));
  int jobs = 0;
  run_cmd->add_option("--jobs", jobs,
                      "Older form: N repositories in flight and N agent slots (without it, "
                      "up to agents + builds repositories are in flight)")
      ->check(CLI::Range(1, 4096));
  run_cmd->add_option("--builds", run.builds,
                      "Build slots: verifier and agent commands at once (default: the cores)")
      ->check(CLI::Range(1, 1024));
  run_cmd->add_option("--record", record_dir, "Save each repository's model exchanges as a cassette here");
  run_cmd->add_flag("--keep-workspaces", run.keep_workspaces, "Keep each job's checked-out tree");
  double mirror_cache_gb = 50;
  run_cmd->add_option("--mirror-cache-gb", mirror_cache_gb,
                      "Bound of the mirror cache; least recently used mirrors go beyond it "
                      "(default 50; 0: no bound)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--requests-per-minute", run.model_limits.requests_per_minute,
                      "The model key's request limit, shared by every job (paced, not refused)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--tokens-per-minute", run.model_limits.tokens_per_minute,
                      "The model key's token limit, shared by every job")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--max-tokens", run.max_run_tokens,
                      "Token budget of the whole run; no repository starts once it is spent")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--max-cost", run.max_run_cost_usd,
                      "Cost budget of the whole run in USD, priced by --prices; no repository "
                      "starts once it is spent")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--prices", prices_file,
                      "Price table for --max-cost (default: evals/prices.yaml)");
  run_cmd->add_option("--sandbox", run.sandbox,
                      "required (default): agents and verifiers run isolated, or the run is "
                      "refused; none: plain processes, for repositories you trust")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, fleet::SandboxMode>{{"required", fleet::SandboxMode::kRequired},
                                                    {"none", fleet::SandboxMode::kNone}}));
  run_cmd
      ->add_option("--forge", run.forge,
                   "local, github or gitlab (default: the spec's forge.kind, else local); "
                   "the token comes from $GITHUB_TOKEN / $GITLAB_TOKEN or forge.token_env")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, fleet::ForgeKind>{{"local", fleet::ForgeKind::kLocal},
                                                  {"github", fleet::ForgeKind::kGitHub},
                                                  {"gitlab", fleet::ForgeKind::kGitLab}}));
  run_cmd->add_option("--forge-url", run.forge_url,
                      "The forge's API root (GitHub Enterprise: https://HOST/api/v3)");
  run_cmd->add_flag("--json", flags.json, "Machine-readable output on stdout");

  std::filesystem::path task_file, transcript_file, result_file;
  auto* agent_cmd = app.add_subcommand("agent", "One agent attempt (started by the runner)");
  agent_cmd->add_option("--task", task_file)->required();
  agent_cmd->add_option("--transcript", transcript_file)->required();
  agent_cmd->add_option("--result", result_file)->required();

  SandboxFlags sandbox_flags;
  auto* sandbox_cmd = app.add_subcommand("sandbox", "Probe the sandbox, or run a command in it");
  sandbox_cmd->add_flag("--probe", sandbox_flags.probe,
                        "Print which isolation layers work on this machine");
  sandbox_cmd->add_flag("--json", flags.json, "Machine-readable output on stdout");
  sandbox_cmd->add_option("--writable", sandbox_flags.writable,
                          "The writable workspace (default: .)");
  sandbox_cmd->add_option("--allow-host", sandbox_flags.allow_hosts,
                          "A host name the command may reach through the egress proxy "
                          "(repeatable; \"*.example.org\" for its subdomains)")
      ->allow_extra_args(false);
  sandbox_cmd->add_option("--timeout", sandbox_flags.timeout_seconds,
                          "Seconds before the command is killed")
      ->check(CLI::Range(1, 86400));
  sandbox_cmd->add_option("command", sandbox_flags.command, "-- CMD ARGS...");
  VerifyFlags verify_flags;
  auto* verify_cmd = AddVerifyCommand(app, verify_flags);
  EvalFlags eval_flags;
  auto eval_cmds = AddEvalCommand(app, eval_flags);
  std::string status_run;
  auto* status_cmd = app.add_subcommand("status", "Counts, slowest and failed jobs of a run");
  status_cmd->add_option("run", status_run, "Run id (default: the latest)");
  status_cmd->add_option("--state-dir", state_dir, "Where the runs are (default: .drover)");
  status_cmd->add_flag("--json", flags.json, "Machine-readable output on stdout");
  std::string control_run;
  std::map<std::string, fleet::RunControl> controls = {{"pause", fleet::RunControl::kPaused},
                                                       {"resume", fleet::RunControl::kRunning},
                                                       {"cancel", fleet::RunControl::kCancelled}};
  std::map<std::string, CLI::App*> control_cmds;
  for (const auto& [name, control] : controls) {
    auto* cmd = app.add_subcommand(name, name == "pause"    ? "Stop starting new repositories"
                                         : name == "resume" ? "Start new repositories again"
                                                            : "Start no further repository");
    cmd->add_option("run", control_run, "Run id")->required();
    cmd->add_option("--state-dir", state_dir, "Where the runs are (default: .drover)");
    control_cmds[name] = cmd;
  }
  std::string retry_run;
  std::string retry_status = "failed";
  auto* retry_cmd = app.add_subcommand("retry", "Put a run's failed (or skipped) jobs back");
  retry_cmd->add_option("run", retry_run, "Run id")->required();
  retry_cmd->add_option("--status", retry_status, "failed (default), skipped or not_applicable")
      ->check(CLI::IsMember({"failed", "skipped", "not_applicable"}));
  retry_cmd->add_option("--state-dir", state_dir, "Where the runs are (default: .drover)");
  ReportFlags report_flags;
  auto* report_cmd = AddReportCommand(app, report_flags, state_dir);
  TrackFlags track_flags;
  auto* track_cmd = AddTrackCommand(app, track_flags, state_dir);
  track_cmd->add_flag("--json", flags.json, "Machine-readable output on stdout");
  std::string discover_source;
  auto* discover_cmd = app.add_subcommand(
      "discover", "Find target repositories; prints a repos file for `drover run --repos`");
  discover_cmd
      ->add_option("source", discover_source,
                   "backstage:https://HOST?filter=...&depends_on=..., github-org:ORG, "
                   "github-search:QUERY or github-code:QUERY (tokens: BACKSTAGE_TOKEN, "
                   "GITHUB_TOKEN)")
      ->required();

  // CLI11 answers `drover NAME --help` with the main help and 0 whatever NAME is: an unknown
  // command is a usage error, help or not.
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* sub) { return sub->check_name(argv[1]); }).empty()) {
    std::fprintf(stderr, "drover: unknown command \"%s\" (drover --help lists them)\n", argv[1]);
    return ToInt(ExitCode::kUsage);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : ToInt(ExitCode::kUsage);
  }

  auto level = ParseLogLevel(flags.log_level);
  if (!level) {
    std::fprintf(stderr, "drover: %s\n", level.error().message.c_str());
    return ToInt(ExitCode::kUsage);
  }
  if (auto dir = env.find("DROVER_PROMPTS_DIR"); dir != env.end() && !dir->second.empty()) {
    prompts::SetOverrideDir(dir->second);
  }

  if (*verify_cmd) {
    (void)SetUpLogging(*level, std::nullopt);
    return VerifyCommand(SelfPath(argv[0]), verify_flags, flags.json, env);
  }
  if (*eval_cmds.eval) {
    (void)SetUpLogging(*level, std::nullopt);
    return EvalCommand(eval_cmds, SelfPath(argv[0]), eval_flags, flags.json, env);
  }
  if (*status_cmd) {
    return StatusCommand(std::filesystem::absolute(state_dir), status_run, flags.json);
  }
  for (const auto& [name, cmd] : control_cmds) {
    if (*cmd) return ControlCommand(std::filesystem::absolute(state_dir), control_run, controls[name]);
  }
  if (*report_cmd) return ReportCommand(report_flags);
  if (*track_cmd) {
    (void)SetUpLogging(*level, std::nullopt);
    return TrackCommand(track_flags, flags.json, env);
  }
  if (*retry_cmd) {
    return RetryCommand(std::filesystem::absolute(state_dir), retry_run, retry_status);
  }
  if (*discover_cmd) {
    (void)SetUpLogging(*level, std::nullopt);
    return DiscoverCommand(discover_source, env);
  }
  if (*sandbox_cmd) {
    return SandboxCommand(SelfPath(argv[0]), sandbox_flags, flags.json, env);
  }
  if (*agent_cmd) {
    (void)SetUpLogging(LogLevel::kWarn, std::nullopt);
    return AgentCommand(task_file, transcript_file, result_file);
  }
  if (*run_cmd) {
    if (!model_flags.empty()) {
      model_text.clear();
      for (const auto& flag : model_flags) model_text += (model_text.empty() ? "" : ",") + flag;
    }
    if (jobs > 0) run.agents = run.max_in_flight = jobs;
    run.mirror_cache_bytes = static_cast<uint64_t>(mirror_cache_gb * 1024 * 1024 * 1024);
    run.state_dir = std::filesystem::absolute(state_dir);
    if (!record_dir.empty()) run.record_dir = std::filesystem::absolute(record_dir);
    if (auto made = CreateDirectories(run.state_dir); !made) {
      std::fprintf(stderr, "drover: %s\n", made.error().message.c_str());
      return ToInt(ExitCode::kEnvironment);
    }
    (void)SetUpLogging(*level, std::nullopt);
    return RunCommand(run, model_text, prices_file, flags);
  }
  return ToInt(ExitCode::kUsage);
}

}  // namespace drover::cli

int main(int argc, char** argv) { return drover::cli::Main(argc, argv); }
