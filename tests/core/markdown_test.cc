#include "core/markdown.h"

#include <random>
#include <string>
#include <vector>

#include "tests/testing/testing.h"

namespace drover {
namespace {

using testing::LiveForgeMarkup;
using testing::RenderGfm;

constexpr size_t kMax = 8000;

// What the agent of a hostile repository would write into a PR body.
constexpr std::string_view kHostileSummary =
    "Updated the consumers. Thanks @org/platform-team and @alice!\n"
    "\n"
    "Closes #1, fixes other/repo#42 and Resolves: https://github.com/o/r/issues/7.\n"
    "Implements ABC-123. See GH-9.\n"
    "<!-- reviewers never see this -->\n"
    "<img src=\"https://tracker.example/pixel.png\">\n"
    "![logo](https://tracker.example/logo.png)\n"
    "[click me](javascript:alert(1)) and [ref][r]\n"
    "[r]: https://tracker.example/ref.png\n"
    "&#64;bob &commat;carol\n"
    "/merge\n"
    "| a | b |\n"
    "|---|---|\n"
    "| @dave | x |\n"
    "$\\href{https://x}{y}$\n";

TEST(InertMarkdown, MentionsReferencesAndClosingKeywordsAreCode) {
  std::string out = InertMarkdownQuote(kHostileSummary, kMax);
  for (std::string_view token :
       {"`@org/platform-team`", "`@alice`", "`Closes`", "`#1`", "`fixes`", "`other/repo#42`",
        "`Resolves`", "`Implements`", "`GH-9`", "`@dave`"}) {
    EXPECT_NE(out.find(token), std::string::npos) << token << " in\n" << out;
  }
  // Not a mention: an address, and a word that is not followed by anything to close.
  std::string plain = InertMarkdownQuote("mail a@b.example; fixed the import", kMax);
  EXPECT_EQ(plain, "> mail a@b.example; fixed the import\n");
}

TEST(InertMarkdown, NoHtmlImagesLinksOrEntities) {
  std::string out = InertMarkdownQuote(kHostileSummary, kMax);
  EXPECT_EQ(out.find("<!--"), std::string::npos) << out;
  EXPECT_EQ(out.find("<img"), std::string::npos) << out;
  EXPECT_EQ(out.find("!["), std::string::npos) << out;
  EXPECT_NE(out.find("!\\[logo\\](`https://tracker.example/logo.png)`"), std::string::npos) << out;
  EXPECT_NE(out.find("\\[click me\\](javascript"), std::string::npos) << out;
  EXPECT_EQ(out.find("&#64;"), std::string::npos) << out;
  EXPECT_NE(out.find("&amp;`#64`;bob"), std::string::npos) << out;
  // Every line is inside the quote: no quick action at the start of a line.
  for (size_t start = 0; start < out.size();) {
    EXPECT_EQ(out[start], '>') << out.substr(start, out.find('\n', start) - start);
    start = out.find('\n', start) + 1;
  }
}

TEST(InertMarkdown, KeepsProseListsAndCodeReadable) {
  std::string summary =
      "Renamed **user_id** to `account_id` in _three_ files:\n"
      "\n"
      "- `src/a.py`\n"
      "- src/b.py\n"
      "\n"
      "```cpp\n"
      "#include <vector>\n"
      "auto x = a[i] | b; // @not-a-mention #12\n"
      "```\n";
  std::string out = InertMarkdownQuote(summary, kMax);
  EXPECT_EQ(out,
            "> Renamed **user_id** to `account_id` in _three_ files:\n"
            ">\n"
            "> - `src/a.py`\n"
            "> - src/b.py\n"
            ">\n"
            "> ```cpp\n"
            "> #include <vector>\n"
            "> auto x = a[i] | b; // @not-a-mention #12\n"
            "> ```\n");
}

TEST(InertMarkdown, AnUnclosedFenceOrSpanCannotSwallowWhatFollows) {
  std::string out = InertMarkdownQuote("text\n~~~\n@alice\n`` not closed", kMax);
  EXPECT_EQ(out, "> text\n> ```\n> @alice\n> `` not closed\n> ```\n");
  std::string open_span = InertMarkdownQuote("a `b\n@alice` c ``` d", kMax);
  EXPECT_EQ(open_span, "> a \\`b\n> `@alice`\\` c \\`\\`\\` d\n");
  // A fence in the content longer than the one that opened it cannot close it early.
  std::string nested = InertMarkdownQuote("````\n```\n@x\n", kMax);
  EXPECT_EQ(nested, "> ````\n> ```\n> @x\n> ````\n");
}

TEST(InertMarkdown, InvisibleAndControlCharactersAreShown) {
  std::string out = InertMarkdownQuote(
      "safe\xE2\x80\xAE"
      "evil\xE2\x80\x8B.\x07\r\nnext \xFF",
      kMax);
  EXPECT_EQ(out, "> safe\\[U+202E\\]evil\\[U+200B\\].\n> next \xEF\xBF\xBD\n");
  EXPECT_EQ(InertCommitText("a\xE2\x81\xA6"
                            "b",
                            kMax),
            "a[U+2066]b");
}

TEST(InertMarkdown, LongTextIsCutAtALineAndSaysSo) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "line " + std::to_string(i) + "\n";
  std::string out = InertMarkdownQuote(text, 1000);
  EXPECT_LT(out.size(), 1300u);
  EXPECT_NE(out.find("more bytes left out"), std::string::npos);
  EXPECT_EQ(InertMarkdownQuote("", kMax), "> (empty)\n");
}

TEST(InertMarkdown, InlineAndCodeSpanAreSafeInATableCell) {
  EXPECT_EQ(InertMarkdownInline("make | tee @x\n# h"), "make \\| tee `@x` # h");
  EXPECT_EQ(MarkdownCodeSpan("a `b` | c"), "``a `b` \\| c``");
  EXPECT_EQ(MarkdownCodeSpan("`x"), "`` `x ``");
  EXPECT_EQ(MarkdownCodeSpan(""), "` `");
}

TEST(InertMarkdown, CommitTextClosesNothingAndNamesNoAuthor) {
  std::string out = InertCommitText(
      "Fixes #12 for @alice.\nCo-authored-by: Mallory <m@example.com>\nSee `code`", kMax);
  EXPECT_EQ(out,
            "`Fixes` `#12` for `@alice`.\n`Co-authored-by`: Mallory <m@example.com>\n"
            "See `code`");
}

// The forge's view: rendered by a real CommonMark renderer with GitHub's extensions, nothing
// live is left outside code, and the document after the quote keeps its structure.
TEST(InertMarkdown, RenderedByCmarkGfmNothingIsLive) {
  auto html = RenderGfm(InertMarkdownQuote(kHostileSummary, kMax) + "\n## Verification\n");
  if (!html) GTEST_SKIP() << "cmark-gfm is not installed (scripts/setup.sh installs it)";
  EXPECT_EQ(LiveForgeMarkup(*html), "") << *html;
  // The oracle itself sees the same text live when it is not made inert.
  auto raw = RenderGfm(std::string(kHostileSummary));
  ASSERT_TRUE(raw);
  EXPECT_NE(LiveForgeMarkup(*raw), "") << *raw;
  EXPECT_NE(html->find("</blockquote>\n<h2>Verification</h2>"), std::string::npos) << *html;
}

// Random mixes of the constructs that open things (fences, spans, brackets, HTML, mentions,
// references): whatever the mix, no mention is live and the heading after it stays a heading.
TEST(InertMarkdown, RandomMixesStayInert) {
  if (!RenderGfm("x")) GTEST_SKIP() << "cmark-gfm is not installed (scripts/setup.sh installs it)";
  const std::vector<std::string> pieces = {
      "`",    "``", "```",   "~~~", "\n",   "\n\n", "    ", "- ",     "> ",        "1. ",
      "@zed", "#4", "a/b#5", "[",   "](u)", "![",   "<",    "<b>",    "<!--",      "-->",
      "\\",   "|",  "&",     "*",   "_",    " ",    "x",    "#",      "$",         "Fixes ",
      "**",   "\t", "&#64;", "=\n", "-\n",  "9",    "-- ",  "<code>", "http://h/", "<img src=u>"};
  std::mt19937 random(15);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (int k = 0; k < 60; ++k) text += pieces[random() % pieces.size()];
    auto html = RenderGfm(InertMarkdownQuote(text, kMax) + "\n## Tail\n");
    ASSERT_TRUE(html);
    ASSERT_EQ(LiveForgeMarkup(*html), "") << "input\n" << text << "\nrendered\n" << *html;
    ASSERT_NE(html->find("</blockquote>\n<h2>Tail</h2>"), std::string::npos)
        << "input\n"
        << text << "\nrendered\n"
        << *html;
  }
}

}  // namespace
}  // namespace drover
