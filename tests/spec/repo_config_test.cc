// .drover.yml: strict parsing with file:line errors, loading without following symlinks, and
// how a repository's verifiers combine with the spec's and the detected ones.
#include "spec/repo_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::TempDir;
using drover::testing::WriteTestFile;
using verifiers::VerifierSpec;

std::string ErrorOf(std::string_view text) {
  auto config = ParseRepoConfig(text);
  EXPECT_FALSE(config.has_value()) << text;
  return config ? "" : config.error().message;
}

TEST(RepoConfig, ParsesEveryField) {
  auto config = ParseRepoConfig(
      "opt_out: false\n"
      "verifiers:\n"
      "  - name: test\n"
      "    command: ./ci/test.sh --fast\n"
      "    timeout: 900\n"
      "  - name: docs\n"
      "    command: make docs\n"
      "disable_verifiers: [lint]\n");
  ASSERT_OK(config);
  EXPECT_FALSE(config->opt_out);
  ASSERT_EQ(config->verifiers.size(), 2u);
  EXPECT_EQ(config->verifiers[0].name, "test");
  EXPECT_EQ(config->verifiers[0].command, "./ci/test.sh --fast");
  EXPECT_EQ(config->verifiers[0].timeout, std::chrono::seconds(900));
  EXPECT_EQ(config->verifiers[1].timeout, std::chrono::seconds(600));
  EXPECT_EQ(config->disable_verifiers, std::vector<std::string>{"lint"});
}

TEST(RepoConfig, OptOutWithReason) {
  auto config = ParseRepoConfig("opt_out: true\nreason: vendored code, do not touch\n");
  ASSERT_OK(config);
  EXPECT_TRUE(config->opt_out);
  EXPECT_EQ(config->reason, "vendored code, do not touch");
  EXPECT_EQ(ToJson(*config)["reason"], "vendored code, do not touch");
}

TEST(RepoConfig, EmptyFileIsAllDefaults) {
  auto config = ParseRepoConfig("# nothing to say\n");
  ASSERT_OK(config);
  EXPECT_FALSE(config->opt_out);
  EXPECT_TRUE(config->verifiers.empty());
}

TEST(RepoConfig, ErrorsNameFileLineAndField) {
  EXPECT_EQ(ErrorOf("opt_out: false\nverifier:\n  - name: x\n"),
            ".drover.yml:2: verifier: unknown field (known: opt_out, reason, verifiers, "
            "disable_verifiers); did you mean 'verifiers'?");
  EXPECT_EQ(ErrorOf("verifiers:\n  - name: test\n    command: make test\n    timout: 5\n"),
            ".drover.yml:4: verifiers[0].timout: unknown field (known: name, command, timeout, "
            "require_test_evidence); did you mean 'timeout'?");
  EXPECT_EQ(ErrorOf("verifiers:\n  - name: test\n    command: make test\n"
                    "    require_test_evidence: often\n"),
            ".drover.yml:4: verifiers[0].require_test_evidence: expected true or false, got "
            "\"often\"");
  EXPECT_EQ(ErrorOf("opt_out: maybe\n"),
            ".drover.yml:1: opt_out: expected true or false, got \"maybe\"");
  EXPECT_EQ(ErrorOf("verifiers:\n  - name: test\n"),
            ".drover.yml:2: verifiers[0]: missing field 'command'");
  EXPECT_EQ(ErrorOf("verifiers:\n  - name: t\n    command: x\n    timeout: -3\n"),
            ".drover.yml:4: verifiers[0].timeout: expected a positive number of seconds, got "
            "\"-3\"");
  EXPECT_EQ(ErrorOf("verifiers:\n  - {name: t, command: a}\n  - {name: t, command: b}\n"),
            ".drover.yml:3: verifiers[1].name: another verifier is already named 't'");
  EXPECT_EQ(ErrorOf("reason: because\n"), ".drover.yml:1: reason: only goes with opt_out: true");
  EXPECT_EQ(ErrorOf("disable_verifiers: lint\n"),
            ".drover.yml:1: disable_verifiers: expected a list of verifier names, got \"lint\"");
  EXPECT_EQ(ErrorOf("opt_out: true\nopt_out: false\n"), ".drover.yml:2: opt_out: appears twice");
  EXPECT_EQ(ErrorOf("verifiers:\n  - name: t\n    command:\n      - make\n"),
            ".drover.yml:3: verifiers[0].command: expected text, got a list");
  std::string malformed = ErrorOf("verifiers:\n  - name: [unclosed\n");
  EXPECT_TRUE(malformed.starts_with(".drover.yml:")) << malformed;
  EXPECT_NE(malformed.find("invalid YAML"), std::string::npos) << malformed;
}

