#include "forge/forge.h"

#include <chrono>
#include <ctime>

#include "core/fs.h"
#include "core/json.h"

namespace drover::fleet {
namespace {

std::string UtcNow() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RenderMarkdown(const PullRequestDraft& draft) {
  std::string text = "# " + draft.title + "\n\n";
  text += "`" + draft.head_branch + "` → `" + draft.base_branch + "` in " + draft.repository;
  if (draft.draft) text += " (draft)";
  if (!draft.labels.empty()) {
    text += " · labels:";
    for (const auto& label : draft.labels) text += " `" + label + "`";
  }
  text += "\n\n" + draft.body;
  if (!text.ends_with('\n')) text += '\n';
  return text;
}

}  // namespace

Result<std::string> ReplaceRepositoryPath(std::string_view location, std::string_view path,
                                          std::string_view replacement) {
  std::string_view rest = location;
  while (rest.ends_with('/')) rest.remove_suffix(1);
  std::string_view suffix;
  if (rest.ends_with(".git")) {
    suffix = ".git";
    rest.remove_suffix(4);
  }
  if (path.empty() || !rest.ends_with(path) || rest.size() == path.size() ||
      (rest[rest.size() - path.size() - 1] != '/' && rest[rest.size() - path.size() - 1] != ':')) {
    return Fail(ErrorCode::kInvalidArgument, "the location " + std::string(location) +
                                                 " does not end in the repository path " +
                                                 std::string(path));
  }
  return std::string(rest.substr(0, rest.size() - path.size())) + std::string(replacement) +
         std::string(suffix);
}

Result<PullRequest> LocalForge::OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) {
  std::string context = "publishing " + draft.head_branch + " of " + draft.repository;
  if (auto made = CreateDirectories(draft.output_dir); !made) {
    return std::unexpected(WithContext(made.error(), context));
  }
  if (draft.target_is_local) {
    if (auto pushed = git_.Push(wt, draft.target_location, draft.head_branch); !pushed) {
      return std::unexpected(pushed.error());
    }
  }

  std::filesystem::path json_path = draft.output_dir / "pr.json";
  std::filesystem::path md_path = draft.output_dir / "pr.md";
  std::string now = UtcNow();
  PullRequest pr;
  pr.id = "local:" + draft.repository + ":" + draft.head_branch;
  std::string created_at = now;
  // The same head branch is the same PR: keep its id and creation time.
  if (auto existing = ReadFile(json_path); existing) {
    auto previous = ParseJson(*existing, json_path.string());
    if (previous && previous->is_object() && previous->value("head", "") == draft.head_branch) {
      pr.id = previous->value("id", pr.id);
      created_at = previous->value("created_at", now);
      pr.updated = true;
    }
  } else if (existing.error().code != ErrorCode::kNotFound) {
    return std::unexpected(WithContext(existing.error(), context));
  }
  pr.url = md_path.string();
  if (!draft.target_is_local) {
    pr.url += " (branch not pushed: " + draft.target_location + " is not a local repository)";
  }

  Json json = {{"id", pr.id},
               {"title", draft.title},
               {"base", draft.base_branch},
               {"head", draft.head_branch},
               {"repository", draft.repository},
               {"target", draft.target_location},
               {"labels", draft.labels},
               {"draft", draft.draft},
               {"pushed", draft.target_is_local},
               {"created_at", created_at},
               {"updated_at", now}};
  // pr.json goes last: it is what marks the PR as open.
  Status wrote = WriteFileAtomic(md_path, RenderMarkdown(draft));
  if (wrote) wrote = WriteFileAtomic(draft.output_dir / "pr.patch", draft.patch);
  if (wrote) wrote = WriteFileAtomic(json_path, json.dump(2) + "\n");
  if (!wrote) return std::unexpected(WithContext(wrote.error(), context));
  return pr;
}

}  // namespace drover::fleet
