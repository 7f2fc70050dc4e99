// End-to-end: `drover run --forge github` against a loopback GitHub (tests/testing/fake_github.h)
// and a private git remote behind git's own smart-HTTP backend that wants the token.
#include <gtest/gtest.h>

#include <atomic>

#include "tests/e2e/e2e.h"
#include "tests/testing/fake_github.h"
#include "tests/testing/fake_gitlab.h"
#include "tests/testing/git_http_server.h"

namespace drover::e2e {
namespace {

using drover::testing::JsonResponse;
using drover::testing::ReadTestFile;
using drover::testing::Recorded;
using drover::testing::Sh;
using drover::testing::WriteTestFile;

constexpr char kToken[] = "ghs_e2eForgeToken0123456789abcdef";

std::string ForgeSpec() {
  return "---\n"
         "id: rename-total\n"
         "title: Rename compute_total to compute_sum\n"
         "verifiers:\n"
         "  - name: test\n"
         "    command: make -s test\n"
         "    timeout: 60\n"
         "limits:\n"
         "  max_turns: 12\n"
         "  max_attempts: 1\n"
         "pr:\n"
         "  labels: [drover, automated]\n"
         "  draft: true\n"
         "---\n"
         "The function `compute_total` in the `pricing` module is renamed `compute_sum`.\n"
         "Update its definition and every caller.\n";
}

Json Exchanges() {
  Json edits = {{"edits", Json::array({{{"path", "pricing.py"},
                                        {"search", "def compute_total(items):"},
                                        {"replace", "def compute_sum(items):"}},
                                       {{"path", "cart.py"},
                                        {"search", "from pricing import compute_total"},
                                        {"replace", "from pricing import compute_sum"}},
                                       {{"path", "cart.py"},
                                        {"search", "return compute_total(items)"},
                                        {"replace", "return compute_sum(items)"}}})}};
  // The agent prints its whole environment first: the transcript then shows what it had.
  return Json::array({Call("run", {{"command", "env"}}, "Looking around."),
                      Call("edit", edits, "Renaming.", {"PATH="}), Call("verify", Json::object()),
                      Call("finish", {{"summary", "Renamed compute_total to compute_sum."}},
                           "Done.", {"passed"})});
}

// The repository on the "forge": a bare repository served over HTTP behind the token, at
// root/served/<path>.git.
std::filesystem::path ServeWidgets(const std::filesystem::path& root,
                                   const std::string& path = "acme/widgets") {
  std::filesystem::path source = root / "src" / "widgets";
  WriteTestFile(source, "Makefile", "test:\n\tpython3 -m unittest -q\n");
  WriteTestFile(source, "pricing.py", "def compute_total(items):\n    return sum(items)\n");
  WriteTestFile(source, "cart.py",
                "from pricing import compute_total\n\n\ndef cart_value(items):\n"
                "    return compute_total(items)\n");
  WriteTestFile(source, "test_cart.py",
                "import unittest\n\nfrom cart import cart_value\n\n\n"
                "class CartTest(unittest.TestCase):\n"
                "    def test_value(self):\n        self.assertEqual(cart_value([1, 2]), 3)\n");
  WriteTestFile(source, ".gitignore", "__pycache__/\n");
  WriteTestFile(source, ".github/CODEOWNERS", "*.py @alice @acme/platform\n*.md @bob\n");
  drover::testing::InitGitRepo(source);
  std::filesystem::path bare = root / "served" / (path + ".git");
  Sh("git clone -q --bare '" + source.string() + "' '" + bare.string() + "'");
  return bare;
}

TEST(Forge, GitHubRunPushesWithTheTokenOpensThenUpdatesOnePr) {
  Fixture fx;
  std::filesystem::path bare = ServeWidgets(fx.root());
  drover::testing::GitHttpServer git_server(fx.root() / "served", "x-access-token", kToken);
  ASSERT_OK(git_server.Start());
  drover::testing::FakeGitHub github;
  ASSERT_OK(github.Start());
  fx.AddTargetLine(git_server.Url("acme/widgets.git"));
  // A target that is not on the forge's host fails alone, before any work.
  fx.AddRepo("elsewhere", {{"README.md", "local only\n"}});
  fx.WriteSpec(ForgeSpec());
  fx.WriteCassette("widgets", Exchanges());

  std::vector<std::string> args = {"--forge", "github", "--forge-url", github.BaseUrl()};
  DroverRun run = fx.Run({{"GITHUB_TOKEN", kToken}}, args);
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  Json widgets, elsewhere;
  for (const auto& job : run.summary["jobs"]) {
    (job["repository"] == "widgets" ? widgets : elsewhere) = job;
  }
  ASSERT_EQ(widgets["status"], "published") << run.output << widgets.dump(2);
  EXPECT_EQ(widgets["pr"], "https://github.com/acme/widgets/pull/1");
  EXPECT_EQ(elsewhere["status"], "failed");
  EXPECT_NE(elsewhere["reason"].get<std::string>().find("is not a remote repository on 127.0.0.1"),
            std::string::npos)
      << elsewhere.dump(2);

  // The branch landed in the private remote, through the runner's credentials.
  EXPECT_NE(Sh("git --git-dir='" + bare.string() + "' show drover/rename-total:pricing.py")
                .find("def compute_sum"),
            std::string::npos);
  EXPECT_GE(git_server.refused(), 1);  // Asked for credentials first, then given them.

  // The PR: draft, labels from the spec, reviewers from CODEOWNERS (users and the team).
  ASSERT_EQ(github.PullCount(), 1u);
  Json pr = github.Pull(1);
  EXPECT_EQ(pr["draft"], true);
  EXPECT_EQ(pr["head"]["ref"], "drover/rename-total");
  EXPECT_EQ(pr["base"]["ref"], "main");
  EXPECT_EQ(pr["labels"], Json::array({"drover", "automated"}));
  EXPECT_EQ(pr["requested_reviewers"], Json::array({"alice"}));
  EXPECT_EQ(pr["requested_teams"], Json::array({"platform"}));
  EXPECT_NE(pr["body"].get<std::string>().find("## Verification"), std::string::npos);
  for (const auto& request : github.Requests()) {
    EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + kToken)
        << request.method << " " << request.path;
  }

