#include <chrono>
#include <random>
#include <string>

#include "tests/testing/testing.h"
#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

TEST(ParseTsc, ContinuesMessageChainsAndKeepsProjectErrors) {
  auto parsed = ParseTsc(
      "src/a.ts(3,7): error TS2345: Argument of type 'string' is not assignable.\n"
      "  Type 'string' is not assignable to type 'number'.\n"
      "error TS5023: Unknown compiler option '--bogus'.\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 2u);
  EXPECT_EQ(parsed->diagnostics[0].file, "src/a.ts");
  EXPECT_EQ(parsed->diagnostics[0].column, 7);
  EXPECT_NE(parsed->diagnostics[0].message.find("to type 'number'"), std::string::npos);
  EXPECT_EQ(parsed->diagnostics[1].file, "");
  EXPECT_FALSE(ParseTsc("see error TS in the docs: nothing\n").has_value());
}

TEST(ParseEslint, DropsWarningsUnlessTheyFailTheRun) {
  std::string stylish =
      "/p/a.js\n"
      "  1:5  warning  'x' is never reassigned  prefer-const\n"
      "  2:1  error    Parsing error: Unexpected token )\n";
  auto parsed = ParseEslint(stylish);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  EXPECT_EQ(parsed->diagnostics[0].message, "Parsing error: Unexpected token )");
  parsed = ParseEslint(stylish + "\nESLint found too many warnings (maximum: 0).\n");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->diagnostics.size(), 2u);
  EXPECT_FALSE(ParseEslint("/p/a.js\n  1:5  warning  unused  no-unused-vars\n").has_value());
}

TEST(ParseNode, IgnoresEslintSummaryAndTodoFailures) {
  EXPECT_FALSE(ParseNode("\xE2\x9C\x96 5 problems (4 errors, 1 warning)\n"
                         "  0 errors and 1 warning potentially fixable\n")
                   .has_value());
  EXPECT_FALSE(
      ParseNode("TAP version 13\nnot ok 1 - later # TODO not written\n1..1\n").has_value());
}

TEST(ParseNode, NamesNestedTapTestsAndReadsEsmFrames) {
  auto parsed = ParseNode(
      "TAP version 13\n"
      "# Subtest: outer\n"
      "    # Subtest: inner\n"
      "    not ok 1 - inner\n"
      "      ---\n"
      "      location: 'file:///p/t.mjs:4:3'\n"
      "      error: 'boom'\n"
      "      stack: |-\n"
      "        node:internal/x (node:internal/x:1:1)\n"
      "        file:///p/t.mjs:5:9\n"
      "      ...\n"
      "    1..1\n"
      "not ok 1 - outer\n"
      "  ---\n"
      "  failureType: 'subtestsFailed'\n"
      "  ...\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  const Diagnostic& d = parsed->diagnostics[0];
  EXPECT_EQ(d.test, "outer > inner");
  EXPECT_EQ(d.file, "/p/t.mjs");
  EXPECT_EQ(d.line, 5);
  EXPECT_EQ(d.message, "boom");
}

TEST(ParseJest, SkipsConsoleAndFallsBackToTheCodeFrame) {
  auto parsed = ParseJest(
      "FAIL src/a.test.js\n"
      "  \xE2\x97\x8F Console\n\n"
      "    console.log\n      hi\n\n      at Object.log (src/a.test.js:2:11)\n\n"
      "  \xE2\x97\x8F adds\n\n"
      "    expect(received).toBe(expected)\n\n"
      "    > 7 |   expect(1).toBe(2);\n"
      "        |             ^\n\n"
      "Tests:       1 failed, 1 total\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  const Diagnostic& d = parsed->diagnostics[0];
  EXPECT_EQ(d.test, "adds");
  EXPECT_EQ(d.file, "src/a.test.js");
  EXPECT_EQ(d.line, 7);
  EXPECT_EQ(d.message, "expect(received).toBe(expected)");
}

TEST(ParseJest, ReportsVitestFilesThatFailToLoad) {
  auto parsed = ParseJest(
      " FAIL  a.test.js [ a.test.js ]\n"
      "Error: Cannot find module './gone.js'\n"
      " \xE2\x9D\xAF a.test.js:1:1\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  EXPECT_EQ(parsed->diagnostics[0].test, "a.test.js");
  EXPECT_EQ(parsed->diagnostics[0].line, 1);
  EXPECT_NE(parsed->diagnostics[0].message.find("Cannot find module"), std::string::npos);
}

using ParserFn = std::optional<Distilled> (*)(std::string_view);
constexpr ParserFn kJsParsers[] = {ParseTsc, ParseEslint, ParseNode, ParseJest};

TEST(ParseJsRobustness, RandomBytesAndHugeLinesStayCheap) {
  std::mt19937 rng(7);
  std::string alphabet = std::string("\x1b[m:( )0123456789 -|>at\n") + "\xE2\x9C\x96\xE2\x97\x8F";
  for (int round = 0; round < 300; ++round) {
    std::string bytes(rng() % 4096, '\0');
    for (auto& c : bytes) {
      c = round % 2 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    for (ParserFn parse : kJsParsers) parse(bytes);
  }
  std::string long_line;
  while (long_line.size() < 10'000'000) long_line += "a.ts(1,2): error TS1: \x1b[31m not ok 1 - ";
  std::string noise;
  while (noise.size() < 10'000'000) noise += "not ok 1 - x\n  ---\n  error: |-\n  \xE2\x97\x8F t\n";
  for (const std::string* input : {&long_line, &noise}) {
    auto start = std::chrono::steady_clock::now();
    for (ParserFn parse : kJsParsers) parse(*input);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  }
}

}  // namespace
}  // namespace drover::verifiers
