#include "fleet/runner.h"

#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "llm/http_model_client.h"
#include "llm/protocol.h"
#include "llm/provider.h"
#include "agent/task.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/markdown.h"
#include "core/redact.h"
#include "core/retry.h"
#include "core/strings.h"
#include "gateway/cassette.h"
#include "forge/forge.h"
#include "forge/forge_governor.h"
#include "forge/forges.h"
#include "git/git.h"
#include "fleet/judge.h"
#include "spec/repo_config.h"
#include "gateway/slot_pool.h"
#include "store/state_store.h"
#include "sandbox/egress_proxy.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "sandbox/process.h"
#include "sandbox/secrets.h"
#include "sandbox/toolchains.h"
#include "verifiers/detect.h"
#include "verifiers/diff_policy.h"
#include "verifiers/test_evidence.h"
#include "verifiers/verifier.h"

namespace drover::fleet {
namespace {

// The first line of `output` that says what went wrong ("npm ERR! 404 ...", "ERROR: No
// matching distribution found for x", "tsd: not found"), else its last non-empty line; one
// line, at most 300 bytes.
std::string FirstErrorLine(std::string_view output) {
  // Strong markers first: a tool's warnings ("cannot rehash", "could not cache") often come
  // before its error.
  static constexpr std::string_view kStrong[] = {"error", "err!", "not found", "no module named",
                                                 "fatal", "no matching"};
  static constexpr std::string_view kWeak[] = {"failed", "could not", "cannot", "denied"};
  std::string last;
  std::string weak;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    std::string_view raw = output.substr(start, end - start);
    start = end + 1;
    size_t b = raw.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) continue;
    size_t e = raw.find_last_not_of(" \t\r");
    std::string line(raw.substr(b, e - b + 1));
    if (line.size() > 300) line.resize(300);
    std::string lower;
    for (char c : line) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto marker : kStrong) {
      if (lower.find(marker) != std::string::npos) return line;
    }
    for (auto marker : kWeak) {
      if (weak.empty() && lower.find(marker) != std::string::npos) weak = line;
    }
    last = std::move(line);
  }
  return weak.empty() ? last : weak;
}

// How much of the agent's summary a PR body and a commit message carry; the report keeps it
// whole. GitHub refuses bodies over 65,536 characters.
constexpr size_t kMaxSummaryBytes = 6000;

// Infrastructure (a network error, a 5xx, a server's Retry-After) fails for passing reasons:
// the operation is tried again, three times in all, waiting 1 s then 2 s (or what the server
// asked, up to 30 s). Anything else, a verifier's verdict above all, is final here. Only for
// operations that are safe to repeat: fetches, pushes of the same commit, the forge's
// OpenOrUpdate (it finds an existing PR by head branch first).
template <typename Fn>
auto WithInfrastructureRetries(std::string_view what, Fn&& fn) -> decltype(fn()) {
  static const RetryPolicy kInfrastructure{.max_attempts = 3,
                                           .base_delay = std::chrono::seconds(1),
                                           .max_delay = std::chrono::seconds(30)};
  return Retry(
      kInfrastructure, [](std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); },
      std::forward<Fn>(fn), [what](const Error& error, std::chrono::milliseconds wait) {
        if (wait.count() % 1000 == 0) {
          spdlog::info("{}: {}; trying again in {} s", what, error.message, wait.count() / 1000);
        } else {
          spdlog::info("{}: {}; trying again in {} ms", what, error.message, wait.count());
        }
      });
}

using SteadyClock = std::chrono::steady_clock;

