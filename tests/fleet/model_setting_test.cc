// DROVER_MODEL parsing (single model, fallback lists, replay) and the per-job usage fields
// (cached tokens, serving model, fallbacks).
#include <map>
#include <string>

#include "fleet/runner.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using agent::Provider;

const std::map<std::string, std::string> kEnv = {
    {"OPENAI_API_KEY", "sk-openai-key"},
    {"ANTHROPIC_API_KEY", "sk-ant-key"},
    {"ANTHROPIC_BASE_URL", "http://127.0.0.1:9/"}};

TEST(ModelSetting, SingleModelKeepsWorking) {
  auto setting = ParseModelSetting("openai:gpt-4.1", kEnv);
  ASSERT_OK(setting);
  EXPECT_EQ(setting->provider, Provider::kOpenAiChat);
  EXPECT_EQ(setting->model, "gpt-4.1");
  ASSERT_EQ(setting->upstreams.size(), 1u);
  EXPECT_EQ(setting->upstreams[0].model, "gpt-4.1");
  EXPECT_EQ(setting->upstreams[0].api_key, "sk-openai-key");
  EXPECT_EQ(setting->upstreams[0].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(setting->Describe(), "openai:gpt-4.1");
}

TEST(ModelSetting, ResponsesUsesTheOpenAiKeyAndBaseUrl) {
  auto env = kEnv;
  env["OPENAI_BASE_URL"] = "http://127.0.0.1:8/v1";
  auto setting = ParseModelSetting("openai-responses:gpt-5", env);
  ASSERT_OK(setting);
  EXPECT_EQ(setting->provider, Provider::kOpenAiResponses);
  EXPECT_EQ(setting->upstreams[0].api_key, "sk-openai-key");
  EXPECT_EQ(setting->upstreams[0].base_url, "http://127.0.0.1:8/v1");
}

TEST(ModelSetting, ListIsTriedInOrder) {
  auto setting =
      ParseModelSetting("openai:gpt-4.1, anthropic:claude-sonnet-4-5,openai-responses:gpt-5",
                        kEnv);
  ASSERT_OK(setting);
  EXPECT_EQ(setting->provider, Provider::kOpenAiChat);
  EXPECT_EQ(setting->model, "gpt-4.1");
  ASSERT_EQ(setting->upstreams.size(), 3u);
  EXPECT_EQ(setting->upstreams[1].provider, Provider::kAnthropic);
  EXPECT_EQ(setting->upstreams[1].model, "claude-sonnet-4-5");
  EXPECT_EQ(setting->upstreams[1].api_key, "sk-ant-key");
  EXPECT_EQ(setting->upstreams[1].base_url, "http://127.0.0.1:9/");
  EXPECT_EQ(setting->upstreams[2].provider, Provider::kOpenAiResponses);
  EXPECT_EQ(setting->Describe(),
            "openai:gpt-4.1,anthropic:claude-sonnet-4-5,openai-responses:gpt-5");
}

TEST(ModelSetting, ErrorsNameTheEntry) {
  auto unknown = ParseModelSetting("openai:gpt-4.1,gemini:pro", kEnv);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("gemini"), std::string::npos);

  auto empty_entry = ParseModelSetting("openai:gpt-4.1,,anthropic:c", kEnv);
  ASSERT_FALSE(empty_entry.has_value());
  EXPECT_NE(empty_entry.error().message.find("must be"), std::string::npos);

  auto no_key = ParseModelSetting("anthropic:c,openai:gpt-4.1", {{"ANTHROPIC_API_KEY", "k"}});
  ASSERT_FALSE(no_key.has_value());
  EXPECT_NE(no_key.error().message.find("OPENAI_API_KEY"), std::string::npos);

  auto mixed = ParseModelSetting("openai:gpt-4.1,replay:/tmp", kEnv);
  ASSERT_FALSE(mixed.has_value());
  EXPECT_NE(mixed.error().message.find("replay"), std::string::npos);

  EXPECT_FALSE(ParseModelSetting("", kEnv).has_value());
  EXPECT_FALSE(ParseModelSetting("openai:", kEnv).has_value());
}

TEST(ModelSetting, ReplayFolder) {
  testing::TempDir dir;
  auto setting = ParseModelSetting("replay:" + dir.path().string(), kEnv);
  ASSERT_OK(setting);
  EXPECT_TRUE(setting->upstreams.empty());
  ASSERT_TRUE(setting->replay_dir.has_value());
  auto missing = ParseModelSetting("replay:" + (dir.path() / "nope").string(), kEnv);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
}

TEST(JobReport, CachedInputTokensRoundTrip) {
  JobReport job;
  job.status = JobStatus::kPublished;
  job.input_tokens = 5000;
  job.cached_input_tokens = 4096;
  Json json = job.ToJson();
  EXPECT_EQ(json["cached_input_tokens"], 4096);
  auto back = JobReportFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->cached_input_tokens, 4096);
  EXPECT_EQ(back->input_tokens, 5000);
}

TEST(JobReport, ServingModelAndFallbacksRoundTrip) {
  JobReport job;
  job.status = JobStatus::kPublished;
  job.model = "anthropic:claude-backup";
  job.fallbacks = 2;
  Json json = job.ToJson();
  EXPECT_EQ(json["model"], "anthropic:claude-backup");
  EXPECT_EQ(json["fallbacks"], 2);
  auto back = JobReportFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->model, "anthropic:claude-backup");
  EXPECT_EQ(back->fallbacks, 2);
  // A report written before these fields existed reads as no fallback.
  json.erase("model");
  json.erase("fallbacks");
  back = JobReportFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->model, "");
  EXPECT_EQ(back->fallbacks, 0);
}

TEST(JobReport, FlaggedVerificationChangesAndWeakenedTestsRoundTrip) {
  // A resumed run reports finished jobs from their job.json: what was flagged stays listed.
  JobReport job;
  job.status = JobStatus::kPublished;
  job.verification_changes = {"changes Makefile, which defines how verification runs"};
  job.weakened_tests = {"changes test_a.py with assertions that are always true (test_a.py:3)"};
  Json json = job.ToJson();
  EXPECT_EQ(json["verification_changes"].size(), 1u);
  auto back = JobReportFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->verification_changes, job.verification_changes);
  EXPECT_EQ(back->weakened_tests, job.weakened_tests);
  json.erase("verification_changes");
  json["weakened_tests"] = "not a list";
  back = JobReportFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->verification_changes.empty());
  EXPECT_TRUE(back->weakened_tests.empty());
}

}  // namespace
}  // namespace drover::fleet
