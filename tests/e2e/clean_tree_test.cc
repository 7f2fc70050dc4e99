// End-to-end: every verifier run (the baseline, each of the agent's verify calls, the final
// check) starts from the commit it checks plus the agent's edits, never from what an earlier
// run built. The fixture's build fails when its outputs are already there, as a Makefile
// whose `ln -s` meets the link its last run made.
#include <gtest/gtest.h>

#include "sandbox/process.h"
#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::Sh;

std::map<std::string, std::string> LinkingFiles() {
  // `ln -s` without -f fails on an existing link, as in cJSON's Makefile. The build's outputs
  // are not ignored: left in the tree, they would also land in the commit.
  return {{".gitignore", "out/\nro/\n"},
          {"Makefile",
           "test: build\n"
           "\tgrep -q compute_ libx.so\n"
           "build:\n"
           "\tcp pricing.c libx.so.1\n"
           "\tln -s libx.so.1 libx.so\n"
           ".PHONY: build test\n"},
          {"pricing.c", "int compute_total(int a, int b) { return a + b; }\n"},
          {"notes/README", "pricing helpers\n"}};
}

TEST(CleanTree, ABuildThatFailsOnItsOwnOutputsPassesEndToEnd) {
  Fixture fx;
  auto repo = fx.AddRepo("linking", LinkingFiles());
  fx.WriteSpec(StandardSpec());
  fx.WriteCassette(
      "linking",
      Json::array(
          {Call("edit",
                {{"path", "pricing.c"}, {"search", "compute_total"}, {"replace", "compute_sum"}}),
           Call("write_file", {{"path", "notes/CHANGES"}, {"content", "renamed\n"}}),
           // The commands the agent runs leave ignored outputs behind too, read-only
           // directories among them; a file a command makes that is not ignored is an edit.
           Call("run", {{"command",
                         "mkdir -p out && touch out/obj && mkdir -p ro/sub && touch ro/sub/f && "
                         "chmod a-w ro/sub ro && cp notes/README notes/ABOUT"}}),
           Call("verify", Json::object()), Call("verify", Json::object(), "", {"passed"}),
           Call("finish", {{"summary", "Renamed compute_total to compute_sum."}}, "",
                {"passed"})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2) << run.output;
  // Both of the agent's verify calls passed: neither met the baseline's nor its own outputs.
  auto events = ReadJsonl(run.run_dir / "jobs" / "linking" / "attempt-1" / "transcript.jsonl");
  int verifies = 0;
  for (const auto& event : events) {
    if (event.value("type", "") != "tool_result" || event.value("name", "") != "verify") continue;
    ++verifies;
    std::string text = event.value("text", "");
    EXPECT_EQ(text.find("FAILED"), std::string::npos) << text;
    EXPECT_EQ(text.find("File exists"), std::string::npos) << text;
  }
  EXPECT_EQ(verifies, 2) << run.output;
  // What is published is the edits alone: no build output, the written file kept.
  std::string patch = ReadTestFile(run.run_dir / "jobs" / "linking" / "pr.patch");
  EXPECT_NE(patch.find("+int compute_sum"), std::string::npos) << patch;
  EXPECT_NE(patch.find("b/notes/CHANGES"), std::string::npos) << patch;
  EXPECT_EQ(patch.find("libx.so"), std::string::npos) << patch;
  EXPECT_EQ(patch.find("out/obj"), std::string::npos) << patch;
  EXPECT_EQ(patch.find("ro/sub"), std::string::npos) << patch;
  std::string files =
      Sh("git -C '" + repo.string() + "' ls-tree -r --name-only drover/rename-total");
  EXPECT_EQ(files, ".gitignore\nMakefile\nnotes/ABOUT\nnotes/CHANGES\nnotes/README\npricing.c\n");
}

}  // namespace
}  // namespace drover::e2e