// "20261123T074501Z": sorts by time and is safe in a path.
std::string UtcStamp(std::chrono::system_clock::time_point at) {
  std::time_t now = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Everything shared by the jobs of one run.
struct RunContext {
  const RunOptions& options;
  const MigrationSpec& spec;
  RunObserver& observer;
  GitRepos& git;
  Forge& forge;
  Gateway& gateway;
  sandbox::ProcessRunner& processes;
  Clock& clock;
  std::filesystem::path run_dir;
  std::filesystem::path socket_dir;  // Short path: Unix socket names are limited to 107 bytes.
  // Set unless --sandbox=none: what every sandbox of the run shares (toolchains, limits,
  // the egress proxy), completed per command with its workspace and its own paths.
  std::optional<sandbox::SandboxPolicy> base_policy;
  std::map<std::string, std::string> toolchain_env;  // PYENV_ROOT and the like.
  std::string isolation;
  StateStore* store = nullptr;         // The run's durable state (STATE/state.db).
  const ForgeSetup* forge_setup = nullptr;
  SlotPool* agent_slots = nullptr;     // Every agent process runs holding one.
  SlotPool* build_slots = nullptr;     // Every verifier and agent command runs holding one.
  std::atomic<int> agents_running{0};  // Agent processes alive now.
  // Masks the run's credentials (model keys, the forge token, credential-named variables of
  // the environment) in everything a job writes, records or reports.
  Redactor redactor;
  std::mutex mirrors_mutex;
  std::multiset<std::string> mirrors_in_use;  // Locations of running jobs; mirrors_mutex.
};

// Marks a location's mirror as used by a running job for its lifetime (see EvictMirrors).
class MirrorUse {
 public:
  MirrorUse(RunContext& run, std::string location) : run_(run), location_(std::move(location)) {
    std::lock_guard lock(run_.mirrors_mutex);
    run_.mirrors_in_use.insert(location_);
  }
  ~MirrorUse() {
    std::lock_guard lock(run_.mirrors_mutex);
    run_.mirrors_in_use.erase(run_.mirrors_in_use.find(location_));
  }
  MirrorUse(const MirrorUse&) = delete;
  MirrorUse& operator=(const MirrorUse&) = delete;

 private:
  RunContext& run_;
  std::string location_;
};

// The job's failure kind for what the agent said ended its attempt.
FailureKind FailureOf(agent::AgentFailure failure) {
  switch (failure) {
    case agent::AgentFailure::kLimit:
    case agent::AgentFailure::kStuck:
    case agent::AgentFailure::kBudgetExhausted: return FailureKind::kBudgetExhausted;
    case agent::AgentFailure::kEditErrors: return FailureKind::kEditErrors;
    case agent::AgentFailure::kChecksFailed: return FailureKind::kVerifierFailed;
    case agent::AgentFailure::kMalformedReplies:
    case agent::AgentFailure::kModelError: return FailureKind::kModelError;
    case agent::AgentFailure::kStart: return FailureKind::kInfrastructure;
  }
  return FailureKind::kInfrastructure;
}

// The first file of a unified diff whose section (name, header or any line) carries one of
// `redactor`'s secrets in any form it knows; nullopt when none does.
std::optional<std::string> FileWithCredential(std::string_view patch, const Redactor& redactor) {
  if (redactor.empty()) return std::nullopt;
  size_t start = 0;
  while (start < patch.size()) {
    size_t next = patch.find("\ndiff --git ", start);
    size_t end = next == std::string_view::npos ? patch.size() : next + 1;
    std::string_view section = patch.substr(start, end - start);
    if (redactor.Contains(section)) {
      std::string_view header = section.substr(0, section.find('\n'));
      size_t b = header.rfind(" b/");
      // A file name that is itself the credential is not repeated.
      std::string name =
          b == std::string_view::npos ? "a changed file" : std::string(header.substr(b + 3));
      if (redactor.Contains(name)) name = "a file whose name is a credential";
      return name;
    }
    start = end;
  }
  return std::nullopt;
}

// Whether an executable `name` is on the PATH of `env`.
bool HasExecutable(const std::map<std::string, std::string>& env, std::string_view name) {
  auto path = env.find("PATH");
  if (path == env.end()) return false;
  std::string_view rest = path->second;
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

class Job {
 public:
  Job(RunContext& run, const Target& target, size_t index, int64_t job_id)
      : run_(run),
        target_(target),
        index_(index),
        job_id_(job_id),
        machine_(std::max(1, run.spec.max_attempts)) {
    report_.repository = target.name;
    report_.location = target.location;
    report_.branch = run.spec.pr.branch;
    report_.job_dir = run.run_dir / "jobs" / target.name;
    report_.isolation = run.isolation;
  }

  JobReport Run() {
    auto started = run_.clock.MonotonicNow();
    // A job that runs is not finished: whatever an interrupted run left of it goes, but for
    // the forge's record of a PR it may have opened (LocalForge finds it there and updates it).
    // That record is never moved or rewritten here: a kill at any moment must leave it.
    Status made = ClearJobDir();
    if (!made) {
      FailWith(FailureKind::kInfrastructure, made.error().ToString());
    } else {
      Execute();
    }
    // Every other end was written where it happened: a job still going failed.
    if (!machine_.end()) Finish(JobStatus::kFailed, failure_ ? failure_->reason : "");
    report_.seconds = std::chrono::duration<double>(run_.clock.MonotonicNow() - started).count();
    if (worktree_ && !run_.options.keep_workspaces) (void)run_.git.RemoveWorktree(*worktree_);
    // The job's build caches serve its own runs only: they go with it.
    if (!run_.options.keep_workspaces) (void)RemoveAll(report_.job_dir / "cache");
    (void)Save(report_.job_dir / "job.json", ReportJson().dump(2) + "\n");
    // Last: once the store says the job is finished, a resumed run never touches it again.
    Record(machine_.step(), machine_.state(), report_.reason, ReportJson().dump());
    return report_;
  }

 private:
  Status ClearJobDir() {
    if (auto made = CreateDirectories(report_.job_dir); !made) return made;
    std::error_code ec;
    std::filesystem::directory_iterator entries(report_.job_dir, ec);
    if (ec) return Fail(ErrorCode::kIo, "listing " + report_.job_dir.string() + ": " + ec.message());
    for (const auto& entry : entries) {
      if (entry.path().filename() == "pr.json") continue;
      if (auto removed = RemoveAll(entry.path()); !removed) return removed;
    }
    return {};
  }

  void Execute() {
    if (auto on_forge = CheckTargetOnForge(*run_.forge_setup, target_.location); !on_forge) {
      FailWith(FailureKind::kInfrastructure, "forge: " + on_forge.error().message);
      return;
    }
    if (!Prepare() || !ChooseVerifiers() || !Setup("setup-") || !Baseline()) return;
    if (!Agent()) return;
    Publish();
  }

  // Every file the runner writes for the job goes through here, masked.
  Status Save(const std::filesystem::path& file, std::string_view text) const {
    return WriteFileAtomic(file, run_.redactor.Redact(text));
  }

  // Writes the job's state to the store before the job moves on, masked.
  void Record(JobStep step, JobState state, std::string_view reason, std::string_view details) {
    if (run_.store == nullptr) return;
    if (auto recorded = run_.store->AdvanceJob(
            job_id_, JobStepName(step), state, run_.redactor.Redact(reason),
            run_.redactor.Redact(details), run_.clock.Now());
        !recorded) {
      spdlog::error("{}: state store: {}", target_.name, recorded.error().message);
    }
  }

  // Moves the job to `step` of attempt report_.attempts, written to the store and job.json
  // first. A move the machine refuses is logged and not written.
  void Step(JobStep step) {
    if (auto moved = machine_.Advance(step, report_.attempts); !moved) {
      spdlog::error("{}: {}", target_.name, moved.error().message);
      return;
    }
    Record(step, JobState::kRunning, "", "");
    report_.step = step;
    std::string_view name = JobStepName(step);
    spdlog::info("{}: {}", target_.name, name);
    run_.observer.OnJobStep(target_.name, name);
    (void)Save(report_.job_dir / "job.json", ReportJson().dump(2) + "\n");
  }

  // The report with the machine's state as its status: "running" until the job ends (an
  // attempt that failed is not the job's failure while another may follow), then its end.
  Json ReportJson() const {
    Json json = report_.ToJson();
    json["status"] = JobStateName(machine_.state());
    return json;
  }

  // Records what failed, where it failed. The job ends failed with the last one recorded (in
  // Run) unless a later attempt succeeds or the job ends otherwise.
  void FailWith(FailureKind kind, std::string reason) {
    spdlog::info("{}: {}: {}", target_.name, FailureKindName(kind), reason);
    failure_ = Failure{kind, std::move(reason)};
  }

  // Ends the job; for kFailed with the failure recorded last (FailWith). An end the machine
  // refuses is logged and not written.
  void Finish(JobStatus status, std::string reason) {
    if (auto ended = machine_.End(status); !ended) {
      spdlog::error("{}: {}", target_.name, ended.error().message);
      return;
    }
    report_.status = status;
    // The report is what job.json, state.db, summary.json/md and the command's output show:
    // a credential an error message quoted is masked here, once, for all of them.
    report_.reason = run_.redactor.Redact(reason);
    report_.failure_kind.reset();
    if (status == JobStatus::kFailed) {
      // Every failure site says what failed; only a job that stopped without saying why (a
      // refused end) reaches here without one.
      report_.failure_kind = failure_ ? failure_->kind : FailureKind::kInfrastructure;
      if (report_.reason.empty()) report_.reason = "the job stopped without a reason";
    }
    spdlog::info("{}: {}{}{}", target_.name, JobStatusName(status),
                 report_.reason.empty() ? "" : ": ", report_.reason);
  }

  // A job's build caches, one folder per scope under job_dir/cache, each holding ccache's
  // directory, GOCACHE, CARGO_TARGET_DIR and the build dir of a detected CMake verifier:
  //   baseline  written by the baseline run (the repository's untouched code);
  //   agent     a copy of the baseline's, then written by the agent's commands in every
  //             attempt (and its repo-map parse cache);
  //   final     a fresh copy of the baseline's before each final check, so that nothing the
  //             agent's sandbox or an earlier final check wrote is read by the check that
  //             decides.
  // The scopes are siblings at the same depth, so that ccache (CCACHE_BASEDIR: the job
  // directory) sees the same relative paths from each of their CMake build dirs. The job
  // directory is the job's own: no other job reads or writes these.
  std::filesystem::path CacheDir(std::string_view scope) const {
    return report_.job_dir / "cache" / scope;
  }

  // Makes `scope` a fresh copy of the baseline's caches. The CMake build dir is not copied
  // (it names its own path; ccache serves its compilations). A cache that cannot be copied is
  // left empty: slower, never wrong.
  void SeedCache(std::string_view scope) const {
    auto from = CacheDir("baseline");
    auto to = CacheDir(scope);
    (void)RemoveAll(to);
    (void)CreateDirectories(to);
    for (const char* part : {"ccache", "go-build", "cargo-target"}) {
      std::error_code ec;
      if (!std::filesystem::is_directory(std::filesystem::symlink_status(from / part, ec))) {
        continue;
      }
      std::filesystem::copy(
          from / part, to / part,
          std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks,
          ec);
      if (ec) {
        spdlog::warn("{}: not reusing the baseline's {} cache: {}", target_.name, part,
                     ec.message());
        (void)RemoveAll(to / part);
      }
    }
  }

  // `cache`: the scope folder (CacheDir) whose build caches the processes use.
  std::map<std::string, std::string> ChildEnv(const std::filesystem::path& cache) const {
    auto env = sandbox::BaseEnvironment(run_.options.parent_env);
    // In a sandbox HOME is its private /tmp, fresh for every verifier run: nothing the agent
    // leaves in a home directory can change how the final check behaves.
    env["HOME"] = run_.base_policy ? "/tmp" : (report_.job_dir / "home").string();
    for (const auto& [name, value] : run_.toolchain_env) env[name] = value;
    // Build outputs stay out of the workspace, where they would end up in the diff of a
    // repository that does not ignore them.
    env["PYTHONDONTWRITEBYTECODE"] = "1";
    env["CARGO_TARGET_DIR"] = (cache / "cargo-target").string();
    env["GOCACHE"] = (cache / "go-build").string();
    env["DROVER_CMAKE_BUILD_DIR"] = (cache / "cmake-build").string();
    env["CCACHE_DIR"] = (cache / "ccache").string();
    env["CCACHE_BASEDIR"] = report_.job_dir.string();
    env["CCACHE_NOHASHDIR"] = "1";
    // ccache trims itself to a quarter of the sandbox's disk limit (at most 2 GiB), so that
    // the cache alone never reaches it.
    uint64_t ccache_mb = 2048;
    if (run_.base_policy && run_.base_policy->disk_bytes != 0) {
      ccache_mb = std::clamp<uint64_t>((run_.base_policy->disk_bytes >> 20) / 4, 1, ccache_mb);
    }
    env["CCACHE_MAXSIZE"] = std::to_string(ccache_mb) + "Mi";
    // CMake takes these as the default compiler launchers (3.17 and later).
    if (HasExecutable(env, "ccache")) {
      for (const char* name : {"CMAKE_C_COMPILER_LAUNCHER", "CMAKE_CXX_COMPILER_LAUNCHER"}) {
        env.try_emplace(name, "ccache");
      }
    }
    // After a set-up, every command finds what it installed.
    if (!deps_dir_.empty()) {
      for (auto& [name, value] : verifiers::SetupEnvironment(deps_dir_, env["PATH"])) {
        env[name] = value;
      }
    }
    return env;
  }

  // The sandbox policy for one command tree in this job's workspace, with the build caches of
  // scope folder `cache` writable (and counted against the disk limit).
  sandbox::SandboxPolicy Policy(const std::filesystem::path& cache) const {
    sandbox::SandboxPolicy policy = *run_.base_policy;
    policy.workspace = worktree_->workspace;
    policy.read_only_subpaths = {".git"};
    policy.writable_paths = {cache};
    // What the set-up installed is read-only to the checks and the agent: none of them can
    // change the dependencies the next check runs with.
    if (!deps_dir_.empty()) policy.read_only_paths.push_back(deps_dir_);
    return policy;
  }

  // The dependency set-up: the spec's `setup` commands, else the detected ones, run in a
  // sandbox over the workspace whose only extra writable directory is this job's deps
  // directory (keyed by the commands and the contents of the files they install from, so
  // that later runs of the same job reuse what was fetched), with egress only to
  // sandbox.setup_hosts, else the detected ecosystems' registries. Run before the baseline
  // and again on every fresh tree: the agent's (after the baseline, and for each later
  // attempt) and each final check's (what it installs in the workspace, node_modules, does
  // not survive a checkout; its caches do). A failure skips the job
  // (before the baseline) naming the first error line.
  bool Setup(const std::string& prefix) {
    if (prefix == "setup-") {
      auto detected = verifiers::DetectSetup(worktree_->workspace);
      setup_commands_ = run_.spec.setup ? *run_.spec.setup : detected.commands;
      if (setup_commands_.empty()) return true;
      setup_hosts_ = !run_.spec.sandbox.setup_hosts.empty() ? run_.spec.sandbox.setup_hosts
                                                              : detected.hosts;
      std::string key;
      for (const auto& c : setup_commands_) key += c + "\n";
      for (const auto& input : detected.inputs) {
        auto text = ReadRegularFile(worktree_->workspace / input, 64 << 20);
        key += input + "\n" + (text ? *text : std::string("-")) + "\n";
      }
      char hash[32];
      std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(key));
      deps_dir_ = report_.job_dir / "deps" / hash;
      if (auto made = CreateDirectories(deps_dir_); !made) {
        FailWith(FailureKind::kInfrastructure, "setup: " + made.error().message);
        return false;
      }
      setup_why_ = run_.spec.setup ? "spec" : "detected: " + detected.why;
    }
    if (setup_commands_.empty()) return true;
    // The scope of build caches the commands see: the run the set-up prepares the tree for.
    const std::filesystem::path cache = CacheDir(prefix == "setup-"         ? "baseline"
                                                 : prefix == "agent-setup-" ? "agent"
                                                                            : "final");
    std::unique_ptr<sandbox::EgressProxy> proxy;
    std::unique_ptr<sandbox::ProcessRunner> isolated;
    if (run_.base_policy) {
      auto policy = Policy(cache);
      std::erase(policy.read_only_paths, deps_dir_);
      policy.writable_paths = {deps_dir_};
      policy.proxy_socket.clear();
      if (!setup_hosts_.empty()) {
        sandbox::EgressProxyOptions options;
        options.socket_path = run_.socket_dir / ("s" + std::to_string(index_) + ".sock");
        options.allowed_hosts = setup_hosts_;
        options.log = [name = target_.name](const std::string& line) {
          spdlog::info("{}: setup egress: {}", name, line);
        };
        auto started = sandbox::EgressProxy::Start(options);
        if (!started) {
          FailWith(FailureKind::kInfrastructure, "setup: egress proxy: " + started.error().message);
          return false;
        }
        proxy = std::move(*started);
        policy.proxy_socket = proxy->socket_path();
      }
      isolated = sandbox::MakeIsolatedProcessRunner(policy, run_.options.drover_binary);
    }
    std::vector<verifiers::VerifierSpec> steps;
    for (size_t i = 0; i < setup_commands_.size(); ++i) {
      verifiers::VerifierSpec step;
      step.name = "setup-" + std::to_string(i + 1);
      step.command = setup_commands_[i];
      step.timeout = std::chrono::seconds(1200);
      step.require_test_evidence = false;
      steps.push_back(std::move(step));
    }
    verifiers::VerifierReport report;
    {
      SlotPool::Scoped slot(run_.build_slots, "runner/" + target_.name);
      for (const auto& step : steps) {
        auto one = verifiers::RunVerifiers(isolated ? *isolated : run_.processes, {step},
                                           worktree_->workspace, ChildEnv(cache),
                                           report_.job_dir / "logs", prefix);
        report.results.push_back(one.results.front());
        if (!one.results.front().passed) break;  // Later steps build on earlier ones.
      }
    }
    const auto& last = report.results.back();
    Gate("setup", {{"why", setup_why_},
                   {"commands", setup_commands_},
                   {"hosts", setup_hosts_},
                   {"deps_dir", deps_dir_.filename().string()},
                   {"summary", report.Summary()},
                   {"passed", last.passed}});
    if (last.passed) return true;
    std::string reason = "setup failed: `" + last.command + "`: " + last.outcome;
    if (auto line = FirstErrorLine(last.output); !line.empty()) reason += ": " + line;
    if (prefix == "setup-") {
      Finish(JobStatus::kSkipped, reason);
    } else if (prefix == "agent-setup-") {
      FailWith(FailureKind::kInfrastructure, reason);
    } else {
      FailWith(FailureKind::kVerifierFailed, "final check failed: " + reason);
    }
    return false;
  }

  // Each Run of the returned runner is a fresh sandbox over the workspace (or, with
  // --sandbox=none, a plain process).
  std::unique_ptr<sandbox::ProcessRunner> VerifierProcesses(
      const std::filesystem::path& cache) const {
    if (!run_.base_policy) return nullptr;
    return sandbox::MakeIsolatedProcessRunner(Policy(cache), run_.options.drover_binary);
  }

  // Runs the verifiers once; a failing one named in `rerun` (all of them when null) is run
  // again at once, and one that then passes is marked flaky.
  // Outputs go to jobs/NAME/logs/<prefix><verifier>.log (capped: sandbox/process.h).
  // `cache_scope` names the build caches they use (CacheDir).
  verifiers::VerifierReport RunJobVerifiers(const std::set<std::string>* rerun,
                                            const std::string& prefix,
                                            std::string_view cache_scope) const {
    SlotPool::Scoped slot(run_.build_slots, "runner/" + target_.name);
    auto cache = CacheDir(cache_scope);
    (void)CreateDirectories(cache);
    auto isolated = VerifierProcesses(cache);
    auto& processes = isolated ? *isolated : run_.processes;
    auto logs = report_.job_dir / "logs";
    auto env = ChildEnv(cache);
    // The state directory (where the workspace, HOME without a sandbox and the caches live)
    // is named by a label in what the report shows; the workspace's files relative to it.
    std::vector<verifiers::PathAlias> hidden = {
        {std::filesystem::absolute(run_.options.state_dir), "<state>"}};
    auto report = verifiers::RunVerifiers(processes, verifiers_, worktree_->workspace, env, logs,
                                          prefix, hidden);
    for (size_t i = 0; i < report.results.size(); ++i) {
      auto& result = report.results[i];
      if (result.passed || (rerun != nullptr && !rerun->contains(result.name))) continue;
      auto again = verifiers::RunVerifiers(processes, {verifiers_[i]}, worktree_->workspace, env,
                                           logs, prefix + "again-", hidden);
      if (again.results.empty() || !again.results[0].passed) continue;
      std::string first = result.outcome;
      result = std::move(again.results[0]);
      result.flaky = true;
      result.outcome = "passed on a second run (first: " + first + ")";
    }
    return report;
  }

  // Where the baseline of this commit under these verifier definitions is kept: the same
  // tree judged by the same commands gives the same answer, so retries and later runs reuse
  // it (remove the file to measure again).
  std::filesystem::path BaselineCachePath() const {
    Json definition = Json::array();
    for (const auto& v : verifiers_) definition.push_back(verifiers::ToJson(v));
    definition.push_back(run_.isolation.starts_with("none") ? "plain" : "sandboxed");
    // The same commands judge differently with other dependencies installed.
    if (!setup_commands_.empty()) definition.push_back(Json{{"setup", setup_commands_}});
    size_t hash = std::hash<std::string>{}(definition.dump());
    definition.push_back("test-evidence");  // Baselines kept before tests were counted lack it.
    char key[32];
    std::snprintf(key, sizeof key, "%016zx", hash);
    return run_.options.state_dir / "baselines" / (worktree_->base_commit + "-" + key + ".json");
  }

  bool Prepare() {
    Step(JobStep::kPreparing);
    // Clones and fetches fail for passing reasons (network) too: try those again.
    mirror_use_.emplace(run_, target_.location);  // Before the mirror exists: see EvictMirrors.
    Result<Mirror> mirror = WithInfrastructureRetries(
        target_.name, [&] { return run_.git.UpdateMirror(target_.location); });
    if (!mirror) {
      FailWith(FailureKind::kInfrastructure, "clone failed: " + mirror.error().message);
      return false;
    }
    mirror_ = *mirror;
    if (!ResetWorktree()) return false;
    (void)CreateDirectories(report_.job_dir / "home");
    Step(JobStep::kPrepared);
    return true;
  }

  // The checks for this repository: the spec's, else the ones its files suggest, then its
  // `.drover.yml`. Read once from the untouched tree, so that nothing the agent writes there
  // changes how its work is judged.
  bool ChooseVerifiers() {
    // Reviewers come from the untouched tree too: the agent does not choose its reviewers.
    codeowners_ = "";
    for (const char* where : {".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}) {
      if (auto text = ReadRegularFile(worktree_->workspace / where, 1 << 20); text) {
        codeowners_ = std::move(*text);
        break;
      }
    }
    auto config = LoadRepoConfig(worktree_->workspace);
    if (!config) {
      FailWith(FailureKind::kInfrastructure, config.error().message);
      return false;
    }
    if (*config && (*config)->opt_out) {
      Finish(JobStatus::kSkipped, "the repository opted out in .drover.yml" +
                                      ((*config)->reason.empty() ? "" : ": " + (*config)->reason));
      return false;
    }
    std::vector<verifiers::DetectedVerifier> detected;
    if (run_.spec.verifiers.empty()) detected = verifiers::DetectVerifiers(worktree_->workspace);
    verifiers_ = MergeVerifiers(run_.spec.verifiers, detected, *config);
    // Why each detected check that is still used (not replaced by .drover.yml) was chosen.
    Json chosen_why = Json::object();
    detected_tests_.clear();
    detection_lines_.clear();
    detection_notes_.clear();
    report_.checks.clear();
    for (const auto& v : verifiers_) {
      for (const auto& d : detected) {
        if (d.spec.name != v.name || d.spec.command != v.command) continue;
        chosen_why[v.name] = d.why;
        detection_lines_.push_back(v.name + " was chosen by detection: " + d.why);
        report_.checks += (report_.checks.empty() ? "" : "; ") + v.name + ": " + d.why;
        if (d.kind == verifiers::VerifierKind::kTest) detected_tests_.insert(v.name);
      }
    }
    Gate("verifiers", {{"source", !run_.spec.verifiers.empty() ? "spec" : "detected"},
                       {"why", chosen_why},
                       {"repo_config", config->has_value()},
                       {"names", [&] {
                          Json names = Json::array();
                          for (const auto& v : verifiers_) names.push_back(v.name);
                          return names;
                        }()}});
    Json chosen = Json::array();
    for (const auto& v : detected) chosen.push_back(verifiers::ToJson(v));
    (void)Save(report_.job_dir / "verifiers.json",
               Json{{"detected", chosen},
                    {"repo_config", *config ? ToJson(**config) : Json()},
                    {"used",
                     [&] {
                       Json used = Json::array();
                       for (const auto& v : verifiers_) used.push_back(verifiers::ToJson(v));
                       return used;
                     }()}}
                       .dump(2) +
                   "\n");
    if (verifiers_.empty()) {
      FailWith(FailureKind::kInfrastructure,
               "no checks: the spec lists no verifiers and none were detected in the repository "
               "(add verifiers to the spec or a .drover.yml)");
      return false;
    }
    return true;
  }

  bool ResetWorktree() {
    auto worktree = run_.git.CreateWorktree(mirror_, report_.job_dir);
    if (!worktree) {
      FailWith(FailureKind::kInfrastructure, "worktree: " + worktree.error().message);
      return false;
    }
    worktree_ = *worktree;
    return true;
  }

  // A fresh checkout for the agent, with what the set-up installs into the tree (node_modules)
  // installed again from its warm caches.
  bool ResetWorktreeForAgent() { return ResetWorktree() && Setup("agent-setup-"); }

  bool Baseline() {
    Step(JobStep::kBaseline);
    auto cache = BaselineCachePath();
    std::optional<verifiers::VerifierReport> cached;
    if (auto text = ReadFile(cache); text) {
      if (auto json = ParseJson(*text, cache.string()); json) {
        if (auto report = verifiers::VerifierReportFromJson(*json); report) cached = *report;
      }
    }
    baseline_cached_ = cached.has_value();
    auto report = cached ? *cached : RunJobVerifiers(nullptr, "baseline-", "baseline");
    if (!cached) {
      (void)CreateDirectories(cache.parent_path());
      (void)Save(cache, report.ToJson().dump(2) + "\n");
      // The agent starts from the commit, not from the baseline's build outputs (a second
      // `make` of some projects fails on what the first one left, ignored or not).
      if (!ResetWorktreeForAgent()) return false;
    }
    report_.baseline = report.Summary() + (baseline_cached_ ? " (cached)" : "");
    bool flaky = std::any_of(report.results.begin(), report.results.end(),
                             [](const auto& r) { return r.flaky; });
    Gate("baseline", {{"state", !report.passed() ? "red" : flaky ? "flaky" : "green"},
                      {"cached", baseline_cached_},
                      {"summary", report.Summary()},
                      {"on_red", run_.spec.on_red_baseline == OnRedBaseline::kSkip
                                     ? "skip"
                                     : "no_new_failures"}});
    (void)Save(report_.job_dir / "baseline.json", report.ToJson().dump(2) + "\n");
    baseline_ = report;
    for (const auto& r : report.results) {
      if (r.flaky) flaky_.insert(r.name);
      // A detected test check whose output shows no test is a build check at most: say so,
      // so that nobody reads its "passed" as tests passing.
      if (detected_tests_.contains(r.name) && !r.evidence) {
        std::string note = r.name + ": ran no tests on the untouched tree (no test runner output); "
                                    "it is not counted as a test check";
        detection_notes_.push_back(note);
        report_.checks += (report_.checks.empty() ? "" : "; ") + note;
      }
    }
    if (!report.passed()) {
      if (run_.spec.on_red_baseline == OnRedBaseline::kSkip) {
        // A red baseline is the repository's state, not the agent's failure.
        Finish(JobStatus::kSkipped, "baseline red before any change: " + report.Summary());
        return false;
      }
      judge_mode_ = verifiers::JudgeMode::kNoNewFailures;
    }
    return true;
  }

  bool Agent() {
    const auto& spec = run_.spec;
    JobConfig gateway_job;
    gateway_job.job_id = target_.name;
    gateway_job.repository = target_.name;
    gateway_job.max_tokens = spec.limits.max_tokens * spec.max_attempts;
    gateway_job.max_output_tokens = spec.limits.max_output_tokens;
    gateway_job.max_turns = spec.limits.max_turns * spec.max_attempts;
    // A build slot is held for one command at a time: the longest the limits allow, bounded.
    std::chrono::seconds longest{spec.limits.command_timeout_seconds};
    for (const auto& verifier : verifiers_) longest = std::max(longest, verifier.timeout);
    gateway_job.build_slot_max_hold = longest + std::chrono::seconds(30);
    gateway_job.socket_path = run_.socket_dir / ("j" + std::to_string(index_) + ".sock");
    gateway_job.exchange_log = report_.job_dir / "exchanges.jsonl";
    if (run_.store != nullptr && !run_.options.model.replay_dir) {
      // A resumed job is served the replies an interrupted run already paid for.
      StateStore* store = run_.store;
      int64_t job_id = job_id_;
      gateway_job.find_step = [store, job_id](int n) -> std::optional<std::string> {
        auto found = store->FindModelStep(job_id, 0, "exchange-" + std::to_string(n));
        return found ? *found : std::nullopt;
      };
      gateway_job.record_step = [store, job_id, this](int n, const std::string& text) {
        (void)store->RecordModelStep(job_id, 0, "exchange-" + std::to_string(n),
                                     run_.redactor.Redact(text));
      };
    }
    if (run_.options.model.replay_dir) {
      auto cassette = FindCassette(*run_.options.model.replay_dir, target_.name);
      if (!cassette) {
        FailWith(FailureKind::kInfrastructure, "replay: " + cassette.error().message);
        return false;
      }
      gateway_job.cassette = *cassette;
    }
    if (auto opened = run_.gateway.OpenJob(gateway_job); !opened) {
      FailWith(FailureKind::kInfrastructure, "gateway: " + opened.error().message);
      return false;
    }
    // The agent's caches start from the baseline's and are kept across its attempts.
    SeedCache("agent");
    bool verified = false;
    std::string feedback;
    // The last final check that failed, and why: a later attempt that ends without a change
    // to check does not hide it.
    std::optional<Failure> check_failure;
    int check_attempt = 0;
    auto fail_after_check = [&](FailureKind kind, const std::string& reason) {
      if (!check_failure) {
        FailWith(kind, reason);
        return;
      }
      FailWith(check_failure->kind, check_failure->reason + " (attempt " +
                                        std::to_string(check_attempt) + "); then attempt " +
                                        std::to_string(report_.attempts) + " ended: " + reason);
    };
    for (int attempt = 1; attempt <= spec.max_attempts && !verified; ++attempt) {
      if (attempt > 1 && !ResetWorktreeForAgent()) break;
      report_.attempts = attempt;
      auto outcome = RunAttempt(gateway_job.socket_path.string(), attempt, feedback);
      if (!outcome) {
        feedback = outcome.error().message;
        fail_after_check(FailureKind::kInfrastructure, outcome.error().message);
        continue;
      }
      report_.turns += outcome->turns;
      if (outcome->status == agent::AgentStatus::kNotApplicable) {
        Finish(JobStatus::kNotApplicable, outcome->reason);
        break;
      }
      if (outcome->status == agent::AgentStatus::kFailed) {
        feedback = "The previous attempt failed: " + outcome->reason;
        // The agent says what ended its attempt (result.json's failure_kind).
        fail_after_check(FailureOf(outcome->failure.value_or(agent::AgentFailure::kLimit)),
                         "agent: " + outcome->reason);
        // A model or gateway failure (already retried by the gateway) or a spent budget would
        // repeat itself; a fresh attempt helps only when the agent's own work went wrong.
        if (!outcome->model_error.empty()) break;
        continue;
      }
      summary_ = run_.redactor.Redact(outcome->summary);
      verified = FinalCheck(feedback);
      if (!verified) {
        check_failure = failure_;
        check_attempt = attempt;
      }
      if (verified && spec.judge.enabled) {
        verified = Judge(gateway_job.socket_path.string(), attempt, feedback);
      }
    }
    JobUsage usage = run_.gateway.Usage(gateway_job.job_id);
    report_.input_tokens = usage.input_tokens;
    report_.output_tokens = usage.output_tokens;
    report_.cached_input_tokens = usage.cached_input_tokens;
    report_.model = usage.model;
    report_.fallbacks = usage.fallbacks;
    report_.capacity_wait_seconds =
        std::chrono::duration<double>(run_.gateway.CapacityWait(gateway_job.job_id)).count();
    if (!verified && !machine_.end() && failure_ &&
        failure_->kind == FailureKind::kBudgetExhausted && usage.run_budget_refusals > 0) {
      // Stopped by the run's budget, not by its own: like the jobs the run no longer starts, it
      // is skipped, and `drover retry --status skipped` puts it back.
      Finish(JobStatus::kSkipped, failure_->reason);
    }
    (void)run_.gateway.CloseJob(gateway_job.job_id);
    // CloseJob waited for the job's requests: a slot granted to an agent that was gone by then
    // comes back here.
    if (run_.build_slots != nullptr) run_.build_slots->RevokeOwner(target_.name);
    return verified;
  }

  Result<agent::AgentOutcome> RunAttempt(const std::string& socket, int attempt,
                                         const std::string& feedback) {
    // "agent" once an agent slot is held: until then the job waits its turn.
    Step(JobStep::kWaiting);
    const auto& spec = run_.spec;
    std::filesystem::path dir = report_.job_dir / ("attempt-" + std::to_string(attempt));
    if (auto made = CreateDirectories(dir); !made) return Fail(made.error());
    agent::AgentTask task;
    task.migration_id = spec.id;
    task.title = spec.title;
    task.instructions = spec.instructions;
    task.repository = target_.name;
    task.workspace = worktree_->workspace;
    task.verifiers = verifiers_;
    task.limits = spec.limits;
    task.provider = run_.options.model.provider;
    task.model = run_.options.model.model;
    task.gateway_socket = socket;
    // Parses are shared by the attempts of this job only: the folder is writable in the
    // agent's sandbox, so no other job may read it.
    task.parse_cache_dir = CacheDir("agent") / "repomap";
    if (auto made = CreateDirectories(task.parse_cache_dir); !made) task.parse_cache_dir.clear();
    task.previous_attempt_feedback = feedback;
    task.attempt = attempt;
    task.judge_mode = judge_mode_;
    if (judge_mode_ == verifiers::JudgeMode::kNoNewFailures) task.baseline = baseline_;
    if (auto wrote = WriteFileAtomic(dir / "task.json", agent::ToJson(task).dump(2)); !wrote) {
      return Fail(wrote.error());
    }
    sandbox::ProcessSpec process;
    process.argv = {run_.options.drover_binary.string(), "agent",
                    "--task",       (dir / "task.json").string(),
                    "--transcript", (dir / "transcript.jsonl").string(),
                    "--result",     (dir / "result.json").string()};
    process.cwd = worktree_->workspace;
    // The agent gets no credential of any kind: only what BaseEnvironment allows.
    process.env = ChildEnv(CacheDir("agent"));
    process.timeout = std::chrono::seconds(spec.limits.max_wall_seconds + 30);
    // Time the job waits for capacity (build slots, the rate governor), as the gateway measures
    // it, moves the deadline, up to the wall-clock limit again: the agent excludes the same.
    const std::chrono::milliseconds waited_before = run_.gateway.CapacityWait(target_.name);
    const std::chrono::milliseconds most = std::chrono::seconds(spec.limits.max_wall_seconds);
    process.timeout_extension = [this, waited_before, most] {
      return std::clamp(run_.gateway.CapacityWait(target_.name) - waited_before,
                        std::chrono::milliseconds(0), most);
    };
    process.max_output_bytes = 64 * 1024;
    process.log_file = dir / "agent.log";
    std::unique_ptr<sandbox::ProcessRunner> isolated;
    if (run_.base_policy) {
      // The agent and every command it runs share one sandbox: the workspace, its attempt
      // directory, the job's agent caches (build caches and the parse cache) and its gateway
      // socket are all it can write to or reach.
      auto policy = Policy(CacheDir("agent"));
      policy.writable_paths.push_back(dir);
      policy.sockets = {socket};
      policy.read_only_paths.push_back(run_.options.drover_binary);
      isolated = sandbox::MakeIsolatedProcessRunner(policy, run_.options.drover_binary);
    }
    Result<sandbox::ProcessResult> ran;
    {
      // Only the agent holds an agent slot: preparing, checking and publishing happen beside
      // the agents, so that the model-bound slots are never idle while a job does CPU work.
      SlotPool::Scoped agent_slot(run_.agent_slots, target_.name);
      Step(JobStep::kAgent);
      ++run_.agents_running;
      ran = (isolated ? *isolated : run_.processes).Run(process);
      --run_.agents_running;
    }
    // The agent's commands lease build slots under the gateway job's id: whatever a dead or
    // careless agent still holds goes back now.
    if (run_.build_slots != nullptr) run_.build_slots->RevokeOwner(target_.name);
    if (!ran) return Fail(ErrorCode::kIo, "could not start the agent: " + ran.error().message);
    // The attempt directory was writable inside the sandbox: no links followed, no FIFOs.
    auto text = ReadRegularFile(dir / "result.json", 16 << 20);
    if (!text) {
      std::string how =
          ran->disk_limit_bytes != 0 ? ran->Describe() : "process ended (" + ran->Describe() + ")";
      return Fail(ErrorCode::kInternal,
                  "agent " + how + " without a result; see " + (dir / "agent.log").string());
    }
    auto json = ParseJson(*text, (dir / "result.json").string());
    if (!json) return Fail(json.error());
    return agent::AgentOutcomeFromJson(*json);
  }

  // The runner never trusts the agent: verifiers again in a fresh process, then the diff.
  bool FinalCheck(std::string& feedback) {
    Step(JobStep::kVerifying);
    // The check runs on exactly what is pushed: the workspace is committed, then replaced by a
    // fresh checkout of that commit (ignored and untracked files, nested repositories and
    // anything else the commit does not carry are gone); the diff and the push come from the
    // same commit.
    auto commit =
        run_.git.Commit(*worktree_, run_.spec.pr.branch, CommitMessage(), run_.spec.author);
    if (!commit) {
      report_.verifier = "not run (the change could not be committed)";
      feedback = "The runner could not commit your change: " + commit.error().message;
      FailWith(FailureKind::kDiffPolicy, "final check failed: " + commit.error().message);
      return false;
    }
    if (auto fresh = run_.git.CheckOut(*worktree_, *commit); !fresh) {
      report_.verifier = "not run (the commit could not be checked out)";
      FailWith(FailureKind::kInfrastructure, "final check: " + fresh.error().message);
      return false;
    }
    commit_ = *commit;
    if (!Setup("final-setup-")) return false;
    // Only verifiers that were flaky on the untouched tree get a second chance.
    SeedCache("final");
    auto report =
        RunJobVerifiers(&flaky_, "final-" + std::to_string(report_.attempts) + "-", "final");
    report_.verifier = report.Summary();
    (void)Save(report_.job_dir / "final-check.json", report.ToJson().dump(2) + "\n");
    final_ = report;
    Gate("final_check",
         {{"mode", verifiers::JudgeModeName(judge_mode_)},
          {"summary", report.Summary()},
          {"accepted", verifiers::Acceptable(judge_mode_, &baseline_, report)},
          {"new_failures", judge_mode_ == verifiers::JudgeMode::kNoNewFailures
                               ? Json(verifiers::NewFailures(baseline_, report))
                               : Json::array()}});
    if (!verifiers::Acceptable(judge_mode_, &baseline_, report)) {
      feedback = "The runner's own verifier run failed after your last attempt:\n" +
                 report.ForModel();
      std::string reason = report.Summary(false);
      if (judge_mode_ == verifiers::JudgeMode::kNoNewFailures) {
        auto fresh = verifiers::NewFailures(baseline_, report);
        reason = std::to_string(fresh.size()) + " new failure(s) against the red baseline" +
                 (fresh.empty() ? "" : ": " + fresh.front());
        feedback += "\nFailures the untouched tree did not have:\n";
        for (size_t i = 0; i < fresh.size() && i < 20; ++i) feedback += "- " + fresh[i] + "\n";
      }
      FailWith(FailureKind::kVerifierFailed, "final check failed: " + reason);
      return false;
    }
    auto diff = run_.git.Diff(*worktree_, commit_);
    if (!diff) {
      FailWith(FailureKind::kInfrastructure, "diff: " + diff.error().message);
      return false;
    }
    report_.files_changed = diff->files_changed;
    report_.lines_added = diff->lines_added;
    report_.lines_removed = diff->lines_removed;
    // A change carrying one of the run's credentials never leaves the machine; the reason
    // names the file, never the value.
    if (auto file = FileWithCredential(diff->patch, run_.redactor)) {
      feedback = "The previous change wrote a credential of this run into " + *file +
                 "; a change must never contain one.";
      FailWith(FailureKind::kDiffPolicy,
               "the change contains a credential of this run in " + *file + "; not published");
      return false;
    }
    if (diff->empty()) {
      feedback = "The previous attempt finished without changing any file.";
      FailWith(FailureKind::kDiffPolicy, "final check failed: the agent changed nothing");
      return false;
    }
    // The diff policy: paths, size, no deleted or newly skipped tests, patterns that must be
    // gone (from the whole tree) or must appear.
    auto parsed = verifiers::ParseDiff(diff->patch);
    if (!parsed) {
      FailWith(FailureKind::kInfrastructure, "diff: " + parsed.error().message);
      return false;
    }
    // The verifier commands (the spec's and the repository's) say which recipes, scripts and
    // modules define verification.
    verifiers::DiffRules rules = run_.spec.policy;
    for (const auto& verifier : verifiers_) rules.verifier_commands.push_back(verifier.command);
    auto verdict = verifiers::CheckDiff(*parsed, rules);
    if (auto checked = verifiers::CheckRemaining(worktree_->workspace, *parsed, rules, verdict);
        !checked) {
      FailWith(FailureKind::kInfrastructure, "diff policy: " + checked.error().message);
      return false;
    }
    Gate("diff_policy", {{"accepted", verdict.ok()},
                         {"violations", verdict.violations},
                         {"notes", verdict.notes},
                         {"verification_changes", verdict.verification_changes},
                         {"weakened_tests", verdict.weakened_tests},
                         {"files_changed", diff->files_changed},
                         {"lines_changed", diff->lines_added + diff->lines_removed}});
    if (!verdict.ok()) {
      feedback = "The previous change broke this migration's diff policy:\n" + verdict.Bullets();
      FailWith(FailureKind::kDiffPolicy,
               "diff policy: " + verdict.violations.front() +
                   (verdict.violations.size() > 1
                        ? " (and " + std::to_string(verdict.violations.size() - 1) + " more)"
                        : ""));
      return false;
    }
    // Green is not enough: the tests the untouched tree ran must have run again. A shadowed
    // test runner or a `test:` target turned into `true` exits 0 having run nothing. Checked
    // after the diff policy, whose reasons (a deleted test) are more precise.
    const auto& policy = run_.spec.policy;
    if (auto missing = verifiers::MissingTestRuns(
            verifiers_, baseline_, report,
            policy.allow_deleted_tests || policy.allow_skipped_tests);
        !missing.empty()) {
      feedback = "The runner's own verifier run did not run the tests the untouched tree ran:\n";
      for (const auto& line : missing) feedback += "- " + line + "\n";
      Gate("test_evidence", {{"accepted", false}, {"missing", missing}});
      FailWith(FailureKind::kVerifierFailed,
               "final check failed: the tests the baseline ran did not run (" + missing.front() +
                   ")");
      return false;
    }
    gate_notes_.push_back(PolicyNote(*diff));
    for (const auto& note : verdict.notes) gate_notes_.push_back(note);
    report_.verification_changes = verdict.verification_changes;
    report_.weakened_tests = verdict.weakened_tests;
    patch_ = diff->patch;
    Step(JobStep::kVerified);
    return true;
  }

  std::string CommitMessage() const {
    const auto& spec = run_.spec;
    return spec.pr.title + "\n\n" +
           (summary_.empty() ? spec.title : InertCommitText(summary_, kMaxSummaryBytes)) +
           "\n\nMigration: " + spec.id + "\n";
  }

  std::string PrBody() const {
    const auto& spec = run_.spec;
    std::string body;
    body += "This change was made by drover for the migration **" + spec.title + "** (`" +
            spec.id + "`).\n\n";
    // The agent's words are quoted as inert text: a hostile repository can steer them, and a
    // forge acts on mentions, closing keywords, HTML and images in a body.
    body += "## What the agent says it did\n\n" +
            (summary_.empty() ? std::string("(no summary)\n")
                              : InertMarkdownQuote(summary_, kMaxSummaryBytes)) +
            "\n";
    body += VerificationSection();
    // What the policy let through but a reviewer must judge: the change alters how its own
    // verification runs, or leaves the tests weaker. Sentences name files of the change.
    if (!report_.verification_changes.empty() || !report_.weakened_tests.empty()) {
      body +=
          "## Changes to how this change is verified\n\n"
          "The checks above passed, but the change also edits what decides them. Review "
          "these before trusting the result:\n\n";
      for (const auto& line : report_.verification_changes) {
        body += "- " + InertMarkdownInline(line) + "\n";
      }
      for (const auto& line : report_.weakened_tests) {
        body += "- weakened tests: " + InertMarkdownInline(line) + "\n";
      }
      body += "\n";
    }
    body += "## Size and cost\n\n";
    body += "- " + std::to_string(report_.files_changed) + " files changed, +" +
            std::to_string(report_.lines_added) + " −" + std::to_string(report_.lines_removed) +
            " lines\n";
    body += "- " + std::to_string(report_.attempts) + " attempt(s), " +
            std::to_string(report_.turns) + " model turns, " +
            std::to_string(report_.input_tokens) + " input and " +
            std::to_string(report_.output_tokens) + " output tokens\n";
    body += "- model: " + run_.options.model.Describe() + "\n\n";
    body += "## The migration's instructions\n\n" + spec.instructions + "\n";
    return body;
  }

  void Publish() {
    Step(JobStep::kPublishing);
    const auto& spec = run_.spec;
    // The commit the final check ran on (FinalCheck made it): what is pushed and reviewed.
    const std::string* commit = &commit_;
    PullRequestDraft draft;
    draft.repository = target_.name;
    draft.target_location = target_.location;
    draft.target_is_local = target_.is_local;
    draft.base_branch = mirror_.default_branch;
    draft.head_branch = spec.pr.branch;
    draft.title = spec.pr.title;
    draft.body = PrBody();
    draft.patch = patch_;
    draft.labels = spec.pr.labels;
    draft.draft = spec.pr.draft;
    draft.codeowners = codeowners_;
    draft.output_dir = report_.job_dir;
    // Claimed before the forge is asked: a run killed between opening the PR and recording
    // it finds the claim, and the forge's own look-up by head branch (OpenOrUpdate) then
    // updates that PR instead of opening a second.
    if (run_.store != nullptr) {
      auto claim = run_.store->ClaimPublication(job_id_, draft.head_branch);
      if (claim && claim->outcome != PublicationClaim::Outcome::kClaimed) {
        spdlog::info("{}: publishing again after an interruption (forge look-up by {})",
                     target_.name, draft.head_branch);
      }
    }
    // GitHub and GitLab need the branch there first: pushed from here, with the runner's token.
    // With forge.push_to: fork, "there" is the fork (made first when missing), never the
    // target: the target's CI secrets are not exposed to the pushed code.
    if (run_.forge_setup->kind != ForgeKind::kLocal) {
      auto location =
          WithInfrastructureRetries(target_.name, [&] { return run_.forge.PushLocation(draft); });
      if (!location) {
        FailWith(FailureKind::kInfrastructure, "publish: " + location.error().message);
        return;
      }
      auto pushed = WithInfrastructureRetries(target_.name, [&] {
        return run_.git.Push(*worktree_, *location, draft.head_branch);
      });
      if (!pushed) {
        FailWith(FailureKind::kInfrastructure, "publish: " + pushed.error().message);
        return;
      }
    }
    auto pr = WithInfrastructureRetries(target_.name,
                                        [&] { return run_.forge.OpenOrUpdate(draft, *worktree_); });
    if (!pr) {
      FailWith(FailureKind::kInfrastructure, "publish: " + pr.error().message);
      return;
    }
    if (run_.store != nullptr) RecordPullRequest(draft, *pr, *commit);
    report_.pr_url = pr->url;
    Step(JobStep::kPublished);
    Finish(JobStatus::kPublished, "");
  }

  // The publication and the PR's first state (open), which `drover track` refreshes.
  void RecordPullRequest(const PullRequestDraft& draft, const PullRequest& pr,
                         const std::string& commit) {
    int64_t number = PullRequestNumber(pr.id);
    (void)run_.store->RecordPublication(job_id_, pr.url, number);
    PullRequestRecord record;
    record.job_id = job_id_;
    record.forge = std::string(ForgeKindName(run_.forge_setup->kind));
    record.api_url = run_.forge_setup->api_url;
    record.token_env = run_.forge_setup->token_env;
    record.location = target_.location;
    record.base_branch = draft.base_branch;
    record.head_branch = draft.head_branch;
    record.head_commit = commit;
    record.url = pr.url;
    record.number = number;
    record.updated_at = run_.clock.Now();
    if (auto recorded = run_.store->RecordPullRequest(record); !recorded) {
      spdlog::error("{}: state store: {}", target_.name, recorded.error().message);
    }
  }

  // What failed and why, as the failure site said.
  struct Failure {
    FailureKind kind;
    std::string reason;
  };

  RunContext& run_;
  const Target& target_;
  size_t index_;
  int64_t job_id_;
  JobMachine machine_;
  std::optional<Failure> failure_;  // The last failure recorded (FailWith).
  JobReport report_;
  Mirror mirror_;
  // The optional judge on the verified change, through the job's gateway socket (its tokens
  // count against the job). A reply that cannot be read does not block: the PR says so.
  bool Judge(const std::string& socket, int attempt, std::string& feedback) {
    Step(JobStep::kJudging);
    auto http = MakeCurlHttpClient();
    agent::HttpModelClientOptions options;
    options.provider = run_.options.model.provider;
    options.model = run_.options.model.model;
    options.base_url = options.provider == agent::Provider::kAnthropic ? "http://gateway"
                                                                       : "http://gateway/v1";
    options.unix_socket = socket;
    options.timeout = std::chrono::minutes(5);
    agent::HttpModelClient client(options, *http);
    JudgeInput input;
    input.title = run_.spec.title;
    input.instructions = run_.spec.instructions;
    input.repository = target_.name;
    input.summary = summary_;
    input.diff = patch_;
    input.model = run_.options.model.model;
    auto verdict = RunJudge(client, input);
    auto file = report_.job_dir / ("judge-" + std::to_string(attempt) + ".json");
    Gate("judge", verdict ? verdict->ToJson() : Json{{"error", verdict.error().ToString()}});
    if (!verdict) {
      (void)Save(file, Json{{"error", verdict.error().ToString()}}.dump(2) + "\n");
      gate_notes_.push_back("judge: not judged (" + verdict.error().message + ")");
      return true;
    }
    (void)Save(file, verdict->ToJson().dump(2) + "\n");
    std::string reasons;
    for (const auto& reason : verdict->reasons) reasons += (reasons.empty() ? "" : "; ") + reason;
    if (verdict->approved) {
      gate_notes_.push_back("judge: approved" + (reasons.empty() ? "" : " (" + reasons + ")"));
      return true;
    }
    gate_notes_.push_back("judge: vetoed attempt " + std::to_string(attempt) + " (" + reasons +
                          ")");
    feedback = "A reviewer vetoed your previous change. Its reasons:\n";
    for (const auto& reason : verdict->reasons) feedback += "- " + reason + "\n";
    feedback += "Do what the migration asks, and only that.";
    FailWith(FailureKind::kJudgeVeto, "judge vetoed the change: " + reasons);
    return false;
  }

  // The gate's record: one JSON line per decision in the job's gate.jsonl (beside the agent's
  // transcripts, in a directory only the runner writes).
  void Gate(std::string_view decision, Json details) {
    details["decision"] = std::string(decision);
    details["attempt"] = report_.attempts;
    (void)AppendFile(report_.job_dir / "gate.jsonl", run_.redactor.Redact(details.dump() + "\n"));
  }

  // One line for the PR body: which diff rules this change was checked against.
  std::string PolicyNote(const DiffSummary& diff) const {
    const auto& policy = run_.spec.policy;
    std::string note = "diff policy: passed (" + std::to_string(diff.files_changed) + " of at most " +
                       std::to_string(policy.max_files_changed) + " files, " +
                       std::to_string(diff.lines_added + diff.lines_removed) + " of at most " +
                       std::to_string(policy.max_lines_changed) + " lines";
    if (!policy.allow_deleted_tests) note += "; no test deleted";
    if (!policy.allow_skipped_tests) note += "; no test newly skipped";
    if (!policy.allowed_paths.empty()) note += "; only allowed paths";
    for (const auto& pattern : policy.must_be_gone) note += "; `" + pattern + "` gone";
    for (const auto& pattern : policy.must_appear) note += "; `" + pattern + "` present";
    return note + ")";
  }

  // The gate's decisions, for reviewers: the mode, the baseline, each verifier before and
  // after (checked by the runner on the final tree, independently of the agent).
  std::string VerificationSection() const {
    std::string body = "## Verification\n\n";
    if (judge_mode_ == verifiers::JudgeMode::kNoNewFailures) {
      body += "Mode: **no new failures**. This repository's checks already failed before the "
              "change; the change was accepted because it adds no failure the untouched tree "
              "did not have.\n\n";
    } else {
      body += "Mode: **all green**. Every check passes on the final tree.\n\n";
    }
    body += "Checked by the runner in a fresh " +
            std::string(run_.isolation.starts_with("none") ? "process" : "sandbox") +
            " on the final tree, independently of the agent" +
            (baseline_cached_ ? "; the baseline was reused for this commit" : "") + ".\n\n";
    body += "| check | command | before | after |\n|---|---|---|---|\n";
    auto cell = [](const verifiers::VerifierResult* r) -> std::string {
      if (r == nullptr) return "-";
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1fs",
                    static_cast<double>(r->duration.count()) / 1000.0);
      std::string verdict = r->flaky ? "passed, flaky" : r->passed ? "passed" : "FAILED";
      std::string tests = r->evidence ? ", " + verifiers::DescribeEvidence(r->evidence) : "";
      return verdict + " (" + seconds + tests + ")";
    };
    for (const auto& spec : verifiers_) {
      auto find = [&](const verifiers::VerifierReport& report) -> const verifiers::VerifierResult* {
        for (const auto& r : report.results) {
          if (r.name == spec.name) return &r;
        }
        return nullptr;
      };
      // Names and commands may come from the repository's .drover.yml.
      body += "| " + InertMarkdownInline(spec.name) + " | " + MarkdownCodeSpan(spec.command) +
              " | " + cell(find(baseline_)) + " | " + cell(find(final_)) + " |\n";
    }
    body += "\n";
    // How detection chose each check (from the repository's CI configuration or files: its
    // text is the repository's), and detected test checks that ran no tests.
    for (const auto& line : detection_lines_) body += "- " + InertMarkdownInline(line) + "\n";
    for (const auto& line : detection_notes_) body += "- " + InertMarkdownInline(line) + "\n";
    if (!detection_lines_.empty() || !detection_notes_.empty()) body += "\n";
    // Notes name files of the change and carry the judge model's reasons.
    for (const auto& line : gate_notes_) body += "- " + InertMarkdownInline(line) + "\n";
    if (!gate_notes_.empty()) body += "\n";
    return body;
  }

  std::optional<MirrorUse> mirror_use_;
  std::optional<Worktree> worktree_;
  std::optional<std::string> codeowners_;  // Of the untouched tree.
  std::vector<verifiers::VerifierSpec> verifiers_;
  std::string summary_;
  std::string patch_;
  verifiers::JudgeMode judge_mode_ = verifiers::JudgeMode::kAllGreen;
  verifiers::VerifierReport baseline_;
  verifiers::VerifierReport final_;
  std::string commit_;  // The commit FinalCheck verified; Publish pushes it.
  bool baseline_cached_ = false;
  std::set<std::string> flaky_;
  std::vector<std::string> gate_notes_;  // Diff policy and judge decisions, one line each.
  std::vector<std::string> setup_commands_;  // The dependency set-up; empty: none.
  std::vector<std::string> setup_hosts_;     // Where the set-up may connect.
  std::string setup_why_;
  std::filesystem::path deps_dir_;  // What the set-up installed; empty without a set-up.
  std::set<std::string> detected_tests_;      // Names of the checks detection chose as tests.
  std::vector<std::string> detection_lines_;  // How detection chose each check, for the PR.
  std::vector<std::string> detection_notes_;  // Detected test checks that ran no tests.
};

// What the canary wave decided. Kept in run_dir/rollout.json, so that a run resumed after a
// kill keeps the decision instead of judging a wave again.
struct WaveDecision {
  bool proceed = false;
  std::string why;  // The figures, and what to do when the run paused.
};

// published / judged over the canary wave, skipped and not-applicable jobs left out.
WaveDecision JudgeCanary(const RolloutSettings& rollout, const std::vector<JobReport>& jobs,
                         size_t canary) {
  int published = 0;
  int judged = 0;
  for (size_t i = 0; i < canary; ++i) {
    switch (jobs[i].status) {
      case JobStatus::kPublished:
        ++published;
        ++judged;
        break;
      case JobStatus::kFailed:
        ++judged;
        break;
      case JobStatus::kSkipped:
      case JobStatus::kNotApplicable: break;
    }
  }
  double rate = judged == 0 ? 0.0 : static_cast<double>(published) / judged;
  // A wave with nothing judged proves nothing: it passes only a bar of 0.
  bool proceed = judged > 0 ? rate + 1e-9 >= rollout.min_success : rollout.min_success <= 0;
  char text[256];
  std::snprintf(text, sizeof text,
                "canary wave: %d of %d judged job(s) published (%.0f%%; %zu in the wave, skipped "
                "and not applicable left out), bar %.0f%%",
                published, judged, rate * 100, canary, rollout.min_success * 100);
  return {proceed, text};
}

// Runs the jobs of one run, up to max_in_flight (default agents + builds) at once, the canary
// wave first when the spec has one, and tells the observer how the run goes.
class Scheduler {
 public:
  Scheduler(RunContext& run, RunReport& report, const std::vector<Target>& targets,
            const std::vector<int64_t>& job_ids, const std::vector<bool>& finished)
      : run_(run),
        report_(report),
        targets_(targets),
        job_ids_(job_ids),
        finished_(finished),
        started_(run.clock.MonotonicNow()) {
    progress_.targets = targets.size();
    progress_.agent_slots = std::max(1, run.options.agents);
    progress_.build_slots = run.build_slots->capacity();
  }

  void Run() {
    std::thread ticker([this] { Tick(); });
    size_t canary = static_cast<size_t>(run_.spec.rollout.canary);
    if (canary == 0 || canary >= targets_.size()) {
      RunWave(0, targets_.size());
    } else {
      RunWave(0, canary);
      if (Proceed(canary)) RunWave(canary, targets_.size());
    }
    BoundMirrorCache(true);
    {
      std::lock_guard lock(ticker_mutex_);
      stopping_ = true;
    }
    ticker_cv_.notify_all();
    ticker.join();
  }

 private:
  // After the canary wave: whether the rest may start. When not, the run pauses (the store's
  // control, as `drover pause` sets it) and the rest is reported as not started.
  bool Proceed(size_t canary) {
    const std::string& run_id = report_.run_id;
    auto control = run_.store->GetRunControl(run_id);
    if (control && *control == RunControl::kCancelled) return true;  // The rest is skipped.
    auto file = report_.run_dir / "rollout.json";
    std::optional<WaveDecision> decision;
    if (auto text = ReadFile(file); text) {
      auto json = ParseJson(*text, file.string());
      if (json && json->is_object()) {
        decision = WaveDecision{json->value("proceed", false), json->value("why", "")};
      }
    }
    if (!decision) {
      decision = JudgeCanary(run_.spec.rollout, report_.jobs, canary);
      spdlog::info("{}", decision->why);
      if (!decision->proceed) (void)run_.store->SetRunControl(run_id, RunControl::kPaused);
    } else if (!decision->proceed && control && *control == RunControl::kRunning) {
      // Paused by an earlier run, and `drover resume` since: the operator let it go on.
      decision->proceed = true;
      decision->why += "; resumed by the operator";
      spdlog::info("{}", decision->why);
    }
    (void)WriteFileAtomic(file, Json{{"proceed", decision->proceed}, {"why", decision->why}}
                                    .dump(2) + "\n");
    if (decision->proceed) return true;
    std::string why = decision->why + "; the run is paused: see the canary's results, then `drover "
                      "resume " + run_id + "` and run again with --run-id " + run_id +
                      " to continue";
    spdlog::warn("{}", why);
    report_.paused = why;
    for (size_t i = canary; i < targets_.size(); ++i) {
      if (finished_[i]) continue;
      JobReport& job = report_.jobs[i];
      job.repository = targets_[i].name;
      job.location = targets_[i].location;
      job.status = JobStatus::kSkipped;
      job.reason = "not started: the canary wave is below its bar";
    }
    run_.observer.OnRunPaused(why);
    return false;
  }

  void RunWave(size_t begin, size_t end) {
    std::atomic<size_t> next{begin};
    auto worker = [&] {
      for (size_t i = next++; i < end; i = next++) RunOne(i);
    };
    std::vector<std::thread> workers;
    int in_flight = run_.options.max_in_flight;
    if (in_flight <= 0) in_flight = 2 * progress_.agent_slots + progress_.build_slots;
    size_t lanes = static_cast<size_t>(in_flight);
    size_t count = std::min<size_t>(lanes, end - begin);
    for (size_t i = 0; i < count; ++i) workers.emplace_back(worker);
    for (auto& w : workers) w.join();
  }

  // Why no further job may start: the run's token or cost budget is spent; "" otherwise.
  std::string BudgetSpent() const {
    const RunOptions& options = run_.options;
    if (options.max_run_tokens <= 0 && options.max_run_cost_usd <= 0) return "";
    // A request the gateway refused for the run's budget: what is left does not fit a prompt.
    if (auto refused = run_.gateway.RunBudgetRefusal()) return *refused;
    JobUsage spent = run_.gateway.TotalUsage();
    int64_t used = spent.input_tokens + spent.output_tokens;
    if (options.max_run_tokens > 0 && used >= options.max_run_tokens) {
      return "the run's token budget is spent (" + std::to_string(used) + " of " +
             std::to_string(options.max_run_tokens) + " tokens)";
    }
    double cost = Cost(options.cost_price, spent.input_tokens, spent.cached_input_tokens,
                       spent.output_tokens);
    if (options.max_run_cost_usd > 0 && cost >= options.max_run_cost_usd) {
      char text[96];
      std::snprintf(text, sizeof text, "the run's cost budget is spent ($%.2f of $%.2f)", cost,
                    options.max_run_cost_usd);
      return text;
    }
    return "";
  }

  void RunOne(size_t i) {
    StateStore& store = *run_.store;
    if (finished_[i]) {
      Count(report_.jobs[i], false);
      run_.observer.OnJobFinished(report_.jobs[i]);
      return;
    }
    // pause and cancel come from another process through the store.
    auto control = store.GetRunControl(report_.run_id);
    while (control && *control == RunControl::kPaused) {
      run_.clock.SleepFor(std::chrono::seconds(1));
      control = store.GetRunControl(report_.run_id);
    }
    if (std::string spent = BudgetSpent(); !spent.empty()) {
      std::lock_guard lock(mutex_);
      JobReport& skipped = report_.jobs[i];
      skipped.repository = targets_[i].name;
      skipped.location = targets_[i].location;
      skipped.status = JobStatus::kSkipped;
      skipped.reason = spent;
      (void)store.AdvanceJob(job_ids_[i], JobStepName(JobStep::kNotStarted), JobState::kSkipped,
                             skipped.reason, skipped.ToJson().dump(), run_.clock.Now());
      return;
    }
    if (control && *control == RunControl::kCancelled) {
      std::lock_guard lock(mutex_);
      report_.jobs[i].repository = targets_[i].name;
      report_.jobs[i].location = targets_[i].location;
      report_.jobs[i].status = JobStatus::kSkipped;
      report_.jobs[i].reason = "the run was cancelled before this repository started";
      return;
    }
    ++jobs_in_flight_;
    JobReport job = Job(run_, targets_[i], i, job_ids_[i]).Run();
    --jobs_in_flight_;
    BoundMirrorCache(false);
    Count(job, true);
    run_.observer.OnJobFinished(job);
    std::lock_guard lock(mutex_);
    report_.jobs[i] = std::move(job);
  }

  // At most every ten seconds unless `now`, on the thread of a job that just finished.
  void BoundMirrorCache(bool now) {
    uint64_t limit = run_.options.mirror_cache_bytes;
    if (limit == 0 || run_.options.keep_workspaces) return;
    {
      std::lock_guard lock(mutex_);
      if (!now && Since(last_eviction_) < 10) return;
      last_eviction_ = run_.clock.MonotonicNow();
    }
    auto freed = run_.git.EvictMirrors(limit, [this] {
      std::lock_guard lock(run_.mirrors_mutex);
      return std::set<std::string>(run_.mirrors_in_use.begin(), run_.mirrors_in_use.end());
    });
    if (!freed) {
      spdlog::warn("mirror cache: {}", freed.error().message);
    } else if (*freed > 0) {
      spdlog::info("mirror cache: removed {} MiB of least recently used mirrors", *freed >> 20);
    }
  }

  void Count(const JobReport& job, bool ran_here) {
    std::lock_guard lock(mutex_);
    progress_.finished[job.status]++;
    if (!ran_here) return;
    progress_.job_seconds += job.seconds;
    progress_.jobs_timed++;
  }

  void Tick() {
    std::unique_lock lock(ticker_mutex_);
    auto stop = [this] { return stopping_; };
    while (!ticker_cv_.wait_for(lock, std::chrono::milliseconds(250), stop)) {
      RunProgress now;
      {
        std::lock_guard progress_lock(mutex_);
        now = progress_;
      }
      now.jobs_in_flight = jobs_in_flight_;
      now.agents_in_flight = run_.agents_running;
      now.builds_in_flight = run_.build_slots->in_use();
      JobUsage usage = run_.gateway.TotalUsage();
      now.tokens = usage.input_tokens + usage.output_tokens;
      now.elapsed_seconds = Since(started_);
      run_.observer.OnProgress(now);
    }
  }

  double Since(SteadyClock::time_point start) const {
    return std::chrono::duration<double>(run_.clock.MonotonicNow() - start).count();
  }

  RunContext& run_;
  RunReport& report_;
  const std::vector<Target>& targets_;
  const std::vector<int64_t>& job_ids_;
  const std::vector<bool>& finished_;
  SteadyClock::time_point started_;
  std::mutex mutex_;  // Guards report_.jobs, progress_ and last_eviction_.
  SteadyClock::time_point last_eviction_{};
  RunProgress progress_;
  std::atomic<int> jobs_in_flight_{0};
  std::mutex ticker_mutex_;
  std::condition_variable ticker_cv_;
  bool stopping_ = false;  // Guarded by ticker_mutex_.
};

}  // namespace

