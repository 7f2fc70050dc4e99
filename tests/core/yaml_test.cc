// The YAML reader: values and their lines, front matter offsets, and the strict field reads'
// `file:line: field.path: message` errors.
#include "core/yaml.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/testing.h"

namespace drover {
namespace {

std::string MessageOf(const auto& result) {
  EXPECT_FALSE(result.has_value());
  return result ? "" : result.error().message;
}

TEST(Yaml, ScalarsAreTextNullsAreNullAndKeysKeepTheirOrder) {
  auto doc = ParseYaml("b: 5\na: \"5\"\nc:\nd: ~\ne: [yes, 1.5]\n", "f.yml");
  ASSERT_OK(doc);
  const YamlJson& json = doc->json();
  EXPECT_EQ(json["b"], "5");
  EXPECT_EQ(json["a"], "5");
  EXPECT_TRUE(json["c"].is_null());
  EXPECT_TRUE(json["d"].is_null());
  EXPECT_EQ(json["e"], (YamlJson{"yes", "1.5"}));
  std::vector<std::string> keys;
  for (const auto& [key, value] : doc->Root().Members()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "c", "d", "e"}));
}

TEST(Yaml, TypedReads) {
  auto doc = ParseYaml(
      "n: 42\nbig: 500\nneg: -3\nratio: 0.25\nflag: Yes\noff: off\ntext: '  hi  '\n"
      "kind: fork\nlist: [a, b]\nempty: ''\n",
      "f.yml");
  ASSERT_OK(doc);
  YamlNode root = doc->Root();
  EXPECT_EQ(root.Find("n")->ReadInteger().value(), 42);
  EXPECT_EQ(MessageOf(root.Find("big")->ReadInteger(1, 100)),
            "f.yml:2: big: must be at most 100, got 500");
  EXPECT_EQ(MessageOf(root.Find("neg")->ReadInteger()),
            "f.yml:3: neg: expected a positive integer, got \"-3\"");
  EXPECT_EQ(MessageOf(root.Find("neg")->ReadInteger(1, 9, "a positive number of seconds")),
            "f.yml:3: neg: expected a positive number of seconds, got \"-3\"");
  EXPECT_EQ(root.Find("neg")->ReadInteger(-5, 0).value(), -3);
  EXPECT_DOUBLE_EQ(root.Find("ratio")->ReadNumber(0, 1).value(), 0.25);
  EXPECT_EQ(MessageOf(root.Find("n")->ReadNumber(0, 1)),
            "f.yml:1: n: expected a number from 0 to 1, got \"42\"");
  EXPECT_EQ(MessageOf(root.Find("neg")->ReadNumber(0)),
            "f.yml:3: neg: expected a number of at least 0, got \"-3\"");
  EXPECT_TRUE(root.Find("flag")->ReadBool().value());
  EXPECT_FALSE(root.Find("off")->ReadBool().value());
  EXPECT_EQ(MessageOf(root.Find("n")->ReadBool()),
            "f.yml:1: n: expected true or false, got \"42\"");
  EXPECT_EQ(root.Find("text")->ReadText().value(), "hi");
  EXPECT_EQ(MessageOf(root.Find("empty")->ReadText()), "f.yml:10: empty: must not be empty");
  EXPECT_EQ(MessageOf(root.Find("list")->ReadText()), "f.yml:9: list: expected text, got a list");
  constexpr std::string_view kPushTo[] = {"upstream", "fork"};
  EXPECT_EQ(root.Find("kind")->ReadChoice(kPushTo).value(), "fork");
  EXPECT_EQ(MessageOf(root.Find("text")->ReadChoice(kPushTo)),
            "f.yml:7: text: expected upstream or fork, got \"  hi  \"");
  EXPECT_EQ(root.Find("list")->ReadTextList().value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(MessageOf(root.Find("n")->ReadTextList()), "f.yml:1: n: expected a list, got \"42\"");
  EXPECT_FALSE(root.Get("missing").has_value());
  EXPECT_EQ(MessageOf(root.Require("missing")), "f.yml:1: missing field 'missing'");
}

TEST(Yaml, UnknownFieldListsTheKnownOnesAndSuggestsANearMiss) {
  auto doc =
      ParseYaml("verifiers:\n  - name: t\n    comand: c\n  - name: u\n    shell: sh\n", "f.yml");
  ASSERT_OK(doc);
  constexpr std::string_view kKnown[] = {"name", "command", "timeout"};
  auto items = doc->Root().Find("verifiers")->Items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(MessageOf(items[0].CheckFields(kKnown)),
            "f.yml:3: verifiers[0].comand: unknown field (known: name, command, timeout); did "
            "you mean 'command'?");
  EXPECT_EQ(MessageOf(items[1].CheckFields(kKnown)),
            "f.yml:5: verifiers[1].shell: unknown field (known: name, command, timeout)");
  EXPECT_EQ(MessageOf(doc->Root().Find("verifiers")->CheckFields(kKnown)),
            "f.yml:1: verifiers: expected a mapping, got a list");
}

TEST(Yaml, LinesOfNestedFieldsListItemsAndEmptyValues) {
  auto doc = ParseYaml(
      "# a comment\n"
      "top:\n"
      "  nested:\n"
      "    deep: value\n"
      "  empty:\n"
      "  list:\n"
      "    - first\n"
      "    -   second\n"
      "    - {name: third}\n"
      "script: |\n"
      "  echo hi\n",
      "f.yml");
  ASSERT_OK(doc);
  YamlNode top = *doc->Root().Find("top");
  EXPECT_EQ(top.line(), 2);
  YamlNode deep = *top.Find("nested")->Find("deep");
  EXPECT_EQ(deep.path(), "top.nested.deep");
  EXPECT_EQ(deep.line(), 4);
  // An empty value is reported at its key's line, not where the next token starts.
  EXPECT_EQ(MessageOf(top.Find("empty")->ReadText()),
            "f.yml:5: top.empty: expected text, got nothing");
  auto items = top.Find("list")->Items();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].path(), "top.list[1]");
  EXPECT_EQ(items[1].line(), 8);
  EXPECT_EQ(items[1].mark().column, 8);
  EXPECT_EQ(MessageOf(items[2].Find("name")->ReadInteger()),
            "f.yml:9: top.list[2].name: expected a positive integer, got \"third\"");
  // So is an empty list item, at its dash, with comments and blank lines after it.
  auto gaps = ParseYaml("list:\n  - a\n  -\n\n  # note\n  - b\nnext: ~\n", "f.yml");
  ASSERT_OK(gaps);
  auto gap_items = gaps->Root().Find("list")->Items();
  ASSERT_EQ(gap_items.size(), 3u);
  EXPECT_TRUE(gap_items[1].IsNull());
  EXPECT_EQ(gap_items[1].line(), 3);
  EXPECT_EQ(gap_items[2].line(), 6);
  EXPECT_EQ(gaps->Root().Find("next")->mark().line, 7);
  // A block scalar starts at its indicator; its text begins on the next line.
  YamlNode script = *doc->Root().Find("script");
  EXPECT_EQ(script.line(), 10);
  EXPECT_EQ(script.Text(), "echo hi\n");
}

