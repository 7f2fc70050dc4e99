#include "verifiers/distill.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/json.h"
#include "tests/testing/testing.h"

namespace drover::verifiers {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every tests/fixtures/logs/<family>/<case> directory holding an output.txt.
std::vector<fs::path> FixtureCases() {
  std::vector<fs::path> cases;
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(DROVER_TEST_FIXTURES) / "logs")) {
    if (entry.path().filename() == "output.txt") cases.push_back(entry.path().parent_path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

TEST(DistillFixtures, FindsEveryExpectedDiagnosticAndInventsNone) {
  auto cases = FixtureCases();
  ASSERT_GE(cases.size(), 15u);
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.string());
    std::string raw = Slurp(dir / "output.txt");
    Json expected = Json::parse(Slurp(dir / "expected.json"));
    Distilled distilled = DistillOutput(raw);
    std::string rendered = Render(distilled);
    const Json& wanted = expected.at("diagnostics");
    EXPECT_EQ(distilled.diagnostics.size(), wanted.size()) << rendered;
    for (const auto& want : wanted) {
      std::string file = want.at("file");
      int line = want.at("line");
      std::string kind = want.at("kind");
      std::string message = want.at("message_contains");
      std::string test = want.value("test", "");
      int column = want.value("column", 0);
      bool found = std::any_of(
          distilled.diagnostics.begin(), distilled.diagnostics.end(), [&](const Diagnostic& d) {
            return d.file == file && d.line == line && DiagnosticKindName(d.kind) == kind &&
                   (column == 0 || d.column == column) && (test.empty() || d.test == test) &&
                   d.message.find(message) != std::string::npos;
          });
      EXPECT_TRUE(found) << "missing " << kind << " " << file << ":" << line << " " << message
                         << "\nrendered:\n" << rendered;
      if (!file.empty()) {
        std::string location = file + (line > 0 ? ":" + std::to_string(line) : "");
        EXPECT_NE(rendered.find(location), std::string::npos) << location << "\n" << rendered;
      }
      if (!test.empty()) {
        EXPECT_NE(rendered.find(test), std::string::npos) << rendered;
      }
    }
    if (raw.size() > 20 * 1024 && !wanted.empty()) {
      EXPECT_GE(raw.size(), 20 * rendered.size()) << rendered;
    }
    EXPECT_LE(rendered.size(), 3000u);
  }
}

TEST(DistillOutput, UnrecognisedOutputFallsBackToErrorLinesAndTail) {
  std::string log;
  for (int i = 0; i < 3000; ++i) log += "step " + std::to_string(i) + "\n";
  log += "deploy.sh: Error: bucket missing\n";
  for (int i = 0; i < 3000; ++i) log += "more " + std::to_string(i) + "\n";
  Distilled distilled = DistillOutput(log);
  EXPECT_EQ(distilled.parser, "fallback");
  std::string rendered = Render(distilled, 2000);
  EXPECT_LE(rendered.size(), 2000u);
  EXPECT_NE(rendered.find("bucket missing"), std::string::npos);
  EXPECT_NE(rendered.find("more 2999"), std::string::npos);
}

TEST(Render, PutsErrorsBeforeWarningsAndStaysWithinBudget) {
  std::string log;
  for (int i = 1; i <= 200; ++i) {
    log += "src/a.cc:" + std::to_string(i) + ":1: warning: unused variable 'x" +
           std::to_string(i) + "'\n";
  }
  log += "src/b.cc:7:3: error: expected ';'\n";
  Distilled distilled = DistillOutput(log);
  ASSERT_EQ(distilled.diagnostics.size(), 201u);
  std::string rendered = Render(distilled, 1000);
  EXPECT_LE(rendered.size(), 1000u);
  EXPECT_NE(rendered.find("src/b.cc:7:3: error: expected ';'"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("more]"), std::string::npos);
  EXPECT_EQ(rendered.rfind("1 compile error, 200 warnings", 0), 0u) << rendered;
}

// One maven-compiler-plugin line on its own; captured Maven logs (Debian's plugin packages,
// run offline with -Dmaven.repo.local=/usr/share/maven-repo) are in tests/fixtures/logs/maven/.
TEST(ParseJavac, ReadsMavenCompilerLines) {
  auto parsed = ParseJavac(
      "[INFO] BUILD FAILURE\n"
      "[ERROR] /src/main/java/com/example/App.java:[5,21] ';' expected\n");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  const Diagnostic& d = parsed->diagnostics[0];
  EXPECT_EQ(d.file, "/src/main/java/com/example/App.java");
  EXPECT_EQ(d.line, 5);
  EXPECT_EQ(d.column, 21);
  EXPECT_EQ(d.message, "';' expected");
}

// Parsers see untrusted output: random bytes, giant lines, cut-off logs.
using ParserFn = std::optional<Distilled> (*)(std::string_view);
constexpr ParserFn kAllParsers[] = {ParseGcc,         ParsePython,  ParseCargo,      ParseJavac,
                                    ParseCtest,       ParseGo,      ParseTsc,        ParseEslint,
                                    ParseNode,        ParseJest,    ParseGoTestJson, ParseSurefire,
                                    ParseGradleTests, ParseJunitXml};

TEST(DistillRobustness, RandomBytesAndTruncatedFixturesDoNotCrash) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(rng() % 4096, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() % 256);
    for (ParserFn parse : kAllParsers) parse(bytes);
    Render(DistillOutput(bytes), 500);
  }
  for (const auto& dir : FixtureCases()) {
    std::string raw = Slurp(dir / "output.txt");
    for (size_t cut = 0; cut < raw.size(); cut += 1 + raw.size() / 97) {
      std::string_view prefix(raw.data(), cut);
      for (ParserFn parse : kAllParsers) parse(prefix);
      Render(DistillOutput(prefix), 300);
    }
  }
}

TEST(DistillRobustness, HugeInputsStayLinear) {
  // One 10 MB line of marker fragments, then 10 MB of short noise lines.
  std::string long_line;
  while (long_line.size() < 10'000'000) long_line += "a.cc:1:: error: File \", line ---- ";
  std::string noise;
  while (noise.size() < 10'000'000) noise += "FAIL: x\nTraceback (most recent call last):\n";
  for (const std::string* input : {&long_line, &noise}) {
    auto start = std::chrono::steady_clock::now();
    for (ParserFn parse : kAllParsers) parse(*input);
    std::string rendered = Render(DistillOutput(*input));
    EXPECT_LE(rendered.size(), 3000u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  }
}

}  // namespace
}  // namespace drover::verifiers