Json JobReport::ToJson() const {
  return Json{{"repository", repository},
              {"location", location},
              {"status", JobStatusName(status)},
              {"step", step ? JobStepName(*step) : ""},
              {"reason", reason},
              {"failure_kind", failure_kind ? FailureKindName(*failure_kind) : ""},
              {"attempts", attempts},
              {"turns", turns},
              {"input_tokens", input_tokens},
              {"output_tokens", output_tokens},
              {"cached_input_tokens", cached_input_tokens},
              {"model", model},
              {"fallbacks", fallbacks},
              {"capacity_wait_seconds", capacity_wait_seconds},
              {"baseline", baseline},
              {"verifier", verifier},
              {"checks", checks},
              {"pr", pr_url},
              {"branch", branch},
              {"files_changed", files_changed},
              {"lines_added", lines_added},
              {"lines_removed", lines_removed},
              {"seconds", seconds},
              {"job_dir", job_dir.string()},
              {"isolation", isolation},
              {"verification_changes", verification_changes},
              {"weakened_tests", weakened_tests}};
}

Result<JobReport> ParseJobReport(const Json& json) {
  if (!json.is_object()) return Fail(ErrorCode::kParse, "job report: expected a JSON object");
  JobReport job;
  auto status = JobStatusFromName(json.value("status", ""));
  if (!status) return Fail(WithContext(status.error(), "job report"));
  job.status = *status;
  if (std::string step = json.value("step", ""); !step.empty()) {
    auto known = JobStepFromName(step);
    if (!known) return Fail(WithContext(known.error(), "job report"));
    job.step = *known;
  }
  if (std::string kind = json.value("failure_kind", ""); !kind.empty()) {
    auto known = FailureKindFromName(kind);
    if (!known) return Fail(WithContext(known.error(), "job report"));
    job.failure_kind = *known;
  }
  job.repository = json.value("repository", "");
  job.location = json.value("location", "");
  job.reason = json.value("reason", "");
  job.attempts = json.value("attempts", 0);
  job.turns = json.value("turns", 0);
  job.input_tokens = json.value("input_tokens", int64_t{0});
  job.output_tokens = json.value("output_tokens", int64_t{0});
  job.cached_input_tokens = json.value("cached_input_tokens", int64_t{0});
  job.model = json.value("model", "");
  job.fallbacks = json.value("fallbacks", 0);
  job.capacity_wait_seconds = json.value("capacity_wait_seconds", 0.0);
  job.baseline = json.value("baseline", "");
  job.verifier = json.value("verifier", "");
  job.checks = json.value("checks", "");
  job.pr_url = json.value("pr", "");
  job.branch = json.value("branch", "");
  job.files_changed = json.value("files_changed", 0);
  job.lines_added = json.value("lines_added", 0);
  job.lines_removed = json.value("lines_removed", 0);
  job.seconds = json.value("seconds", 0.0);
  job.job_dir = json.value("job_dir", "");
  job.isolation = json.value("isolation", "");
  for (auto [key, target] : {std::pair{"verification_changes", &job.verification_changes},
                             std::pair{"weakened_tests", &job.weakened_tests}}) {
    const auto it = json.find(key);
    if (it == json.end() || !it->is_array()) continue;
    for (const Json& line : *it) {
      if (line.is_string()) target->push_back(line.get<std::string>());
    }
  }
  return job;
}

