#include "spec/spec.h"

#include <gtest/gtest.h>

#include "forge/forges.h"
#include "spec/targets.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::TempDir;
using drover::testing::WriteTestFile;

constexpr char kFullSpec[] = R"md(---
id: playlist-events-v2
title: Move to v2
verifiers:
  - name: build
    command: make -s
  - name: test
    command: make -s test
    timeout: 300
limits:
  max_turns: 20
  max_tokens: 200000
  max_wall_seconds: 600
  max_consecutive_errors: 4
  command_timeout_seconds: 120
  max_output_tokens: 2048
  max_attempts: 3
baseline:
  on_red: no_new_failures
policy:
  max_files_changed: 10
  max_lines_changed: 200
pr:
  title: "Read v2 (user_id → account_id)"
  branch: migrations/v2
  labels: [data-migration, drover]
  draft: true
author:
  name: Bot
  email: bot@example.com
---

The dataset moved.

- Rename `user_id`.
)md";

// The error of parsing `text`, which must fail.
std::string ErrorOf(const std::string& text) {
  auto spec = ParseMigrationSpec(text, "migration.md");
  EXPECT_FALSE(spec.has_value()) << "parsed: " << text;
  if (spec) return "";
  EXPECT_EQ(spec.error().code, ErrorCode::kInvalidArgument) << spec.error().ToString();
  return spec.error().message;
}

constexpr char kMinimalHead[] = "---\nid: x\ntitle: X\nverifiers:\n  - name: t\n    command: c\n";

TEST(Spec, ParsesEveryField) {
  auto spec = ParseMigrationSpec(kFullSpec, "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->id, "playlist-events-v2");
  EXPECT_EQ(spec->title, "Move to v2");
  ASSERT_EQ(spec->verifiers.size(), 2u);
  EXPECT_EQ(spec->verifiers[0].name, "build");
  EXPECT_EQ(spec->verifiers[0].command, "make -s");
  EXPECT_EQ(spec->verifiers[0].timeout, std::chrono::seconds(600));
  EXPECT_EQ(spec->verifiers[1].timeout, std::chrono::seconds(300));
  EXPECT_EQ(spec->limits.max_turns, 20);
  EXPECT_EQ(spec->limits.max_tokens, 200000);
  EXPECT_EQ(spec->limits.max_wall_seconds, 600);
  EXPECT_EQ(spec->limits.max_consecutive_errors, 4);
  EXPECT_EQ(spec->limits.command_timeout_seconds, 120);
  EXPECT_EQ(spec->limits.max_output_tokens, 2048);
  EXPECT_EQ(spec->max_attempts, 3);
  EXPECT_EQ(spec->on_red_baseline, OnRedBaseline::kNoNewFailures);
  EXPECT_EQ(spec->policy.max_files_changed, 10);
  EXPECT_EQ(spec->policy.max_lines_changed, 200);
  EXPECT_EQ(spec->pr.title, "Read v2 (user_id → account_id)");
  EXPECT_EQ(spec->pr.branch, "migrations/v2");
  EXPECT_EQ(spec->pr.labels, (std::vector<std::string>{"data-migration", "drover"}));
  EXPECT_TRUE(spec->pr.draft);
  EXPECT_EQ(spec->author.name, "Bot");
  EXPECT_EQ(spec->author.email, "bot@example.com");
  EXPECT_EQ(spec->instructions, "The dataset moved.\n\n- Rename `user_id`.\n");
}

TEST(Spec, AppliesDefaults) {
  auto spec = ParseMigrationSpec(std::string(kMinimalHead) + "---\nDo it.\n", "m.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->pr.title, "X");
  EXPECT_EQ(spec->pr.branch, "drover/x");
  EXPECT_TRUE(spec->pr.labels.empty());
  EXPECT_FALSE(spec->pr.draft);
  EXPECT_EQ(spec->author.name, "drover");
  EXPECT_EQ(spec->author.email, "drover@localhost");
  EXPECT_EQ(spec->max_attempts, 2);
  EXPECT_EQ(spec->on_red_baseline, OnRedBaseline::kSkip);
  EXPECT_EQ(spec->policy.max_files_changed, 50);
  EXPECT_EQ(spec->policy.max_lines_changed, 2000);
  EXPECT_EQ(spec->limits.max_turns, agent::AgentLimits{}.max_turns);
  EXPECT_EQ(spec->verifiers[0].timeout, std::chrono::seconds(600));
  EXPECT_EQ(spec->instructions, "Do it.\n");
}

TEST(Spec, AcceptsCrLfAndEmptySections) {
  auto spec = ParseMigrationSpec(
      "---\r\nid: x\r\ntitle: X\r\nverifiers:\r\n  - {name: t, command: c}\r\nlimits:\r\n"
      "---\r\nBody\r\n",
      "m.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->instructions, "Body\n");
}

TEST(Spec, RepoMapTokensAcceptsZeroToTurnTheMapOff) {
  auto parse = [](const std::string& value) {
    return ParseMigrationSpec(
        std::string(kMinimalHead) + "limits:\n  repo_map_tokens: " + value + "\n---\nDo it.\n",
        "migration.md");
  };
  ASSERT_OK(parse("0"));
  EXPECT_EQ(parse("0")->limits.repo_map_tokens, 0);
  EXPECT_EQ(parse("1500")->limits.repo_map_tokens, 1500);
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "limits:\n  repo_map_tokens: -1\n---\nx\n"),
            "migration.md:8: limits.repo_map_tokens: expected a positive integer, got \"-1\"");
}

TEST(Spec, ContextLimits) {
  auto spec = ParseMigrationSpec(std::string(kMinimalHead) +
                                     "limits:\n  context_window_tokens: 32000\n"
                                     "  max_tool_output_tokens: 2000\n  context_management: false\n"
                                     "---\nDo it.\n",
                                 "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->limits.context_window_tokens, 32000);
  EXPECT_EQ(spec->limits.max_tool_output_tokens, 2000);
  EXPECT_FALSE(spec->limits.context_management);
  auto defaults = ParseMigrationSpec(std::string(kMinimalHead) + "---\nDo it.\n", "m.md");
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->limits.context_window_tokens, 128000);
  EXPECT_TRUE(defaults->limits.context_management);

  EXPECT_EQ(
      ErrorOf(std::string(kMinimalHead) + "limits:\n  context_management: sometimes\n---\nx\n"),
      "migration.md:8: limits.context_management: expected true or false, got \"sometimes\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) +
                    "limits:\n  max_output_tokens: 4096\n  context_window_tokens: 4000\n---\nx\n"),
            "migration.md:9: limits.context_window_tokens: must be larger than "
            "limits.max_output_tokens (4096), got 4000");
}

