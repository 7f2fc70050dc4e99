// Test evidence: how many tests a test runner's output says it ran. A check that exits 0 but
// ran none of the tests the untouched tree ran (a shadowed runner, a `test:` target rewritten
// to `true`) is not a passing test check. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::verifiers {

struct VerifierReport;

// The number of tests that ran (passed, failed or errored; skipped ones do not count) as the
// runner's summary lines say: unittest ("Ran 12 tests"), pytest ("3 passed, 1 failed"), cargo
// ("test result: ok. 5 passed; 0 failed"), jest and vitest ("Tests: 4 passed, 4 total"), ctest
// ("out of 7"), go test -v ("--- PASS:"), mocha ("9 passing"), node --test ("# tests 3"),
// Maven and Gradle ("Tests run: 8, Failures: 0"). Several summaries (crates, packages, test
// binaries) add up. nullopt when no summary is recognised.
std::optional<int> CountTestsRun(std::string_view output);

// The verifiers whose final run shows fewer tests than the baseline's (or none where the
// baseline ran some), one readable line each ("test: the baseline ran 12 tests, the final
// check none"). `fewer_allowed`: only "none" counts (the policy lets tests be deleted or
// skipped).
std::vector<std::string> MissingTestEvidence(const VerifierReport& baseline,
                                             const VerifierReport& final_report,
                                             bool fewer_allowed);

}  // namespace drover::verifiers