std::optional<JobReport> JobReportFromJson(const Json& json) {
  auto job = ParseJobReport(json);
  if (!job) return std::nullopt;
  return *job;
}

int RunReport::CountWith(JobStatus status) const {
  int n = 0;
  for (const auto& job : jobs) n += job.status == status ? 1 : 0;
  return n;
}

Json RunReport::ToJson() const {
  Json list = Json::array();
  for (const auto& job : jobs) list.push_back(job.ToJson());
  return Json{{"run_id", run_id},
              {"run_dir", run_dir.string()},
              {"migration", migration_id},
              {"model", model},
              {"replayed", replayed},
              {"isolation", isolation},
              {"resumed_jobs", resumed_jobs},
              {"paused", paused},
              {"seconds", seconds},
              {"counts",
               {{"published", CountWith(JobStatus::kPublished)},
                {"failed", CountWith(JobStatus::kFailed)},
                {"skipped", CountWith(JobStatus::kSkipped)},
                {"not_applicable", CountWith(JobStatus::kNotApplicable)}}},
              {"jobs", list}};
}

std::string ModelSetting::Describe() const {
  if (replay_dir) return "replay:" + replay_dir->string() + " (recorded model exchanges)";
  std::string out;
  for (const auto& upstream : upstreams) {
    if (!out.empty()) out += ",";
    out += std::string(agent::ProviderName(upstream.provider)) + ":" + upstream.model;
  }
  return out.empty() ? std::string(agent::ProviderName(provider)) + ":" + model : out;
}

