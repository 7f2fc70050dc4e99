// End-to-end: a provider that echoes the key it was sent in its errors and replies, and an
// agent that assembles the key into its change. The key, in any form, appears in nothing the
// run stores or prints, nor in what the agent was given; a change carrying it is not published.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>

#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::ScriptedModelServer;

// No credential shape matches it; its slash, plus, quote and equals sign change it in every
// encoding.
constexpr char kKey[] = "e2e-Key/With+Odd\"Chars=0123456789";

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) n |= uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The key as is, JSON-escaped, percent-encoded and in base64 (without its padding).
std::vector<std::string> KeyForms() {
  std::string json = Json(kKey).dump();
  std::string percent;
  for (unsigned char c : std::string(kKey)) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%%%02X", c);
    percent += std::isalnum(c) || c == '-' ? std::string(1, static_cast<char>(c)) : buf;
  }
  std::string base64 = Base64(kKey);
  return {kKey, json.substr(1, json.size() - 2), percent, base64.substr(0, base64.find('='))};
}

void ExpectNoKey(std::string_view what, std::string_view text) {
  for (const auto& form : KeyForms()) {
    EXPECT_EQ(text.find(form), std::string_view::npos) << what << " holds " << form;
  }
}

// Every file under `dir`, read as bytes (state.db's SQLite pages included).
void ExpectNoKeyUnder(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) ExpectNoKey(entry.path().string(), ReadTestFile(entry.path()));
  }
}

agent::ModelReply Reply(std::string text, const std::string& tool, const Json& arguments) {
  agent::ModelReply reply;
  reply.text = std::move(text);
  reply.tool_calls.push_back({"call_" + tool, tool, arguments.dump()});
  reply.usage = {120, 30, 0};
  return reply;
}

class EchoedKey : public ::testing::TestWithParam<std::string> {};

TEST_P(EchoedKey, AppearsInNothingTheRunStoresPrintsOrServes) {
  const bool anthropic = GetParam() == "anthropic";
  ScriptedModelServer server;
  // First request: a 429, a 500 and a stream error event quoting the key, then a reply that
  // quotes it (text and tool arguments).
  server.AddResponse(HttpResponse{
      429, {}, R"({"error": {"message": "Rate limit reached for key {credential_json}"}})"});
  server.AddResponse(HttpResponse{500, {}, "internal error for key {credential}"});
  std::string event_data =
      anthropic
          ? R"({"type":"error","error":{"type":"overloaded_error","message":"key {credential_percent}"}})"
          : R"({"error":{"type":"server_error","message":"key {credential_percent}"}})";
  server.AddResponse(HttpResponse{
      200,
      {{"content-type", "text/event-stream"}},
      std::string(anthropic ? "event: error\n" : "") + "data: " + event_data + "\n\n"});
  server.AddReply(Reply("Your key is {credential_percent}.", "write_file",
                        {{"path", "NOTES.md"}, {"content", "key {credential_base64}\n"}}));
  // Second request: the provider refuses the key, quoting it as is.
  server.AddResponse(HttpResponse{401, {}, "Incorrect API key provided: {credential}"});

  Fixture fx;
  fx.AddRepo("svc", {{"Makefile", "test:\n\ttrue\n"}, {"README.md", "service\n"}});
  fx.WriteSpec(StandardSpec());
  std::map<std::string, std::string> env =
      anthropic
          ? std::map<std::string, std::string>{{"DROVER_MODEL", "anthropic:test-model"},
                                               {"ANTHROPIC_API_KEY", kKey},
                                               {"ANTHROPIC_BASE_URL", server.AnthropicBaseUrl()}}
          : std::map<std::string, std::string>{{"DROVER_MODEL", "openai:test-model"},
                                               {"OPENAI_API_KEY", kKey},
                                               {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}};
  DroverRun run = fx.Run(env, {"--log-level", "debug"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  ASSERT_TRUE(run.summary.is_object()) << run.output;

  // The provider did get the key, and echoed it (the scripted server quotes what it got).
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u) << run.output;
  const auto& last = requests.back().headers;
  EXPECT_EQ(anthropic ? last.at("x-api-key") : last.at("authorization"),
            anthropic ? std::string(kKey) : std::string("Bearer ") + kKey);

  // The job failed on the 401, and says so with the key masked.
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed");
  const std::string reason = job["reason"].get<std::string>();
  EXPECT_NE(reason.find("HTTP 401"), std::string::npos) << reason;
  EXPECT_NE(reason.find("Incorrect API key provided: [REDACTED]"), std::string::npos) << reason;

  // The agent's view: what it was served is in its transcript, and what it did with it in
  // the workspace's NOTES.md (written from the reply's masked arguments).
  const auto attempt = run.run_dir / "jobs" / "svc" / "attempt-1";
  std::string transcript = ReadTestFile(attempt / "transcript.jsonl");
  EXPECT_NE(transcript.find("Your key is [REDACTED]."), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("[REDACTED]"), std::string::npos);

  // Each named record exists and holds no form of the key; then everything else under state.
  const std::filesystem::path state = fx.root() / "state";
  for (const auto& file :
       {run.run_dir / "jobs" / "svc" / "job.json", attempt / "result.json",
        run.run_dir / "summary.json", run.run_dir / "summary.md", run.run_dir / "run.log",
        state / "state.db", attempt / "transcript.jsonl",
        run.run_dir / "jobs" / "svc" / "exchanges.jsonl"}) {
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    ExpectNoKey(file.string(), ReadTestFile(file));
  }
  ExpectNoKeyUnder(state);
  ExpectNoKey("stdout and stderr", run.output);
}

INSTANTIATE_TEST_SUITE_P(Providers, EchoedKey, ::testing::Values("openai", "anthropic"));

// A model that knows a credential of the run and writes it into the change in pieces (each
// too short to be masked on its way): the change is refused before it leaves the machine,
// and the reason names the file, not the value.
TEST(SecretsInTheChange, ACredentialAssembledInTheWorkspaceIsNeverPublished) {
  const std::string key = kKey;
  const std::string first = key.substr(0, 10);
  const std::string rest = key.substr(10);
  Fixture fx;
  fx.AddRepo("svc", {{"Makefile", "test:\n\ttrue\n"}, {"README.md", "service\n"}});
  fx.WriteSpec(StandardSpec());
  // The shell pieces: the key's head, then its tail, quoted for sh (the tail has a quote).
  std::string tail_quoted = "'";
  for (char c : rest) tail_quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  tail_quoted += "'";
  // The file is the agent's (write_file), then filled by a command: a file only a command
  // made would be a build output, removed before the commit.
  fx.WriteCassette("svc", Json::array({
                              Call("write_file", {{"path", "settings.conf"}, {"content", "\n"}}),
                              Call("run", {{"command", "printf '%s' '" + first +
                                                           "' > settings.conf && printf "
                                                           "'%s\\n' " +
                                                           tail_quoted + " >> settings.conf"}}),
                              Call("finish", {{"summary", "Added settings."}}),
                          }));
  DroverRun run = fx.Run({{"OPENAI_API_KEY", key}});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  EXPECT_EQ(job["failure_kind"], "diff_policy");
  EXPECT_NE(job["reason"].get<std::string>().find("credential of this run in settings.conf"),
            std::string::npos)
      << job.dump(2);
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs" / "svc" / "pr.patch"));
  EXPECT_FALSE(std::filesystem::exists(run.run_dir / "jobs" / "svc" / "pr.json"));
  ExpectNoKeyUnder(fx.root() / "state");
  ExpectNoKey("stdout and stderr", run.output);
}

}  // namespace
}  // namespace drover::e2e