TEST(Spec, BadValueNamesFileLineAndField) {
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "limits:\n  max_turns: ten\n---\nDo it.\n"),
            "migration.md:8: limits.max_turns: expected a positive integer, got \"ten\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "limits:\n  max_tokens: -5\n---\nDo it.\n"),
            "migration.md:8: limits.max_tokens: expected a positive integer, got \"-5\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "policy:\n  max_files_changed: 1.5\n---\nx\n"),
            "migration.md:8: policy.max_files_changed: expected a positive integer, got \"1.5\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "pr:\n  draft: maybe\n---\nx\n"),
            "migration.md:8: pr.draft: expected true or false, got \"maybe\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "baseline:\n  on_red: ignore\n---\nx\n"),
            "migration.md:8: baseline.on_red: expected skip or no_new_failures, got \"ignore\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "pr:\n  labels: urgent\n---\nx\n"),
            "migration.md:8: pr.labels: expected a list of labels, got \"urgent\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "pr:\n  branch: \"a..b\"\n---\nx\n"),
            "migration.md:8: pr.branch: \"a..b\" is not a valid git branch name");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "limits: 5\n---\nx\n"),
            "migration.md:7: limits: expected a mapping, got \"5\"");
}

TEST(Spec, ABlockValueIsReportedAtItsKeysLine) {
  // The list starts on line 9, but the field a reader looks for is on line 8.
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "limits:\n  max_turns:\n    - 5\n---\nx\n"),
            "migration.md:8: limits.max_turns: expected a positive integer, got a list");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "sandbox:\n  allow_hosts:\n    - a.org\n"
                                                "    -\n---\nx\n"),
            "migration.md:10: sandbox.allow_hosts[1]: expected text, got nothing");
}