namespace {

// One "PROVIDER:MODEL" entry of DROVER_MODEL, with its key and base URL from `env`.
Result<UpstreamConfig> ParseUpstream(std::string_view entry,
                                     const std::map<std::string, std::string>& env) {
  size_t colon = entry.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == entry.size()) {
    return Fail(ErrorCode::kInvalidArgument,
                "DROVER_MODEL entry '" + std::string(entry) +
                    "' must be openai:MODEL, openai-responses:MODEL, anthropic:MODEL or "
                    "replay:DIR");
  }
  auto provider = agent::ParseProvider(entry.substr(0, colon));
  if (!provider) return Fail(WithContext(provider.error(), "DROVER_MODEL"));
  auto get = [&](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  UpstreamConfig upstream;
  upstream.provider = *provider;
  upstream.model = std::string(entry.substr(colon + 1));
  const std::string prefix(agent::TraitsOf(*provider).env_prefix);
  upstream.api_key = ReadCredential(env, prefix + "_API_KEY");
  upstream.base_url = get(prefix + "_BASE_URL");
  if (upstream.base_url.empty()) upstream.base_url = agent::DefaultBaseUrl(*provider);
  // Local OpenAI-compatible servers (llama.cpp, Ollama, vLLM) often need no key.
  if (upstream.api_key.empty() && get(prefix + "_BASE_URL").empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                prefix + "_API_KEY is not set (needed for " + std::string(entry) + ")");
  }
  return upstream;
}

}  // namespace

