// End-to-end tests of `drover eval`: the built binary runs a small suite of real Python tasks
// through the pipeline of `drover run` (git, sandbox, agent, verifiers, local forge), from
// cassettes or from a scripted model on loopback, and scores them with hidden checks.
#include <gtest/gtest.h>

#include <fstream>

#include "core/json.h"
#include "sandbox/process.h"
#include "tests/testing/model_server.h"
#include "tests/testing/testing.h"

namespace drover::e2e {
namespace {

namespace fs = std::filesystem;
using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

const fs::path kSuite = fs::path(DROVER_SOURCE_DIR) / "tests/evals/fixtures/suite";
const fs::path kBaseline = fs::path(DROVER_SOURCE_DIR) / "tests/evals/fixtures/baseline.json";

struct EvalRun {
  int exit_code = -1;
  std::string output;
};

EvalRun Eval(const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {}) {
  sandbox::ProcessSpec spec;
  spec.argv = {DROVER_BINARY, "eval"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  for (const auto& [k, v] : env) spec.env[k] = v;
  spec.timeout = std::chrono::seconds(300);
  auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
  if (!result) {
    ADD_FAILURE() << result.error().ToString();
    return {};
  }
  return {result->timed_out ? -1 : result->exit_code, result->output};
}

Json ReadJson(const fs::path& path) {
  Json json = Json::parse(ReadTestFile(path), nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << path;
  return json;
}

// The results without wall times: what must not change between replays.
Json WithoutWallTimes(Json json) {
  if (json.is_object()) {
    json.erase("wall_seconds");
    for (auto& [key, value] : json.items()) value = WithoutWallTimes(value);
  } else if (json.is_array()) {
    for (auto& value : json) value = WithoutWallTimes(value);
  }
  return json;
}

const Json& TaskIn(const Json& results, const std::string& id) {
  for (const auto& task : results["tasks"]) {
    if (task["id"] == id) return task;
  }
  static const Json kNone;
  ADD_FAILURE() << "no task " << id;
  return kNone;
}

// A copy of the fixture suite to change.
fs::path CopySuite(const TempDir& tmp) {
  fs::path copy = tmp / "suite";
  fs::copy(kSuite, copy, fs::copy_options::recursive);
  return copy;
}

TEST(EvalE2e, ReplaysTwiceIdenticallyWhateverTheJobs) {
  TempDir tmp;
  auto first = Eval({kSuite.string(), "--out", (tmp / "a").string(), "--jobs", "2", "--baseline",
                     kBaseline.string()});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = Eval({kSuite.string(), "--out", (tmp / "b").string(), "--jobs", "4"});
  ASSERT_EQ(second.exit_code, 0) << second.output;

  Json a = ReadJson(tmp / "a/results.json");
  Json b = ReadJson(tmp / "b/results.json");
  EXPECT_EQ(WithoutWallTimes(a).dump(2), WithoutWallTimes(b).dump(2));
  EXPECT_EQ(ReadTestFile(tmp / "a/report.md"), ReadTestFile(tmp / "b/report.md"));
  EXPECT_EQ(ReadTestFile(tmp / "a/junit.xml"), ReadTestFile(tmp / "b/junit.xml"));

  EXPECT_EQ(a["replayed"], true);
  EXPECT_EQ(TaskIn(a, "py-rename")["runs"][0]["category"], "success");
  EXPECT_EQ(TaskIn(a, "py-timeout")["runs"][0]["category"], "success");
  // The negative control's change keeps the old name: its own tests pass, the hidden ones not.
  const Json& negative = TaskIn(a, "neg-rename-alias");
  EXPECT_EQ(negative["runs"][0]["outcome"], "published");
  EXPECT_EQ(negative["runs"][0]["category"], "checks_failed");
  // This one hides the hidden tests from discovery (load_tests in tests/__init__.py): what
  // runs passes, but fewer tests run than on the reference solution.
  const Json& hiding = TaskIn(a, "neg-timeout-hides-tests")["runs"][0];
  EXPECT_EQ(hiding["category"], "checks_failed");
  EXPECT_NE(hiding["reason"].get<std::string>().find("ran 2 tests; with the reference solution "
                                                     "they run 4"),
            std::string::npos)
      << hiding;
  EXPECT_EQ(a["overall"]["negative_controls_scored_success"], 0);
  // Tokens come from the gateway's metering of the cassettes' usage: 1200 in per turn.
  EXPECT_EQ(TaskIn(a, "py-rename")["runs"][0]["input_tokens"], 4800);
  EXPECT_EQ(TaskIn(a, "py-rename")["runs"][0]["turns"], 4);

  std::string report = ReadTestFile(tmp / "a/report.md");
  EXPECT_NE(report.find("regression test of the pipeline and the tools"), std::string::npos);
  std::string junit = ReadTestFile(tmp / "a/junit.xml");
  EXPECT_NE(junit.find("tests=\"4\" failures=\"0\""), std::string::npos) << junit;
}

// --keep-work leaves each run's directory, whose exchange log tells how much of each prompt
// repeats the one before; without it the work folder goes.
TEST(EvalE2e, KeepWorkLeavesTheRunsExchangeLogs) {
  TempDir tmp;
  auto kept = Eval({kSuite.string(), "--tasks", "py-rename", "--out", (tmp / "kept").string(),
                    "--keep-work"});
  ASSERT_EQ(kept.exit_code, 0) << kept.output;
  fs::path log = tmp / "kept/work/py-rename/attempt-1/state/runs/eval/jobs/py-rename/"
                       "exchanges.jsonl";
  ASSERT_TRUE(fs::exists(log)) << kept.output;
  std::vector<Json> answered;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    Json entry = Json::parse(line);
    if (entry.contains("reply")) answered.push_back(entry);
  }
  ASSERT_EQ(answered.size(), 4u);
  EXPECT_EQ(answered[0]["prompt_prefix"]["repeated_bytes"], 0);
  for (size_t i = 1; i < answered.size(); ++i) {
    // A growing conversation: all of the previous request is repeated.
    EXPECT_EQ(answered[i]["prompt_prefix"]["repeated_bytes"],
              answered[i - 1]["prompt_prefix"]["bytes"])
        << i;
  }

  auto removed = Eval({kSuite.string(), "--tasks", "py-rename", "--out",
                       (tmp / "removed").string()});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_TRUE(fs::exists(tmp / "removed/results.json"));
  EXPECT_FALSE(fs::exists(tmp / "removed/work"));
}

TEST(EvalE2e, DropAgainstTheBaselineFails) {
  TempDir tmp;
  fs::path suite = CopySuite(tmp);
  // The change no longer updates the test that pins the old default: the agent's verify
  // fails, its finish is refused, and the recorded exchanges run out, as they do when a
  // change to the pipeline makes a replay diverge.
  Json cassette = ReadJson(suite / "py-timeout/cassettes/solve.json");
  auto& edits = cassette["exchanges"][0]["reply"]["tool_calls"][0]["arguments"]["edits"];
  edits.erase(1);
  WriteTestFile(suite, "py-timeout/cassettes/solve.json", cassette.dump(2));
  auto run = Eval({suite.string(), "--tasks", "py-t*", "--out", (tmp / "out").string(),
                   "--baseline", kBaseline.string()});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("py-timeout: success rate dropped from 100% to 0%"), std::string::npos)
      << run.output;
  Json results = ReadJson(tmp / "out/results.json");
  EXPECT_EQ(results["tasks"].size(), 1u);  // --tasks kept only py-timeout.
  const Json& dropped = TaskIn(results, "py-timeout")["runs"][0];
  EXPECT_EQ(dropped["category"], "model_error");
  EXPECT_NE(dropped["reason"].get<std::string>().find("has no exchange left"), std::string::npos)
      << dropped;
}

// Limits spent on reading, edits that do not apply and a declined task are told apart.
TEST(EvalE2e, FailuresAreSortedIntoTheTaxonomy) {
  TempDir tmp;
  fs::path suite = CopySuite(tmp);
  auto turn = [](const std::string& tool, const Json& arguments) {
    return Json{{"reply",
                 {{"text", ""},
                  {"tool_calls", Json::array({{{"name", tool}, {"arguments", arguments}}})},
                  {"usage", {{"input_tokens", 100}, {"output_tokens", 10}}}}}};
  };
  Json edits = Json::array();
  Json reads = Json::array();
  for (int i = 0; i < 3; ++i) {
    std::string missing = "def total_price_" + std::to_string(i) + "(";
    edits.push_back(
        turn("edit",
             {{"path", "shop/pricing.py"}, {"search", missing}, {"replace", "def order_total("}}));
    reads.push_back(
        turn("read_file", {{"path", i == 1 ? "netclient/client.py" : "netclient/settings.py"}}));
  }
  WriteTestFile(suite, "py-rename/cassettes/solve.json",
                Json{{"drover_cassette", 1}, {"exchanges", edits}}.dump(2));
  WriteTestFile(suite, "py-timeout/cassettes/solve.json",
                Json{{"drover_cassette", 1}, {"exchanges", reads}}.dump(2));
  Json declined = Json::array(
      {turn("finish", {{"summary", "Nothing to do."},
                       {"not_applicable_reason", "The repository has no total_price."}})});
  WriteTestFile(suite, "neg-rename-alias/cassettes/solve.json",
                Json{{"drover_cassette", 1}, {"exchanges", declined}}.dump(2));
  for (const char* task : {"py-rename", "py-timeout"}) {
    std::string yaml = ReadTestFile(suite / task / "task.yaml");
    yaml = yaml.substr(0, yaml.find("limits:"));
    WriteTestFile(suite, std::string(task) + "/task.yaml", yaml + "limits: {max_turns: 3}\n");
  }
  auto run = Eval({suite.string(), "--jobs", "2", "--out", (tmp / "out").string()});
  EXPECT_EQ(run.exit_code, 0) << run.output;  // No baseline; no negative control succeeded.
  Json results = ReadJson(tmp / "out/results.json");
  EXPECT_EQ(TaskIn(results, "py-rename")["runs"][0]["category"], "edit_errors") << results;
  EXPECT_EQ(TaskIn(results, "py-timeout")["runs"][0]["category"], "budget_exhausted") << results;
  EXPECT_EQ(TaskIn(results, "neg-rename-alias")["runs"][0]["category"], "not_applicable");
  // It takes its limits from its base, py-timeout: three turns are too few for its four.
  EXPECT_EQ(TaskIn(results, "neg-timeout-hides-tests")["runs"][0]["category"], "budget_exhausted");
  EXPECT_EQ(results["overall"]["success_rate"], 0.0);
  EXPECT_EQ(results["overall"]["categories"]["edit_errors"], 1);
}

TEST(EvalE2e, NegativeControlScoringSuccessFailsTheRun) {
  TempDir tmp;
  fs::path suite = CopySuite(tmp);
  // A control whose cassette is in fact right: the harness must call that out.
  fs::copy_file(suite / "py-rename/cassettes/solve.json",
                suite / "neg-rename-alias/cassettes/solve.json",
                fs::copy_options::overwrite_existing);
  auto run = Eval({suite.string(), "--tasks", "neg-rename*", "--out", (tmp / "out").string()});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("neg-rename-alias: negative control scored a success"),
            std::string::npos)
      << run.output;
  std::string junit = ReadTestFile(tmp / "out/junit.xml");
  EXPECT_NE(junit.find("negative control scored a success"), std::string::npos) << junit;
}

TEST(EvalE2e, VerifyTasksCatchesBrokenTasks) {
  TempDir tmp;
  auto good = Eval({"verify-tasks", kSuite.string(), "--out", (tmp / "good").string()});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("4 tasks, 0 broken"), std::string::npos) << good.output;