TEST(Spec, VerifierErrorsNameTheEntry) {
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifiers:\n  - name: t\n    command: c\n"
                    "  - name: u\n    timeout: soon\n    command: d\n---\nx\n"),
            "migration.md:8: verifiers[1].timeout: expected a positive integer, got \"soon\"");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifiers:\n  - name: t\n---\nx\n"),
            "migration.md:5: verifiers[0]: missing field 'command'");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifiers: []\n---\nx\n"),
            "migration.md:4: verifiers: list at least one verifier, or write `auto` (detected per "
            "repository)");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifiers:\n  - name: t\n    comand: c\n---\nx\n"),
            "migration.md:6: verifiers[0].comand: unknown field (known: name, command, timeout, "
            "require_test_evidence); did you mean 'command'?");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifiers:\n  - {name: t, command: c}\n"
                    "  - {name: t, command: d}\n---\nx\n"),
            "migration.md:6: verifiers[1].name: another verifier is already named 't'");
}

TEST(Spec, SetupCommandsAndHosts) {
  auto spec = ParseMigrationSpec(std::string(kMinimalHead) +
                                     "setup:\n  - npm ci\n  - make deps\n"
                                     "sandbox:\n  setup_hosts: [npm.mirror.example]\n---\nx\n",
                                 "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->setup, (std::vector<std::string>{"npm ci", "make deps"}));
  EXPECT_EQ(spec->sandbox.setup_hosts, (std::vector<std::string>{"npm.mirror.example"}));
  EXPECT_TRUE(spec->sandbox.allow_hosts.empty());  // The set-up's hosts are its own.
  auto off = ParseMigrationSpec(std::string(kMinimalHead) + "setup: []\n---\nx\n", "migration.md");
  ASSERT_OK(off);
  ASSERT_TRUE(off->setup.has_value());
  EXPECT_TRUE(off->setup->empty());
  for (const char* detected : {"", "setup: auto\n"}) {
    auto spec_detected =
        ParseMigrationSpec(std::string(kMinimalHead) + detected + "---\nx\n", "migration.md");
    ASSERT_OK(spec_detected);
    EXPECT_FALSE(spec_detected->setup.has_value());
  }
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "setup:\n  - npm ci\n  - \"\"\n---\nx\n"),
            "migration.md:9: setup[1]: must not be empty");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "sandbox:\n  setup_hosts: [127.0.0.1]\n---\nx\n"),
            "migration.md:8: sandbox.setup_hosts[0]: \"127.0.0.1\" is an IP address; only host "
            "names can be allowed");
}

TEST(Spec, SandboxSection) {
  auto spec = ParseMigrationSpec(std::string(kMinimalHead) +
                                     "sandbox:\n  allow_hosts: [pypi.org, \"*.pythonhosted.org\"]\n"
                                     "  read_only_paths: [/opt/jdk]\n  memory_mb: 512\n"
                                     "  max_processes: 100\n  disk_mb: 64\n---\nx\n",
                                 "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->sandbox.allow_hosts,
            (std::vector<std::string>{"pypi.org", "*.pythonhosted.org"}));
  EXPECT_EQ(spec->sandbox.read_only_paths, (std::vector<std::filesystem::path>{"/opt/jdk"}));
  EXPECT_EQ(spec->sandbox.memory_mb, 512);
  EXPECT_EQ(spec->sandbox.max_processes, 100);
  EXPECT_EQ(spec->sandbox.disk_mb, 64);
  auto defaults = ParseMigrationSpec(std::string(kMinimalHead) + "---\nx\n", "migration.md");
  ASSERT_OK(defaults);
  EXPECT_TRUE(defaults->sandbox.allow_hosts.empty());  // No network unless asked for.

  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "sandbox:\n  allow_hosts: [10.0.0.1]\n---\nx\n"),
            "migration.md:8: sandbox.allow_hosts[0]: \"10.0.0.1\" is an IP address; only host "
            "names can be allowed");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) +
                    "sandbox:\n  allow_hosts:\n    - https://pypi.org\n---\nx\n"),
            "migration.md:9: sandbox.allow_hosts[0]: \"https://pypi.org\" is not a host name (no "
            "scheme, port or path; \"*.\" may start it)");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "sandbox:\n  read_only_paths: [opt]\n---\nx\n"),
            "migration.md:8: sandbox.read_only_paths[0]: must be an absolute path");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "sandbox:\n  allow_host: [a.org]\n---\nx\n"),
            "migration.md:8: sandbox.allow_host: unknown field (known: allow_hosts, "
            "read_only_paths, memory_mb, max_processes, disk_mb, setup_hosts); did you mean "
            "'allow_hosts'?");
}