TEST(Yaml, KeysThatNeedEscapingInAPointerKeepTheirLines) {
  auto doc = ParseYaml("a/b:\n  c~d: x\nopenai:gpt-4.1: {input: -1}\n", "p.yaml");
  ASSERT_OK(doc);
  YamlNode cd = *doc->Root().Find("a/b")->Find("c~d");
  EXPECT_EQ(cd.line(), 2);
  EXPECT_EQ(cd.path(), "a/b.c~d");
  EXPECT_EQ(MessageOf(doc->Root().Find("openai:gpt-4.1")->Find("input")->ReadNumber(0)),
            "p.yaml:3: openai:gpt-4.1.input: expected a number of at least 0, got \"-1\"");
}

TEST(Yaml, SyntaxErrorsAndStructuralErrorsNameTheLine) {
  auto broken = ParseYaml("a: 1\nb: [unclosed\n", "f.yml");
  ASSERT_FALSE(broken.has_value());
  EXPECT_EQ(broken.error().code, ErrorCode::kParse);
  EXPECT_TRUE(broken.error().message.starts_with("f.yml:")) << broken.error().message;
  EXPECT_NE(broken.error().message.find("invalid YAML"), std::string::npos);
  auto indent = ParseYaml("id: x\ntitle: X\n  bad: indent\n", "f.yml", 2);
  EXPECT_TRUE(MessageOf(indent).starts_with("f.yml:4: invalid YAML: ")) << MessageOf(indent);
  EXPECT_EQ(MessageOf(ParseYaml("a: 1\nb:\n  c: 2\n  c: 3\n", "f.yml")),
            "f.yml:4: b.c: appears twice");
  EXPECT_EQ(MessageOf(ParseYaml("[a, b]: 1\n", "f.yml")),
            "f.yml:1: field names must be plain words");
}

