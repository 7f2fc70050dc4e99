#include "prompts/prompts.h"

#include "core/json.h"
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

TEST(RenderEntry, RendersOneEntryOfAJsonTemplate) {
  drover::testing::TempDir dir;
  drover::testing::WriteTestFile(dir.path(), "messages.json",
                                 R"({"hello": "Hello {{name}}.\n", "list": [1]})");
  SetOverrideDir(dir.path());
  auto hello = RenderEntry("messages.json", "hello", {{"name", "Ada"}});
  auto missing = RenderEntry("messages.json", "bye", {});
  auto not_text = RenderEntry("messages.json", "list", {});
  auto unused = RenderEntry("messages.json", "hello", {{"name", "Ada"}, {"typo", "x"}});
  SetOverrideDir({});
  ASSERT_OK(hello);
  EXPECT_EQ(*hello, "Hello Ada.\n");
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("messages.json:bye"), std::string::npos);
  EXPECT_EQ(not_text.error().code, ErrorCode::kParse);
  EXPECT_NE(unused.error().message.find("messages.json:hello"), std::string::npos);
}

// The agent's sentences: every entry is text, and each renders with the variables it names.
TEST(RenderEntry, AgentMessagesAreAnObjectOfTexts) {
  auto text = TemplateText("agent_messages.json");
  ASSERT_OK(text);
  auto json = ParseJson(*text, "agent_messages.json");
  ASSERT_OK(json);
  ASSERT_TRUE(json->is_object());
  EXPECT_GT(json->size(), 10u);
  for (const auto& [key, value] : json->items()) {
    ASSERT_TRUE(value.is_string()) << key;
    Variables vars;
    const std::string& entry = value.get_ref<const std::string&>();
    for (size_t pos = 0; (pos = entry.find("{{", pos)) != std::string::npos;) {
      size_t close = entry.find("}}", pos);
      vars[entry.substr(pos + 2, close - pos - 2)] = "v";
      pos = close + 2;
    }
    auto rendered = RenderEntry("agent_messages.json", key, vars);
    EXPECT_TRUE(rendered.has_value()) << key << ": " << rendered.error().message;
  }
}

}  // namespace
}  // namespace drover::prompts
