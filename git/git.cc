#include "git/git.h"

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include "core/fs.h"
#include "git/remote_location.h"

namespace drover::fleet {
namespace {

struct GitFree {
  void operator()(git_repository* p) const { git_repository_free(p); }
  void operator()(git_remote* p) const { git_remote_free(p); }
  void operator()(git_commit* p) const { git_commit_free(p); }
  void operator()(git_tree* p) const { git_tree_free(p); }
  void operator()(git_index* p) const { git_index_free(p); }
  void operator()(git_diff* p) const { git_diff_free(p); }
  void operator()(git_diff_stats* p) const { git_diff_stats_free(p); }
  void operator()(git_reference* p) const { git_reference_free(p); }
  void operator()(git_reference_iterator* p) const { git_reference_iterator_free(p); }
  void operator()(git_revwalk* p) const { git_revwalk_free(p); }
  void operator()(git_packbuilder* p) const { git_packbuilder_free(p); }
  void operator()(git_odb* p) const { git_odb_free(p); }
  void operator()(git_odb_writepack* p) const { p->free(p); }
  void operator()(git_signature* p) const { git_signature_free(p); }
  void operator()(git_status_list* p) const { git_status_list_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, GitFree>;

struct OwnedBuf {
  git_buf buf{};
  ~OwnedBuf() { git_buf_dispose(&buf); }
  std::string_view view() const {
    return buf.ptr == nullptr ? "" : std::string_view(buf.ptr, buf.size);
  }
};

// The one place libgit2 failures become drover errors.
Error GitError(int code, std::string_view context) {
  const git_error* last = git_error_last();
  std::string detail = last != nullptr && last->message != nullptr
                           ? last->message
                           : "libgit2 error " + std::to_string(code);
  int error_class = last != nullptr ? last->klass : GIT_ERROR_NONE;
  auto says = [&](std::string_view text) { return detail.find(text) != std::string::npos; };
  ErrorCode kind = ErrorCode::kIo;
  switch (code) {
    case GIT_ENOTFOUND: kind = ErrorCode::kNotFound; break;
    case GIT_EAUTH:
    case GIT_EOWNER:
    case GIT_ECERTIFICATE: kind = ErrorCode::kPermissionDenied; break;
    case GIT_ELOCKED:
    case GIT_EEOF: kind = ErrorCode::kUnavailable; break;
    case GIT_EINVALIDSPEC:
    case GIT_EINVALID:
    case GIT_EBAREREPO: kind = ErrorCode::kInvalidArgument; break;
    default:
      if (says("could not find repository")) {
        kind = ErrorCode::kNotFound;
        break;
      }
      switch (error_class) {
        case GIT_ERROR_NET:
        case GIT_ERROR_SSL:
        case GIT_ERROR_SSH:
        case GIT_ERROR_HTTP:
          if (says("unsupported URL protocol")) {
            kind = ErrorCode::kInvalidArgument;
          } else if (says("404") || says("not found") || says("does not appear to be a git")) {
            kind = ErrorCode::kNotFound;
          } else if (says("401") || says("403") || says("authentication")) {
            kind = ErrorCode::kPermissionDenied;
          } else {
            kind = ErrorCode::kUnavailable;
          }
          break;
        case GIT_ERROR_OS:
          if (says("No such file")) {
            kind = ErrorCode::kNotFound;
          } else if (says("failed to connect") || says("failed to resolve address") ||
                     says("timed out") || says("reset by peer")) {
            kind = ErrorCode::kUnavailable;
          } else {
            kind = ErrorCode::kIo;
          }
          break;
        case GIT_ERROR_NOMEMORY: kind = ErrorCode::kInternal; break;
        default: kind = ErrorCode::kIo; break;
      }
  }
  return Error{kind, std::string(context) + ": " + detail, std::nullopt};
}

void InitLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // Only the repository's own config is read: settings of the machine's users (url
    // rewrites, excludes files, templates) must not change what is fetched or committed.
    for (int level : {GIT_CONFIG_LEVEL_PROGRAMDATA, GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
                      GIT_CONFIG_LEVEL_GLOBAL}) {
      git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, "");
    }
  });
}

std::string Hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

bool Exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

bool IsLocalLocation(std::string_view location) {
  return location.starts_with("/") || location.starts_with("file://");
}

std::filesystem::path LocalPath(std::string_view location) {
  if (location.starts_with("file://")) location.remove_prefix(7);
  return std::filesystem::path(location);
}

// "<last component>-<12 hex of the location's hash>.git", so two locations never share one.
std::string MirrorName(std::string_view location) {
  std::string_view trimmed = location;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.remove_suffix(1);
  size_t cut = trimmed.find_last_of("/:");
  std::string_view last = cut == std::string_view::npos ? trimmed : trimmed.substr(cut + 1);
  if (last.ends_with(".git")) last.remove_suffix(4);
  std::string name;
  for (char c : last.substr(0, 64)) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
    name += safe ? c : '-';
  }
  if (name.empty()) name = "repo";
  git_oid oid;
  git_odb_hash(&oid, location.data(), location.size(), GIT_OBJECT_BLOB);
  return name + "-" + Hex(oid).substr(0, 12) + ".git";
}