  fs::path suite = CopySuite(tmp);
  // py-rename's solution no longer solves it; py-timeout's checks pass on the start.
  fs::remove(suite / "py-rename/solution/shop/pricing.py");
  WriteTestFile(suite, "py-timeout/checks/tests/test_hidden_timeout.py",
                "import unittest\n\n\nclass T(unittest.TestCase):\n"
                "    def test_nothing(self):\n        pass\n");
  auto bad = Eval({"verify-tasks", suite.string(), "--out", (tmp / "bad").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("py-rename: the checks do not pass with solution/"), std::string::npos)
      << bad.output;
  EXPECT_NE(bad.output.find("py-timeout: the checks pass on the starting repository"),
            std::string::npos)
      << bad.output;
}

TEST(EvalE2e, CompareSaysWhatChanged) {
  TempDir tmp;
  Json before = ReadJson(kBaseline);
  Json after = before;
  for (auto& task : after["tasks"]) {
    if (task["id"] == "py-rename") task["runs"][0]["category"] = "budget_exhausted";
  }
  WriteTestFile(tmp.path(), "after.json", after.dump(2));
  auto run = Eval({"compare", kBaseline.string(), (tmp / "after.json").string()});
  EXPECT_EQ(run.exit_code, 0) << run.output;  // One task worse is not significant.
  EXPECT_NE(run.output.find("py-rename: 100% -> 0%"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("not significant at 0.05"), std::string::npos) << run.output;
}

agent::ModelReply Reply(const std::string& tool, const Json& arguments) {
  agent::ModelReply reply;
  reply.tool_calls.push_back({"call_" + tool, tool, arguments.dump()});
  reply.usage = {1000, 50, 400};
  return reply;
}

// A live model (here a scripted one on loopback): measured, priced, and recorded as cassettes
// that replay to the same score.
TEST(EvalE2e, LiveModelIsRecordedPricedAndReplays) {
  TempDir tmp;
  drover::testing::ScriptedModelServer server;
  server.AddReply(Reply("edit", {{"edits",
                                  {{{"path", "netclient/settings.py"},
                                    {"search", "DEFAULT_TIMEOUT_SECONDS = 30"},
                                    {"replace", "DEFAULT_TIMEOUT_SECONDS = 60"}},
                                   {{"path", "tests/test_client.py"},
                                    {"search", "timeout, 30)"},
                                    {"replace", "timeout, 60)"}}}}}));
  server.AddReply(Reply("finish", {{"summary", "Raised the default timeout."}}));
  WriteTestFile(tmp.path(), "prices.yaml",
                "openai:test-model: {input: 2.0, cached_input: 0.5, output: 8.0}\n");
  auto run = Eval({kSuite.string(), "--tasks", "py-timeout", "--model", "openai:test-model",
                   "--record", (tmp / "recorded").string(), "--prices",
                   (tmp / "prices.yaml").string(), "--out", (tmp / "live").string()},
                  {{"OPENAI_BASE_URL", server.OpenAiBaseUrl()}, {"OPENAI_API_KEY", "sk-test"}});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(server.requests().size(), 2u);
  Json live = ReadJson(tmp / "live/results.json");
  EXPECT_EQ(live["replayed"], false);
  EXPECT_EQ(live["model"], "openai:test-model");
  const Json& result = TaskIn(live, "py-timeout")["runs"][0];
  EXPECT_EQ(result["category"], "success");
  EXPECT_EQ(result["input_tokens"], 2000);
  EXPECT_EQ(result["cached_input_tokens"], 800);
  // 1200 uncached at $2, 800 cached at $0.5, 100 out at $8, per million.
  EXPECT_NEAR(result["cost_usd"].get<double>(), (1200 * 2.0 + 800 * 0.5 + 100 * 8.0) / 1e6, 1e-9);
  std::string report = ReadTestFile(tmp / "live/report.md");
  EXPECT_EQ(report.find("regression test"), std::string::npos);

  ASSERT_TRUE(fs::exists(tmp / "recorded/py-timeout.json"));
  fs::path suite = CopySuite(tmp);
  fs::copy_file(tmp / "recorded/py-timeout.json", suite / "py-timeout/cassettes/solve.json",
                fs::copy_options::overwrite_existing);
  auto replay = Eval({suite.string(), "--tasks", "py-timeout", "--out", (tmp / "replay").string()});
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_EQ(TaskIn(ReadJson(tmp / "replay/results.json"), "py-timeout")["runs"][0]["category"],
            "success");
}

TEST(EvalE2e, BadTaskYamlIsAnInputError) {
  TempDir tmp;
  fs::path suite = CopySuite(tmp);
  WriteTestFile(suite, "py-rename/task.yaml",
                "id: py-rename\nlanguage: python\nchecks: [{name: h, command: x}]\nretries: 3\n");
  auto run = Eval({suite.string(), "--out", (tmp / "out").string()});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("py-rename/task.yaml:4: retries: unknown field"), std::string::npos)
      << run.output;
}

}  // namespace
}  // namespace drover::e2e
