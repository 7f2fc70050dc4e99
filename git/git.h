// Git for the runner (libgit2): a cache of bare mirrors, throw-away working copies without git
// metadata, their diff, commit and push. Never runs hooks, filters, fsmonitor or the git CLI.
// Thread-safe: one GitRepos may be used from many threads; a mirror is updated by one at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "spec/spec.h"

namespace drover::fleet {

struct Mirror {
  std::filesystem::path path;  // Bare repository in the cache.
  std::string url;             // The location it was fetched from.
  std::string default_branch;  // "main".
  std::string head_commit;     // Hex sha of the default branch.
};

// A working copy: files in `workspace` (no .git entry at all), git metadata in `git_dir`,
// which borrows its objects from the mirror.
struct Worktree {
  std::filesystem::path git_dir;
  std::filesystem::path workspace;
  std::string base_commit;
  std::string base_branch;
};

struct DiffSummary {
  std::string patch;  // Unified diff with a/ and b/ prefixes; binary files noted as such.
  int files_changed = 0;
  int lines_added = 0;
  int lines_removed = 0;
  std::vector<std::string> paths;  // Changed paths (the new path of a rename).
  bool empty() const { return files_changed == 0; }
};

// HTTP(S) credentials for one host, given to libgit2 when a fetch or push there asks for them
// (never written to a remote URL, a config file or a message).
struct GitCredential {
  std::string host;      // Lower-case, without user or port: "github.com".
  std::string username;  // "x-access-token" for GitHub tokens, "oauth2" for GitLab's.
  std::string password;  // The token.
};

// A published branch in a local target repository.
struct BranchStatus {
  bool exists = false;  // refs/heads/<branch> is there.
  bool merged = false;  // The published commit is reachable from the default branch (HEAD).
};

class GitRepos {
 public:
  // Mirrors live in `cache_dir` (created on first use). Fetches and pushes to a host of
  // `credentials` authenticate with it, over https (plain http only to 127.0.0.1 and
  // localhost); a host that asks twice (credentials refused) fails with kPermissionDenied.
  explicit GitRepos(std::filesystem::path cache_dir, std::vector<GitCredential> credentials = {});
  GitRepos(const GitRepos&) = delete;
  GitRepos& operator=(const GitRepos&) = delete;

  // Clones every branch of `location` (URL or absolute path) into a bare mirror, or fetches
  // into the existing one (forced, pruned). Errors name the location: kNotFound for a missing
  // repository, kUnavailable for network failures (retryable), kIo for local trouble.
  Result<Mirror> UpdateMirror(const std::string& location);

  // Keeps the cache within `max_bytes`: removes the mirrors UpdateMirror used least recently
  // until the rest fits, never the mirror of a location that `in_use()` lists (a running job's
  // working copy borrows its objects). `in_use` is asked under each candidate's lock, so a job
  // that registers its location before calling UpdateMirror is safe. Returns the bytes freed.
  // Errors: kIo reading the cache.
  Result<uint64_t> EvictMirrors(uint64_t max_bytes,
                                const std::function<std::set<std::string>()>& in_use);

  // A fresh working copy of `mirror.head_commit`: git dir in job_dir/git (objects borrowed
  // through objects/info/alternates), files in job_dir/workspace. Both are removed first.
  Result<Worktree> CreateWorktree(const Mirror& mirror, const std::filesystem::path& job_dir);

  // Every change in the workspace against base_commit: modified, deleted, and new files not
  // ignored by the workspace's .gitignore files. A textual diff of the bytes: the workspace's
  // .gitattributes never mark a file binary, pick a diff driver or convert line ends (here,
  // in Commit and in checkouts). Fails (kPermissionDenied, naming the path) on a nested
  // repository (a .git directory or file in the workspace, whose files would not be
  // committed) and on a change to a submodule.
  Result<DiffSummary> Diff(const Worktree& wt);

  // The change `commit` (hex, in wt.git_dir) makes against base_commit, computed from the
  // commit's tree alone (no work tree, no attributes): what a push of it publishes.
  Result<DiffSummary> Diff(const Worktree& wt, const std::string& commit);

  // Replaces the workspace with a fresh checkout of `commit`: every file not in it (ignored,
  // untracked, nested repositories) is gone, so what runs there runs on the committed tree.
  Status CheckOut(const Worktree& wt, const std::string& commit);

  // Deletes what the workspace's .gitignore files ignore (build outputs, caches, and anything
  // an agent hid there), so that the final check sees exactly the tree a PR would publish.
  // Links are removed, never followed. Returns how many entries were removed.
  Result<int> RemoveIgnored(const Worktree& wt);

  // Commits the workspace (the tree Diff compares, with the same failures) with parent
  // base_commit onto refs/heads/<branch>, replacing what the branch held. Returns the
  // commit's hex sha.
  Result<std::string> Commit(const Worktree& wt, const std::string& branch,
                             const std::string& message, const GitAuthor& author);

  // Force-pushes refs/heads/<branch> to `remote_location` (URL or path) as the same branch,
  // with the host's credentials when it asks for them (kPermissionDenied when refused).
  // A local non-bare repository gets the objects and the ref written directly; it is refused
  // (kInvalidArgument) when it has `branch` checked out. In a local target, a lock on the ref
  // older than this GitRepos (left by a killed push) is removed first.
  Status Push(const Worktree& wt, const std::string& remote_location, const std::string& branch);

  // Where `commit` (hex) published as `branch` stands in the local repository at `location`.
  // Errors: kNotFound for a missing repository, kInvalidArgument for a bad commit id.
  Result<BranchStatus> LocalBranchStatus(const std::string& location, const std::string& branch,
                                         const std::string& commit);

  // Removes the workspace and the git dir (not the rest of the job directory).
  Status RemoveWorktree(const Worktree& wt);

 private:
  std::mutex& MirrorLock(const std::filesystem::path& path);

  std::filesystem::path cache_dir_;
  std::filesystem::file_time_type created_ = std::filesystem::file_time_type::clock::now();
  std::vector<GitCredential> credentials_;
  std::mutex locks_mutex_;
  std::map<std::filesystem::path, std::mutex> mirror_locks_;  // Guarded by locks_mutex_.
};

}  // namespace drover::fleet
