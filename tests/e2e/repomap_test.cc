// End-to-end: the repo map in the agent's first prompt and its navigation tools, through the
// built drover binary, the sandbox and the gateway, with the parse cache private to the job.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "agent/tree_sitter_langs.h"
#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

std::map<std::string, std::string> ShopFiles() {
  return {{"Makefile", "test:\n\tpython3 -m unittest -q\n"},
          {"pricing.py", "def compute_total(items):\n    return sum(items)\n"},
          {"cart.py",
           "from pricing import compute_total\n\n\ndef cart_value(items):\n"
           "    return compute_total(items)\n"},
          {"shipping.py", "def ship(order):\n    return order\n"},
          {"config/app.yaml", "total_fn: compute_total\n"}};
}

// Each reply's `expect` is checked against the request it answers: the first against the task
// message, the next ones against the previous tool's result.
Json NavigationExchanges() {
  return Json::array(
      {Call("find_symbol", {{"name", "compute_total"}}, "Where is it defined?",
            {"## Where the migration likely applies", "config/app.yaml:\n  1: total_fn: compute_total"}),
       Call("references", {{"name", "compute_total"}}, "Who uses it?",
            {"pricing.py:1: def compute_total(items):"}),
       Call("finish", {{"summary", "Only looked."}, {"not_applicable_reason", "a look only"}}, "",
            {"cart.py:5: return compute_total(items)", "config/app.yaml:1: total_fn: compute_total"})});
}

int RepoMapCacheHits(const DroverRun& run) {
  for (const auto& event : ReadJsonl(run.run_dir / "jobs" / "shop" / "attempt-1" /
                                     "transcript.jsonl")) {
    if (event.value("type", "") == "repo_map") return event.value("cache_hits", -1);
  }
  return -1;
}

TEST(RepoMap, FirstPromptHasTheMapAndTheToolsAnswerWithParsesCachedPerJob) {
  auto grammars = agent::GrammarLanguages();
  if (std::find(grammars.begin(), grammars.end(), "python") == grammars.end()) {
    GTEST_SKIP() << "this build has no tree-sitter grammar for python (npm could not fetch it "
                    "at configure time)";
  }
  Fixture fx;
  fx.AddRepo("shop", ShopFiles());
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette("shop", NavigationExchanges());
  DroverRun first = fx.Run({}, {"--keep-workspaces"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_TRUE(first.summary.is_object()) << first.output;
  EXPECT_EQ(first.summary["jobs"][0]["status"], "not_applicable") << first.summary.dump(2);
  EXPECT_EQ(RepoMapCacheHits(first), 0);

  // The cache lives in the job's folder, written from inside its sandbox (kept here by
  // --keep-workspaces; removed with the job otherwise).
  std::filesystem::path cache = first.run_dir / "jobs" / "shop" / "cache" / "agent" / "repomap";
  size_t entries = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cache)) {
    entries += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(entries, 3u);  // The three Python files.

  DroverRun second = fx.Run();
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.summary["jobs"][0]["status"], "not_applicable") << second.summary.dump(2);
  // A later job does not read what an earlier job's sandbox wrote.
  EXPECT_EQ(RepoMapCacheHits(second), 0);
}

}  // namespace
}  // namespace drover::e2e
