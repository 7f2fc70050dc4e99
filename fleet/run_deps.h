// The collaborators of a run (RunMigration), passed in rather than built inside it: where its
// state is kept, how it reaches git, the forge and the model upstreams, how it starts
// processes and tells the time. main() and the eval harness use ProductionRunDeps; tests pass
// fakes (store/memory_state_store.h, core/clock.h's ManualClock, a scripted ProcessRunner).
// Thread-safety: what RunDeps refers to is used from the run's job threads at once, so each
// implementation must be thread-safe; RunDeps itself is not copied by the run.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/http.h"
#include "forge/forge.h"
#include "forge/forge_governor.h"
#include "forge/forges.h"
#include "git/git.h"
#include "sandbox/process.h"
#include "store/state_store.h"

namespace drover::fleet {

// Builds the run's git access for a mirror cache, with the host credentials of the forge
// the run resolved (GitCredentialsFor).
using GitFactory = std::function<std::unique_ptr<GitRepos>(
    const std::filesystem::path& mirrors_dir, std::vector<GitCredential> credentials)>;
// Builds the run's forge once it is resolved from the spec and the options. The references
// outlive the forge.
using ForgeFactory = std::function<std::unique_ptr<Forge>(
    const ForgeSetup& setup, GitRepos& git, HttpClient& http, ForgeGovernor& governor)>;

// Nothing here is owned: each must outlive the RunMigration call.
struct RunDeps {
  StateStore& store;  // The run's durable state; resumes read it.
  HttpClient& http;   // Model upstreams (through the gateway) and the forge's REST API.
  // Every process of a run without a sandbox (SandboxMode::kNone): the agent, the verifiers,
  // the set-up. With a sandbox, each command gets an isolated runner over its own policy.
  sandbox::ProcessRunner& processes;
  // Wall time of what is stored and reported, durations, and the waits of the run's
  // governors (model rate limits, forge rate limits) and of its pause loop.
  Clock& clock;
  GitFactory make_git;      // Unset: a GitRepos over the mirrors directory.
  ForgeFactory make_forge;  // Unset: MakeForge (local, GitHub or GitLab by the setup).
};

// The real implementations: the SQLite store at state_dir/state.db (state_dir created),
// libcurl, local processes, the system clock, libgit2 and the forge the spec names.
class ProductionRunDeps {
 public:
  // Errors: those of creating state_dir and opening the store (kIo, kInvalidArgument).
  static Result<ProductionRunDeps> Open(const std::filesystem::path& state_dir);

  RunDeps deps() const;

 private:
  ProductionRunDeps() = default;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<sandbox::ProcessRunner> processes_;
};

}  // namespace drover::fleet
