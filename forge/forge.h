// Forges publish a verified change as a pull request. `local` pushes the branch into a local
// target and writes the PR as files in the job's directory.
// Thread-safe: LocalForge may be called from many job threads, each with its own output_dir.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "git/git.h"

namespace drover::fleet {

struct PullRequestDraft {
  std::string repository;  // Display name.
  std::string target_location;
  bool target_is_local = false;
  std::string base_branch;
  std::string head_branch;
  std::string title;
  std::string body;  // Markdown.
  std::string patch;
  std::vector<std::string> labels;
  bool draft = false;
  // CODEOWNERS of the untouched tree ("" when it has none). Unset: forges that request
  // reviewers read the worktree's, which the agent may have edited.
  std::optional<std::string> codeowners;
  std::filesystem::path output_dir;  // The job's directory in the run directory.
};

struct PullRequest {
  std::string id;
  std::string url;       // For `local`: the path of pr.md.
  bool updated = false;  // True when an existing PR for the head branch was updated.
};

class Forge {
 public:
  virtual ~Forge() = default;
  virtual std::string_view Name() const = 0;
  // Pushes draft.head_branch (already committed in `wt`) and opens a PR, or updates the one
  // already open for that head branch. Errors: the push's or the forge's, with context.
  virtual Result<PullRequest> OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) = 0;
  // Where the runner pushes draft.head_branch before OpenOrUpdate: the target itself, or for
  // a forge that pushes to a fork, the fork (made first when it does not exist yet).
  // Errors: the forge's, with context.
  virtual Result<std::string> PushLocation(const PullRequestDraft& draft) {
    return draft.target_location;
  }
};

// `location` (a remote URL or scp-like address) with its repository path `path`
// ("owner/repo", "group/sub/project") replaced by `replacement`, keeping the scheme, host,
// port and a ".git" suffix. Errors: kInvalidArgument when `path` is not the location's path.
Result<std::string> ReplaceRepositoryPath(std::string_view location, std::string_view path,
                                          std::string_view replacement);

// Writes output_dir/pr.md (title and body), pr.patch and pr.json ({id, title, base, head,
// repository, labels, draft, pushed, created_at, updated_at}); pushes the head branch to
// the target when the target is local, and says "pushed": false otherwise.
class LocalForge : public Forge {
 public:
  // `git` must outlive the forge.
  explicit LocalForge(GitRepos& git) : git_(git) {}
  std::string_view Name() const override { return "local"; }
  Result<PullRequest> OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) override;

 private:
  GitRepos& git_;
};

}  // namespace drover::fleet