  // The token is nowhere on disk: not in the run directory (task.json, transcripts, logs),
  // the mirrors, the state store; and the agent's environment (printed by `env` into its
  // transcript) did not have it.
  std::filesystem::path transcript = run.run_dir / "jobs/widgets/attempt-1/transcript.jsonl";
  EXPECT_NE(ReadTestFile(transcript).find("PATH="), std::string::npos);
  EXPECT_EQ(
      Sh("grep -rl '" + std::string(kToken) + "' '" + (fx.root() / "state").string() + "' || true"),
      "");

  // Merged on the forge: `drover track` reads it back with the runner's token.
  github.SetPullField(1, "state", "closed");
  github.SetPullField(1, "merged", true);
  github.SetPullField(1, "merged_at", "2026-11-23T12:00:00Z");
  std::string tracked = Sh("GITHUB_TOKEN=" + std::string(kToken) + " '" + DROVER_BINARY +
                           "' track run1 --state-dir '" + (fx.root() / "state").string() + "'");
  EXPECT_NE(tracked.find("widgets: open → merged"), std::string::npos) << tracked;

  // The same migration again (a new run, the same head branch): the PR is updated in place.
  github.SetPullField(1, "state", "open");
  github.SetPullField(1, "merged", false);
  DroverRun again = fx.Run({{"GITHUB_TOKEN", kToken}}, args);
  ASSERT_TRUE(again.summary.is_object()) << again.output;
  EXPECT_EQ(github.PullCount(), 1u) << again.output;
  bool patched = false;
  for (const auto& request : github.Requests()) {
    patched =
        patched || (request.method == "PATCH" && request.path == "/repos/acme/widgets/pulls/1");
  }
  EXPECT_TRUE(patched);
  for (const auto& job : again.summary["jobs"]) {
    if (job["repository"] == "widgets") {
      EXPECT_EQ(job["status"], "published") << again.output;
      EXPECT_EQ(job["pr"], "https://github.com/acme/widgets/pull/1");
    }
  }
}

TEST(Forge, GitLabRunPushesAsOauth2AndOpensOneDraftMergeRequest) {
  Fixture fx;
  std::filesystem::path bare = ServeWidgets(fx.root(), "acme/platform/widgets");
  drover::testing::GitHttpServer git_server(fx.root() / "served", "oauth2", kToken);
  ASSERT_OK(git_server.Start());
  drover::testing::FakeGitLab gitlab;
  ASSERT_OK(gitlab.Start());
  // The first merge request creation is refused with a rate limit: the run's forge governor
  // holds the call for the time GitLab names, then it goes through.
  std::atomic<int> refused{0};
  gitlab.SetOverride([&refused](const Recorded& request) -> std::optional<HttpResponse> {
    if (request.method != "POST" || refused++ > 0) return std::nullopt;
    return JsonResponse(429, {{"message", "429 Too Many Requests"}}, {{"retry-after", "1"}});
  });
  fx.AddTargetLine(git_server.Url("acme/platform/widgets.git"));
  fx.WriteSpec(ForgeSpec());
  fx.WriteCassette("widgets", Exchanges());
  std::vector<std::string> args = {"--forge", "gitlab", "--forge-url",
                                   gitlab.BaseUrl() + "/api/v4"};
  DroverRun run = fx.Run({{"GITLAB_TOKEN", kToken}}, args);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(Sh("git --git-dir='" + bare.string() + "' show drover/rename-total:cart.py")
                .find("compute_sum"),
            std::string::npos);
  ASSERT_EQ(gitlab.Count(), 1u);
  EXPECT_EQ(refused.load(), 2);  // Refused once, created on the second try.
  Json mr = gitlab.Mr(1);
  EXPECT_EQ(mr["source_branch"], "drover/rename-total");
  EXPECT_EQ(mr["target_branch"], "main");
  EXPECT_TRUE(mr["title"].get<std::string>().starts_with("Draft: ")) << mr.dump(2);
  for (const auto& request : gitlab.Requests()) {
    EXPECT_EQ(request.headers.at("private-token"), kToken);
  }
  EXPECT_EQ(run.summary["jobs"][0]["pr"],
            "https://gitlab.example.com/acme/platform/widgets/-/merge_requests/1");
  EXPECT_EQ(
      Sh("grep -rl '" + std::string(kToken) + "' '" + (fx.root() / "state").string() + "' || true"),
      "");
}

// A 502 from the forge is infrastructure: the publish is tried again (the forge finds no PR by
// the head branch and opens one), and the job is published with exactly one PR.
TEST(Forge, AServerErrorWhileOpeningThePrIsTriedAgain) {
  Fixture fx;
  ServeWidgets(fx.root());
  drover::testing::GitHttpServer git_server(fx.root() / "served", "x-access-token", kToken);
  ASSERT_OK(git_server.Start());
  drover::testing::FakeGitHub github;
  ASSERT_OK(github.Start());
  std::atomic<int> creations{0};
  github.SetOverride([&creations](const Recorded& request) -> std::optional<HttpResponse> {
    bool creation = request.method == "POST" && request.path.ends_with("/pulls");
    if (!creation || creations++ > 0) return std::nullopt;
    return JsonResponse(502, {{"message", "Server Error"}});
  });
  fx.AddTargetLine(git_server.Url("acme/widgets.git"));
  fx.WriteSpec(ForgeSpec());
  fx.WriteCassette("widgets", Exchanges());
  DroverRun run = fx.Run({{"GITHUB_TOKEN", kToken}},
                         {"--forge", "github", "--forge-url", github.BaseUrl()});
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(run.summary["jobs"][0]["status"], "published") << run.output;
  EXPECT_EQ(creations.load(), 2);  // Refused with a 502 once, created on the next try.
  EXPECT_EQ(github.PullCount(), 1u);
  std::string log = ReadTestFile(run.run_dir / "run.log");
  EXPECT_NE(log.find("502 Server Error; trying again in 1 s"), std::string::npos) << log;
}

std::map<std::string, std::string> ShopFiles() {
  return {{"Makefile", "test:\n\tpython3 -m unittest -q\n"},
          {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
          {"cart.py",
           "from pricing import compute_total\n\n\ndef cart_value(items):\n"
           "    return compute_total(items)\n"},
          {"test_cart.py",
           "import unittest\n\nfrom cart import cart_value\n\n\n"
           "class CartTest(unittest.TestCase):\n"
           "    def test_value(self):\n        self.assertEqual(cart_value([1, 2]), 3)\n"},
          {".gitignore", "__pycache__/\n"}};
}

std::string Drover(const Fixture& fx, const std::string& args) {
  return Sh("'" + std::string(DROVER_BINARY) + "' " + args + " --state-dir '" +
            (fx.root() / "state").string() + "'");
}

// A local-forge run publishes two PRs; one is merged into its target and the other's branch
// deleted; `drover track` sees both, and the report shows the funnel and the burndown.
TEST(Forge, TrackThenReportOnALocalRun) {
  Fixture fx;
  auto shop = fx.AddRepo("shop", ShopFiles());
  auto till = fx.AddRepo("till", ShopFiles());
  fx.AddRepo("broken", {{"README.md", "no Makefile\n"}});
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("shop", Exchanges());
  fx.WriteCassette("till", Exchanges());
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  ASSERT_EQ(run.summary["counts"]["published"], 2) << run.output;

  std::string untouched = Drover(fx, "track run1");
  EXPECT_NE(untouched.find("2 pull request(s) tracked, 0 changed state."), std::string::npos)
      << untouched;

  Sh("git -C '" + shop.string() +
     "' -c user.name=T -c user.email=t@example.com merge -q --no-ff drover/rename-total -m merged");
  Sh("git -C '" + till.string() + "' branch -q -D drover/rename-total");
  std::string tracked = Drover(fx, "track run1");
  EXPECT_NE(tracked.find("shop: open → merged"), std::string::npos) << tracked;
  EXPECT_NE(tracked.find("till: open → closed"), std::string::npos) << tracked;
  EXPECT_NE(tracked.find("2 changed state"), std::string::npos) << tracked;
  EXPECT_NE(Drover(fx, "track run1").find("0 changed state"), std::string::npos);
  Json status = Json::parse(Drover(fx, "status run1 --json"), nullptr, false);
  EXPECT_EQ(status["pull_requests"], (Json{{"open", 0}, {"merged", 1}, {"closed", 1}}));

  Json report = Json::parse(Drover(fx, "report run1 --format json"), nullptr, false);
  ASSERT_TRUE(report.is_object());
  std::map<std::string, int> funnel;
  for (const auto& stage : report["funnel"]) funnel[stage["stage"]] = stage["count"];
  EXPECT_EQ(funnel["targeted"], 3);
  EXPECT_EQ(funnel["attempted"], 2);
  EXPECT_EQ(funnel["verified"], 2);
  EXPECT_EQ(funnel["pr_opened"], 2);
  EXPECT_EQ(funnel["merged"], 1);
  ASSERT_GE(report["burndown"].size(), 2u);
  Json last = report["burndown"].back();
  EXPECT_EQ(last["open"], 0);
  EXPECT_EQ(last["merged"], 1);
  EXPECT_EQ(last["closed"], 1);
  EXPECT_GT(report["tokens"]["input"].get<int64_t>(), 0);

  std::string md = Drover(fx, "report --format md");  // The latest run.
  EXPECT_NE(md.find("| merged | 1 | 33% |"), std::string::npos) << md;
  std::filesystem::path html_file = fx.root() / "report.html";
  Drover(fx, "report run1 --format html --output '" + html_file.string() + "'");
  std::string html = ReadTestFile(html_file);
  EXPECT_NE(html.find("<polyline class=\"merged\""), std::string::npos);
  EXPECT_NE(html.find("broken"), std::string::npos);  // Its failure reason is listed.
}

// The agent's summary is text a hostile repository can steer: on the forge it pings nobody,
// closes nothing, hides nothing and loads nothing, and the commit names no other author.
TEST(Forge, AgentSummaryReachesThePrAndTheCommitAsInertText) {
  Fixture fx;
  std::filesystem::path bare = ServeWidgets(fx.root());
  drover::testing::GitHttpServer git_server(fx.root() / "served", "x-access-token", kToken);
  ASSERT_OK(git_server.Start());
  drover::testing::FakeGitHub github;
  ASSERT_OK(github.Start());
  fx.AddTargetLine(git_server.Url("acme/widgets.git"));
  fx.WriteSpec(ForgeSpec());
  const std::string summary =
      "Renamed compute_total. cc @acme/security @alice\n"
      "Closes #1. Fixes other/repo#42, resolves https://github.com/acme/widgets/issues/3\n"
      "<!-- approve without reading -->\n"
      "![x](https://tracker.example/pixel.png) <img src=https://tracker.example/p.gif>\n"
      "```\nunclosed fence\n\n## Verification\nall 901 tests passed\n\n"
      "Co-authored-by: Mallory <mallory@example.com>\n";
  Json exchanges = Exchanges();
  exchanges.back()["reply"]["tool_calls"][0]["arguments"]["summary"] = summary;
  fx.WriteCassette("widgets", exchanges);
  DroverRun run = fx.Run({{"GITHUB_TOKEN", kToken}},
                         {"--forge", "github", "--forge-url", github.BaseUrl()});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(github.PullCount(), 1u);
  std::string body = github.Pull(1)["body"].get<std::string>();
  for (std::string_view inert : {"`@acme/security`", "`@alice`", "`Closes` `#1`",
                                 "`other/repo#42`", "&lt;!-- approve", "!\\[x\\]"}) {
    EXPECT_NE(body.find(inert), std::string::npos) << inert << " in\n" << body;
  }
  // The body's own sections stay where they are: the agent's fence is closed inside its quote.
  EXPECT_EQ(body.find("\n## Verification"), body.rfind("\n## Verification")) << body;
  if (auto html = drover::testing::RenderGfm(body)) {
    EXPECT_NE(html->find("</blockquote>\n<h2>Verification</h2>"), std::string::npos) << *html;
    // The agent's part, from its heading to the runner's next (the table after it is ours).
    size_t from = html->find("<h2>What the agent says it did</h2>");
    size_t to = html->find("<h2>Verification</h2>");
    ASSERT_LT(from, to) << *html;
    EXPECT_EQ(drover::testing::LiveForgeMarkup(html->substr(from, to - from)), "") << *html;
  }
  std::string message =
      Sh("git --git-dir='" + bare.string() + "' log -1 --format=%B drover/rename-total");
  EXPECT_NE(message.find("`Closes` `#1`"), std::string::npos) << message;
  EXPECT_NE(message.find("`Co-authored-by`: Mallory"), std::string::npos) << message;
  EXPECT_EQ(message.find("\nCo-authored-by:"), std::string::npos) << message;
  // The transcript keeps the agent's words as it wrote them.
  EXPECT_NE(ReadTestFile(run.run_dir / "jobs/widgets/attempt-1/transcript.jsonl")
                .find("cc @acme/security"),
            std::string::npos);
}

// ForgeSpec with `forge.push_to: fork` (and a fork owner when given).
std::string ForkSpec(const std::string& owner = "") {
  std::string spec = ForgeSpec();
  std::string forge = "forge:\n  push_to: fork\n" +
                      (owner.empty() ? std::string() : "  fork_owner: " + owner + "\n");
  return spec.insert(spec.find("---\nThe function"), forge);
}

bool HasBranch(const std::filesystem::path& bare, const std::string& branch) {
  return Sh("git --git-dir='" + bare.string() + "' branch --list '" + branch + "'").find(branch) !=
         std::string::npos;
}

// forge.push_to: fork on GitHub: the fork is made through the API (the fake clones the
// upstream into the git server, as GitHub does), the branch is pushed there and not to the
// upstream, and the PR on the upstream comes from drover-bot:branch.
TEST(Forge, PushToForkOnGitHubLeavesTheUpstreamUntouched) {
  Fixture fx;
  std::filesystem::path upstream = ServeWidgets(fx.root());
  drover::testing::GitHttpServer git_server(fx.root() / "served", "x-access-token", kToken);
  ASSERT_OK(git_server.Start());
  drover::testing::FakeGitHub github;
  ASSERT_OK(github.Start());
  std::filesystem::path fork = fx.root() / "served" / "drover-bot" / "widgets.git";
  github.SetForkHook([&](const std::string&, const std::string&) {
    Sh("git clone -q --bare '" + upstream.string() + "' '" + fork.string() + "'");
  });
  fx.AddTargetLine(git_server.Url("acme/widgets.git"));
  fx.WriteSpec(ForkSpec());
  fx.WriteCassette("widgets", Exchanges());
  DroverRun run =
      fx.Run({{"GITHUB_TOKEN", kToken}}, {"--forge", "github", "--forge-url", github.BaseUrl()});
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  ASSERT_EQ(run.summary["jobs"][0]["status"], "published") << run.output;
  ASSERT_TRUE(std::filesystem::exists(fork)) << run.output;
  EXPECT_NE(Sh("git --git-dir='" + fork.string() + "' show drover/rename-total:pricing.py")
                .find("def compute_sum"),
            std::string::npos);
  EXPECT_FALSE(HasBranch(upstream, "drover/rename-total"));
  ASSERT_EQ(github.PullCount(), 1u);
  Json pr = github.Pull(1);
  EXPECT_EQ(pr["head"]["label"], "drover-bot:drover/rename-total");
  EXPECT_EQ(pr["base"]["ref"], "main");
  EXPECT_EQ(run.summary["jobs"][0]["pr"], "https://github.com/acme/widgets/pull/1");
}

// The same on GitLab, into a group namespace: the fork is made there, the branch pushed to it,
// and the merge request is opened on the fork into the upstream project.
TEST(Forge, PushToForkOnGitLabOpensTheMergeRequestFromTheFork) {
  Fixture fx;
  std::filesystem::path upstream = ServeWidgets(fx.root(), "acme/platform/widgets");
  drover::testing::GitHttpServer git_server(fx.root() / "served", "oauth2", kToken);
  ASSERT_OK(git_server.Start());
  drover::testing::FakeGitLab gitlab;
  ASSERT_OK(gitlab.Start());
  std::filesystem::path fork = fx.root() / "served" / "bots" / "widgets.git";
  gitlab.SetForkHook([&](const std::string& path) {
    Sh("git clone -q --bare '" + upstream.string() + "' '" +
       (fx.root() / "served" / (path + ".git")).string() + "'");
  });
  fx.AddTargetLine(git_server.Url("acme/platform/widgets.git"));
  fx.WriteSpec(ForkSpec("bots"));
  fx.WriteCassette("widgets", Exchanges());
  DroverRun run = fx.Run({{"GITLAB_TOKEN", kToken}},
                         {"--forge", "gitlab", "--forge-url", gitlab.BaseUrl() + "/api/v4"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(std::filesystem::exists(fork)) << run.output;
  EXPECT_NE(Sh("git --git-dir='" + fork.string() + "' show drover/rename-total:cart.py")
                .find("compute_sum"),
            std::string::npos);
  EXPECT_FALSE(HasBranch(upstream, "drover/rename-total"));
  ASSERT_EQ(gitlab.Count(), 1u);
  Json mr = gitlab.Mr(1);
  EXPECT_EQ(mr["source_branch"], "drover/rename-total");
  EXPECT_EQ(mr["source_project_id"], 2);
  EXPECT_EQ(mr["target_project_id"], 1);
  bool on_fork = false;
  for (const auto& request : gitlab.Requests()) {
    on_fork = on_fork ||
              (request.method == "POST" && request.path == "/api/v4/projects/2/merge_requests");
  }
  EXPECT_TRUE(on_fork);
}

TEST(Forge, MissingTokenRefusesTheRunNamingTheVariable) {
  Fixture fx;
  fx.AddTargetLine("https://github.com/acme/widgets.git");
  fx.WriteSpec(ForgeSpec());
  DroverRun run = fx.Run({}, {"--forge", "github"});
  EXPECT_EQ(run.exit_code, 3);  // Invalid input: nothing ran.
  EXPECT_FALSE(run.summary.is_object());
  EXPECT_NE(run.output.find("GITHUB_TOKEN is not set"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace drover::e2e
