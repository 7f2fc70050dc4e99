// End-to-end: the built drover binary over real git repositories, with the model replayed
// from hand-written cassettes through the gateway.
#include <gtest/gtest.h>

#include "sandbox/process.h"
#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

std::map<std::string, std::string> ShopFiles() {
  return {{"Makefile", "test:\n\tpython3 -m unittest -q\n"},
          {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
          {"cart.py",
           "from pricing import compute_total\n\n\ndef cart_value(items):\n"
           "    return compute_total(items)\n"},
          {"test_cart.py",
           "import unittest\n\nfrom cart import cart_value\n\n\nclass CartTest(unittest.TestCase):\n"
           "    def test_value(self):\n        self.assertEqual(cart_value([1, 2]), 3)\n"},
          {".gitignore", "__pycache__/\n"}};
}

Json RenameEdits() {
  return {{"edits",
           Json::array({{{"path", "pricing.py"},
                         {"search", "def compute_total(items):"},
                         {"replace", "def compute_sum(items):"}},
                        {{"path", "cart.py"},
                         {"search", "from pricing import compute_total"},
                         {"replace", "from pricing import compute_sum"}},
                        {{"path", "cart.py"},
                         {"search", "return compute_total(items)"},
                         {"replace", "return compute_sum(items)"}}})}};
}

Json SuccessfulExchanges() {
  return Json::array(
      {Call("search", {{"pattern", "compute_total"}}, "Finding the uses."),
       Call("edit", RenameEdits(), "Renaming the definition and its caller.",
            {"pricing.py", "cart.py"}),
       Call("verify", Json::object()),
       Call("finish", {{"summary", "Renamed compute_total to compute_sum and updated cart.py."}},
            "Done.", {"passed"})});
}

const Json* FindJob(const DroverRun& run, const std::string& repository) {
  if (!run.summary.is_object()) return nullptr;
  for (const auto& job : run.summary["jobs"]) {
    if (job["repository"] == repository) return &job;
  }
  return nullptr;
}

int CountToolErrors(const std::filesystem::path& transcript) {
  int errors = 0;
  for (const auto& event : ReadJsonl(transcript)) {
    if (event.value("type", "") == "tool_result" && event.value("is_error", false)) ++errors;
  }
  return errors;
}

// (a) A migration that succeeds: PR files written, branch pushed, transcript present.
TEST(Run, SuccessfulMigrationWritesPrAndPushesBranch) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("shop", SuccessfulExchanges());
  DroverRun run = fx.Run();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Json* job = FindJob(run, "shop");
  ASSERT_NE(job, nullptr) << run.output;
  EXPECT_EQ((*job)["status"], "published") << job->dump(2);
  EXPECT_EQ((*job)["turns"], 4);
  EXPECT_GT((*job)["input_tokens"].get<int64_t>(), 0);
  EXPECT_EQ((*job)["files_changed"], 2);

  std::filesystem::path job_dir = run.run_dir / "jobs" / "shop";
  std::string pr = ReadTestFile(job_dir / "pr.md");
  EXPECT_NE(pr.find("Renamed compute_total to compute_sum"), std::string::npos) << pr;
  // The gate's record: the mode, and each check before and after.
  EXPECT_NE(pr.find("Mode: **all green**"), std::string::npos) << pr;
  EXPECT_NE(pr.find("| test | `make -s test` | passed ("), std::string::npos) << pr;
  std::string patch = ReadTestFile(job_dir / "pr.patch");
  EXPECT_NE(patch.find("+def compute_sum(items):"), std::string::npos) << patch;
  EXPECT_NE(patch.find("-from pricing import compute_total"), std::string::npos) << patch;

  // The branch landed in the target repository with exactly the change.
  std::string shown = Sh("git -C '" + repo.string() + "' show drover/rename-total:cart.py");
  EXPECT_NE(shown.find("return compute_sum(items)"), std::string::npos) << shown;
  EXPECT_EQ(Sh("git -C '" + repo.string() + "' rev-parse --abbrev-ref HEAD"), "main\n");

  auto events = ReadJsonl(job_dir / "attempt-1" / "transcript.jsonl");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().value("type", ""), "outcome");
  EXPECT_NE(run.output.find("published"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(run.run_dir / "summary.md"));
}

