// Inputs the fuzzers (fuzz/, scripts/fuzz.sh) found crashing a parser, kept so they never
// come back. Each must be survived; what it yields does not matter.
#include <gtest/gtest.h>

#include "verifiers/diagnostics.h"
#include "verifiers/distill.h"

namespace drover::verifiers {
namespace {

// go test -json: an output line of spaces only read before the start of its buffer.
TEST(FuzzRegression, GoTestJsonBlankOutputLine) {
  const std::string input =
      "{\"Action\":\"output\",\"Test\":\"T\",\"Output\":\"    \\n\"}\n"
      "{\"Action\":\"fail\",\"Test\":\"T\"}\n";
  auto parsed = ParseGoTestJson(input);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->diagnostics.size(), 1u);
  EXPECT_FALSE(Render(DistillOutput(input)).empty());
}

// Gradle: a line of spaces after "... FAILED" threw std::out_of_range.
TEST(FuzzRegression, GradleBlankDetailLine) {
  const std::string input = "C > m FAILED\n    \n";
  auto parsed = ParseGradleTests(input);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->diagnostics.size(), 1u);
  EXPECT_EQ(parsed->diagnostics[0].test, "C.m");
  EXPECT_FALSE(Render(DistillOutput(input)).empty());
}

}  // namespace
}  // namespace drover::verifiers
