// End-to-end: each job's verifier runs share build caches of their own (GOCACHE, ccache with
// an out-of-tree CMake build dir), reused from the baseline by the final check, never by
// another job, and removed with the job. The repo-map parse cache the agent's sandbox writes
// is the job's own: a later job on the same repository does not read it.
#include <gtest/gtest.h>

#include <set>

#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

namespace fs = std::filesystem;
using drover::testing::ReadTestFile;
using drover::testing::Sh;

std::map<std::string, std::string> GoModule(const std::string& name) {
  return {{"go.mod", "module example.com/" + name + "\n\ngo 1.19\n"},
          {"calc/calc.go",
           "package calc\n\nfunc Total(xs []int) int {\n\tt := 0\n\tfor _, x := range xs "
           "{\n\t\tt += x\n\t}\n\treturn t\n}\n"},
          {"calc/calc_test.go",
           "package calc\n\nimport \"testing\"\n\nfunc TestTotal(t *testing.T) {\n\tif "
           "Total([]int{1, 2}) != 3 {\n\t\tt.Fatal(\"sum\")\n\t}\n}\n"},
          {"main.go",
           "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/" + name +
               "/calc\"\n)\n\nfunc main() { fmt.Println(\"total\", calc.Total([]int{1})) }\n"}};
}

Json GoExchanges() {
  return Json::array(
      {Call("edit", {{"path", "main.go"}, {"search", "\"total\""}, {"replace", "\"sum\""}}),
       Call("verify", Json::object()),
       Call("finish", {{"summary", "Renamed the label."}}, "", {"passed"})});
}

// The line of `log` that follows `label`, up to its end.
std::string ValueAfter(const std::string& log, const std::string& label) {
  size_t at = log.find(label);
  if (at == std::string::npos) return "";
  at += label.size();
  return log.substr(at, log.find('\n', at) - at);
}

TEST(BuildCache, GoCacheIsTheJobsOwnAndTheFinalCheckReusesTheBaselines) {
  Fixture fx;
  fx.AddRepo("ledger", GoModule("ledger"));
  fx.AddRepo("till", GoModule("till"));
  fx.WriteSpec(
      "---\n"
      "id: go-label\n"
      "title: Rename the label\n"
      "verifiers:\n"
      "  - name: build\n"
      "    command: go build ./... && echo \"cache=$(go env GOCACHE)\"\n"
      "    timeout: 120\n"
      "  - name: test\n"
      "    command: go test ./...\n"
      "    timeout: 120\n"
      "limits:\n"
      "  max_turns: 6\n"
      "---\n"
      "Rename the label printed by main.\n");
  fx.WriteCassette("ledger", GoExchanges());
  fx.WriteCassette("till", GoExchanges());
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  std::set<std::string> caches;
  for (const auto& job : run.summary["jobs"]) {
    std::string name = job["repository"];
    EXPECT_EQ(job["status"], "published") << job.dump(2);
    fs::path job_dir = run.run_dir / "jobs" / name;
    std::string baseline =
        ValueAfter(ReadTestFile(job_dir / "logs" / "baseline-build.log"), "cache=");
    std::string final = ValueAfter(ReadTestFile(job_dir / "logs" / "final-1-build.log"), "cache=");
    // Under the job's own directory, one per job.
    EXPECT_EQ(baseline, (job_dir / "cache" / "baseline" / "go-build").string());
    EXPECT_EQ(final, (job_dir / "cache" / "final" / "go-build").string());
    caches.insert(baseline);
    caches.insert(final);
    // The final check, on a fresh checkout, took the unchanged package's test result from the
    // baseline's cache.
    std::string test = ReadTestFile(job_dir / "logs" / "final-1-test.log");
    EXPECT_NE(test.find("example.com/" + name + "/calc\t(cached)"), std::string::npos) << test;
    // Removed with the job.
    EXPECT_FALSE(fs::exists(job_dir / "cache")) << name;
  }
  EXPECT_EQ(caches.size(), 4u);
}

TEST(BuildCache, CMakeFinalCheckCompilesFromTheBaselinesCcache) {
  if (Sh("command -v ccache || true").empty()) GTEST_SKIP() << "no ccache on PATH";
  Fixture fx;
  fx.AddRepo("geometry",
             {{"CMakeLists.txt",
               "cmake_minimum_required(VERSION 3.16)\nproject(geometry CXX)\nenable_testing()\n"
               "add_library(area area.cc)\nadd_executable(area_test area_test.cc)\n"
               "target_link_libraries(area_test area)\nadd_test(NAME area COMMAND area_test)\n"},
              {"area.cc", "int Area(int w, int h) { return w * h; }\n"},
              {"area_test.cc",
               "int Area(int w, int h);\n// label: area\nint main() { return Area(2, 3) == 6 ? 0 : "
               "1; }\n"}});
  // No verifiers in the spec: the CMake one is detected.
  fx.WriteSpec(
      "---\n"
      "id: cmake-label\n"
      "title: Rename the label\n"
      "limits:\n"
      "  max_turns: 6\n"
      "---\n"
      "Rename the label comment.\n");
  fx.WriteCassette(
      "geometry",
      Json::array({Call("edit", {{"path", "area_test.cc"},
                                 {"search", "label: area"},
                                 {"replace", "label: surface"}}),
                   Call("verify", Json::object()),
                   Call("finish", {{"summary", "Renamed the label."}}, "", {"passed"})}));
  DroverRun run = fx.Run({}, {"--keep-workspaces"});
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "published") << job.dump(2);
  fs::path cache = run.run_dir / "jobs" / "geometry" / "cache";
  // The build dir is out of the tree, kept for the job.
  EXPECT_TRUE(fs::exists(cache / "final" / "cmake-build" / "CMakeCache.txt"));
  // area.cc is unchanged: its compilation in the final check's fresh tree is a hit in the
  // copy of the baseline's cache; area_test.cc changed and is compiled.
  auto hits = [&](const std::string& scope) {
    std::string out =
        Sh("CCACHE_DIR='" + (cache / scope / "ccache").string() + "' ccache --print-stats");
    int total = 0;
    for (const char* key : {"direct_cache_hit\t", "preprocessed_cache_hit\t"}) {
      size_t at = out.find(std::string("\n") + key);
      if (at != std::string::npos) total += std::stoi(out.substr(at + 1 + std::string(key).size()));
    }
    return total;
  };
  EXPECT_GE(hits("final"), 1);
  // The agent's first verify compiled the unchanged file from the baseline's cache too.
  EXPECT_GE(hits("agent"), 1);
}

