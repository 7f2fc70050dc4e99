#include <chrono>
#include <random>
#include <string>

#include "tests/testing/testing.h"
#include "verifiers/diagnostics.h"

namespace drover::verifiers {
namespace {

TEST(ParseJunitXml, DecodesEntitiesAndCdataAndLocatesTheTestFrame) {
  auto parsed = ParseJunitXml(
      "<?xml version=\"1.0\"?>\n<!-- report -->\n"
      "<testsuite name=\"x.FooTest\"><testcase classname='x.FooTest' name=\"ok\"/>\n"
      "<testcase name=\"bar\" classname=\"x.FooTest\">"
      "<failure message=\"a &lt; b &amp;&amp; &quot;c&quot; &#65;&#x42;\" type=\"AssertionError\">"
      "<![CDATA[java.lang.AssertionError: a < b\n"
      "\tat org.junit.Assert.fail(Assert.java:89)\n"
      "\tat x.FooTest.helper(FooTest.java:40)\n"
      "\tat x.FooTest.bar(FooTest.java:23)\n]]></failure></testcase>\n"
      "<testcase name=\"baz\" classname=\"x.FooTest\"><skipped message=\"later\"/></testcase>\n"
      "<testcase name=\"qux\" classname=\"x.FooTest\"><error type=\"java.io.IOException\">"
      "java.io.IOException: disk &amp; more\n\tat x.FooTest$Inner.run(FooTest.java:61)\n"
      "</error></testcase></testsuite>\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 2u);
  const Diagnostic& bar = parsed->diagnostics[0];
  EXPECT_EQ(bar.kind, DiagnosticKind::kTestFailure);
  EXPECT_EQ(bar.test, "x.FooTest.bar");
  EXPECT_EQ(bar.message, "a < b && \"c\" AB");
  EXPECT_EQ(bar.file, "FooTest.java");
  EXPECT_EQ(bar.line, 40);  // The first frame inside the test class, helpers included.
  const Diagnostic& qux = parsed->diagnostics[1];
  EXPECT_EQ(qux.test, "x.FooTest.qux");
  EXPECT_EQ(qux.message, "java.io.IOException: disk & more");
  EXPECT_EQ(qux.file, "FooTest.java");
  EXPECT_EQ(qux.line, 61);
}

TEST(ParseJunitXml, ToleratesSelfClosingFailuresAndCutOffDocuments) {
  auto parsed = ParseJunitXml(
      "<testsuite><testcase classname=\"A\" name=\"b\"><failure message=\"boom\"/></testcase>"
      "<testcase classname=\"A\" name=\"c\"><failure message=\"cut\">stack\n\tat A.c(A.java:");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 2u);
  EXPECT_EQ(parsed->diagnostics[0].message, "boom");
  EXPECT_EQ(parsed->diagnostics[1].test, "A.c");
  EXPECT_EQ(parsed->diagnostics[1].line, 0);
  EXPECT_FALSE(ParseJunitXml("<html><body>no tests</body></html>").has_value());
  auto passing = ParseJunitXml("<testsuite><testcase classname=\"A\" name=\"b\"/></testsuite>");
  ASSERT_TRUE(passing.has_value());
  EXPECT_TRUE(passing->diagnostics.empty());
}

TEST(ParseJunitReports, ConcatenatesReportsInOrder) {
  std::vector<Diagnostic> all = ParseJunitReports(
      {"<testcase classname=\"A\" name=\"x\"><failure message=\"one\"/></testcase>",
       "not xml at all",
       "<testcase classname=\"B\" name=\"y\"><error message=\"two\"/></testcase>"});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].test, "A.x");
  EXPECT_EQ(all[1].test, "B.y");
}

