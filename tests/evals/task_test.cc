#include "evals/task.h"

#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace drover::evals {
namespace {

using drover::testing::TempDir;
using drover::testing::WriteTestFile;

// A task folder `suite/<id>` with repo/, a migration and this task.yaml.
std::filesystem::path AddTask(const std::filesystem::path& suite, const std::string& id,
                              const std::string& yaml) {
  auto dir = suite / id;
  WriteTestFile(dir, "task.yaml", yaml);
  WriteTestFile(dir, "migration.md", "---\nid: m\ntitle: T\n---\nDo it.\n");
  WriteTestFile(dir, "repo/a.py", "x = 1\n");
  return dir;
}

constexpr const char* kChecks =
    "checks:\n  - {name: hidden, command: \"python3 -m unittest\", timeout_seconds: 30}\n";

TEST(LoadTaskTest, ReadsEveryField) {
  TempDir tmp;
  auto dir = AddTask(tmp.path(), "t1",
                     std::string("id: t1\nlanguage: python\ntags: [rename, one-line]\n") + kChecks +
                         "expect: failure\nlimits: {max_turns: 5, max_attempts: 2}\n");
  WriteTestFile(dir, "cassettes/solve.json", "[]");
  auto task = LoadTask(dir);
  ASSERT_OK(task);
  EXPECT_EQ(task->id, "t1");
  EXPECT_EQ(task->language, "python");
  EXPECT_EQ(task->tags, (std::vector<std::string>{"rename", "one-line"}));
  ASSERT_EQ(task->checks.size(), 1u);
  EXPECT_EQ(task->checks[0].command, "python3 -m unittest");
  EXPECT_EQ(task->checks[0].timeout, std::chrono::seconds(30));
  EXPECT_FALSE(task->expect_success);
  EXPECT_EQ(task->max_turns, 5);
  EXPECT_EQ(task->max_attempts, 2);
  ASSERT_TRUE(task->cassette.has_value());
  EXPECT_EQ(task->cassette->filename(), "solve.json");
  EXPECT_EQ(task->migration, task->dir / "migration.md");
  EXPECT_EQ(task->repo_dir(), task->dir / "repo");
}

TEST(LoadTaskTest, BaseLendsRepoChecksAndMigration) {
  TempDir tmp;
  AddTask(tmp.path() / "suite", "good", std::string("id: good\nlanguage: go\n") + kChecks);
  auto neg = tmp.path() / "negatives" / "bad";
  WriteTestFile(neg, "task.yaml", "id: bad\nbase: ../../suite/good\nexpect: failure\n");
  auto task = LoadTask(neg);
  ASSERT_OK(task);
  EXPECT_EQ(task->language, "go");
  EXPECT_EQ(task->source_dir.filename(), "good");
  EXPECT_EQ(task->repo_dir(), task->source_dir / "repo");
  EXPECT_EQ(task->migration.filename(), "migration.md");
  EXPECT_EQ(task->checks.size(), 1u);
  EXPECT_FALSE(task->cassette.has_value());  // The base's cassettes are not the control's.
}

struct BadCase {
  std::string yaml;
  std::string expected;  // Part of the error message.
};

class BadTaskTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadTaskTest, NamesFileLineAndField) {
  TempDir tmp;
  auto dir = AddTask(tmp.path(), "t1", GetParam().yaml);
  auto task = LoadTask(dir);
  ASSERT_FALSE(task.has_value());
  EXPECT_NE(task.error().message.find(GetParam().expected), std::string::npos)
      << task.error().message;
  EXPECT_NE(task.error().message.find("task.yaml:"), std::string::npos) << task.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, BadTaskTest,
    ::testing::Values(
        BadCase{std::string("id: t1\nlanguage: python\n") + kChecks + "colour: red\n",
                "task.yaml:5: colour: unknown field"},
        BadCase{std::string("id: t2\nlanguage: python\n") + kChecks, "task.yaml:1: id: 't2'"},
        BadCase{std::string("id: t1\nlanguage: cobol\n") + kChecks, "task.yaml:2: language"},
        BadCase{"id: t1\nlanguage: python\nchecks:\n  - {name: a, command: x, timeout_seconds: "
                "soon}\n",
                "task.yaml:4: checks[0].timeout_seconds: expected a positive integer"},
        BadCase{"id: t1\nlanguage: python\nchecks:\n  - {name: a, command: x, shell: bash}\n",
                "checks[0].shell: unknown field"},
        BadCase{"id: t1\nlanguage: python\n", "checks: required"},
        BadCase{std::string("id: t1\nlanguage: python\n") + kChecks + "expect: maybe\n",
                "task.yaml:5: expect: expected success or failure"},
        BadCase{std::string("id: t1\nlanguage: python\n") + kChecks + "limits: {max_turn: 3}\n",
                "limits.max_turn: unknown field"},
        BadCase{std::string("id: t1\nlanguage: python\n") + kChecks + "cassette: none.json\n",
                "cassette: 'none.json' does not exist"},
        BadCase{std::string("id: t1\nlanguage: python\n") + kChecks + "tags:\n  - a\n  -\n",
                "task.yaml:7: tags[1]: expected text, got nothing"},
        BadCase{"id: [t1\n", "invalid YAML"}));