Result<ModelSetting> ParseModelSetting(std::string_view text,
                                       const std::map<std::string, std::string>& env) {
  ModelSetting setting;
  if (text.starts_with("replay:") && text.size() > 7) {
    setting.model = "replay";
    setting.replay_dir = std::filesystem::absolute(text.substr(7));
    if (!std::filesystem::is_directory(*setting.replay_dir)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "DROVER_MODEL: replay folder " + setting.replay_dir->string() + " does not exist");
    }
    return setting;
  }
  for (std::string_view rest = text; !rest.empty() || setting.upstreams.empty();) {
    size_t comma = rest.find(',');
    std::string_view entry = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (entry.starts_with("replay:")) {
      return Fail(ErrorCode::kInvalidArgument,
                  "DROVER_MODEL: replay:DIR cannot be combined with other models");
    }
    auto upstream = ParseUpstream(entry, env);
    if (!upstream) return Fail(upstream.error());
    setting.upstreams.push_back(*std::move(upstream));
  }
  setting.provider = setting.upstreams.front().provider;
  setting.model = setting.upstreams.front().model;
  return setting;
}

// Socket directories of runs that were killed (SIGKILL leaves them behind): the pid in their
// name no longer runs.
void SweepDeadSocketDirs() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("drover-gw-")) continue;
    size_t dash = name.find('-', 10);
    if (dash == std::string::npos) continue;
    pid_t owner = static_cast<pid_t>(std::atoi(name.substr(10, dash - 10).c_str()));
    if (owner <= 0 || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    (void)RemoveAll(entry.path());
  }
}