// Surefire 3.x prints the same summary; "Run N:" lines list reruns of a flaky test.
TEST(ParseSurefire, ReadsFailuresAndErrorsSections) {
  auto parsed = ParseSurefire(
      "[ERROR] Tests run: 3, Failures: 1, Errors: 1, Skipped: 0\n"
      "[INFO] Results:\n"
      "[ERROR] Failures: \n"
      "[ERROR]   FooTest.bar:23 expected:<1> but was:<2>\n"
      "[ERROR] Errors: \n"
      "[ERROR]   Outer$InnerTest.boom:7 \xC2\xBB IllegalState nope\n"
      "[ERROR]   FooTest.init \xC2\xBB NullPointer\n"
      "[INFO] \n"
      "[ERROR]   Stray.line:1 not in a section\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 3u);
  EXPECT_EQ(parsed->diagnostics[0].test, "FooTest.bar");
  EXPECT_EQ(parsed->diagnostics[0].file, "FooTest.java");
  EXPECT_EQ(parsed->diagnostics[0].line, 23);
  EXPECT_EQ(parsed->diagnostics[0].message, "expected:<1> but was:<2>");
  EXPECT_EQ(parsed->diagnostics[1].file, "Outer.java");
  EXPECT_EQ(parsed->diagnostics[1].message, "IllegalState nope");
  EXPECT_EQ(parsed->diagnostics[2].file, "");
  EXPECT_EQ(parsed->diagnostics[2].line, 0);
  EXPECT_FALSE(ParseSurefire("[INFO] BUILD SUCCESS\n").has_value());
}

TEST(ParseGradleTests, ReadsFailedLinesOfOldAndNewGradle) {
  auto parsed = ParseGradleTests(
      "> Task :test FAILED\n"
      "CalcTest > addsTwo() FAILED\n"
      "    org.opentest4j.AssertionFailedError at CalcTest.java:12\n"
      "x.Outer > Nested > deep FAILED\n"
      "x.CalcTest > ok PASSED\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 2u);
  EXPECT_EQ(parsed->diagnostics[0].test, "CalcTest.addsTwo()");
  EXPECT_EQ(parsed->diagnostics[0].file, "CalcTest.java");
  EXPECT_EQ(parsed->diagnostics[0].line, 12);
  EXPECT_EQ(parsed->diagnostics[0].message, "org.opentest4j.AssertionFailedError");
  EXPECT_EQ(parsed->diagnostics[1].test, "x.Outer.deep");
  EXPECT_EQ(parsed->diagnostics[1].message, "FAILED");
}

// Gradle 5+ prints the task on its own line; Gradle 4 glues it to javac's first error.
TEST(ParseJavac, ReadsGradleWrappedErrorsAndDropsMavenRepeats) {
  auto parsed = ParseJavac(
      "> Task :compileJava FAILED\n"
      "/p/src/main/java/A.java:3: error: cannot find symbol\n"
      ":compileJava/p/src/main/java/B.java:4: error: ';' expected\n"
      "[\x1b[1;31mERROR\x1b[m] /p/C.java:[5,6] boom\n"
      "[\x1b[1;31mERROR\x1b[m] \x1b[1;31m/p/C.java:[5,6] boom\x1b[m\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 3u);
  EXPECT_EQ(parsed->diagnostics[0].file, "/p/src/main/java/A.java");
  EXPECT_EQ(parsed->diagnostics[1].file, "/p/src/main/java/B.java");
  EXPECT_EQ(parsed->diagnostics[1].line, 4);
  EXPECT_EQ(parsed->diagnostics[2].file, "/p/C.java");
  EXPECT_EQ(parsed->diagnostics[2].message, "boom");
}

TEST(ParseGoTestJson, AttributesOutputToTheFailingSubtestAndReportsPanics) {
  auto parsed = ParseGoTestJson(
      R"({"Action":"output","Package":"p","Test":"TestA/sub","Output":"    a_test.go:9: got \u003c1\u003e\n"})"
      "\n"
      R"({"Action":"fail","Package":"p","Test":"TestA/sub"})"
      "\n"
      R"({"Action":"fail","Package":"p","Test":"TestA"})"
      "\n"
      R"({"Action":"output","Package":"p","Test":"TestOk","Output":"    a_test.go:3: log\n"})"
      "\n"
      R"({"Action":"pass","Package":"p","Test":"TestOk"})"
      "\n"
      R"({"Action":"output","Package":"p","Test":"TestP","Output":"panic: boom\n"})"
      "\n"
      R"({"Action":"output","Package":"p","Test":"TestP","Output":"\t/src/p/b_test.go:7 +0x2e\n"})"
      "\n"
      R"({"Action":"fail","Package":"p","Test":"TestP"})"
      "\n"
      R"({"Action":"fail","Package":"p"})"
      "\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 2u);
  EXPECT_EQ(parsed->diagnostics[0].test, "TestA/sub");
  EXPECT_EQ(parsed->diagnostics[0].file, "a_test.go");
  EXPECT_EQ(parsed->diagnostics[0].line, 9);
  EXPECT_EQ(parsed->diagnostics[0].message, "got <1>");
  EXPECT_EQ(parsed->diagnostics[1].test, "TestP");
  EXPECT_EQ(parsed->diagnostics[1].message, "panic: boom");
  EXPECT_EQ(parsed->diagnostics[1].file, "/src/p/b_test.go");
  EXPECT_EQ(parsed->diagnostics[1].line, 7);
  EXPECT_FALSE(ParseGoTestJson("--- FAIL: TestX (0.00s)\n").has_value());
}

TEST(ParseGo, StripsVetPrefixAndIgnoresJsonEvents) {
  auto parsed = ParseGo(
      "# p\nvet: ./a.go:4:9: undeclared name: x\n"
      R"({"Action":"output","Test":"T","Output":"--- FAIL: T (0.00s)\n"})"
      "\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  EXPECT_EQ(parsed->diagnostics[0].file, "./a.go");
  EXPECT_EQ(parsed->diagnostics[0].column, 9);
}

using ParserFn = std::optional<Distilled> (*)(std::string_view);
constexpr ParserFn kJvmGoParsers[] = {ParseJunitXml, ParseSurefire, ParseGradleTests,
                                      ParseGoTestJson, ParseJavac, ParseGo};

TEST(ParseJvmRobustness, RandomMarkupAndHugeInputsStayLinear) {
  std::mt19937 rng(7);
  static constexpr std::string_view kPieces[] = {
      "<testcase", " classname=\"", "<failure", "<![CDATA[", "]]>", "&lt;", "&#", "\"", ">",
      "/>", "</failure>", "\tat A.b(A.java:3)\n", "[ERROR]   X.y:1 m\n", "Failures: \n",
      "{\"Action\":\"fail\",\"Test\":\"", "\\u00", " > ", " FAILED\n", "\n", "\x1b["};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (int i = rng() % 200; i > 0; --i) text += kPieces[rng() % std::size(kPieces)];
    for (ParserFn parse : kJvmGoParsers) parse(text);
  }
  std::string big = "<testsuite>";
  while (big.size() < 10'000'000) {
    big += "<testcase classname=\"A\" name=\"t\"><failure message=\"m\">at A.t(A.java:1)</failure>";
  }
  std::string one_line(10'000'000, '<');
  for (const std::string* input : {&big, &one_line}) {
    auto start = std::chrono::steady_clock::now();
    for (ParserFn parse : kJvmGoParsers) parse(*input);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  }
}

}  // namespace
}  // namespace drover::verifiers