TEST(Spec, ForgeSection) {
  auto spec =
      ParseMigrationSpec(std::string(kMinimalHead) +
                             "forge:\n  kind: github\n  base_url: "
                             "https://ghe.example.com/api/v3\n  token_env: GHE_TOKEN\n---\nx\n",
                         "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->forge.kind, ForgeKind::kGitHub);
  EXPECT_EQ(spec->forge.base_url, "https://ghe.example.com/api/v3");
  EXPECT_EQ(spec->forge.token_env, "GHE_TOKEN");
  auto defaults = ParseMigrationSpec(std::string(kMinimalHead) + "---\nx\n", "migration.md");
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->forge.kind, ForgeKind::kLocal);
  EXPECT_EQ(defaults->forge.token_env, "");

  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "forge:\n  kind: bitbucket\n---\nx\n"),
            "migration.md:8: forge.kind: unknown forge \"bitbucket\" (local, github or gitlab)");
  EXPECT_EQ(
      ErrorOf(std::string(kMinimalHead) + "forge:\n  kind: gitlab\n  base_url: ftp://x\n---\nx\n"),
      "migration.md:9: forge.base_url: \"ftp://x\" is not an http(s) URL");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "forge:\n  token_env: \"ghp_abc-def\"\n---\nx\n"),
            "migration.md:8: forge.token_env: \"ghp_abc-def\" is not an environment variable name");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "forge:\n  token: x\n---\nx\n"),
            "migration.md:8: forge.token: unknown field (known: kind, base_url, token_env, "
            "push_to, fork_owner)");
}

TEST(Spec, ForgePushToFork) {
  auto spec = ParseMigrationSpec(std::string(kMinimalHead) +
                                     "forge:\n  kind: github\n  push_to: fork\n"
                                     "  fork_owner: acme-bots\n---\nx\n",
                                 "migration.md");
  ASSERT_OK(spec);
  EXPECT_TRUE(spec->forge.push_to_fork);
  EXPECT_EQ(spec->forge.fork_owner, "acme-bots");
  auto defaults = ParseMigrationSpec(std::string(kMinimalHead) + "---\nx\n", "migration.md");
  ASSERT_OK(defaults);
  EXPECT_FALSE(defaults->forge.push_to_fork);
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "forge:\n  push_to: mirror\n---\nx\n"),
            "migration.md:8: forge.push_to: \"mirror\" is neither upstream nor fork");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "forge:\n  fork_owner: bots\n---\nx\n"),
            "migration.md:8: forge.fork_owner: needs forge.push_to: fork");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) +
                    "forge:\n  push_to: fork\n  fork_owner: \"a b\"\n---\nx\n"),
            "migration.md:9: forge.fork_owner: \"a b\" is not a user, organisation or namespace "
            "name");
  // The local forge has no forks: refused when the run's forge is resolved.
  auto local = ResolveForge(spec->forge, ForgeKind::kLocal, "", {});
  ASSERT_FALSE(local.has_value());
  EXPECT_NE(local.error().message.find("forge.push_to: fork needs a github or gitlab forge"),
            std::string::npos);
}

