#include "forge/github_forge.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/fs.h"
#include "core/strings.h"
#include "git/remote_location.h"

namespace drover::fleet {
namespace {

constexpr std::string_view kApiVersion = "2022-11-28";

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Branch names may hold characters that are special in a query string.
std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// `*` and `?` stay within one path segment; `**` crosses segments, and `**/` may match none.
bool Glob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.starts_with("**")) {
    std::string_view rest = pattern.substr(2);
    if (rest.starts_with('/') && Glob(rest.substr(1), text)) return true;
    for (size_t k = 0; k <= text.size(); ++k) {
      if (Glob(rest, text.substr(k))) return true;
    }
    return false;
  }
  if (pattern[0] == '*') {
    for (size_t k = 0; k <= text.size(); ++k) {
      if (Glob(pattern.substr(1), text.substr(k))) return true;
      if (k < text.size() && text[k] == '/') break;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] == '?') return text[0] != '/' && Glob(pattern.substr(1), text.substr(1));
  return pattern[0] == text[0] && Glob(pattern.substr(1), text.substr(1));
}

bool CodeOwnersMatch(std::string_view pattern, std::string_view path) {
  if (pattern.starts_with('!') || pattern.find('[') != std::string_view::npos) return false;
  bool dir_only = pattern.ends_with('/');
  if (dir_only) pattern.remove_suffix(1);
  bool anchored = pattern.starts_with('/');
  if (anchored) pattern.remove_prefix(1);
  anchored = anchored || pattern.find('/') != std::string_view::npos;
  if (pattern.empty()) return false;
  // GitHub documents `docs/*` as owning docs/a.md but not docs/sub/b.md.
  bool files_only = pattern.ends_with("/*");
  std::vector<std::string_view> parts = Split(path, '/');
  size_t n = parts.size();
  for (size_t start = 0; start < (anchored ? 1 : n); ++start) {
    std::string candidate;
    for (size_t end = start; end < n; ++end) {
      if (end > start) candidate += '/';
      candidate += parts[end];
      bool is_file = end + 1 == n;
      if (is_file ? dir_only : files_only) continue;
      if (Glob(pattern, candidate)) return true;
    }
  }
  return false;
}

Result<int> NumberOf(const Json& pr) {
  if (!pr.is_object() || !pr.contains("number") || !pr["number"].is_number_integer()) {
    return Fail(ErrorCode::kProtocol, "GitHub answered without a pull request number");
  }
  return pr["number"].get<int>();
}

