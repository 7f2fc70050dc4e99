#include "fleet/judge.h"

#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

TEST(Judge, ReadsTheVerdictAmongWordsAndFences) {
  auto approve = ParseVerdict("Looks fine.\n```json\n{\"verdict\": \"approve\", \"reasons\": []}\n```");
  ASSERT_OK(approve);
  EXPECT_TRUE(approve->approved);
  auto veto = ParseVerdict(
      "{\"verdict\":\"veto\",\"reasons\":[\"README.md: unrelated rewording\",\"\"]} trailing {x}");
  ASSERT_OK(veto);
  EXPECT_FALSE(veto->approved);
  EXPECT_EQ(veto->reasons, std::vector<std::string>{"README.md: unrelated rewording"});
  auto bare_veto = ParseVerdict("{\"verdict\":\"veto\"}");
  ASSERT_OK(bare_veto);
  EXPECT_EQ(bare_veto->reasons, std::vector<std::string>{"(no reason given)"});
}

TEST(Judge, UnreadableRepliesAreParseErrors) {
  for (const char* text : {"", "I approve.", "{\"verdict\": \"maybe\"}", "{\"reasons\": []}",
                           "{\"verdict\": true}", "{{{{"}) {
    auto verdict = ParseVerdict(text);
    ASSERT_FALSE(verdict.has_value()) << text;
    EXPECT_EQ(verdict.error().code, ErrorCode::kParse) << text;
  }
}

}  // namespace
}  // namespace drover::fleet