struct PreparedSandbox {
  sandbox::SandboxPolicy policy;
  std::map<std::string, std::string> toolchain_env;
  std::string isolation;
};

// Probes the sandbox (refusing to go on without one), finds the toolchains to show and the
// host files and credentials to hide in them, and starts the egress proxy when the spec allows
// hosts. The probe writes where the sockets (`scratch`) and the jobs (`run_dir`) will be.
Result<PreparedSandbox> PrepareSandbox(const RunOptions& options, const MigrationSpec& spec,
                                       const std::filesystem::path& scratch,
                                       const std::filesystem::path& run_dir,
                                       std::unique_ptr<sandbox::EgressProxy>& proxy) {
  std::string probe_dir = (run_dir / "sandbox-probe-XXXXXX").string();
  if (::mkdtemp(probe_dir.data()) == nullptr) {
    return Fail(ErrorCode::kIo, "creating " + probe_dir + " failed");
  }
  auto probe = sandbox::ProbeSandbox(options.drover_binary, scratch, {probe_dir});
  (void)RemoveAll(probe_dir);
  if (probe.level.starts_with("none")) {
    return Fail(ErrorCode::kPermissionDenied,
                "the sandbox does not work on this machine (" + probe.error +
                    "); drover will not run agents on untrusted repositories without it. "
                    "Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
                    "or user.max_user_namespaces > 0), or pass --sandbox=none to run them as "
                    "plain processes on repositories you trust");
  }
  PreparedSandbox prepared;
  prepared.isolation = probe.level;
  auto toolchains = sandbox::FindToolchains(options.parent_env);
  prepared.toolchain_env = toolchains.env;
  auto& policy = prepared.policy;
  policy.read_only_paths = toolchains.read_only_paths;
  for (const auto& path : spec.sandbox.read_only_paths) policy.read_only_paths.push_back(path);
  // Scanned once for the run here; every sandbox of the run lays empty files over these.
  auto scan_started = SteadyClock::now();
  policy.hidden_paths = sandbox::HiddenPaths(policy.read_only_paths);
  spdlog::info(
      "sandbox: {} host paths hidden (scan: {} ms)", policy.hidden_paths.size(),
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - scan_started)
          .count());
  policy.memory_bytes = static_cast<uint64_t>(spec.sandbox.memory_mb) << 20;
  policy.max_processes = static_cast<uint64_t>(spec.sandbox.max_processes);
  policy.disk_bytes = static_cast<uint64_t>(spec.sandbox.disk_mb) << 20;
  if (!spec.sandbox.allow_hosts.empty()) {
    sandbox::EgressProxyOptions proxy_options;
    proxy_options.socket_path = scratch / "egress.sock";
    proxy_options.allowed_hosts = spec.sandbox.allow_hosts;
    proxy_options.log = [](const std::string& line) { spdlog::info("egress: {}", line); };
    auto started = sandbox::EgressProxy::Start(proxy_options);
    if (!started) return Fail(started.error());
    proxy = std::move(*started);
    policy.proxy_socket = proxy->socket_path();
  }
  return prepared;
}

