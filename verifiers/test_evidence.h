// Test evidence: what a verifier's output (and the JUnit XML reports its run wrote) shows of
// the tests that ran, so that a final check can be held to at least the tests its baseline
// ran. One reader serves both runs. Parsers are linear, regex-free and safe on any bytes.
// Thread-safe: free functions over value types.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace drover::verifiers {

struct TestEvidence {
  // Tests that ran (passed or failed; skipped ones are not counted), summed over every test
  // runner the output shows.
  int ran = 0;
  // The names the output showed (sorted, unique), e.g. "tests/test_cart.py::test_total".
  std::vector<std::string> names;
  // False when the names are known to be partial (output dropped from the middle, or the
  // runner printed counts only): names are then not compared.
  bool names_complete = true;
  std::string formats;  // The runners recognised, "unittest+junit_xml".
};

// The evidence in `output` and in `junit_xml` (report file contents); nullopt when neither
// holds anything a known test runner prints. `output_complete`: false when the middle of
// the output was dropped.
std::optional<TestEvidence> ReadTestEvidence(std::string_view output,
                                             const std::vector<std::string>& junit_xml = {},
                                             bool output_complete = true);

Json ToJson(const TestEvidence& evidence);
// Reads what ToJson wrote; nullopt on a wrong shape.
std::optional<TestEvidence> TestEvidenceFromJson(const Json& json);

// Why `after` falls short of `before`, as readable reasons ("the baseline ran 3 tests, the final check 1";
// "2 tests the baseline ran did not run: a, b"); empty when `after` shows at least as much.
// A missing `after` falls short of any `before`.
std::vector<std::string> EvidenceShortfall(const TestEvidence& before,
                                           const std::optional<TestEvidence>& after);

// "12 tests" / "no test output".
std::string DescribeEvidence(const std::optional<TestEvidence>& evidence);

}  // namespace drover::verifiers