TEST(Yaml, AliasesAreExpandedWithinBounds) {
  auto doc = ParseYaml("base: &b [x, y]\nuse: *b\n", "f.yml");
  ASSERT_OK(doc);
  EXPECT_EQ(doc->json()["use"], (YamlJson{"x", "y"}));
  // Each level doubles the values: 2^30 of them is refused, not built.
  std::string bomb = "a0: &a0 [x, x]\n";
  for (int i = 1; i <= 30; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
            ", *a" + std::to_string(i - 1) + "]\n";
  }
  auto exploded = ParseYaml(bomb, "f.yml");
  ASSERT_FALSE(exploded.has_value());
  EXPECT_NE(exploded.error().message.find("more than 200000 values"), std::string::npos)
      << exploded.error().message;
}

TEST(Yaml, EmptyDocumentIsNull) {
  for (std::string_view text : {"", "# only a comment\n", "\n\n"}) {
    auto doc = ParseYaml(text, "f.yml");
    ASSERT_OK(doc);
    EXPECT_TRUE(doc->Root().IsNull()) << text;
    EXPECT_TRUE(doc->Root().CheckFields({}).has_value());
    EXPECT_TRUE(doc->Root().Members().empty());
  }
}

TEST(Yaml, FrontMatterLinesCountFromTheFilesStart) {
  std::string text = "\xEF\xBB\xBF---  \r\nid: x\r\nlimits:\r\n  max_turns: ten\r\n...\r\nBody\r\n";
  auto front = SplitFrontMatter(text, "m.md");
  ASSERT_OK(front);
  EXPECT_EQ(front->yaml_line, 2);
  EXPECT_EQ(front->body_line, 6);
  EXPECT_EQ(front->body, "Body\r\n");
  EXPECT_EQ(text.substr(front->body_begin), "Body\r\n");
  auto doc = ParseYaml(front->yaml, "m.md", front->yaml_line);
  ASSERT_OK(doc);
  EXPECT_EQ(MessageOf(doc->Root().Find("limits")->Find("max_turns")->ReadInteger()),
            "m.md:4: limits.max_turns: expected a positive integer, got \"ten\"");

  auto empty = SplitFrontMatter("---\n---\nBody\n", "m.md");
  ASSERT_OK(empty);
  EXPECT_EQ(empty->yaml, "");
  EXPECT_EQ(empty->body_line, 3);
  EXPECT_TRUE(MessageOf(SplitFrontMatter("# Title\n", "m.md"))
                  .starts_with("m.md:1: expected YAML front matter"));
  EXPECT_EQ(MessageOf(SplitFrontMatter("---\nid: x\n", "m.md")),
            "m.md:1: the front matter is not closed: no \"---\" line after the first one");
}

}  // namespace
}  // namespace drover