// (b) The agent's edit breaks the tests: no PR, failed with the verifier's reason.
TEST(Run, BrokenTestsMeanNoPr) {
  Fixture fx;
  auto repo = fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  Json finish = {{"summary", "Renamed the function."}};
  fx.WriteCassette("shop", Json::array({Call("edit",
                                             {{"path", "pricing.py"},
                                              {"search", "def compute_total(items):"},
                                              {"replace", "def compute_sum(items):"}}),
                                        Call("finish", finish), Call("finish", finish),
                                        Call("finish", finish)}));
  DroverRun run = fx.Run();
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const Json* job = FindJob(run, "shop");
  ASSERT_NE(job, nullptr) << run.output;
  EXPECT_EQ((*job)["status"], "failed");
  std::string reason = (*job)["reason"];
  EXPECT_NE(reason.find("test"), std::string::npos) << reason;
  EXPECT_NE(reason.find("fail"), std::string::npos) << reason;
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs" / "shop" / "pr.md"));
  EXPECT_EQ(Sh("git -C '" + repo.string() + "' branch --list 'drover/*'"), "");
}

// (c) Malformed tool arguments: the model sees an error and the run goes on to a clean end.
TEST(Run, MalformedToolArgumentsBecomeAnErrorTheModelSees) {
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  Json exchanges = SuccessfulExchanges();
  Json malformed = {
      {"reply", {{"text", ""}, {"tool_calls", Json::array({{{"name", "edit"},
                                                            {"arguments_raw",
                                                             "{\"path\": \"pricing.py\", "}}})}}}};
  exchanges.insert(exchanges.begin() + 1, malformed);
  // The next request must carry the error back to the model.
  exchanges[2]["expect"] = {{"last_message_contains", {"JSON"}}};
  fx.WriteCassette("shop", exchanges);
  DroverRun run = fx.Run();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Json* job = FindJob(run, "shop");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ((*job)["status"], "published") << job->dump(2);
  EXPECT_EQ(CountToolErrors(run.run_dir / "jobs" / "shop" / "attempt-1" / "transcript.jsonl"), 1);
}

TEST(Run, RepeatedMalformedRepliesEndTheJobCleanly) {
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  Json bad = {{"reply",
               {{"text", ""},
                {"tool_calls", Json::array({{{"name", "edit"}, {"arguments_raw", "not json"}}})}}}};
  Json unknown = Call("delete_everything", Json::object());
  Json empty = {{"reply", {{"text", ""}}}};
  fx.WriteCassette("shop", Json::array({bad, unknown, bad, bad, empty, bad, bad}));
  DroverRun run = fx.Run();
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const Json* job = FindJob(run, "shop");
  ASSERT_NE(job, nullptr) << run.output;
  EXPECT_EQ((*job)["status"], "failed");
  EXPECT_NE((*job)["reason"].get<std::string>().find("in a row"), std::string::npos)
      << job->dump(2);
  EXPECT_EQ((*job)["failure_kind"], "model_error");
}

// (d) Edits aimed outside the workspace are refused and change nothing outside.
TEST(Run, PathsOutsideTheWorkspaceAreRefused) {
  Fixture fx;
  std::filesystem::path outside = fx.root() / "outside";
  drover::testing::WriteTestFile(outside, "target.txt", "original\n");
  auto files = ShopFiles();
  auto repo = fx.AddRepo("shop", files);
  // A committed symlink that leads out of the repository.
  Sh("cd '" + repo.string() + "' && ln -s '" + outside.string() +
     "' escape && git add escape && git -c user.name=T -c user.email=t@e commit -qm link");
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette(
      "shop",
      Json::array(
          {Call("write_file", {{"path", "../outside.txt"}, {"content", "x"}}),
           Call("write_file", {{"path", (outside / "abs.txt").string()}, {"content", "x"}}),
           Call("write_file", {{"path", "escape/pwned.txt"}, {"content", "x"}}),
           Call("edit", {{"path", "escape/target.txt"}, {"search", "original"}, {"replace", "pwned"}}),
           Call("read_file", {{"path", "../../../../../../etc/passwd"}}),
           Call("finish", {{"summary", "Nothing to do."},
                           {"not_applicable_reason", "Test of path confinement."}})}));
  DroverRun run = fx.Run();
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const Json* job = FindJob(run, "shop");
  ASSERT_NE(job, nullptr) << run.output;
  EXPECT_EQ((*job)["status"], "not_applicable") << job->dump(2);
  EXPECT_EQ(ReadTestFile(outside / "target.txt"), "original\n");
  EXPECT_FALSE(std::filesystem::exists(outside / "abs.txt"));
  EXPECT_FALSE(std::filesystem::exists(outside / "pwned.txt"));
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs" / "shop" / "outside.txt"));
  auto transcript = run.run_dir / "jobs" / "shop" / "attempt-1" / "transcript.jsonl";
  EXPECT_EQ(CountToolErrors(transcript), 5);
  std::string text = ReadTestFile(transcript);
  EXPECT_EQ(text.find("root:x:0:0"), std::string::npos);
}