TEST(Spec, UnknownFieldSuggestsTheClosestName) {
  constexpr std::string_view kTopKnown =
      "(known: id, title, verifiers, limits, baseline, policy, pr, author, sandbox, judge, "
      "forge, rollout, setup)";
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifers:\n  - name: t\n    command: c\n---\nDo.\n"),
            "migration.md:4: verifers: unknown field " + std::string(kTopKnown) +
                "; did you mean 'verifiers'?");
  std::string limits = ErrorOf(std::string(kMinimalHead) + "limits:\n  max_turn: 3\n---\nx\n");
  EXPECT_TRUE(limits.starts_with("migration.md:8: limits.max_turn: unknown field (known: "
                                 "max_turns, max_tokens, "))
      << limits;
  EXPECT_TRUE(limits.ends_with(", max_attempts); did you mean 'max_turns'?")) << limits;
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "schedule: fast\n---\nx\n"),
            "migration.md:7: schedule: unknown field " + std::string(kTopKnown));
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "title: Y\n---\nx\n"),
            "migration.md:7: title: appears twice");
}

TEST(Spec, MissingAndInvalidRequiredFields) {
  EXPECT_EQ(ErrorOf("---\nid: x\nverifiers:\n  - {name: t, command: c}\n---\nx\n"),
            "migration.md:2: missing field 'title'");
  // Without verifiers (or with `auto`) each repository's checks are detected.
  for (const char* text :
       {"---\nid: x\ntitle: X\n---\nx\n", "---\nid: x\ntitle: X\nverifiers: auto\n---\nx\n"}) {
    auto detected = ParseMigrationSpec(text, "migration.md");
    ASSERT_OK(detected);
    EXPECT_TRUE(detected->verifiers.empty());
  }
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\nverifiers: some\n---\nx\n"),
            "migration.md:4: verifiers: expected a list of {name, command} entries, got \"some\"");
  auto judged = ParseMigrationSpec(std::string(kMinimalHead) + "judge: true\n---\nx\n", "m.md");
  ASSERT_OK(judged);
  EXPECT_TRUE(judged->judge.enabled);
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "judge: {enabeld: true}\n---\nx\n"),
            "migration.md:7: judge.enabeld: unknown field (known: enabled); did you mean "
            "'enabled'?");
  EXPECT_EQ(ErrorOf("---\nid: Bad_Id\ntitle: X\nverifiers:\n  - {name: t, command: c}\n---\nx\n")
                .substr(0, 34),
            "migration.md:2: id: \"Bad_Id\" is no");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle:\nverifiers:\n  - {name: t, command: c}\n---\nx\n"),
            "migration.md:3: title: expected text, got nothing");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: [a]\nverifiers:\n  - {name: t, command: c}\n---\nx\n"),
            "migration.md:3: title: expected text, got a list");
}

TEST(Spec, FrontMatterAndBodyErrors) {
  EXPECT_EQ(ErrorOf("# Just Markdown\n").substr(0, 44),
            "migration.md:1: expected YAML front matter: ");
  EXPECT_EQ(ErrorOf("---\nid: x\ntitle: X\n"),
            "migration.md:1: the front matter is not closed: no \"---\" line after the first one");
  EXPECT_EQ(ErrorOf("---\n---\nBody\n"),
            "migration.md:2: the front matter is empty (required: id, title)");
  EXPECT_EQ(ErrorOf("---\n- a\n- b\n---\nBody\n"),
            "migration.md:2: the front matter must be a mapping of fields, got a list");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "---\n\n  \n"),
            "migration.md:8: the instructions are empty: write them below the front matter");
}

TEST(Spec, YamlSyntaxErrorNamesTheLine) {
  std::string message =
      ErrorOf("---\nid: x\ntitle: X\nverifiers:\n  - name: t\n    command: [c\n---\nx\n");
  EXPECT_TRUE(message.starts_with("migration.md:")) << message;
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
  message = ErrorOf("---\nid: x\ntitle: X\n  bad: indent\nverifiers: []\n---\nx\n");
  EXPECT_TRUE(message.starts_with("migration.md:4: invalid YAML")) << message;
}