// Held while a process works on a run (runs/RUN/run.lock, flock'd): released by the kernel
// however the process ends, so a lock that is held names a run that is live.
class RunLock {
 public:
  RunLock() = default;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock() { Release(); }
  // False when another process holds it (or it cannot be taken).
  bool TryAcquire(const std::filesystem::path& run_dir) {
    Release();
    if (!CreateDirectories(run_dir)) return false;
    fd_ = ::open((run_dir / "run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return false;
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      Release();
      return false;
    }
    return true;
  }
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// The latest run in `store` of this migration and spec text over exactly these targets that
// still has jobs to do, was not cancelled or paused, and that no live process holds; its lock
// is then held in `lock`. nullopt when there is none.
std::optional<std::string> FindRunToContinue(StateStore& store, const std::string& migration_id,
                                             const std::string& spec_hash,
                                             const std::vector<Target>& targets,
                                             const std::filesystem::path& runs_dir,
                                             RunLock& lock) {
  auto runs = store.ListRuns();
  if (!runs) return std::nullopt;
  std::set<std::pair<std::string, std::string>> wanted;
  for (const auto& target : targets) wanted.emplace(target.name, target.location);
  for (auto run = runs->rbegin(); run != runs->rend(); ++run) {
    if (run->migration_id != migration_id || run->spec_hash != spec_hash ||
        run->control != RunControl::kRunning) {
      continue;
    }
    auto jobs = store.ListJobs(run->run_id, std::nullopt);
    if (!jobs) continue;
    std::set<std::pair<std::string, std::string>> had;
    bool unfinished = false;
    for (const auto& job : *jobs) {
      had.emplace(job.repository, job.location);
      unfinished = unfinished || !IsTerminal(job.state);
    }
    if (had != wanted || !unfinished) continue;
    if (!lock.TryAcquire(runs_dir / run->run_id)) continue;  // Live in another process.
    return run->run_id;
  }
  return std::nullopt;
}

std::string SpecHash(std::string_view spec_text) {
  return std::to_string(std::hash<std::string_view>{}(spec_text));
}

Result<RunReport> RunMigration(const RunOptions& options, const RunDeps& deps,
                               RunObserver& observer) {
  RunInput input;
  auto spec = LoadMigrationSpec(options.migration_file);
  if (!spec) return Fail(spec.error());
  input.spec = std::move(*spec);
  auto targets = LoadTargets(options.repos_file);
  if (!targets) return Fail(targets.error());
  if (targets->empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                options.repos_file.string() + ": no targets (one git URL or path per line)");
  }
  input.targets = std::move(*targets);
  auto spec_text = ReadFile(options.migration_file);
  input.spec_text = spec_text ? std::move(*spec_text) : "";
  return RunMigration(options, input, deps, observer);
}

Result<RunReport> RunMigration(const RunOptions& options, const RunInput& input,
                               const RunDeps& deps, RunObserver& observer) {
  Clock& clock = deps.clock;
  auto started = clock.MonotonicNow();
  const MigrationSpec* spec = &input.spec;
  const std::vector<Target>* targets = &input.targets;
  if (targets->empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no targets (one git URL or path per line)");
  }

  auto forge_setup =
      ResolveForge(spec->forge, options.forge, options.forge_url, options.parent_env);
  if (!forge_setup) return Fail(forge_setup.error());

  // The store knows which jobs an earlier, interrupted run of this id finished: those keep
  // their result and are not run again. Without an id, the run is the unfinished one of this
  // spec and these targets, if there is one.
  if (auto made = CreateDirectories(options.state_dir); !made) return Fail(made.error());
  StateStore& store = deps.store;
  std::string spec_hash = SpecHash(input.spec_text);
  std::filesystem::path runs_dir = std::filesystem::absolute(options.state_dir / "runs");
  RunLock run_lock;
  RunReport report;
  report.migration_id = spec->id;
  report.run_id = options.run_id;
  if (report.run_id.empty() && !options.fresh) {
    if (auto found = FindRunToContinue(store, spec->id, spec_hash, *targets, runs_dir,
                                       run_lock)) {
      report.run_id = *found;
      report.continued = true;
    }
  }
  if (report.run_id.empty()) report.run_id = spec->id + "-" + UtcStamp(clock.Now());
  report.run_dir = runs_dir / report.run_id;
  if (!report.continued && !run_lock.TryAcquire(report.run_dir)) {
    return Fail(ErrorCode::kUnavailable,
                "run " + report.run_id + " is being worked on by another drover process (" +
                    (report.run_dir / "run.lock").string() + " is held)");
  }
  report.model = options.model.Describe();
  report.replayed = options.model.replay_dir.has_value();
  if (auto made = CreateDirectories(report.run_dir / "jobs"); !made) return Fail(made.error());

  SweepDeadSocketDirs();
  // Named after this process, so that a later run can tell a dead run's directory.
  std::string socket_template = "/tmp/drover-gw-" + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(socket_template.data()) == nullptr) {
    return Fail(ErrorCode::kIo, "creating the gateway socket directory failed");
  }
  std::filesystem::path socket_dir = socket_template;

  std::unique_ptr<GitRepos> git =
      deps.make_git ? deps.make_git(options.state_dir / "mirrors", GitCredentialsFor(*forge_setup))
                    : std::make_unique<GitRepos>(options.state_dir / "mirrors",
                                                 GitCredentialsFor(*forge_setup));
  // The governors wait on the run's clock, so that a test's clock moves them too.
  ForgeGovernor forge_governor(
      ForgeGovernorOptions{},
      GovernorClock{[&clock] { return clock.MonotonicNow(); }, [&clock] { return clock.Now(); },
                    [&clock](std::chrono::milliseconds wait) { clock.SleepFor(wait); }});
  std::unique_ptr<Forge> forge =
      deps.make_forge ? deps.make_forge(*forge_setup, *git, deps.http, forge_governor)
                      : MakeForge(*forge_setup, *git, deps.http, forge_governor);
  // The run's credentials, masked from here on in every log line, file and record.
  std::vector<std::string> secrets = SecretsFromEnvironment(options.parent_env);
  for (const auto& upstream : options.model.upstreams) secrets.push_back(upstream.api_key);
  secrets.push_back(forge_setup->token);
  Redactor redactor(secrets);
  SetLogRedactor(redactor);
  GatewayOptions gateway_options;
  gateway_options.upstreams = options.model.upstreams;
  gateway_options.secrets = secrets;
  gateway_options.record_dir = options.record_dir;
  gateway_options.http = &deps.http;
  RateGovernor governor(
      options.model_limits, [&clock] { return clock.MonotonicNow(); },
      [&clock](std::chrono::milliseconds wait) { clock.SleepFor(wait); });
  gateway_options.governor = &governor;
  SlotPool agent_slots(std::max(1, options.agents));
  SlotPool build_slots(options.builds > 0
                           ? options.builds
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  gateway_options.build_slots = &build_slots;
  // Reserved per request at the gateway, so that jobs in flight together cannot overrun them.
  gateway_options.run_max_tokens = options.max_run_tokens;
  gateway_options.run_max_cost_usd = options.max_run_cost_usd;
  gateway_options.run_price = options.cost_price;
  Gateway gateway(gateway_options);
  RunContext context{options, *spec,          observer, *git,           *forge,
                     gateway, deps.processes, clock,    report.run_dir, socket_dir};
  context.forge_setup = &*forge_setup;
  context.redactor = redactor;
  std::unique_ptr<sandbox::EgressProxy> proxy;
  if (options.sandbox == SandboxMode::kNone) {
    report.isolation = "none (--sandbox=none)";
    spdlog::warn("--sandbox=none: agents and verifiers run as plain processes, unisolated");
    if (!spec->sandbox.allow_hosts.empty()) {
      spdlog::warn("sandbox.allow_hosts has no effect with --sandbox=none: the network is open");
    }
  } else {
    auto sandboxed = PrepareSandbox(options, *spec, socket_dir, report.run_dir, proxy);
    if (!sandboxed) {
      (void)RemoveAll(socket_dir);
      return Fail(sandboxed.error());
    }
    report.isolation = sandboxed->isolation;
    context.base_policy = sandboxed->policy;
    context.toolchain_env = sandboxed->toolchain_env;
  }
  context.isolation = report.isolation;
  context.agent_slots = &agent_slots;
  context.build_slots = &build_slots;
  spdlog::info("isolation: {}", report.isolation);

  observer.OnRunStarted(report, targets->size());
  report.jobs.resize(targets->size());
  context.store = &store;
  if (auto created = store.CreateRun(report.run_id, spec->id, spec_hash, clock.Now());
      !created) {
    (void)RemoveAll(socket_dir);
    return Fail(WithContext(created.error(), "run " + report.run_id));
  }
  (void)store.MarkInterrupted(report.run_id, clock.Now());
  std::vector<int64_t> job_ids(targets->size(), 0);
  std::vector<bool> finished(targets->size(), false);
  for (size_t i = 0; i < targets->size(); ++i) {
    auto id = store.UpsertJob(report.run_id, (*targets)[i].name, (*targets)[i].location);
    if (!id) {
      (void)RemoveAll(socket_dir);
      return Fail(id.error());
    }
    job_ids[i] = *id;
    auto record = store.GetJob(*id);
    if (record && IsTerminal(record->state)) {
      auto json = ParseJson(record->details_json, "state store");
      auto previous = json ? JobReportFromJson(*json) : std::nullopt;
      if (previous) {
        report.jobs[i] = *previous;
        finished[i] = true;
        report.resumed_jobs++;
      }
    }
  }
  Scheduler scheduler(context, report, *targets, job_ids, finished);
  scheduler.Run();

  (void)RemoveAll(socket_dir);
  report.seconds = std::chrono::duration<double>(clock.MonotonicNow() - started).count();
  if (auto wrote = WriteRunSummary(report); !wrote) return Fail(wrote.error());
  return report;
}

}  // namespace drover::fleet
