#include "agent/edit.h"

#include <filesystem>

#include "core/json.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

const std::filesystem::path kCases = std::filesystem::path(DROVER_TEST_FIXTURES) / "edit";

// Every folder of tests/fixtures/edit: input.txt + edit.json → expected.txt (byte for byte) or
// an error containing expected_error.txt.
TEST(EditFixtures, AllCases) {
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCases)) {
    const std::filesystem::path dir = entry.path();
    SCOPED_TRACE(dir.filename().string());
    std::string input = ReadTestFile(dir / "input.txt");
    auto edit = ParseJson(ReadTestFile(dir / "edit.json"), "edit.json");
    ASSERT_OK(edit);
    auto result = ApplyEdit(input, (*edit)["search"].get<std::string>(),
                            (*edit)["replace"].get<std::string>());
    if (std::filesystem::exists(dir / "expected.txt")) {
      ASSERT_OK(result);
      EXPECT_EQ(*result, ReadTestFile(dir / "expected.txt"));
    } else {
      std::string expected = ReadTestFile(dir / "expected_error.txt");
      ASSERT_FALSE(result.has_value()) << "unexpected success:\n" << *result;
      EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(result.error().message.find(expected), std::string::npos)
          << "error: " << result.error().message << "\nexpected to contain: " << expected;
    }
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

TEST(ApplyEdit, PrefersExactMatchOverTolerantOnes) {
  // The exact text occurs once inside a line; the tolerant matchers are never consulted.
  auto result = ApplyEdit("  a  \nb\n", "a", "c");
  ASSERT_OK(result);
  EXPECT_EQ(*result, "  c  \nb\n");
}

TEST(ApplyEdit, NotFoundHintShowsNumberedClosestLines) {
  std::string content;
  for (int i = 1; i <= 50; ++i)
    content += "value_" + std::to_string(i) + " = " + std::to_string(i) + "\n";
  auto result = ApplyEdit(content, "value_37 = 36\nvalue_38 = 37\n", "x");
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("37\tvalue_37 = 37\n38\tvalue_38 = 38"), std::string::npos)
      << result.error().message;
}

class ApplyEditsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteTestFile(dir_.path(), "a.py", "alpha = 1\n");
    WriteTestFile(dir_.path(), "b.py", "beta = 2\n");
  }
  TempDir dir_;
  Workspace workspace_{dir_.path()};
};

TEST_F(ApplyEditsTest, AppliesSeveralEditsToSeveralFiles) {
  ASSERT_OK(ApplyEdits(workspace_, {{"a.py", "alpha = 1", "alpha = 10"},
                                    {"b.py", "beta = 2", "beta = 20"},
                                    {"./a.py", "alpha = 10", "alpha = 100"}}));
  EXPECT_EQ(ReadTestFile(dir_ / "a.py"), "alpha = 100\n");
  EXPECT_EQ(ReadTestFile(dir_ / "b.py"), "beta = 20\n");
}

TEST_F(ApplyEditsTest, OneFailingEditChangesNothing) {
  auto applied = ApplyEdits(
      workspace_, {{"a.py", "alpha = 1", "alpha = 10"}, {"b.py", "gamma = 3", "gamma = 30"}});
  ASSERT_FALSE(applied.has_value());
  EXPECT_NE(applied.error().message.find("edit 2 of 2 (b.py)"), std::string::npos)
      << applied.error().message;
  EXPECT_EQ(ReadTestFile(dir_ / "a.py"), "alpha = 1\n");
  EXPECT_EQ(ReadTestFile(dir_ / "b.py"), "beta = 2\n");
}

TEST_F(ApplyEditsTest, MissingFileSaysToUseWriteFile) {
  auto applied = ApplyEdits(workspace_, {{"c.py", "x", "y"}});
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code, ErrorCode::kNotFound);
  EXPECT_NE(applied.error().message.find("write_file"), std::string::npos);
}

TEST_F(ApplyEditsTest, RefusesPathsOutsideTheWorkspace) {
  auto applied = ApplyEdits(
      workspace_, {{"a.py", "alpha = 1", "alpha = 10"}, {"../b.py", "beta = 2", "beta = 20"}});
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(ReadTestFile(dir_ / "a.py"), "alpha = 1\n");
}

}  // namespace
}  // namespace drover::agent