// What the agent's sandbox writes into its build caches is never read by the final check: a
// forged entry there would be believed by whoever reads it. Both scopes are the job's, both
// are written from a sandbox; the final check's is a fresh copy of the baseline's.
TEST(BuildCache, TheFinalCheckDoesNotReadWhatTheAgentWroteIntoItsCaches) {
  Fixture fx;
  fx.AddRepo("shop", {{"Makefile", "test:\n\t@true\n"}, {"version.txt", "v1\n"}});
  fx.WriteSpec(
      "---\n"
      "id: bump\n"
      "title: Bump\n"
      "verifiers:\n"
      "  - name: look\n"
      "    command: for d in \"$GOCACHE\" \"$CCACHE_DIR\" \"$CARGO_TARGET_DIR\"; do "
      "test -e \"$d/forged\" && echo \"forged in $d\"; done; true\n"
      "    timeout: 30\n"
      "---\n"
      "Bump the version.\n");
  fx.WriteCassette(
      "shop",
      Json::array(
          {Call("write_file", {{"path", "version.txt"}, {"content", "v2\n"}}),
           Call("run", {{"command",
                         "for d in \"$GOCACHE\" \"$CCACHE_DIR\" \"$CARGO_TARGET_DIR\"; do "
                         "mkdir -p \"$d\" && echo x > \"$d/forged\"; done && ls \"$GOCACHE\""}}),
           Call("verify", Json::object(), "", {"forged"}),
           Call("finish", {{"summary", "Bumped."}})}));
  DroverRun run = fx.Run();
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  EXPECT_EQ(run.summary["jobs"][0]["status"], "published") << run.summary.dump(2);
  std::string final = ReadTestFile(run.run_dir / "jobs" / "shop" / "logs" / "final-1-look.log");
  EXPECT_EQ(final.find("forged"), std::string::npos) << final;
}

// The agent's sandbox can write its parse cache; a later job on the same repository must not
// read what it wrote there.
TEST(BuildCache, AJobsParseCacheIsNotReadByALaterJob) {
  Fixture fx;
  fx.AddRepo("shop", {{"Makefile", "test:\n\t@true\n"}, {"pricing.py", "def total(): pass\n"}});
  fx.WriteSpec(StandardSpec());
  // Where the job's task says its parse cache is (run ids are run1, run2).
  auto dir = [&](const std::string& run) {
    return "d=$(sed -n 's/.*\"parse_cache_dir\": \"\\([^\"]*\\)\".*/\\1/p' '" +
           (fx.root() / "state" / "runs" / run / "jobs" / "shop" / "attempt-1" / "task.json")
               .string() +
           "')";
  };
  fx.WriteCassette(
      "shop",
      Json::array(
          {Call("run", {{"command", dir("run1") + " && echo planted > \"$d/poison.json\" && "
                                                  "ls \"$d\""}}),
           Call("finish", {{"summary", "Nothing."}}, "", {"poison.json"})}));
  DroverRun first = fx.Run();
  ASSERT_TRUE(first.summary.is_object()) << first.output;

  fx.WriteCassette(
      "shop",
      Json::array(
          {Call("run", {{"command", dir("run2") + " && { test -e \"$d/poison.json\" && echo "
                                                  "POISONED || echo clean; }"}}),
           Call("finish", {{"summary", "Nothing."}}, "", {"clean"})}));
  DroverRun second = fx.Run();
  ASSERT_TRUE(second.summary.is_object()) << second.output;
  std::string seen;  // What the second job's command printed.
  for (const auto& event :
       ReadJsonl(second.run_dir / "jobs" / "shop" / "attempt-1" / "transcript.jsonl")) {
    if (event.value("type", "") == "tool_result" && event.value("name", "") == "run") {
      seen = event.value("text", "");
    }
  }
  EXPECT_EQ(seen, "exit 0\nclean\n");
  std::string task = ReadTestFile(second.run_dir / "jobs" / "shop" / "attempt-1" / "task.json");
  EXPECT_NE(task.find((second.run_dir / "jobs" / "shop").string()), std::string::npos) << task;
}

}  // namespace
}  // namespace drover::e2e