Result<Owned<git_repository>> OpenRepository(const std::filesystem::path& path,
                                             std::string_view context) {
  git_repository* repo = nullptr;
  // No search upwards and no GIT_DIR-style environment: exactly the repository at `path`.
  if (int rc = git_repository_open_ext(&repo, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
      rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  return Owned<git_repository>(repo);
}

// A remote without a name, so no remote.* configuration applies, and without url.insteadOf
// rewriting (which also leaks in libgit2 1.5's regex matching).
Result<Owned<git_remote>> AnonymousRemote(git_repository* repo, const std::string& url,
                                          std::string_view context) {
  git_remote_create_options options;
  git_remote_create_options_init(&options, GIT_REMOTE_CREATE_OPTIONS_VERSION);
  options.repository = repo;
  options.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* remote = nullptr;
  if (int rc = git_remote_create_with_opts(&remote, url.c_str(), &options); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  return Owned<git_remote>(remote);
}

// What one fetch or push hands libgit2's callbacks.
struct TransferPayload {
  const std::vector<GitCredential>* credentials = nullptr;
  int asked = 0;         // Credential requests so far: a second means the first was refused.
  std::string rejected;  // A ref the remote refused on push, with its reason.
};

int AcquireCredential(git_credential** out, const char* url, const char* /*username_from_url*/,
                      unsigned int allowed_types, void* payload) {
  auto* transfer = static_cast<TransferPayload*>(payload);
  auto location = ParseRemoteLocation(url == nullptr ? "" : url);
  if (!location || (allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT) == 0) {
    return GIT_PASSTHROUGH;
  }
  // A token never crosses the network in clear text: plain http only to this machine.
  bool loopback = location->host == "127.0.0.1" || location->host == "localhost";
  if (!std::string_view(url).starts_with("https://") && !loopback) return GIT_PASSTHROUGH;
  for (const auto& credential : *transfer->credentials) {
    if (credential.host != location->host) continue;
    if (transfer->asked++ > 0) {
      git_error_set_str(GIT_ERROR_HTTP, ("authentication failed: " + location->host +
                                         " refused the runner's credentials")
                                            .c_str());
      return GIT_EAUTH;
    }
    return git_credential_userpass_plaintext_new(out, credential.username.c_str(),
                                                 credential.password.c_str());
  }
  return GIT_PASSTHROUGH;
}

void SetCallbacks(git_remote_callbacks& callbacks, TransferPayload& payload) {
  callbacks.payload = &payload;
  callbacks.credentials = AcquireCredential;
}

Result<git_oid> ParseOid(const std::string& hex, std::string_view context) {
  git_oid oid;
  if (int rc = git_oid_fromstr(&oid, hex.c_str()); rc < 0) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(context) + ": \"" + hex + "\" is not a commit id");
  }
  return oid;
}

Result<Owned<git_tree>> CommitTree(git_repository* repo, const git_oid& commit_id,
                                   std::string_view context) {
  git_commit* commit = nullptr;
  if (int rc = git_commit_lookup(&commit, repo, &commit_id); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_commit> owned_commit(commit);
  git_tree* tree = nullptr;
  if (int rc = git_commit_tree(&tree, commit); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  return Owned<git_tree>(tree);
}

// What libgit2 would take from the repository's .gitattributes files, overridden for every
// path by the working copy's own info/attributes (which outranks them): no attribute-driven
// binary marking or diff driver (a file is binary only by its content), no end-of-line
// conversion, no $Id$ expansion and no filter driver. So the bytes checked out, the bytes
// committed and the diff a reviewer sees are the repository's bytes, whatever the agent wrote
// into a .gitattributes file.
constexpr std::string_view kNeutralAttributes =
    "* -text !eol !crlf -ident !filter !diff !merge !working-tree-encoding\n";

Status NeutraliseAttributes(const std::filesystem::path& git_dir, std::string_view context) {
  std::filesystem::path file = git_dir / "info" / "attributes";
  if (auto current = ReadFile(file); current && *current == kNeutralAttributes) return {};
  Status wrote = CreateDirectories(file.parent_path());
  if (wrote) wrote = WriteFileAtomic(file, std::string(kNeutralAttributes));
  if (!wrote) return std::unexpected(WithContext(wrote.error(), context));
  return {};
}

// Fails when the change between `base` and `tree` adds, removes or moves a submodule (a
// gitlink entry): its contents live in another repository, which no verifier checked.
Status CheckNoGitlinkChange(git_repository* repo, git_tree* base, git_tree* tree,
                            std::string_view context) {
  git_diff_options options;
  git_diff_options_init(&options, GIT_DIFF_OPTIONS_VERSION);
  git_diff* raw_diff = nullptr;
  if (int rc = git_diff_tree_to_tree(&raw_diff, repo, base, tree, &options); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_diff> diff(raw_diff);
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
    if (delta->old_file.mode == GIT_FILEMODE_COMMIT ||
        delta->new_file.mode == GIT_FILEMODE_COMMIT) {
      const char* path =
          delta->status == GIT_DELTA_DELETED ? delta->old_file.path : delta->new_file.path;
      return Fail(ErrorCode::kPermissionDenied,
                  std::string(context) + ": the change touches the submodule " + path +
                      " (a gitlink); its contents are another repository's and were not checked");
    }
  }
  return {};
}

// Opens the working copy's git dir with the workspace as its work tree (in memory only: no
// gitlink is written into the workspace) and stages the workspace as it is now, as
// `git add -A` would. Returns the repository and the id of the workspace's tree.
// A nested repository (a directory with a .git entry, directory or file, anywhere outside
// what .gitignore ignores, or a .git entry at the top) fails: its files would be left out of
// the commit while the agent's checks saw them. So does a change to a submodule.
Result<std::pair<Owned<git_repository>, git_oid>> StageWorkspace(const Worktree& wt,
                                                                 std::string_view context) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(wt.workspace / ".git", ec))) {
    return Fail(ErrorCode::kPermissionDenied,
                std::string(context) +
                    ": nested repository: the workspace has a .git entry at its top; git "
                    "metadata is never part of a change");
  }
  if (auto neutral = NeutraliseAttributes(wt.git_dir, context); !neutral) {
    return std::unexpected(neutral.error());
  }
  auto repo = OpenRepository(wt.git_dir, context);
  if (!repo) return std::unexpected(repo.error());
  if (int rc = git_repository_set_workdir(repo->get(), wt.workspace.c_str(), 0); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  git_index* raw_index = nullptr;
  if (int rc = git_repository_index(&raw_index, repo->get()); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_index> index(raw_index);
  // libgit2 offers a nested repository as "dir/" instead of its files: recorded and skipped,
  // then refused below (naming every one).
  std::vector<std::string> nested;
  auto note_nested = [](const char* path, const char*, void* payload) {
    std::string_view matched(path);
    if (!matched.ends_with('/')) return 0;
    static_cast<std::vector<std::string>*>(payload)->emplace_back(matched);
    return 1;
  };
  int rc = git_index_add_all(index.get(), nullptr, GIT_INDEX_ADD_DEFAULT, note_nested, &nested);
  if (rc < 0) return std::unexpected(GitError(rc, context));
  if (!nested.empty()) {
    std::string names;
    for (size_t i = 0; i < nested.size() && i < 5; ++i) {
      names += (i == 0 ? "" : ", ") + nested[i];
    }
    if (nested.size() > 5) names += " and " + std::to_string(nested.size() - 5) + " more";
    return Fail(ErrorCode::kPermissionDenied,
                std::string(context) + ": nested repository at " + names +
                    " (a .git directory or file inside the workspace): its files would not be "
                    "committed, so the pushed branch would differ from the checked tree");
  }
  rc = git_index_update_all(index.get(), nullptr, nullptr, nullptr);
  // Saved so the next call only re-reads files whose stat data changed.
  if (rc == 0) rc = git_index_write(index.get());
  git_oid tree_id;
  if (rc == 0) rc = git_index_write_tree(&tree_id, index.get());
  if (rc < 0) return std::unexpected(GitError(rc, context));
  auto base = ParseOid(wt.base_commit, context);
  if (!base) return std::unexpected(base.error());
  auto base_tree = CommitTree(repo->get(), *base, context);
  if (!base_tree) return std::unexpected(base_tree.error());
  git_tree* raw_tree = nullptr;
  if (rc = git_tree_lookup(&raw_tree, repo->get(), &tree_id); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_tree> tree(raw_tree);
  if (auto plain = CheckNoGitlinkChange(repo->get(), base_tree->get(), tree.get(), context);
      !plain) {
    return std::unexpected(plain.error());
  }
  return std::pair{std::move(*repo), tree_id};
}

// The unified diff of `base` against `tree`, with renames found.
Result<DiffSummary> DiffTrees(git_repository* repo, git_tree* base, git_tree* tree,
                              std::string_view context) {
  git_diff_options options;
  git_diff_options_init(&options, GIT_DIFF_OPTIONS_VERSION);
  git_diff* raw_diff = nullptr;
  if (int rc = git_diff_tree_to_tree(&raw_diff, repo, base, tree, &options); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_diff> diff(raw_diff);
  git_diff_find_options find;
  git_diff_find_options_init(&find, GIT_DIFF_FIND_OPTIONS_VERSION);
  find.flags = GIT_DIFF_FIND_RENAMES;
  if (int rc = git_diff_find_similar(diff.get(), &find); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }

  DiffSummary summary;
  OwnedBuf patch;
  if (int rc = git_diff_to_buf(&patch.buf, diff.get(), GIT_DIFF_FORMAT_PATCH); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  summary.patch = std::string(patch.view());
  git_diff_stats* raw_stats = nullptr;
  if (int rc = git_diff_get_stats(&raw_stats, diff.get()); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_diff_stats> stats(raw_stats);
  summary.files_changed = static_cast<int>(git_diff_stats_files_changed(stats.get()));
  summary.lines_added = static_cast<int>(git_diff_stats_insertions(stats.get()));
  summary.lines_removed = static_cast<int>(git_diff_stats_deletions(stats.get()));
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
    summary.paths.emplace_back(delta->status == GIT_DELTA_DELETED ? delta->old_file.path
                                                                  : delta->new_file.path);
  }
  return summary;
}

// Writes the objects of `commit_id` that `target` lacks into it as one pack and points
// `refname` at the commit: a push for local non-bare repositories, which libgit2's local
// transport refuses.
Status PushIntoRepository(git_repository* source, git_repository* target,
                          const std::string& refname, const git_oid& commit_id,
                          std::string_view context) {
  auto fail = [&](int rc) { return std::unexpected(GitError(rc, context)); };
  git_odb* raw_source_odb = nullptr;
  if (int rc = git_repository_odb(&raw_source_odb, source); rc < 0) return fail(rc);
  Owned<git_odb> source_odb(raw_source_odb);
  git_revwalk* raw_walk = nullptr;
  if (int rc = git_revwalk_new(&raw_walk, source); rc < 0) return fail(rc);
  Owned<git_revwalk> walk(raw_walk);
  if (int rc = git_revwalk_push(walk.get(), &commit_id); rc < 0) return fail(rc);

  // What the target already has (as far as the source knows those commits) is not sent.
  git_reference_iterator* raw_refs = nullptr;
  if (int rc = git_reference_iterator_new(&raw_refs, target); rc < 0) return fail(rc);
  Owned<git_reference_iterator> refs(raw_refs);
  git_reference* raw_ref = nullptr;
  while (git_reference_next(&raw_ref, refs.get()) == 0) {
    Owned<git_reference> ref(raw_ref);
    const git_oid* tip = git_reference_target(ref.get());
    if (tip != nullptr && git_odb_exists(source_odb.get(), tip) == 1) {
      (void)git_revwalk_hide(walk.get(), tip);  // Fails for tags of non-commits: fine.
    }
  }

  git_packbuilder* raw_pack = nullptr;
  if (int rc = git_packbuilder_new(&raw_pack, source); rc < 0) return fail(rc);
  Owned<git_packbuilder> pack(raw_pack);
  if (int rc = git_packbuilder_insert_walk(pack.get(), walk.get()); rc < 0) return fail(rc);
  if (git_packbuilder_object_count(pack.get()) > 0) {
    git_odb* raw_target_odb = nullptr;
    if (int rc = git_repository_odb(&raw_target_odb, target); rc < 0) return fail(rc);
    Owned<git_odb> target_odb(raw_target_odb);
    git_odb_writepack* raw_writer = nullptr;
    if (int rc = git_odb_write_pack(&raw_writer, target_odb.get(), nullptr, nullptr); rc < 0) {
      return fail(rc);
    }
    Owned<git_odb_writepack> writer(raw_writer);
    struct Sink {
      git_odb_writepack* writer;
      git_indexer_progress progress;
    } sink{writer.get(), {}};
    int rc = git_packbuilder_foreach(
        pack.get(),
        [](void* data, size_t size, void* payload) {
          auto* out = static_cast<Sink*>(payload);
          return out->writer->append(out->writer, data, size, &out->progress);
        },
        &sink);
    if (rc < 0) return fail(rc);
    if (rc = writer->commit(writer.get(), &sink.progress); rc < 0) return fail(rc);
  }
  git_reference* raw_updated = nullptr;
  if (int rc = git_reference_create(&raw_updated, target, refname.c_str(), &commit_id, 1, "push");
      rc < 0) {
    return fail(rc);
  }
  Owned<git_reference> updated(raw_updated);
  return {};
}

}  // namespace

GitRepos::GitRepos(std::filesystem::path cache_dir, std::vector<GitCredential> credentials)
    : credentials_(std::move(credentials)) {
  InitLibgit2();
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(cache_dir, ec);
  cache_dir_ = ec ? std::move(cache_dir) : std::move(absolute);
}

std::mutex& GitRepos::MirrorLock(const std::filesystem::path& path) {
  std::lock_guard lock(locks_mutex_);
  return mirror_locks_[path];
}

Result<Mirror> GitRepos::UpdateMirror(const std::string& location) {
  if (location.empty()) return Fail(ErrorCode::kInvalidArgument, "empty repository location");
  Mirror mirror;
  mirror.url = location;
  mirror.path = cache_dir_ / MirrorName(location);
  std::lock_guard mirror_lock(MirrorLock(mirror.path));

  bool exists = Exists(mirror.path / "HEAD");
  std::string context = (exists ? "fetching " : "cloning ") + location;
  if (IsLocalLocation(location) && !Exists(LocalPath(location))) {
    return Fail(ErrorCode::kNotFound, context + ": no such repository");
  }
  if (auto made = CreateDirectories(cache_dir_); !made) {
    return std::unexpected(WithContext(made.error(), context));
  }

  Owned<git_repository> repo;
  if (exists) {
    auto opened = OpenRepository(mirror.path, context);
    if (opened) {
      repo = std::move(*opened);
    } else if (auto removed = RemoveAll(mirror.path); !removed) {
      return std::unexpected(WithContext(removed.error(), context));
    }
  }
  // A new mirror is built beside its final name and renamed into place when complete, so a
  // crash never leaves a half-cloned mirror behind.
  std::filesystem::path staging = mirror.path;
  staging += ".partial";
  bool fresh = !repo;
  struct StagingCleanup {
    const std::filesystem::path* path;  // Null once the mirror is in place.
    ~StagingCleanup() {
      if (path != nullptr) (void)RemoveAll(*path);
    }
  } cleanup{fresh ? &staging : nullptr};
  if (fresh) {
    if (auto removed = RemoveAll(staging); !removed) {
      return std::unexpected(WithContext(removed.error(), context));
    }
    git_repository_init_options init;
    git_repository_init_options_init(&init, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    init.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
    git_repository* raw = nullptr;
    if (int rc = git_repository_init_ext(&raw, staging.c_str(), &init); rc < 0) {
      return std::unexpected(GitError(rc, context));
    }
    repo.reset(raw);
  }

  auto created = AnonymousRemote(repo.get(), location, context);
  if (!created) return std::unexpected(created.error());
  Owned<git_remote> remote = std::move(*created);
  std::string refspec = "+refs/heads/*:refs/heads/*";
  char* refspecs[] = {refspec.data()};
  git_strarray refspec_array{refspecs, 1};
  git_fetch_options fetch;
  git_fetch_options_init(&fetch, GIT_FETCH_OPTIONS_VERSION);
  fetch.prune = GIT_FETCH_PRUNE;
  fetch.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  fetch.proxy_opts.type = GIT_PROXY_AUTO;
  TransferPayload payload{&credentials_};
  SetCallbacks(fetch.callbacks, payload);
  if (int rc = git_remote_fetch(remote.get(), &refspec_array, &fetch, "fetch"); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }

  // The remote's HEAD names the default branch; without one, main, master, then the first.
  std::vector<std::string> candidates;
  OwnedBuf remote_head;
  if (git_remote_default_branch(&remote_head.buf, remote.get()) == 0) {
    candidates.emplace_back(remote_head.view());
  }
  candidates.emplace_back("refs/heads/main");
  candidates.emplace_back("refs/heads/master");
  git_reference_iterator* raw_refs = nullptr;
  if (int rc = git_reference_iterator_glob_new(&raw_refs, repo.get(), "refs/heads/*"); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  std::vector<std::string> branches;
  {
    Owned<git_reference_iterator> refs(raw_refs);
    const char* name = nullptr;
    while (git_reference_next_name(&name, refs.get()) == 0) branches.emplace_back(name);
  }
  std::sort(branches.begin(), branches.end());
  candidates.insert(candidates.end(), branches.begin(), branches.end());
  std::optional<std::string> chosen;
  git_oid head;
  for (const auto& candidate : candidates) {
    if (git_reference_name_to_id(&head, repo.get(), candidate.c_str()) == 0) {
      chosen = candidate;
      break;
    }
  }
  if (!chosen) return Fail(ErrorCode::kNotFound, context + ": the repository has no branches");
  if (int rc = git_repository_set_head(repo.get(), chosen->c_str()); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  mirror.default_branch = chosen->substr(std::string_view("refs/heads/").size());
  mirror.head_commit = Hex(head);
  remote.reset();
  repo.reset();

  if (fresh) {
    std::error_code ec;
    std::filesystem::rename(staging, mirror.path, ec);
    if (ec) {
      return Fail(ErrorCode::kIo, context + ": moving the new mirror into place: " + ec.message());
    }
    cleanup.path = nullptr;
  }
  // The cache's recency order for EvictMirrors.
  std::error_code ec;
  std::filesystem::last_write_time(mirror.path, std::filesystem::file_time_type::clock::now(), ec);
  return mirror;
}

Result<uint64_t> GitRepos::EvictMirrors(uint64_t max_bytes,
                                        const std::function<std::set<std::string>()>& in_use) {
  struct Entry {
    std::filesystem::path path;
    std::filesystem::file_time_type used;
    uint64_t bytes = 0;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator(cache_dir_, ec)) {
    if (!dir.is_directory() || dir.path().extension() != ".git") continue;
    Entry entry{dir.path(), std::filesystem::last_write_time(dir.path(), ec), 0};
    for (const auto& file : std::filesystem::recursive_directory_iterator(dir.path(), ec)) {
      if (file.is_regular_file(ec)) entry.bytes += file.file_size(ec);
    }
    total += entry.bytes;
    entries.push_back(std::move(entry));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Fail(ErrorCode::kIo, "reading the mirror cache " + cache_dir_.string() + ": " +
                                    ec.message());
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  uint64_t freed = 0;
  for (const auto& entry : entries) {
    if (total - freed <= max_bytes) break;
    // Under the mirror's lock: an UpdateMirror of it waits, then clones it afresh.
    std::lock_guard mirror_lock(MirrorLock(entry.path));
    auto busy = in_use();
    if (std::any_of(busy.begin(), busy.end(), [&](const std::string& location) {
          return cache_dir_ / MirrorName(location) == entry.path;
        })) {
      continue;
    }
    if (auto removed = RemoveAll(entry.path); !removed) return Fail(removed.error());
    freed += entry.bytes;
  }
  return freed;
}

Result<Worktree> GitRepos::CreateWorktree(const Mirror& mirror,
                                          const std::filesystem::path& job_dir) {
  Worktree wt;
  wt.git_dir = job_dir / "git";
  wt.workspace = job_dir / "workspace";
  wt.base_commit = mirror.head_commit;
  wt.base_branch = mirror.default_branch;
  std::string context = "creating a working copy of " + mirror.url + " in " + job_dir.string();
  // A previous attempt (or a crash half-way) may have left either behind.
  Status cleared = RemoveAll(wt.workspace);
  if (cleared) cleared = RemoveAll(wt.git_dir);
  if (cleared) cleared = CreateDirectories(wt.workspace);
  if (!cleared) return std::unexpected(WithContext(cleared.error(), context));

  git_repository_init_options init;
  git_repository_init_options_init(&init, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
  init.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
  git_repository* raw = nullptr;
  if (int rc = git_repository_init_ext(&raw, wt.git_dir.c_str(), &init); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  git_repository_free(raw);
  std::error_code ec;
  std::filesystem::path mirror_objects = std::filesystem::absolute(mirror.path / "objects", ec);
  if (ec) return Fail(ErrorCode::kIo, context + ": " + ec.message());
  if (auto made = CreateDirectories(wt.git_dir / "objects" / "info"); !made) {
    return std::unexpected(WithContext(made.error(), context));
  }
  if (auto wrote = WriteFileAtomic(wt.git_dir / "objects" / "info" / "alternates",
                                   mirror_objects.string() + "\n");
      !wrote) {
    return std::unexpected(WithContext(wrote.error(), context));
  }

  if (auto neutral = NeutraliseAttributes(wt.git_dir, context); !neutral) {
    return std::unexpected(neutral.error());
  }
  auto repo = OpenRepository(wt.git_dir, context);
  if (!repo) return std::unexpected(repo.error());
  auto base = ParseOid(mirror.head_commit, context);
  if (!base) return std::unexpected(base.error());
  auto tree = CommitTree(repo->get(), *base, context);
  if (!tree) return std::unexpected(tree.error());
  if (int rc = git_repository_set_workdir(repo->get(), wt.workspace.c_str(), 0); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  git_checkout_options checkout;
  git_checkout_options_init(&checkout, GIT_CHECKOUT_OPTIONS_VERSION);
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  // Files are written exactly as committed: no eol conversion, ident or filter driver that the
  // repository's attributes name, so the workspace, the diff and the commit agree byte for byte.
  checkout.disable_filters = 1;
  if (int rc = git_checkout_tree(repo->get(), reinterpret_cast<const git_object*>(tree->get()),
                                 &checkout);
      rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  if (int rc = git_repository_set_head_detached(repo->get(), &*base); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  if (std::filesystem::exists(std::filesystem::symlink_status(wt.workspace / ".git", ec))) {
    return Fail(ErrorCode::kInternal, context + ": a .git entry appeared in the workspace");
  }
  return wt;
}

Result<int> GitRepos::RemoveIgnored(const Worktree& wt) {
  std::string context = "cleaning ignored files in " + wt.workspace.string();
  auto repo = OpenRepository(wt.git_dir, context);
  if (!repo) return std::unexpected(repo.error());
  if (int rc = git_repository_set_workdir(repo->get(), wt.workspace.c_str(), 0); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  git_status_options options;
  git_status_options_init(&options, GIT_STATUS_OPTIONS_VERSION);
  options.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
  // An ignored directory comes as one "dir/" entry: removed whole.
  options.flags = GIT_STATUS_OPT_INCLUDE_IGNORED | GIT_STATUS_OPT_INCLUDE_UNTRACKED;
  git_status_list* raw_list = nullptr;
  if (int rc = git_status_list_new(&raw_list, repo->get(), &options); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_status_list> list(raw_list);
  int removed = 0;
  for (size_t i = 0; i < git_status_list_entrycount(list.get()); ++i) {
    const git_status_entry* entry = git_status_byindex(list.get(), i);
    if (entry == nullptr || (entry->status & GIT_STATUS_IGNORED) == 0 ||
        entry->index_to_workdir == nullptr) {
      continue;
    }
    std::filesystem::path relative(entry->index_to_workdir->new_file.path);
    bool inside = !relative.empty() && relative.is_relative();
    for (const auto& part : relative) inside = inside && part != "..";
    if (!inside) continue;
    std::error_code ec;
    // remove_all removes a symlink itself, not what it points to.
    std::filesystem::remove_all(wt.workspace / relative, ec);
    if (ec) {
      return Fail(ErrorCode::kIo, context + ": " + relative.string() + ": " + ec.message());
    }
    ++removed;
  }
  return removed;
}

Result<DiffSummary> GitRepos::Diff(const Worktree& wt) {
  std::string context = "diffing " + wt.workspace.string();
  auto staged = StageWorkspace(wt, context);
  if (!staged) return std::unexpected(staged.error());
  git_repository* repo = staged->first.get();
  auto base = ParseOid(wt.base_commit, context);
  if (!base) return std::unexpected(base.error());
  auto base_tree = CommitTree(repo, *base, context);
  if (!base_tree) return std::unexpected(base_tree.error());
  git_tree* raw_tree = nullptr;
  if (int rc = git_tree_lookup(&raw_tree, repo, &staged->second); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_tree> new_tree(raw_tree);
  return DiffTrees(repo, base_tree->get(), new_tree.get(), context);
}

Result<DiffSummary> GitRepos::Diff(const Worktree& wt, const std::string& commit) {
  std::string context = "diffing " + commit + " in " + wt.git_dir.string();
  if (auto neutral = NeutraliseAttributes(wt.git_dir, context); !neutral) {
    return std::unexpected(neutral.error());
  }
  // Bare: attributes come from the git dir only, never from files in a work tree.
  auto repo = OpenRepository(wt.git_dir, context);
  if (!repo) return std::unexpected(repo.error());
  auto base = ParseOid(wt.base_commit, context);
  if (!base) return std::unexpected(base.error());
  auto base_tree = CommitTree(repo->get(), *base, context);
  if (!base_tree) return std::unexpected(base_tree.error());
  auto id = ParseOid(commit, context);
  if (!id) return std::unexpected(id.error());
  auto tree = CommitTree(repo->get(), *id, context);
  if (!tree) return std::unexpected(tree.error());
  return DiffTrees(repo->get(), base_tree->get(), tree->get(), context);
}

Status GitRepos::CheckOut(const Worktree& wt, const std::string& commit) {
  std::string context = "checking out " + commit + " into " + wt.workspace.string();
  Status cleared = RemoveAll(wt.workspace);
  if (cleared) cleared = CreateDirectories(wt.workspace);
  if (cleared) cleared = RemoveAll(wt.git_dir / "index");
  if (!cleared) return std::unexpected(WithContext(cleared.error(), context));
  if (auto neutral = NeutraliseAttributes(wt.git_dir, context); !neutral) {
    return std::unexpected(neutral.error());
  }
  auto repo = OpenRepository(wt.git_dir, context);
  if (!repo) return std::unexpected(repo.error());
  auto id = ParseOid(commit, context);
  if (!id) return std::unexpected(id.error());
  auto tree = CommitTree(repo->get(), *id, context);
  if (!tree) return std::unexpected(tree.error());
  if (int rc = git_repository_set_workdir(repo->get(), wt.workspace.c_str(), 0); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  git_checkout_options checkout;
  git_checkout_options_init(&checkout, GIT_CHECKOUT_OPTIONS_VERSION);
  checkout.checkout_strategy = GIT_CHECKOUT_FORCE;
  checkout.disable_filters = 1;
  if (int rc = git_checkout_tree(repo->get(), reinterpret_cast<const git_object*>(tree->get()),
                                 &checkout);
      rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(wt.workspace / ".git", ec))) {
    return Fail(ErrorCode::kInternal, context + ": a .git entry appeared in the workspace");
  }
  return {};
}

Result<std::string> GitRepos::Commit(const Worktree& wt, const std::string& branch,
                                     const std::string& message, const GitAuthor& author) {
  std::string context = "committing to " + branch + " in " + wt.git_dir.string();
  std::string refname = "refs/heads/" + branch;
  int valid = 0;
  if (git_reference_name_is_valid(&valid, refname.c_str()) < 0 || valid == 0) {
    return Fail(ErrorCode::kInvalidArgument, context + ": not a valid branch name");
  }
  auto staged = StageWorkspace(wt, context);
  if (!staged) return std::unexpected(staged.error());
  git_repository* repo = staged->first.get();

  git_tree* raw_tree = nullptr;
  if (int rc = git_tree_lookup(&raw_tree, repo, &staged->second); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_tree> tree(raw_tree);
  auto base = ParseOid(wt.base_commit, context);
  if (!base) return std::unexpected(base.error());
  git_commit* raw_parent = nullptr;
  if (int rc = git_commit_lookup(&raw_parent, repo, &*base); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_commit> parent(raw_parent);
  git_signature* raw_signature = nullptr;
  if (int rc = git_signature_now(&raw_signature, author.name.c_str(), author.email.c_str());
      rc < 0) {
    return std::unexpected(GitError(rc, context + ": author"));
  }
  Owned<git_signature> signature(raw_signature);
  const git_commit* parents[] = {parent.get()};
  git_oid commit_id;
  if (int rc = git_commit_create(&commit_id, repo, nullptr, signature.get(), signature.get(),
                                 nullptr, message.c_str(), tree.get(), 1, parents);
      rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  git_reference* raw_ref = nullptr;
  if (int rc = git_reference_create(&raw_ref, repo, refname.c_str(), &commit_id, 1, "commit");
      rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  Owned<git_reference> ref(raw_ref);
  return Hex(commit_id);
}

Status GitRepos::Push(const Worktree& wt, const std::string& remote_location,
                      const std::string& branch) {
  std::string context = "pushing " + branch + " to " + remote_location;
  std::string refname = "refs/heads/" + branch;
  auto repo = OpenRepository(wt.git_dir, context);
  if (!repo) return std::unexpected(repo.error());
  git_oid commit_id;
  if (int rc = git_reference_name_to_id(&commit_id, repo->get(), refname.c_str()); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }

  if (IsLocalLocation(remote_location)) {
    std::filesystem::path path = LocalPath(remote_location);
    if (!Exists(path)) {
      return Fail(ErrorCode::kNotFound, context + ": no such repository");
    }
    auto target = OpenRepository(path, context);
    if (!target) return std::unexpected(target.error());
    // A ref lock older than this cache is left by a push that was killed half-way (a lock of
    // its own pushes would be younger): it would refuse every later push of the branch.
    std::filesystem::path lock = git_repository_path(target->get()) + refname + ".lock";
    std::error_code ec;
    if (auto locked_at = std::filesystem::last_write_time(lock, ec); !ec && locked_at < created_) {
      std::filesystem::remove(lock, ec);
    }
    if (!git_repository_is_bare(target->get())) {
      git_reference* raw_head = nullptr;
      if (git_reference_lookup(&raw_head, target->get(), "HEAD") == 0) {
        Owned<git_reference> head(raw_head);
        const char* checked_out = git_reference_symbolic_target(head.get());
        if (checked_out != nullptr && refname == checked_out) {
          return Fail(ErrorCode::kInvalidArgument,
                      context +
                          ": the branch is checked out there; pushing would change files "
                          "under its work tree");
        }
      }
      return PushIntoRepository(repo->get(), target->get(), refname, commit_id, context);
    }
  }

  auto remote = AnonymousRemote(repo->get(), remote_location, context);
  if (!remote) return std::unexpected(remote.error());
  std::string refspec = "+" + refname + ":" + refname;
  char* refspecs[] = {refspec.data()};
  git_strarray refspec_array{refspecs, 1};
  git_push_options push;
  git_push_options_init(&push, GIT_PUSH_OPTIONS_VERSION);
  push.proxy_opts.type = GIT_PROXY_AUTO;
  TransferPayload payload{&credentials_};
  SetCallbacks(push.callbacks, payload);
  push.callbacks.push_update_reference = [](const char* ref, const char* status, void* data) {
    if (status != nullptr) {
      static_cast<TransferPayload*>(data)->rejected = std::string(ref) + ": " + status;
    }
    return 0;
  };
  if (int rc = git_remote_push(remote->get(), &refspec_array, &push); rc < 0) {
    return std::unexpected(GitError(rc, context));
  }
  if (!payload.rejected.empty()) {
    return Fail(ErrorCode::kProtocol, context + ": rejected " + payload.rejected);
  }
  return {};
}

Result<BranchStatus> GitRepos::LocalBranchStatus(const std::string& location,
                                                 const std::string& branch,
                                                 const std::string& commit) {
  std::string context = "reading " + branch + " in " + location;
  std::filesystem::path path = LocalPath(location);
  if (!IsLocalLocation(location) || !Exists(path)) {
    return Fail(ErrorCode::kNotFound, context + ": no such local repository");
  }
  auto repo = OpenRepository(path, context);
  if (!repo) return std::unexpected(repo.error());
  auto published = ParseOid(commit, context);
  if (!published) return std::unexpected(published.error());
  BranchStatus status;
  git_oid branch_id;
  status.exists =
      git_reference_name_to_id(&branch_id, repo->get(), ("refs/heads/" + branch).c_str()) == 0;
  git_oid head;
  if (git_reference_name_to_id(&head, repo->get(), "HEAD") == 0) {
    status.merged = git_oid_equal(&head, &*published) != 0 ||
                    git_graph_descendant_of(repo->get(), &head, &*published) == 1;
  }
  return status;
}

Status GitRepos::RemoveWorktree(const Worktree& wt) {
  if (auto removed = RemoveAll(wt.workspace); !removed) return removed;
  return RemoveAll(wt.git_dir);
}

}  // namespace drover::fleet