TEST(RepoConfig, LoadIsNulloptWithoutAFile) {
  TempDir dir;
  auto config = LoadRepoConfig(dir.path());
  ASSERT_OK(config);
  EXPECT_FALSE(config->has_value());
}

TEST(RepoConfig, LoadReadsTheFileAndReportsItsErrors) {
  TempDir dir;
  WriteTestFile(dir.path(), ".drover.yml", "disable_verifiers: [lint]\n");
  auto config = LoadRepoConfig(dir.path());
  ASSERT_OK(config);
  ASSERT_TRUE(config->has_value());
  EXPECT_EQ((*config)->disable_verifiers, std::vector<std::string>{"lint"});

  WriteTestFile(dir.path(), ".drover.yml", "# ok\nopt_out: yes please\n");
  auto bad = LoadRepoConfig(dir.path());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad.error().message.starts_with(".drover.yml:2: opt_out:")) << bad.error().message;
}

TEST(RepoConfig, LoadRefusesSymlinksAndHugeFiles) {
  TempDir outside;
  WriteTestFile(outside.path(), "config.yml", "opt_out: true\n");
  TempDir dir;
  std::filesystem::create_symlink(outside / "config.yml", dir / ".drover.yml");
  auto linked = LoadRepoConfig(dir.path());
  ASSERT_FALSE(linked.has_value());
  EXPECT_EQ(linked.error().code, ErrorCode::kPermissionDenied);

  TempDir big;
  WriteTestFile(big.path(), ".drover.yml", "# " + std::string(70 * 1024, 'x') + "\n");
  EXPECT_FALSE(LoadRepoConfig(big.path()).has_value());
}

std::vector<std::string> Names(const std::vector<VerifierSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(s.name + "=" + s.command);
  return out;
}

std::vector<verifiers::DetectedVerifier> Detected() {
  verifiers::DetectedVerifier build{
      {"build", "make -s"}, verifiers::VerifierKind::kBuild, "Makefile"};
  verifiers::DetectedVerifier test{
      {"test", "make -s test"}, verifiers::VerifierKind::kTest, "Makefile"};
  return {build, test};
}

TEST(MergeVerifiers, SpecVerifiersWinOverDetection) {
  std::vector<VerifierSpec> spec = {{"unit", "pytest -q"}};
  EXPECT_EQ(Names(MergeVerifiers(spec, Detected(), std::nullopt)),
            std::vector<std::string>{"unit=pytest -q"});
}

TEST(MergeVerifiers, DetectedOnesWhenTheSpecHasNone) {
  EXPECT_EQ(Names(MergeVerifiers({}, Detected(), std::nullopt)),
            (std::vector<std::string>{"build=make -s", "test=make -s test"}));
}

TEST(MergeVerifiers, RepoConfigReplacesInPlaceAddsAndDisables) {
  RepoConfig config;
  config.verifiers = {{"extra", "./check.sh"}, {"test", "./ci/test.sh"}};
  config.disable_verifiers = {"build", "no-such-verifier"};
  EXPECT_EQ(Names(MergeVerifiers({}, Detected(), config)),
            (std::vector<std::string>{"test=./ci/test.sh", "extra=./check.sh"}));
  // The spec's verifiers are replaced the same way.
  std::vector<VerifierSpec> spec = {{"test", "make check"}, {"build", "make"}};
  EXPECT_EQ(Names(MergeVerifiers(spec, Detected(), config)),
            (std::vector<std::string>{"test=./ci/test.sh", "extra=./check.sh"}));
}

TEST(MergeVerifiers, DisablingEverythingLeavesNothing) {
  RepoConfig config;
  config.disable_verifiers = {"build", "test"};
  EXPECT_TRUE(MergeVerifiers({}, Detected(), config).empty());
}

}  // namespace
}  // namespace drover::fleet
