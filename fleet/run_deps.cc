#include "fleet/run_deps.h"

#include "core/fs.h"

namespace drover::fleet {

Result<ProductionRunDeps> ProductionRunDeps::Open(const std::filesystem::path& state_dir) {
  if (auto made = CreateDirectories(state_dir); !made) return Fail(made.error());
  auto store = OpenSqliteStateStore(state_dir / "state.db");
  if (!store) return Fail(store.error());
  ProductionRunDeps deps;
  deps.store_ = std::move(*store);
  deps.http_ = MakeCurlHttpClient();
  deps.processes_ = sandbox::MakeLocalProcessRunner();
  return deps;
}

RunDeps ProductionRunDeps::deps() const {
  return RunDeps{
      .store = *store_,
      .http = *http_,
      .processes = *processes_,
      .clock = SystemClock(),
      .make_git = [](const std::filesystem::path& mirrors, std::vector<GitCredential> credentials) {
        return std::make_unique<GitRepos>(mirrors, std::move(credentials));
      },
      .make_forge = [](const ForgeSetup& setup, GitRepos& git, HttpClient& http,
                       ForgeGovernor& governor) { return MakeForge(setup, git, http, governor); },
  };
}

}  // namespace drover::fleet