std::string StringField(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

CheckState Worse(CheckState a, CheckState b) {
  auto rank = [](CheckState state) {
    switch (state) {
      case CheckState::kNone: return 0;
      case CheckState::kSuccess: return 1;
      case CheckState::kPending: return 2;
      case CheckState::kFailure: return 3;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace

std::string_view CheckStateName(CheckState state) {
  switch (state) {
    case CheckState::kNone: return "none";
    case CheckState::kPending: return "pending";
    case CheckState::kSuccess: return "success";
    case CheckState::kFailure: return "failure";
  }
  return "none";
}

Result<GitHubRepoRef> ParseGitHubLocation(std::string_view location) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "not a GitHub repository location (want https://HOST/OWNER/REPO or "
                "git@HOST:OWNER/REPO.git): " +
                    std::string(location));
  };
  auto remote = ParseRemoteLocation(location);
  if (!remote) return bad();
  std::vector<std::string_view> parts = Split(remote->path, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return bad();
  return GitHubRepoRef{remote->host, std::string(parts[0]), std::string(parts[1])};
}

namespace {

struct OwnerRule {
  std::string pattern;
  std::vector<std::string> owners;
};

struct OwnerSection {
  std::vector<std::string> defaults;
  std::vector<OwnerRule> rules;
};

// The tokens of a CODEOWNERS line up to a comment.
std::vector<std::string_view> CodeOwnersTokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = line.find_first_not_of(" \t");
  while (i != std::string_view::npos && i < line.size()) {
    size_t end = line.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = line.size();
    std::string_view token = line.substr(i, end - i);
    if (token.starts_with('#')) break;
    tokens.push_back(token);
    i = line.find_first_not_of(" \t", end);
  }
  return tokens;
}

// GitLab's section header: "[Name]", "^[Name]" or "[Name][2]", then its default owners.
std::optional<std::vector<std::string_view>> SectionHeader(std::string_view line) {
  if (line.starts_with('^')) line.remove_prefix(1);
  if (!line.starts_with('[')) return std::nullopt;
  size_t close = line.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  line.remove_prefix(close + 1);
  if (line.starts_with('[')) {
    size_t count_close = line.find(']');
    if (count_close == std::string_view::npos) return std::nullopt;
    line.remove_prefix(count_close + 1);
  }
  return CodeOwnersTokens(line);
}

std::vector<std::string> OwnerNames(const std::vector<std::string_view>& tokens) {
  std::vector<std::string> owners;
  for (std::string_view token : tokens) {
    if (token.starts_with('@') && token.size() > 1) owners.emplace_back(token.substr(1));
  }
  return owners;
}

}  // namespace

std::vector<std::string> OwnersFor(std::string_view codeowners_text,
                                   const std::vector<std::string>& changed_paths) {
  std::vector<OwnerSection> sections(1);
  for (std::string_view line : Split(codeowners_text, '\n')) {
    line = Trim(line);
    if (line.empty() || line.starts_with('#')) continue;
    if (auto header = SectionHeader(line)) {
      sections.push_back(OwnerSection{OwnerNames(*header), {}});
      continue;
    }
    std::vector<std::string_view> tokens = CodeOwnersTokens(line);
    if (tokens.empty()) continue;
    OwnerRule rule{std::string(tokens[0]), OwnerNames({tokens.begin() + 1, tokens.end()})};
    // Only a line without any owner (not even an e-mail one) takes the section's defaults.
    if (tokens.size() == 1) rule.owners = sections.back().defaults;
    sections.back().rules.push_back(std::move(rule));
  }

  std::vector<std::string> owners;
  std::set<std::string> seen;
  for (const std::string& raw_path : changed_paths) {
    std::string_view path = raw_path;
    while (path.starts_with('/')) path.remove_prefix(1);
    for (const OwnerSection& section : sections) {
      for (auto rule = section.rules.rbegin(); rule != section.rules.rend(); ++rule) {
        if (!CodeOwnersMatch(rule->pattern, path)) continue;
        for (const std::string& owner : rule->owners) {
          if (seen.insert(Lower(owner)).second) owners.push_back(owner);
        }
        break;
      }
    }
  }
  return owners;
}

Result<std::string> CodeOwnersText(const PullRequestDraft& draft,
                                   const std::filesystem::path& workspace,
                                   const std::vector<std::string>& places) {
  if (draft.codeowners) return *draft.codeowners;
  for (const std::string& where : places) {
    auto text = ReadFile(workspace / where);
    if (text) return std::move(*text);
    if (text.error().code != ErrorCode::kNotFound) return Fail(text.error());
  }
  return std::string();
}

std::vector<std::string> ChangedPathsOfPatch(std::string_view patch) {
  std::vector<std::string> paths;
  std::set<std::string> seen;
  auto add = [&](std::string_view path) {
    if (!path.empty() && seen.insert(std::string(path)).second) paths.emplace_back(path);
  };
  for (std::string_view line : Split(patch, '\n')) {
    if (!line.starts_with("diff --git a/")) continue;
    line = Trim(line.substr(std::string_view("diff --git ").size()));
    size_t b = line.rfind(" b/");
    if (b == std::string_view::npos) continue;
    std::string_view old_path = line.substr(2, b - 2);
    std::string_view new_path = line.substr(b + 3);
    add(new_path);
    add(old_path);
  }
  return paths;
}

GitHubForge::GitHubForge(GitHubForgeOptions options, HttpClient& http, ForgeGovernor& governor)
    : options_(std::move(options)),
      rest_(ForgeRestClientOptions(options_, "GitHub", RestAuth::kBearer,
                                   {{"accept", "application/vnd.github+json"},
                                    {"x-github-api-version", std::string(kApiVersion)}}),
            http, governor),
      forks_(ForkOptions{.forge = "GitHub",
                         .fork_owner = options_.fork_owner,
                         .resolve_token_user = true}) {}

std::string GitHubForge::ApiBase(const GitHubRepoRef& repo) const {
  std::string base = options_.api_base_url;
  if (base.empty()) {
    base =
        repo.host == "github.com" ? "https://api.github.com" : "https://" + repo.host + "/api/v3";
  }
  while (base.ends_with('/')) base.pop_back();
  return base;
}

Result<Json> GitHubForge::Call(const GitHubRepoRef& repo, std::string_view method,
                               const std::string& path, const std::optional<Json>& body) {
  return rest_.Call(ApiBase(repo), method, path, body);
}

Result<std::vector<std::string>> GitHubForge::AddLabels(const GitHubRepoRef& repo, int number,
                                                        const std::vector<std::string>& labels) {
  if (labels.empty()) return std::vector<std::string>{};
  std::string path =
      "/repos/" + repo.owner + "/" + repo.repo + "/issues/" + std::to_string(number) + "/labels";
  auto answer = Call(repo, "POST", path, Json{{"labels", labels}});
  if (!answer) return Fail(answer.error());
  if (!answer->is_array()) {
    return Fail(ErrorCode::kProtocol, "GitHub POST " + path + ": labels answer is not an array");
  }
  std::vector<std::string> names;
  for (const Json& label : *answer) names.push_back(StringField(label, "name"));
  return names;
}

Status GitHubForge::RequestReviewers(const GitHubRepoRef& repo, int number,
                                     const ReviewerRequest& reviewers) {
  if (reviewers.users.empty() && reviewers.teams.empty()) return {};
  std::string path = "/repos/" + repo.owner + "/" + repo.repo + "/pulls/" + std::to_string(number) +
                     "/requested_reviewers";
  Json body = {{"reviewers", reviewers.users}, {"team_reviewers", reviewers.teams}};
  auto answer = Call(repo, "POST", path, body);
  if (!answer) return Fail(answer.error());
  return {};
}

Result<PullRequest> GitHubForge::OpenOrUpdatePullRequest(const PullRequestDraft& draft,
                                                         const ReviewerRequest& reviewers) {
  std::string context = "publishing " + draft.head_branch + " of " + draft.repository;
  auto repo = ParseGitHubLocation(draft.target_location);
  if (!repo) return Fail(WithContext(repo.error(), context));
  std::string pulls = "/repos/" + repo->owner + "/" + repo->repo + "/pulls";
  // From a fork the head is FORK_OWNER:branch, in the PR list and when opening one.
  std::string head_owner = repo->owner;
  std::string head = draft.head_branch;
  if (options_.push_to_fork) {
    auto fork = EnsureFork(draft.target_location);
    if (!fork) return Fail(WithContext(fork.error(), context));
    head_owner = fork->owner;
    head = fork->owner + ":" + draft.head_branch;
  }

  auto open =
      Call(*repo, "GET",
           pulls + "?head=" + QueryEscape(head_owner + ":" + draft.head_branch) + "&state=open",
           std::nullopt);
  if (!open) return Fail(WithContext(open.error(), context));
  if (!open->is_array()) {
    return Fail(ErrorCode::kProtocol, context + ": GitHub's pull request list is not an array");
  }

  PullRequest result;
  Result<Json> pr;
  if (!open->empty()) {
    auto number = NumberOf(open->front());
    if (!number) return Fail(WithContext(number.error(), context));
    pr = Call(*repo, "PATCH", pulls + "/" + std::to_string(*number),
              Json{{"title", draft.title}, {"body", draft.body}});
    result.updated = true;
  } else {
    pr = Call(*repo, "POST", pulls,
              Json{{"title", draft.title},
                   {"head", head},
                   {"base", draft.base_branch},
                   {"body", draft.body},
                   {"draft", draft.draft}});
  }
  if (!pr) return Fail(WithContext(pr.error(), context));
  auto number = NumberOf(*pr);
  if (!number) return Fail(WithContext(number.error(), context));
  result.id = repo->owner + "/" + repo->repo + "#" + std::to_string(*number);
  result.url = StringField(*pr, "html_url");

  if (auto labelled = AddLabels(*repo, *number, draft.labels); !labelled) {
    return Fail(WithContext(labelled.error(), context));
  }
  // GitHub answers 422 when asked for the PR author's own review.
  std::string author =
      Lower(pr->is_object() && pr->contains("user") ? StringField((*pr)["user"], "login")
                                                    : std::string());
  ReviewerRequest wanted;
  for (const std::string& user : reviewers.users) {
    if (Lower(user) != author) wanted.users.push_back(user);
  }
  wanted.teams = reviewers.teams;
  // A 422 here means an owner cannot review (not a collaborator, unknown team). Reviewers
  // are advisory and the PR is already in place; failing would make every retry fail too.
  if (auto requested = RequestReviewers(*repo, *number, wanted);
      !requested && requested.error().code != ErrorCode::kInvalidArgument) {
    return Fail(WithContext(requested.error(), context));
  }
  return result;
}

Result<PullRequest> GitHubForge::OpenOrUpdate(const PullRequestDraft& draft, const Worktree& wt) {
  ReviewerRequest reviewers;
  if (options_.request_codeowners) {
    auto codeowners = CodeOwnersText(draft, wt.workspace,
                                     {".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"});
    if (!codeowners) return Fail(codeowners.error());
    std::string org_prefix;
    if (auto repo = ParseGitHubLocation(draft.target_location))
      org_prefix = Lower(repo->owner) + "/";
    for (const std::string& owner : OwnersFor(*codeowners, ChangedPathsOfPatch(draft.patch))) {
      size_t slash = owner.find('/');
      if (slash == std::string::npos) {
        reviewers.users.push_back(owner);
      } else if (Lower(owner).starts_with(org_prefix)) {
        // team_reviewers takes slugs of teams in the repository owner's organisation.
        reviewers.teams.push_back(owner.substr(slash + 1));
      }
    }
  }
  return OpenOrUpdatePullRequest(draft, reviewers);
}

Result<std::string> GitHubForge::PushLocation(const PullRequestDraft& draft) {
  return PushLocationFor(draft, options_.push_to_fork,
                         [this](std::string_view target) { return EnsureFork(target); });
}

class GitHubForge::ForkCalls final : public ForkApi {
 public:
  ForkCalls(GitHubForge& forge, GitHubRepoRef repo) : forge_(forge), repo_(std::move(repo)) {}

  Result<std::string> TokenUser() override {
    auto user = forge_.Call(repo_, "GET", "/user", std::nullopt);
    if (!user) return Fail(user.error());
    return StringField(*user, "login");
  }

  Result<ForgeRepository> Repository(const std::string& path) override {
    return Read(forge_.Call(repo_, "GET", "/repos/" + path, std::nullopt), path);
  }

  Result<ForgeRepository> CreateFork(const std::string& target_path, const std::string& owner,
                                     bool owner_is_token_user) override {
    Json body = {{"default_branch_only", true}};
    if (!owner_is_token_user) body["organization"] = owner;
    return Read(forge_.Call(repo_, "POST", "/repos/" + target_path + "/forks", body),
                owner + "/" + repo_.repo);
  }

 private:
  // GitHub names the fork's owner and name (it renames a fork on a clash); `path` stands in for
  // what it leaves out.
  static Result<ForgeRepository> Read(Result<Json> answer, const std::string& path) {
    if (!answer) return Fail(answer.error());
    const Json& found = *answer;
    ForgeRepository repository;
    std::string owner =
        found.is_object() && found.contains("owner") ? StringField(found["owner"], "login") : "";
    std::string name = StringField(found, "name");
    size_t slash = path.rfind('/');
    repository.path = (owner.empty() ? path.substr(0, slash) : owner) + "/" +
                      (name.empty() ? path.substr(slash + 1) : name);
    if (found.is_object() && found.contains("fork") && found["fork"].is_boolean() &&
        found["fork"].get<bool>() && found.contains("parent")) {
      repository.parent = StringField(found["parent"], "full_name");
    }
    return repository;
  }

  GitHubForge& forge_;
  GitHubRepoRef repo_;
};

Result<ForgeFork> GitHubForge::EnsureFork(std::string_view target_location) {
  auto repo = ParseGitHubLocation(target_location);
  if (!repo) {
    return Fail(WithContext(repo.error(), "the fork of " + std::string(target_location)));
  }
  ForkCalls calls(*this, *repo);
  return forks_.Ensure(calls, target_location, repo->owner + "/" + repo->repo);
}

Result<PullRequestState> GitHubForge::ReadState(std::string_view target_location, int number) {
  std::string context =
      "reading pull request " + std::to_string(number) + " of " + std::string(target_location);
  auto repo = ParseGitHubLocation(target_location);
  if (!repo) return Fail(WithContext(repo.error(), context));
  std::string base = "/repos/" + repo->owner + "/" + repo->repo;
  auto pr = Call(*repo, "GET", base + "/pulls/" + std::to_string(number), std::nullopt);
  if (!pr) return Fail(WithContext(pr.error(), context));
  if (!pr->is_object()) return Fail(ErrorCode::kProtocol, context + ": not a JSON object");

  PullRequestState state;
  state.number = number;
  state.url = StringField(*pr, "html_url");
  std::string merged_at = StringField(*pr, "merged_at");
  bool merged =
      (pr->contains("merged") && (*pr)["merged"].is_boolean() && (*pr)["merged"].get<bool>()) ||
      !merged_at.empty();
  if (merged) {
    state.state = PullRequestState::State::kMerged;
    if (!merged_at.empty()) state.merged_at = merged_at;
  } else if (StringField(*pr, "state") == "closed") {
    state.state = PullRequestState::State::kClosed;
  } else {
    state.state = PullRequestState::State::kOpen;
  }
  if (pr->contains("head")) state.head_sha = StringField((*pr)["head"], "sha");
  if (state.head_sha.empty()) return state;

  std::string commit = base + "/commits/" + state.head_sha;
  // Only the first 100 check runs are read: enough to see a failure or a pending run.
  auto runs = Call(*repo, "GET", commit + "/check-runs?per_page=100", std::nullopt);
  if (!runs) return Fail(WithContext(runs.error(), context));
  if (runs->is_object() && runs->contains("check_runs") && (*runs)["check_runs"].is_array()) {
    for (const Json& run : (*runs)["check_runs"]) {
      CheckState one = CheckState::kPending;
      if (StringField(run, "status") == "completed") {
        std::string conclusion = StringField(run, "conclusion");
        if (conclusion == "success" || conclusion == "neutral" || conclusion == "skipped") {
          one = CheckState::kSuccess;
        } else if (conclusion == "stale") {
          one = CheckState::kNone;
        } else {
          one = CheckState::kFailure;
        }
      }
      state.checks = Worse(state.checks, one);
    }
  }
  auto combined = Call(*repo, "GET", commit + "/status", std::nullopt);
  if (!combined) return Fail(WithContext(combined.error(), context));
  // A commit without statuses reports "pending" with an empty list: that means none.
  if (combined->is_object() && combined->contains("statuses") &&
      (*combined)["statuses"].is_array() && !(*combined)["statuses"].empty()) {
    std::string overall = StringField(*combined, "state");
    CheckState one = overall == "success"   ? CheckState::kSuccess
                     : overall == "pending" ? CheckState::kPending
                                            : CheckState::kFailure;
    state.checks = Worse(state.checks, one);
  }
  return state;
}

}  // namespace drover::fleet
