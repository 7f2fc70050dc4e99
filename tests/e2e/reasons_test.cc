// End-to-end: what a run says about a job that did not publish names the cause: the first
// real error line of the check's output (not make's echo of it), repository-relative paths
// (never the host's), a failed check rather than "malformed replies", a timeout as such; and
// a run whose every target was skipped exits with its own code.
#include <gtest/gtest.h>

#include "core/fs.h"
#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;

const Json* FindJob(const DroverRun& run, const std::string& repository) {
  if (!run.summary.is_object()) return nullptr;
  for (const auto& job : run.summary["jobs"]) {
    if (job["repository"] == repository) return &job;
  }
  return nullptr;
}

std::string Reason(const DroverRun& run, const std::string& repository) {
  const Json* job = FindJob(run, repository);
  return job == nullptr ? "(no job " + repository + ")" : job->value("reason", "");
}

// What a run says about its jobs' checks, as one text: summary.md, each job's reason and
// check summaries, and the check reports and gate records (not the runner's own fields
// such as job_dir, which name its files on purpose).
std::string RunFiles(const DroverRun& run) {
  std::string all = ReadTestFile(run.run_dir / "summary.md");
  for (const auto& job : run.summary["jobs"]) {
    for (const char* field : {"reason", "baseline", "verifier"}) all += job.value(field, "");
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(run.run_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == "baseline.json" || name == "final-check.json" || name == "gate.jsonl") {
      all += ReadTestFile(entry.path());
    }
  }
  return all;
}

TEST(Reasons, RedBaselinesNameTheirFirstErrorWithRelativePathsAndAllSkippedHasItsCode) {
  Fixture fx;
  // A tool the repository needs is missing: make says so, then echoes "Error 127".
  fx.AddRepo("js", {{"Makefile", "test:\n\ttsd-not-installed --check\n"}});
  // A compiler error printed with the absolute path of the file, as compilers do.
  fx.AddRepo("c", {{"Makefile",
                    "test:\n\t@echo \"building\"; echo \"$$PWD/src/app.c:3:5: error: unknown "
                    "type name 'foo'\" >&2; exit 1\n"},
                   {"src/app.c", "int main() {\n  return 0;\n  foo x;\n}\n"}});
  fx.WriteSpec(StandardSpec());
  DroverRun run = fx.Run({}, {"--jobs", "2"});
  EXPECT_EQ(run.exit_code, 7) << run.output;
  std::string js = Reason(run, "js");
  EXPECT_NE(js.find("baseline red"), std::string::npos) << js;
  EXPECT_NE(js.find("exit 2"), std::string::npos) << js;
  EXPECT_NE(js.find("tsd-not-installed"), std::string::npos) << js;
  EXPECT_EQ(js.find("Error 127"), std::string::npos) << js;
  std::string c = Reason(run, "c");
  EXPECT_NE(c.find("src/app.c:3: unknown type name 'foo'"), std::string::npos) << c;

  std::string state = (fx.root() / "state").string();
  std::string files = RunFiles(run);
  EXPECT_NE(files.find("src/app.c"), std::string::npos);
  size_t at = files.find(state);
  EXPECT_EQ(at, std::string::npos) << files.substr(at < 300 ? 0 : at - 300, 600);
  EXPECT_EQ(run.output.find(state + "/runs/run1/jobs/c"), std::string::npos) << run.output;
}

// The agent's change breaks the tests, or makes them hang past the verifier's timeout; the
// model keeps asking to finish. The job failed on its checks, and says which and how.
TEST(Reasons, ChecksThatStillFailAreNamedNotTheModelsReplies) {
  Fixture fx;
  fx.AddRepo("wrong", {{"Makefile",
                        "test:\n\t@test \"$$(cat version.txt)\" = v1 || "
                        "{ echo \"$$PWD/check.sh:7: error: version is not v1\" >&2; exit 1; }\n"},
                       {"version.txt", "v1\n"}});
  fx.AddRepo("hang", {{"Makefile", "test:\n\t@test \"$$(cat version.txt)\" = v1 || sleep 30\n"},
                      {"version.txt", "v1\n"}});
  std::string spec = StandardSpec();
  spec.replace(spec.find("timeout: 60"), 11, "timeout: 3");
  fx.WriteSpec(spec);
  for (const char* name : {"wrong", "hang"}) {
    fx.WriteCassette(name, Json::array({Call("write_file", {{"path", "version.txt"},
                                                            {"content", "v2\n"}}),
                                        Call("finish", {{"summary", "Bumped."}}),
                                        Call("finish", {{"summary", "Bumped."}}),
                                        Call("finish", {{"summary", "Bumped."}})}));
  }
  DroverRun run = fx.Run({}, {"--jobs", "2"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  for (const char* name : {"wrong", "hang"}) {
    const Json* job = FindJob(run, name);
    ASSERT_NE(job, nullptr) << run.output;
    std::string reason = job->value("reason", "");
    EXPECT_EQ((*job)["status"], "failed") << reason;
    EXPECT_EQ(reason.find("malformed"), std::string::npos) << reason;
    EXPECT_NE(reason.find("the checks failed (finish refused"), std::string::npos) << reason;
    EXPECT_EQ((*job)["failure_kind"], "verifier_failed") << reason;
  }
  EXPECT_NE(Reason(run, "wrong").find("check.sh:7: error: version is not v1"), std::string::npos)
      << Reason(run, "wrong");
  EXPECT_NE(Reason(run, "hang").find("timed out after 3s"), std::string::npos)
      << Reason(run, "hang");
  // The summary's check column says whose result it shows: these jobs' final checks never
  // ran, so what it has is the baseline's, and it says so.
  std::string md = ReadTestFile(run.run_dir / "summary.md");
  EXPECT_EQ(md.find("| test: passed"), std::string::npos) << md;
  EXPECT_NE(md.find("| baseline: test: passed"), std::string::npos) << md;
}

}  // namespace
}  // namespace drover::e2e