// (e) A bad spec: non-zero exit, the message names file, line and field; nothing runs.
TEST(Run, BadSpecNamesTheField) {
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(
      "---\nid: x\ntitle: X\nverifiers:\n  - name: test\n    command: make test\n"
      "limits:\n  max_turns: ten\n---\nDo it.\n");
  DroverRun run = fx.Run();
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("migration.md:8"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("limits.max_turns"), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(fx.root() / "state" / "runs" / "run1" / "jobs"));

  fx.WriteSpec("---\nid: x\ntitle: X\nverifers:\n  - name: t\n    command: c\n---\nDo it.\n");
  run = fx.Run();
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("verifers"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("migration.md:4"), std::string::npos) << run.output;
}

// The files the user wrote are checked before the environment: with no model set, a broken
// spec or targets file is still what the error names.
TEST(Run, UserFilesAreCheckedBeforeTheModelSetting) {
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec("---\nid: x\ntitle: X\nverifiers: 42\n---\nDo it.\n");
  DroverRun run = fx.Run({{"DROVER_MODEL", ""}});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("migration.md:4"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("verifiers"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("DROVER_MODEL"), std::string::npos) << run.output;

  fx.WriteSpec(StandardSpec());
  fx.AddTargetLine("ftp://host/shop.git");
  run = fx.Run({{"DROVER_MODEL", ""}});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("repos.txt:3: unsupported URL scheme"), std::string::npos)
      << run.output;
}

// A repository in a folder whose name holds a space is a target as the line says; it is
// worked on and published (as "my-shop").
TEST(Run, TargetPathsMayHoldSpaces) {
  Fixture fx;
  auto repo = fx.AddRepo("my shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("my-shop", SuccessfulExchanges());
  DroverRun run = fx.Run();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const Json* job = FindJob(run, "my-shop");
  ASSERT_NE(job, nullptr) << run.output;
  EXPECT_EQ((*job)["status"], "published") << job->dump(2);
  EXPECT_EQ(Sh("git -C '" + repo.string() + "' rev-parse --verify -q drover/rename-total >/dev/null"
               " && echo yes"),
            "yes\n");
}

TEST(Run, UnknownCommandIsAUsageErrorEvenWithHelp) {
  for (std::vector<std::string> args : {std::vector<std::string>{"bogus", "--help"},
                                        std::vector<std::string>{"bogus"}}) {
    sandbox::ProcessSpec spec;
    spec.argv = {DROVER_BINARY};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
    spec.timeout = std::chrono::seconds(30);
    auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
    ASSERT_TRUE(result.has_value()) << result.error().ToString();
    EXPECT_EQ(result->exit_code, 2) << result->output;
    EXPECT_NE(result->output.find("bogus"), std::string::npos) << result->output;
  }
}

// A target that cannot be cloned fails alone; the other jobs go on; a red baseline is skipped.
TEST(Run, BrokenTargetsDoNotStopTheRun) {
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  auto red = ShopFiles();
  red["test_cart.py"] += "\n    def test_broken(self):\n        self.fail('red on main')\n";
  fx.AddRepo("red", red);
  fx.AddTargetLine((fx.root() / "repos" / "missing").string() + "  # never existed");
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("shop", SuccessfulExchanges());
  DroverRun run = fx.Run({}, {"--jobs", "2"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const Json* shop = FindJob(run, "shop");
  const Json* red_job = FindJob(run, "red");
  const Json* missing = FindJob(run, "missing");
  ASSERT_TRUE(shop && red_job && missing) << run.output;
  EXPECT_EQ((*shop)["status"], "published");
  EXPECT_EQ((*red_job)["status"], "skipped");
  EXPECT_NE((*red_job)["reason"].get<std::string>().find("baseline"), std::string::npos);
  EXPECT_EQ((*missing)["status"], "failed");
  EXPECT_NE((*missing)["reason"].get<std::string>().find("clone"), std::string::npos);
  EXPECT_EQ((*missing)["failure_kind"], "infrastructure");
  EXPECT_EQ((*red_job)["failure_kind"], "");
}

}  // namespace
}  // namespace drover::e2e