TEST(LoadTaskTest, MissingRepoIsNamed) {
  TempDir tmp;
  WriteTestFile(tmp.path() / "t1", "task.yaml", std::string("id: t1\nlanguage: sql\n") + kChecks);
  WriteTestFile(tmp.path() / "t1", "migration.md", "---\nid: m\ntitle: T\n---\nx\n");
  auto task = LoadTask(tmp.path() / "t1");
  ASSERT_FALSE(task.has_value());
  EXPECT_NE(task.error().message.find("repo/ is missing"), std::string::npos);
}

TEST(LoadTaskTest, BrokenMigrationIsTheTasksError) {
  TempDir tmp;
  auto dir = AddTask(tmp.path(), "t1", std::string("id: t1\nlanguage: python\n") + kChecks);
  WriteTestFile(dir, "migration.md", "---\nid: m\ntitle: T\nlimits: {max_turnz: 3}\n---\nx\n");
  auto task = LoadTask(dir);
  ASSERT_FALSE(task.has_value());
  EXPECT_NE(task.error().message.find("migration.md"), std::string::npos) << task.error().message;
  EXPECT_NE(task.error().message.find("max_turnz"), std::string::npos) << task.error().message;
}

TEST(LoadTaskTest, BrokenCassetteIsTheTasksError) {
  TempDir tmp;
  auto dir = AddTask(tmp.path(), "t1", std::string("id: t1\nlanguage: python\n") + kChecks);
  WriteTestFile(dir, "cassettes/solve.json", "[{\"reply\": {\"tool_calls\": [{}]}}]");
  auto task = LoadTask(dir);
  ASSERT_FALSE(task.has_value());
  EXPECT_NE(task.error().message.find("solve.json"), std::string::npos) << task.error().message;
  EXPECT_NE(task.error().message.find("exchange 0"), std::string::npos) << task.error().message;
}

TEST(LoadSuiteTest, FindsTasksRecursivelySortedAndFiltered) {
  TempDir tmp;
  AddTask(tmp.path() / "suite", "zeta", std::string("id: zeta\nlanguage: python\n") + kChecks);
  AddTask(tmp.path() / "suite", "alpha", std::string("id: alpha\nlanguage: python\n") + kChecks);
  AddTask(tmp.path() / "negatives", "neg-a",
          std::string("id: neg-a\nlanguage: python\nexpect: failure\n") + kChecks);
  // A task.yaml inside a task's own folders is a file of that task, not a task.
  WriteTestFile(tmp.path() / "suite/alpha/repo/nested", "task.yaml", "not: a task\n");
  auto all = LoadSuite(tmp.path());
  ASSERT_OK(all);
  std::vector<std::string> ids;
  for (const auto& task : *all) ids.push_back(task.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"alpha", "neg-a", "zeta"}));
  auto some = LoadSuite(tmp.path(), "*e*");
  ASSERT_OK(some);
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].id, "neg-a");
  EXPECT_EQ((*some)[1].id, "zeta");
  EXPECT_FALSE(LoadSuite(tmp.path(), "nothing-*").has_value());
}

TEST(LoadSuiteTest, DuplicateIdsAreAnError) {
  TempDir tmp;
  AddTask(tmp.path() / "a", "same", std::string("id: same\nlanguage: python\n") + kChecks);
  AddTask(tmp.path() / "b", "same", std::string("id: same\nlanguage: python\n") + kChecks);
  auto suite = LoadSuite(tmp.path());
  ASSERT_FALSE(suite.has_value());
  EXPECT_NE(suite.error().message.find("used by two tasks"), std::string::npos);
}

TEST(GlobMatchTest, StarsAndQuestionMarks) {
  EXPECT_TRUE(GlobMatch("py-*", "py-rename"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a?c*", "abcdef"));
  EXPECT_FALSE(GlobMatch("py-*", "go-rename"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
}

}  // namespace
}  // namespace drover::evals