TEST(Spec, LoadNamesThePath) {
  TempDir dir;
  WriteTestFile(dir.path(), "migration.md", kFullSpec);
  auto spec = LoadMigrationSpec(dir / "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->file, dir / "migration.md");

  WriteTestFile(dir.path(), "bad.md",
                std::string(kMinimalHead) + "limits:\n  max_turns: 0\n---\nx\n");
  auto bad = LoadMigrationSpec(dir / "bad.md");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(
      bad.error().message,
      (dir / "bad.md").string() + ":8: limits.max_turns: expected a positive integer, got \"0\"");

  auto missing = LoadMigrationSpec(dir / "nope.md");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(Spec, ExampleMigrationParses) {
  auto spec = LoadMigrationSpec(std::filesystem::path(DROVER_SOURCE_DIR) / "examples" /
                                "playlist-events-v2" / "migration.md");
  ASSERT_OK(spec);
  EXPECT_EQ(spec->id, "playlist-events-v2");
  EXPECT_EQ(spec->max_attempts, 2);
}

TEST(Spec, PolicyFields) {
  auto spec = ParseMigrationSpec(std::string(kMinimalHead) +
                                     "policy:\n"
                                     "  allowed_paths: [\"src/**\", tests/**]\n"
                                     "  forbidden_paths: [\"**/*.lock\"]\n"
                                     "  allow_deleted_tests: true\n"
                                     "  allow_skipped_tests: false\n"
                                     "  must_be_gone: [user_id, \"from v1 import\"]\n"
                                     "  must_be_gone_except: [CHANGELOG.md]\n"
                                     "  must_appear: [account_id]\n"
                                     "  max_files_changed: 5\n"
                                     "  allow_external_symlinks: true\n"
                                     "  allow_binary_files: true\n"
                                     "  max_file_bytes: 4096\n"
                                     "  invisible_characters: flag\n"
                                     "  allow_control_files: [\".github/workflows/**\"]\n"
                                     "  verification_changes: refuse\n"
                                     "  allow_verification_files: [tox.ini]\n"
                                     "  weakened_tests: refuse\n"
                                     "---\nx\n",
                                 "migration.md");
  ASSERT_OK(spec);
  const DiffPolicy& policy = spec->policy;
  EXPECT_EQ(policy.allowed_paths, (std::vector<std::string>{"src/**", "tests/**"}));
  EXPECT_EQ(policy.forbidden_paths, std::vector<std::string>{"**/*.lock"});
  EXPECT_TRUE(policy.allow_deleted_tests);
  EXPECT_FALSE(policy.allow_skipped_tests);
  EXPECT_EQ(policy.must_be_gone, (std::vector<std::string>{"user_id", "from v1 import"}));
  EXPECT_EQ(policy.must_be_gone_except, std::vector<std::string>{"CHANGELOG.md"});
  EXPECT_EQ(policy.must_appear, std::vector<std::string>{"account_id"});
  EXPECT_EQ(policy.max_files_changed, 5);
  EXPECT_EQ(policy.max_lines_changed, 2000);
  EXPECT_TRUE(policy.allow_external_symlinks);
  EXPECT_TRUE(policy.allow_binary_files);
  EXPECT_EQ(policy.max_file_bytes, 4096u);
  EXPECT_TRUE(policy.flag_invisible_characters);
  EXPECT_EQ(policy.allow_control_files, std::vector<std::string>{".github/workflows/**"});
  EXPECT_TRUE(policy.refuse_verification_changes);
  EXPECT_EQ(policy.allow_verification_files, std::vector<std::string>{"tox.ini"});
  EXPECT_TRUE(policy.refuse_weakened_tests);

  auto defaults = ParseMigrationSpec(std::string(kMinimalHead) + "---\nx\n", "migration.md");
  ASSERT_OK(defaults);
  EXPECT_TRUE(defaults->policy.allowed_paths.empty());
  EXPECT_FALSE(defaults->policy.allow_deleted_tests);
  EXPECT_FALSE(defaults->policy.allow_skipped_tests);
  EXPECT_FALSE(defaults->policy.allow_external_symlinks);
  EXPECT_FALSE(defaults->policy.allow_binary_files);
  EXPECT_EQ(defaults->policy.max_file_bytes, 1u << 20);
  EXPECT_FALSE(defaults->policy.flag_invisible_characters);
  EXPECT_FALSE(defaults->policy.refuse_verification_changes);
  EXPECT_TRUE(defaults->policy.allow_verification_files.empty());
  EXPECT_FALSE(defaults->policy.refuse_weakened_tests);

  auto error = [](const std::string& fields) {
    return ErrorOf(std::string(kMinimalHead) + "policy:\n" + fields + "---\nx\n");
  };
  EXPECT_EQ(error("  allowed_paths: [src/**, \"src/a**\"]\n"),
            "migration.md:8: policy.allowed_paths[1]: \"src/a**\" has '**' inside a segment; "
            "'**' must stand alone between slashes (src/**/x)");
  EXPECT_EQ(error("  forbidden_paths:\n    - /vendor/**\n"),
            "migration.md:9: policy.forbidden_paths[0]: \"/vendor/**\" is absolute; globs are "
            "relative to the repository root (src/**, not /src/**)");
  EXPECT_EQ(error("  forbidden_paths: vendor/**\n"),
            "migration.md:8: policy.forbidden_paths: expected a list, got \"vendor/**\"");
  EXPECT_EQ(error("  must_be_gone: [user_id, \"\"]\n"),
            "migration.md:8: policy.must_be_gone[1]: must not be empty");
  EXPECT_EQ(error("  must_appear: [\"a\\nb\"]\n"),
            "migration.md:8: policy.must_appear[0]: must be a single line");
  EXPECT_EQ(error("  must_be_gone: [user_id]\n  must_appear: [new_user_id]\n"),
            "migration.md:9: policy.must_appear[0]: \"new_user_id\" contains the must_be_gone "
            "pattern \"user_id\": no added line could satisfy both");
  EXPECT_EQ(error("  allow_deleted_tests: sometimes\n"),
            "migration.md:8: policy.allow_deleted_tests: expected true or false, got "
            "\"sometimes\"");
  EXPECT_EQ(error("  allow_external_symlinks: [yes]\n"),
            "migration.md:8: policy.allow_external_symlinks: expected true or false, got a "
            "list");
  EXPECT_EQ(error("  invisible_characters: warn\n"),
            "migration.md:8: policy.invisible_characters: expected refuse or flag, got \"warn\"");
  EXPECT_EQ(error("  weakened_tests: allow\n"),
            "migration.md:8: policy.weakened_tests: expected refuse or flag, got \"allow\"");
  EXPECT_EQ(error("  verification_changes: true\n"),
            "migration.md:8: policy.verification_changes: expected refuse or flag, got \"true\"");
  EXPECT_EQ(error("  allow_verification_files: [/tox.ini]\n"),
            "migration.md:8: policy.allow_verification_files[0]: \"/tox.ini\" is absolute; globs "
            "are relative to the repository root (src/**, not /src/**)");
  EXPECT_EQ(error("  max_file_bytes: -1\n"),
            "migration.md:8: policy.max_file_bytes: expected a positive integer, got \"-1\"");
  std::string unknown = error("  allowed_path: [src/**]\n");
  EXPECT_TRUE(unknown.starts_with("migration.md:8: policy.allowed_path: unknown field (known: "
                                  "max_files_changed, "))
      << unknown;
  EXPECT_TRUE(unknown.ends_with(", weakened_tests); did you mean 'allowed_paths'?")) << unknown;
}

TEST(Targets, ParsesPathsUrlsAndComments) {
  TempDir dir;
  WriteTestFile(dir.path(), "repos.txt",
                "# the fleet\n"
                "\n"
                "repos/shop   # relative to this file\n"
                "/abs/path/billing.git/\n"
                "https://github.com/org/shop.git\n"
                "git@github.com:other/shop.git\n"
                "file:///srv/git/notes.git\n"
                "  ssh://git@host/x/a#b\n");
  auto targets = LoadTargets(dir / "repos.txt");
  ASSERT_OK(targets);
  ASSERT_EQ(targets->size(), 6u);
  const auto& t = *targets;
  EXPECT_EQ(t[0].location, (dir / "repos" / "shop").string());
  EXPECT_EQ(t[0].name, "shop");
  EXPECT_TRUE(t[0].is_local);
  EXPECT_EQ(t[0].line, 3);
  EXPECT_EQ(t[1].location, "/abs/path/billing.git");
  EXPECT_EQ(t[1].name, "billing");
  EXPECT_TRUE(t[1].is_local);
  EXPECT_EQ(t[2].name, "shop-2");
  EXPECT_FALSE(t[2].is_local);
  EXPECT_EQ(t[3].location, "git@github.com:other/shop.git");
  EXPECT_EQ(t[3].name, "shop-3");
  EXPECT_FALSE(t[3].is_local);
  EXPECT_EQ(t[4].name, "notes");
  EXPECT_TRUE(t[4].is_local);
  EXPECT_EQ(t[5].location, "ssh://git@host/x/a#b");
  EXPECT_EQ(t[5].name, "a-b");
  EXPECT_EQ(t[5].line, 8);
}

TEST(Targets, PathsMayHoldSpaces) {
  TempDir dir;
  WriteTestFile(dir.path(), "repos.txt", "  my repos/shop front  \n/srv/git/two words.git # c\n");
  auto targets = LoadTargets(dir / "repos.txt");
  ASSERT_OK(targets);
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[0].location, (dir / "my repos" / "shop front").string());
  EXPECT_EQ((*targets)[0].name, "shop-front");
  EXPECT_TRUE((*targets)[0].is_local);
  EXPECT_EQ((*targets)[1].location, "/srv/git/two words.git");
  EXPECT_EQ((*targets)[1].name, "two-words");
}

TEST(Targets, ErrorsNameFileAndLine) {
  TempDir dir;
  std::string file = (dir / "repos.txt").string();
  WriteTestFile(dir.path(), "repos.txt", "/a/x\n\nftp://host/y.git\n");
  auto bad = LoadTargets(dir / "repos.txt");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(bad.error().message.starts_with(file + ":3: unsupported URL scheme"))
      << bad.error().message;

  WriteTestFile(dir.path(), "repos.txt", "/a/x\nhttps://host/y.git main\n");
  bad = LoadTargets(dir / "repos.txt");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.error().message.starts_with(file + ":2: expected one")) << bad.error().message;

  WriteTestFile(dir.path(), "repos.txt", "git@host:y.git extra\n");
  bad = LoadTargets(dir / "repos.txt");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.error().message.starts_with(file + ":1: expected one")) << bad.error().message;

  WriteTestFile(dir.path(), "repos.txt", "/a/x\n/a/./x  # again\n");
  bad = LoadTargets(dir / "repos.txt");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, file + ":2: \"/a/x\" is already a target (line 1)");

  auto missing = LoadTargets(dir / "nope.txt");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(SpecRollout, ReadsCanaryAndBar) {
  auto spec = ParseMigrationSpec(
      std::string(kMinimalHead) + "rollout:\n  canary: 20\n  min_success: 0.7\n---\nx\n",
      "migration.md");
  ASSERT_TRUE(spec.has_value()) << spec.error().ToString();
  EXPECT_EQ(spec->rollout.canary, 20);
  EXPECT_DOUBLE_EQ(spec->rollout.min_success, 0.7);
  auto plain = ParseMigrationSpec(std::string(kMinimalHead) + "---\nx\n", "migration.md");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->rollout.canary, 0);
}

TEST(SpecRollout, BadValuesNameLineAndField) {
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "rollout:\n  canary: 5\n  min_success: 70%\n"
                                                "---\nx\n"),
            "migration.md:9: rollout.min_success: expected a number from 0 to 1, got \"70%\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "rollout:\n  canary: 5\n  min_success: 1.5\n"
                                                "---\nx\n"),
            "migration.md:9: rollout.min_success: expected a number from 0 to 1, got \"1.5\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "rollout:\n  canary: none\n---\nx\n"),
            "migration.md:8: rollout.canary: expected a positive integer, got \"none\"");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "rollout:\n  min_success: 0.5\n---\nx\n"),
            "migration.md:8: rollout.min_success: needs rollout.canary (how many targets go "
            "first)");
  EXPECT_EQ(ErrorOf(std::string(kMinimalHead) + "rollout:\n  canry: 5\n---\nx\n"),
            "migration.md:8: rollout.canry: unknown field (known: canary, min_success); did you "
            "mean 'canary'?");
}

}  // namespace
}  // namespace drover::fleet
