#include "prompts/prompts.h"

#include "tests/testing/testing.h"

namespace drover::prompts {
namespace {

TEST(RenderText, SubstitutesEveryPlaceholder) {
  auto out = RenderText("Hello {{name}}, {{name}} again; {{other}}.",
                        {{"name", "Ada"}, {"other", "x"}}, "t");
  ASSERT_OK(out);
  EXPECT_EQ(*out, "Hello Ada, Ada again; x.");
}

TEST(RenderText, MissingValueIsAnErrorNamingIt) {
  auto out = RenderText("{{a}} {{b}}", {{"a", "1"}}, "greeting.md");
  ASSERT_FALSE(out.has_value());
  EXPECT_NE(out.error().message.find("{{b}}"), std::string::npos);
  EXPECT_NE(out.error().message.find("greeting.md"), std::string::npos);
}

TEST(RenderText, UnusedValueIsAnError) {
  auto out = RenderText("{{a}}", {{"a", "1"}, {"typo", "2"}}, "t");
  ASSERT_FALSE(out.has_value());
  EXPECT_NE(out.error().message.find("typo"), std::string::npos);
}

TEST(RenderText, ValuesAreNotRescanned) {
  auto out = RenderText("{{a}}", {{"a", "{{b}}"}}, "t");
  ASSERT_OK(out);
  EXPECT_EQ(*out, "{{b}}");
}

TEST(RenderText, NonPlaceholderBracesStay) {
  auto out = RenderText("json: {{\"k\": 1}}", {}, "t");
  ASSERT_OK(out);
  EXPECT_EQ(*out, "json: {{\"k\": 1}}");
}

TEST(Render, EmbeddedTemplatesRenderWithTheirVariables) {
  // Every embedded template renders when given exactly the variables it names.
  for (const auto& [name, text] : EmbeddedTemplates()) {
    Variables vars;
    size_t pos = 0;
    while ((pos = text.find("{{", pos)) != std::string::npos) {
      size_t close = text.find("}}", pos);
      if (close == std::string::npos) break;
      std::string var = text.substr(pos + 2, close - pos - 2);
      if (!var.empty() && var.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") ==
                              std::string::npos) {
        vars[var] = "value";
      }
      pos = close + 2;
    }
    EXPECT_OK(Render(name, vars));
  }
  EXPECT_EQ(Render("no-such-template.md", {}).error().code, ErrorCode::kNotFound);
}

TEST(Render, OverrideDirWins) {
  drover::testing::TempDir dir;
  drover::testing::WriteTestFile(dir.path(), "custom.md", "custom {{x}}");
  SetOverrideDir(dir.path());
  auto out = Render("custom.md", {{"x", "1"}});
  SetOverrideDir({});
  ASSERT_OK(out);
  EXPECT_EQ(*out, "custom 1");
}

}  // namespace
}  // namespace drover::prompts
