#include <algorithm>

#include "gateway/gateway.h"
#include "gateway/rate_governor.h"

#include <atomic>
#include <sstream>
#include <thread>

#include "llm/http_model_client.h"
#include "llm/protocol.h"
#include "gateway/cassette.h"
#include "tests/testing/model_server.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using agent::Provider;
using std::chrono::milliseconds;

constexpr const char* kUpstreamKey = "sk-upstream-secret-0123456789abcdef";

agent::ModelRequest UserSays(std::string text) {
  agent::ModelRequest request;
  request.model = "model-x";
  request.messages.push_back({agent::Role::kSystem, "You migrate code.", {}, "", false});
  request.messages.push_back({agent::Role::kUser, std::move(text), {}, "", false});
  return request;
}

HttpResponse Raw(int status, std::string body, HttpHeaders headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

std::vector<Json> ReadJsonLines(const std::filesystem::path& path) {
  std::vector<Json> lines;
  std::istringstream in(testing::ReadTestFile(path));
  std::string line;
  while (std::getline(in, line)) lines.push_back(Json::parse(line));
  return lines;
}

class GatewayTest : public ::testing::Test {
 protected:
  GatewayOptions Options() {
    GatewayOptions options;
    options.sleep = [this](milliseconds delay) { sleeps_.push_back(delay); };
    options.http = http_.get();
    options.retry.base_delay = milliseconds(100);
    options.retry.max_delay = milliseconds(5000);
    return options;
  }

  GatewayOptions UpstreamOptions(Provider provider) {
    GatewayOptions options = Options();
    options.upstreams = {UpstreamConfig{provider,
                                      provider == Provider::kAnthropic
                                          ? upstream_.AnthropicBaseUrl()
                                          : upstream_.OpenAiBaseUrl(),
                                      kUpstreamKey}};
    return options;
  }

  JobConfig Job(const std::string& id) {
    JobConfig job;
    job.job_id = id;
    job.repository = "repo-" + id;
    job.max_tokens = 1000000;
    job.socket_path = dir_ / (id + ".sock");
    job.exchange_log = dir_ / "logs" / (id + ".jsonl");
    return job;
  }

  JobConfig ReplayJob(const std::string& id, const std::string& cassette_json) {
    testing::WriteTestFile(dir_.path(), id + ".cassette.json", cassette_json);
    JobConfig job = Job(id);
    job.cassette = dir_ / (id + ".cassette.json");
    return job;
  }

  // What the agent process builds: no key of its own is needed, but one is sent here to
  // check that the gateway drops it.
  agent::HttpModelClient Client(Provider provider, const JobConfig& job) {
    agent::HttpModelClientOptions options;
    options.provider = provider;
    options.base_url = provider == Provider::kAnthropic ? "http://gateway" : "http://gateway/v1";
    options.unix_socket = job.socket_path.string();
    options.api_key = "agent-own-key-should-vanish";
    options.timeout = std::chrono::seconds(20);
    return agent::HttpModelClient(options, *http_);
  }

  testing::TempDir dir_;
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
  std::vector<milliseconds> sleeps_;
  testing::ScriptedModelServer upstream_;
};

constexpr const char* kTwoTurns = R"json({"drover_cassette": 1, "exchanges": [
  {"expect": {"last_message_contains": ["rename user_id"]},
   "reply": {"text": "Reading.",
             "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}],
             "usage": {"input_tokens": 1200, "output_tokens": 80}}},
  {"expect": {"last_message_contains": ["print(user_id)"]},
   "reply": {"text": "Done."}}
]})json";

void RunTwoTurns(agent::HttpModelClient& client) {
  auto request = UserSays("please rename user_id to account_id");
  auto first = client.Complete(request);
  ASSERT_OK(first);
  EXPECT_EQ(first->text, "Reading.");
  ASSERT_EQ(first->tool_calls.size(), 1u);
  EXPECT_EQ(first->tool_calls[0].name, "read_file");
  EXPECT_EQ(first->tool_calls[0].id, "call_1");
  EXPECT_EQ(Json::parse(first->tool_calls[0].arguments), Json({{"path", "a.py"}}));
  EXPECT_EQ(first->usage.input_tokens, 1200);

  request.messages.push_back({agent::Role::kAssistant, first->text, first->tool_calls, "", false});
  request.messages.push_back({agent::Role::kTool, "print(user_id)", {}, "call_1", false});
  auto second = client.Complete(request);
  ASSERT_OK(second);
  EXPECT_EQ(second->text, "Done.");
  EXPECT_TRUE(second->tool_calls.empty());
  // No usage in the cassette: estimated from sizes.
  EXPECT_GT(second->usage.input_tokens, 10);
  EXPECT_GE(second->usage.output_tokens, 1);
}

TEST_F(GatewayTest, OneCassetteReplaysToBothProtocolsOverUnixSockets) {
  Gateway gateway(Options());
  for (Provider provider : {Provider::kOpenAiChat, Provider::kAnthropic}) {
    std::string id(agent::ProviderName(provider));
    SCOPED_TRACE(id);
    JobConfig job = ReplayJob(id, kTwoTurns);
    ASSERT_OK(gateway.OpenJob(job));
    auto client = Client(provider, job);
    RunTwoTurns(client);
    JobUsage usage = gateway.Usage(id);
    EXPECT_EQ(usage.requests, 2);
    EXPECT_EQ(usage.replayed, 2);
    EXPECT_GT(usage.input_tokens, 1200);
    EXPECT_GT(usage.output_tokens, 80);
    ASSERT_OK(gateway.CloseJob(id));
    EXPECT_FALSE(std::filesystem::exists(job.socket_path));
    EXPECT_EQ(gateway.Usage(id).requests, 2) << "usage outlives the job";
    auto log = ReadJsonLines(*job.exchange_log);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0]["job"], id);
    EXPECT_EQ(log[0]["source"], "replay");
    EXPECT_EQ(log[0]["reply"]["tool_calls"][0]["name"], "read_file");
    EXPECT_EQ(log[1]["request"]["last_message"], "print(user_id)");
  }
}

TEST_F(GatewayTest, ExpectationMismatchQuotesTheExpectationThenExhaustion) {
  Gateway gateway(Options());
  JobConfig job = ReplayJob("j", kTwoTurns);
  ASSERT_OK(gateway.OpenJob(job));
  auto client = Client(Provider::kOpenAiChat, job);
  auto wrong = client.Complete(UserSays("something unrelated"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kProtocol);
  EXPECT_NE(wrong.error().message.find("cassette_mismatch"), std::string::npos)
      << wrong.error().message;
  EXPECT_NE(wrong.error().message.find("rename user_id"), std::string::npos);
  EXPECT_NE(wrong.error().message.find("exchange 0"), std::string::npos);

  // A mismatch does not use up the exchange.
  RunTwoTurns(client);
  auto extra = client.Complete(UserSays("more?"));
  ASSERT_FALSE(extra.has_value());
  EXPECT_EQ(extra.error().code, ErrorCode::kProtocol);
  EXPECT_NE(extra.error().message.find("cassette_exhausted"), std::string::npos)
      << extra.error().message;
}

TEST_F(GatewayTest, InjectedFailuresAreReturnedAsGiven) {
  Gateway gateway(Options());
  JobConfig job = ReplayJob("j", R"({"drover_cassette": 1, "exchanges": [
    {"status": 503, "body": "{\"error\": {\"message\": \"overloaded\"}}",
     "headers": {"retry-after": "1"}},
    {"status": 429, "body": "slow down"},
    {"status": 200, "body": "not json at all"},
    {"reply": {"text": "finally"}}]})");
  ASSERT_OK(gateway.OpenJob(job));
  auto client = Client(Provider::kAnthropic, job);
  auto overloaded = client.Complete(UserSays("x"));
  ASSERT_FALSE(overloaded.has_value());
  EXPECT_EQ(overloaded.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(overloaded.error().retry_after, milliseconds(1000));
  EXPECT_NE(overloaded.error().message.find("overloaded"), std::string::npos);
  auto limited = client.Complete(UserSays("x"));
  ASSERT_FALSE(limited.has_value());
  EXPECT_EQ(limited.error().code, ErrorCode::kRateLimited);
  auto garbage = client.Complete(UserSays("x"));
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kParse);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "finally");
  EXPECT_EQ(gateway.Usage("j").replayed, 4);
}

TEST_F(GatewayTest, BudgetExhaustedRefusesFurtherRequests) {
  Gateway gateway(Options());
  JobConfig job = ReplayJob("j", R"({"drover_cassette": 1, "exchanges": [
    {"reply": {"text": "a", "usage": {"input_tokens": 90, "output_tokens": 20}}},
    {"reply": {"text": "b"}}]})");
  job.max_tokens = 100;
  ASSERT_OK(gateway.OpenJob(job));
  auto client = Client(Provider::kOpenAiChat, job);
  ASSERT_OK(client.Complete(UserSays("x")));
  auto refused = client.Complete(UserSays("x"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kBudgetExhausted) << refused.error().ToString();
  EXPECT_NE(refused.error().message.find("110 of its 100"), std::string::npos)
      << refused.error().message;
  JobUsage usage = gateway.Usage("j");
  EXPECT_EQ(usage.input_tokens, 90);
  EXPECT_EQ(usage.output_tokens, 20);
  EXPECT_EQ(usage.requests, 2);
  EXPECT_EQ(usage.replayed, 1);
}

TEST_F(GatewayTest, ParallelRequestsOnTheSocketStayWithinTheTokenBudget) {
  Gateway gateway(UpstreamOptions(Provider::kOpenAiChat));
  JobConfig job = Job("flood");
  job.max_tokens = 2000;
  ASSERT_OK(gateway.OpenJob(job));
  agent::ModelReply scripted;
  scripted.text = "ok";
  scripted.usage = {400, 100, 0};
  for (int i = 0; i < 40; ++i) upstream_.AddReply(scripted, milliseconds(20));
  size_t before = upstream_.requests().size();
  std::vector<std::thread> threads;
  std::atomic<int> served = 0;
  std::atomic<int> refused = 0;
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&] {
      auto client = Client(Provider::kOpenAiChat, job);
      auto request = UserSays("flood");
      request.max_output_tokens = 100000;
      auto reply = client.Complete(request);
      if (reply) {
        ++served;
      } else {
        EXPECT_EQ(reply.error().code, ErrorCode::kBudgetExhausted) << reply.error().ToString();
        EXPECT_NE(reply.error().message.find("token budget reached at the gateway"),
                  std::string::npos)
            << reply.error().message;
        ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto received = upstream_.requests();
  // 500 tokens a reply: four fit in 2000, each settled before the next is admitted.
  EXPECT_EQ(received.size() - before, 4u);
  EXPECT_EQ(served, 4);
  EXPECT_EQ(refused, 36);
  JobUsage usage = gateway.Usage("flood");
  EXPECT_LE(usage.input_tokens + usage.output_tokens, job.max_tokens);
  EXPECT_EQ(usage.requests, 40);
  EXPECT_EQ(usage.turns, 4);
  // The output asked for upstream is capped to what the budget has left.
  for (size_t i = before; i < received.size(); ++i) {
    int64_t asked = Json::parse(received[i].body).value("max_tokens", int64_t{0});
    EXPECT_GT(asked, 0);
    EXPECT_LE(asked, job.max_tokens - static_cast<int64_t>(i - before) * 500);
  }
}

// Eight jobs, each with room for all its requests, fire ten requests each at once: the run's
// budget is reserved per request across jobs, so the run's total stays within it.
TEST_F(GatewayTest, ParallelJobsStayWithinTheRunsTokenBudget) {
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.run_max_tokens = 3000;
  Gateway gateway(options);
  constexpr int kJobs = 8;
  constexpr int kEach = 10;
  std::vector<JobConfig> jobs;
  for (int j = 0; j < kJobs; ++j) {
    jobs.push_back(Job("run" + std::to_string(j)));
    jobs.back().max_output_tokens = 100;
    ASSERT_OK(gateway.OpenJob(jobs.back()));
  }
  // A prompt of about 1200 bytes is estimated at about 300 tokens; each reply reports 300.
  agent::ModelReply scripted;
  scripted.text = "ok";
  scripted.usage = {250, 50, 0};
  for (int i = 0; i < kJobs * kEach; ++i) upstream_.AddReply(scripted, milliseconds(20));
  size_t before = upstream_.requests().size();
  std::atomic<int> served = 0;
  std::atomic<int> refused = 0;
  std::vector<std::thread> threads;
  for (int j = 0; j < kJobs; ++j) {
    for (int i = 0; i < kEach; ++i) {
      threads.emplace_back([&, j] {
        auto client = Client(Provider::kOpenAiChat, jobs[j]);
        auto request = UserSays(std::string(1100, 'p'));
        request.max_output_tokens = 100000;
        auto reply = client.Complete(request);
        if (reply) {
          ++served;
          return;
        }
        EXPECT_EQ(reply.error().code, ErrorCode::kBudgetExhausted) << reply.error().ToString();
        EXPECT_NE(reply.error().message.find("the run's token budget is spent at the gateway"),
                  std::string::npos)
            << reply.error().message;
        ++refused;
      });
    }
  }
  for (auto& thread : threads) thread.join();
  JobUsage total = gateway.TotalUsage();
  EXPECT_LE(total.input_tokens + total.output_tokens, options.run_max_tokens);
  EXPECT_GE(served, 5);
  EXPECT_EQ(served + refused, kJobs * kEach);
  auto received = upstream_.requests();
  EXPECT_EQ(received.size() - before, static_cast<size_t>(served.load()));
  EXPECT_LE((received.size() - before) * 300, static_cast<size_t>(options.run_max_tokens));
  for (size_t i = before; i < received.size(); ++i) {
    int64_t asked = Json::parse(received[i].body).value("max_tokens", int64_t{0});
    EXPECT_GT(asked, 0);
    EXPECT_LE(asked, 100);
  }
  EXPECT_EQ(total.turns, served.load());
  EXPECT_EQ(total.run_budget_refusals, refused.load());
  ASSERT_TRUE(gateway.RunBudgetRefusal().has_value());
  EXPECT_NE(gateway.RunBudgetRefusal()->find("of 3000 tokens"), std::string::npos);
}

TEST_F(GatewayTest, RunsCostBudgetIsReservedAtTheGateway) {
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  // $10 per million input and $100 per million output tokens; $0.05 in all.
  options.run_price = Price{10, 10, 100};
  options.run_max_cost_usd = 0.05;
  Gateway gateway(options);
  JobConfig a = Job("cost-a");
  JobConfig b = Job("cost-b");
  ASSERT_OK(gateway.OpenJob(a));
  ASSERT_OK(gateway.OpenJob(b));
  // A prompt of about 4100 bytes (about 1025 tokens, $0.01) asking for 100 output tokens
  // ($0.01): each reply costs 1000 * $10/M + 100 * $100/M = $0.02 and reserves a bit more.
  agent::ModelReply scripted;
  scripted.text = "ok";
  scripted.usage = {1000, 100, 0};
  for (int i = 0; i < 6; ++i) upstream_.AddReply(scripted);
  size_t before = upstream_.requests().size();
  int served = 0;
  std::string last_error;
  for (int i = 0; i < 6; ++i) {
    auto request = UserSays(std::string(4000, 'c'));
    request.max_output_tokens = 100;
    auto reply = Client(Provider::kOpenAiChat, i % 2 == 0 ? a : b).Complete(request);
    if (reply) {
      ++served;
    } else {
      EXPECT_EQ(reply.error().code, ErrorCode::kBudgetExhausted);
      last_error = reply.error().message;
    }
  }
  // $0.04 spent; the $0.01 left does not buy the next prompt.
  EXPECT_EQ(served, 2);
  EXPECT_EQ(upstream_.requests().size() - before, 2u);
  EXPECT_NE(last_error.find("the run's cost budget is spent at the gateway"), std::string::npos)
      << last_error;
  JobUsage total = gateway.TotalUsage();
  EXPECT_LE(Cost(options.run_price, total.input_tokens, total.cached_input_tokens,
                 total.output_tokens),
            options.run_max_cost_usd);
}

// Without a run budget nothing is reserved: the job's own limits alone apply.
TEST_F(GatewayTest, TurnsAreCountedAtTheGateway) {
  Gateway gateway(UpstreamOptions(Provider::kOpenAiChat));
  JobConfig job = Job("turns");
  job.max_turns = 3;
  ASSERT_OK(gateway.OpenJob(job));
  agent::ModelReply scripted;
  scripted.text = "ok";
  scripted.usage = {10, 1, 0};
  for (int i = 0; i < 5; ++i) upstream_.AddReply(scripted);
  size_t before = upstream_.requests().size();
  auto client = Client(Provider::kOpenAiChat, job);
  for (int i = 0; i < 3; ++i) ASSERT_OK(client.Complete(UserSays("turn")));
  for (int i = 0; i < 2; ++i) {
    auto refused = client.Complete(UserSays("turn"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kBudgetExhausted);
    EXPECT_NE(refused.error().message.find("turn limit reached at the gateway"), std::string::npos)
        << refused.error().message;
  }
  EXPECT_EQ(upstream_.requests().size() - before, 3u);
  JobUsage usage = gateway.Usage("turns");
  EXPECT_EQ(usage.turns, 3);
  EXPECT_EQ(usage.requests, 5);
}

TEST_F(GatewayTest, ForwardsUpstreamWithTheKeyAndWithoutTheAgentsHeaders) {
  for (Provider provider : {Provider::kOpenAiChat, Provider::kAnthropic}) {
    std::string id(agent::ProviderName(provider));
    SCOPED_TRACE(id);
    size_t before = upstream_.requests().size();
    Gateway gateway(UpstreamOptions(provider));
    JobConfig job = Job(id);
    ASSERT_OK(gateway.OpenJob(job));
    agent::ModelReply scripted;
    scripted.text = "ok";
    scripted.tool_calls.push_back({"call_7", "edit", "{broken"});
    scripted.usage = {500, 40, 100};
    upstream_.AddReply(scripted);
    auto client = Client(provider, job);
    // The key turns up in the conversation; the log must still not show it.
    auto reply = client.Complete(UserSays(std::string("my key is ") + kUpstreamKey));
    ASSERT_OK(reply);
    EXPECT_EQ(reply->text, "ok");
    if (provider == Provider::kOpenAiChat) {
      EXPECT_EQ(reply->tool_calls[0].arguments, "{broken");
    }
    auto received = upstream_.requests();
    ASSERT_EQ(received.size(), before + 1);
    const auto& headers = received.back().headers;
    EXPECT_EQ(received.back().path, agent::RequestPath(provider));
    if (provider == Provider::kOpenAiChat) {
      EXPECT_EQ(headers.at("authorization"), std::string("Bearer ") + kUpstreamKey);
    } else {
      EXPECT_EQ(headers.at("x-api-key"), kUpstreamKey);
      EXPECT_EQ(headers.at("anthropic-version"), "2023-06-01");
    }
    for (const auto& [name, value] : headers) {
      EXPECT_EQ(value.find("agent-own-key"), std::string::npos) << name;
    }
    JobUsage usage = gateway.Usage(id);
    EXPECT_EQ(usage.input_tokens, 500);
    EXPECT_EQ(usage.output_tokens, 40);
    EXPECT_EQ(usage.cached_input_tokens, 100);
    EXPECT_EQ(usage.replayed, 0);
    ASSERT_OK(gateway.CloseJob(id));
    std::string log = testing::ReadTestFile(*job.exchange_log);
    EXPECT_EQ(log.find(kUpstreamKey), std::string::npos) << log;
    EXPECT_EQ(log.find("0123456789abcdef"), std::string::npos) << log;
    EXPECT_NE(log.find("[REDACTED]"), std::string::npos) << log;
    EXPECT_EQ(ReadJsonLines(*job.exchange_log).at(0)["attempts"], 1);
  }
}

TEST_F(GatewayTest, TranslatesBetweenProtocols) {
  Gateway gateway(UpstreamOptions(Provider::kOpenAiChat));
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  agent::ModelReply scripted;
  scripted.tool_calls.push_back({"call_1", "read_file", R"({"path":"b.py"})"});
  upstream_.AddReply(scripted);
  auto client = Client(Provider::kAnthropic, job);
  auto reply = client.Complete(UserSays("hi"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->stop_reason, "tool_use");
  EXPECT_EQ(Json::parse(reply->tool_calls[0].arguments)["path"], "b.py");
  auto received = upstream_.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].path, "/v1/chat/completions");
  auto sent = agent::DecodeRequest(Provider::kOpenAiChat, received[0].body);
  ASSERT_OK(sent);
  EXPECT_EQ(sent->messages.back().text, "hi");
  EXPECT_EQ(sent->model, "model-x");
}

TEST_F(GatewayTest, RetriesWithBackoffHonouringRetryAfter) {
  Gateway gateway(UpstreamOptions(Provider::kOpenAiChat));
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(429, R"({"error": {"message": "rate limited"}})", {{"retry-after", "2"}}));
  upstream_.AddResponse(Raw(503, "unavailable"));
  upstream_.AddResponse(Raw(500, "boom", {{"retry-after", "100"}}));  // Capped at max_delay.
  upstream_.AddReply(agent::ModelReply{"at last", {}, {10, 5, 0}, "stop"});
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "at last");
  ASSERT_EQ(sleeps_.size(), 3u);
  EXPECT_EQ(sleeps_[0], milliseconds(2000));
  // Second retry: base * 2 = 200 ms, jittered into [100, 200].
  EXPECT_GE(sleeps_[1], milliseconds(100));
  EXPECT_LE(sleeps_[1], milliseconds(200));
  EXPECT_EQ(sleeps_[2], milliseconds(5000));
  EXPECT_EQ(upstream_.requests().size(), 4u);
  JobUsage usage = gateway.Usage("j");
  EXPECT_EQ(usage.upstream_retries, 3);
  EXPECT_EQ(usage.requests, 1);
  EXPECT_EQ(usage.input_tokens, 10);
  ASSERT_OK(gateway.CloseJob("j"));
  EXPECT_EQ(ReadJsonLines(*job.exchange_log).at(0)["attempts"], 4);
}

// The run-wide governor: one request a minute across two jobs, and a 429 with Retry-After
// on one job holding the other.
TEST_F(GatewayTest, GovernorPacesEveryJobAndA429HoldsThemAll) {
  auto now = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  std::vector<milliseconds> governor_sleeps;
  RateGovernor governor(
      {1, 0}, [&] { return now; },
      [&](milliseconds d) {
        governor_sleeps.push_back(d);
        now += d;
      });
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.governor = &governor;
  Gateway gateway(options);
  JobConfig a = Job("a");
  JobConfig b = Job("b");
  ASSERT_OK(gateway.OpenJob(a));
  ASSERT_OK(gateway.OpenJob(b));
  upstream_.AddReply(agent::ModelReply{"one", {}, {10, 5, 0}, "stop"});
  upstream_.AddReply(agent::ModelReply{"two", {}, {10, 5, 0}, "stop"});
  ASSERT_OK(Client(Provider::kOpenAiChat, a).Complete(UserSays("x")));
  ASSERT_OK(Client(Provider::kOpenAiChat, b).Complete(UserSays("y")));
  EXPECT_EQ(governor_sleeps, std::vector<milliseconds>{std::chrono::minutes(1)});

  upstream_.AddResponse(Raw(429, R"({"error": {"message": "slow down"}})", {{"retry-after", "90"}}));
  upstream_.AddReply(agent::ModelReply{"three", {}, {10, 5, 0}, "stop"});
  governor_sleeps.clear();
  ASSERT_OK(Client(Provider::kOpenAiChat, a).Complete(UserSays("z")));
  // The retry waited for the governor's pause (held for every job), not only its own sleep.
  EXPECT_NE(std::find(governor_sleeps.begin(), governor_sleeps.end(), std::chrono::seconds(90)),
            governor_sleeps.end());
}

TEST_F(GatewayTest, BackoffGrowsExponentiallyUpToTheCap) {
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.retry.max_attempts = 6;
  options.retry.base_delay = milliseconds(1000);
  options.retry.max_delay = milliseconds(3000);
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  for (int i = 0; i < 6; ++i) upstream_.AddResponse(Raw(502, "bad gateway"));
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_FALSE(reply.has_value());
  ASSERT_EQ(sleeps_.size(), 5u);
  const int64_t ceilings[] = {1000, 2000, 3000, 3000, 3000};
  for (size_t i = 0; i < sleeps_.size(); ++i) {
    EXPECT_GE(sleeps_[i].count(), ceilings[i] / 2) << i;
    EXPECT_LE(sleeps_[i].count(), ceilings[i]) << i;
  }
}

TEST_F(GatewayTest, GivesUpAfterMaxAttemptsWithAClearError) {
  GatewayOptions options = UpstreamOptions(Provider::kAnthropic);
  options.retry.max_attempts = 3;
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  for (int i = 0; i < 3; ++i) {
    upstream_.AddResponse(
        Raw(529, R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})"));
  }
  auto client = Client(Provider::kAnthropic, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(reply.error().message.find("after 3 attempts"), std::string::npos)
      << reply.error().message;
  EXPECT_NE(reply.error().message.find("529"), std::string::npos);
  EXPECT_NE(reply.error().message.find("Overloaded"), std::string::npos);
  EXPECT_EQ(upstream_.requests().size(), 3u);
  EXPECT_EQ(sleeps_.size(), 2u);
  EXPECT_EQ(gateway.Usage("j").upstream_retries, 2);
}

TEST_F(GatewayTest, UnreachableUpstreamIsRetriedThenReported) {
  GatewayOptions options = Options();
  options.retry.max_attempts = 2;
  options.upstreams = {UpstreamConfig{Provider::kOpenAiChat, "http://127.0.0.1:1/v1", kUpstreamKey}};
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(reply.error().message.find("upstream_unavailable"), std::string::npos);
  EXPECT_EQ(sleeps_.size(), 1u);
}

TEST_F(GatewayTest, ClientErrorsPassThroughUnretried) {
  Gateway gateway(UpstreamOptions(Provider::kOpenAiChat));
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(400, R"({"error": {"message": "unknown model 'model-x'"}})"));
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kProtocol);
  EXPECT_NE(reply.error().message.find("unknown model 'model-x'"), std::string::npos);
  EXPECT_EQ(upstream_.requests().size(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(GatewayTest, RecordingWritesACassetteThatReplays) {
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.record_dir = dir_ / "recorded";
  std::vector<agent::ModelReply> replies;
  {
    Gateway recorder(options);
    JobConfig job = Job("rec");
    ASSERT_OK(recorder.OpenJob(job));
    upstream_.AddReply({"first", {{"call_a", "read_file", R"({"path":"a.py"})"}}, {300, 30, 0},
                        "tool_calls"});
    upstream_.AddReply({"", {{"call_b", "edit", "{not json"}}, {400, 40, 10}, "tool_calls"});
    auto client = Client(Provider::kOpenAiChat, job);
    for (int i = 0; i < 2; ++i) {
      auto reply = client.Complete(UserSays("turn " + std::to_string(i)));
      ASSERT_OK(reply);
      replies.push_back(*reply);
    }
    ASSERT_OK(recorder.CloseJob("rec"));
  }
  std::filesystem::path recorded = dir_ / "recorded" / "repo-rec.json";
  ASSERT_TRUE(std::filesystem::exists(recorded));
  EXPECT_EQ(testing::ReadTestFile(recorded).find(kUpstreamKey), std::string::npos);

  Gateway player(Options());
  JobConfig job = Job("play");
  job.cassette = recorded;
  ASSERT_OK(player.OpenJob(job));
  auto client = Client(Provider::kOpenAiChat, job);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    auto reply = client.Complete(UserSays("turn " + std::to_string(i)));
    ASSERT_OK(reply);
    EXPECT_EQ(reply->text, replies[i].text);
    ASSERT_EQ(reply->tool_calls.size(), 1u);
    EXPECT_EQ(reply->tool_calls[0].id, replies[i].tool_calls[0].id);
    EXPECT_EQ(reply->tool_calls[0].arguments, replies[i].tool_calls[0].arguments);
    EXPECT_EQ(reply->usage.input_tokens, replies[i].usage.input_tokens);
    EXPECT_EQ(reply->usage.cached_input_tokens, replies[i].usage.cached_input_tokens);
  }
  JobUsage usage = player.Usage("play");
  EXPECT_EQ(usage.input_tokens, 700);
  EXPECT_EQ(usage.output_tokens, 70);
  EXPECT_EQ(upstream_.requests().size(), 2u) << "replay never reaches the upstream";
}

TEST_F(GatewayTest, OpenAndCloseErrors) {
  Gateway replay_only(Options());
  auto no_model = replay_only.OpenJob(Job("a"));
  ASSERT_FALSE(no_model.has_value());
  EXPECT_EQ(no_model.error().code, ErrorCode::kInvalidArgument);

  JobConfig missing = Job("b");
  missing.cassette = dir_ / "nope.json";
  auto not_found = replay_only.OpenJob(missing);
  ASSERT_FALSE(not_found.has_value());
  EXPECT_EQ(not_found.error().code, ErrorCode::kNotFound);

  JobConfig bad = ReplayJob("c", R"({"drover_cassette": 1, "exchanges": [{"reply": 3}]})");
  auto invalid = replay_only.OpenJob(bad);
  ASSERT_FALSE(invalid.has_value());
  EXPECT_NE(invalid.error().message.find("exchange 0: reply"), std::string::npos)
      << invalid.error().message;

  JobConfig good = ReplayJob("d", kTwoTurns);
  ASSERT_OK(replay_only.OpenJob(good));
  auto duplicate = replay_only.OpenJob(good);
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kInvalidArgument);
  ASSERT_OK(replay_only.CloseJob("d"));
  auto unknown = replay_only.CloseJob("d");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(GatewayTest, UnknownPathsAndBadBodiesAreRefused) {
  Gateway gateway(Options());
  JobConfig job = ReplayJob("j", kTwoTurns);
  ASSERT_OK(gateway.OpenJob(job));
  HttpRequest request;
  request.method = "POST";
  request.url = "http://gateway/v1/embeddings";
  request.unix_socket = job.socket_path.string();
  request.body = "{}";
  auto not_found = http_->Send(request);
  ASSERT_OK(not_found);
  EXPECT_EQ(not_found->status, 404);

  request.url = "http://gateway/v1/chat/completions";
  request.body = "{\"messages\": 7}";
  auto bad = http_->Send(request);
  ASSERT_OK(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->headers["x-drover-error"], "bad_request");
  EXPECT_EQ(gateway.Usage("j").replayed, 0);
}

TEST_F(GatewayTest, StreamsUpstreamAndAnswersInTheAgentsProtocol) {
  for (Provider agent_side :
       {Provider::kOpenAiChat, Provider::kOpenAiResponses, Provider::kAnthropic}) {
    for (bool client_streams : {false, true}) {
      std::string id = std::string(agent::ProviderName(agent_side)) +
                       (client_streams ? "-sse" : "-json");
      SCOPED_TRACE(id);
      size_t before = upstream_.requests().size();
      Gateway gateway(UpstreamOptions(Provider::kOpenAiResponses));
      JobConfig job = Job(id);
      ASSERT_OK(gateway.OpenJob(job));
      agent::ModelReply scripted;
      scripted.text = "streamed " + id;
      scripted.tool_calls.push_back({"call_5", "read_file", R"({"path":"c.py"})"});
      scripted.usage = {800, 20, 640};
      upstream_.AddReply(scripted);
      agent::HttpModelClientOptions options;
      options.provider = agent_side;
      options.base_url = agent_side == Provider::kAnthropic ? "http://gateway" : "http://gateway/v1";
      options.unix_socket = job.socket_path.string();
      options.stream = client_streams;
      agent::HttpModelClient client(options, *http_);
      auto reply = client.Complete(UserSays("stream please"));
      ASSERT_OK(reply);
      EXPECT_EQ(reply->text, scripted.text);
      ASSERT_EQ(reply->tool_calls.size(), 1u);
      EXPECT_EQ(reply->tool_calls[0].id, "call_5");
      EXPECT_EQ(Json::parse(reply->tool_calls[0].arguments)["path"], "c.py");
      EXPECT_EQ(reply->usage.cached_input_tokens, 640);
      auto received = upstream_.requests();
      ASSERT_EQ(received.size(), before + 1);
      EXPECT_EQ(received.back().path, "/v1/responses");
      auto sent = agent::DecodeRequest(Provider::kOpenAiResponses, received.back().body);
      ASSERT_OK(sent);
      EXPECT_TRUE(sent->stream);
      EXPECT_EQ(Json::parse(received.back().body)["store"], false);
      JobUsage usage = gateway.Usage(id);
      EXPECT_EQ(usage.cached_input_tokens, 640);
      EXPECT_EQ(usage.model, "openai-responses:model-x");
    }
  }
}

TEST_F(GatewayTest, StreamingUpstreamCanBeTurnedOff) {
  GatewayOptions options = UpstreamOptions(Provider::kAnthropic);
  options.stream_upstream = false;
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddReply(agent::ModelReply{"plain", {}, {10, 2, 0}, ""});
  auto client = Client(Provider::kAnthropic, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "plain");
  auto sent = agent::DecodeRequest(Provider::kAnthropic, upstream_.requests().at(0).body);
  ASSERT_OK(sent);
  EXPECT_FALSE(sent->stream);
}

// A reply above the cap is refused when the cap is reached, streamed or not, with an error
// naming the limit; it is not retried or passed to another model.
TEST_F(GatewayTest, ReplyAboveTheSizeCapIsRefused) {
  for (bool stream : {true, false}) {
    GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
    options.stream_upstream = stream;
    options.max_reply_bytes = size_t{1} << 20;
    Gateway gateway(options);
    JobConfig job = Job(stream ? "streamed" : "plain");
    ASSERT_OK(gateway.OpenJob(job));
    size_t before = upstream_.requests().size();
    upstream_.AddReply(agent::ModelReply{std::string(size_t{3} << 20, 'x'), {}, {10, 2, 0}, ""});
    upstream_.AddReply(agent::ModelReply{"small", {}, {10, 2, 0}, ""});
    auto client = Client(Provider::kOpenAiChat, job);
    auto reply = client.Complete(UserSays("x"));
    ASSERT_FALSE(reply.has_value()) << stream;
    EXPECT_NE(reply.error().message.find("larger than 1 MiB"), std::string::npos)
        << reply.error().message;
    EXPECT_EQ(upstream_.requests().size(), before + 1) << stream;
    // A reply within the cap still passes.
    auto next = client.Complete(UserSays("y"));
    ASSERT_OK(next);
    EXPECT_EQ(next->text, "small");
  }
}

TEST_F(GatewayTest, CassetteReplyAboveTheSizeCapIsRefused) {
  GatewayOptions options = Options();
  options.max_reply_bytes = 4096;
  Gateway gateway(options);
  const std::string big(5000, 'x');
  for (const std::string& exchange :
       {R"({"reply": {"text": ")" + big + R"("}})",
        R"({"reply": {"text": "t", "tool_calls": [{"name": "write_file", "arguments_raw": ")" +
            big + R"("}]}})",
        R"({"status": 500, "body": ")" + big + R"("})"}) {
    JobConfig job =
        ReplayJob("big", R"({"drover_cassette": 1, "exchanges": [{"reply": {"text": "a"}}, )" +
                             exchange + "]}");
    auto opened = gateway.OpenJob(job);
    ASSERT_FALSE(opened.has_value()) << exchange;
    EXPECT_EQ(opened.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(opened.error().message.find("cassette " + job.cassette->string() + ": exchange 1: "),
              std::string::npos)
        << opened.error().message;
    EXPECT_NE(opened.error().message.find("larger than the gateway's limit of 4096 bytes"),
              std::string::npos)
        << opened.error().message;
  }
  // One within the cap replays.
  JobConfig fits = ReplayJob(
      "fits", R"({"drover_cassette": 1, "exchanges": [{"reply": {"text": ")" +
                  std::string(4000, 'y') + R"("}}]})");
  ASSERT_OK(gateway.OpenJob(fits));
  auto reply = Client(Provider::kOpenAiChat, fits).Complete(UserSays("x"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text.size(), 4000u);
}

// Waits for a build slot count as capacity wait, once however many requests wait together.
TEST_F(GatewayTest, CapacityWaitIsMeasuredPerJobAndServedToTheAgent) {
  SlotPool slots(1);
  GatewayOptions options = Options();
  options.build_slots = &slots;
  Gateway gateway(options);
  JobConfig job = ReplayJob("waits", R"({"drover_cassette": 1, "exchanges": []})");
  ASSERT_OK(gateway.OpenJob(job));
  auto held = slots.Acquire("someone-else", milliseconds(0));
  ASSERT_TRUE(held.has_value());
  auto request = [&](std::string path, std::string method = "POST") {
    HttpRequest out;
    out.method = std::move(method);
    out.url = "http://gateway" + path;
    out.body = "{}";
    out.unix_socket = job.socket_path.string();
    out.timeout = std::chrono::seconds(60);
    return http_->Send(out);
  };
  EXPECT_EQ(gateway.CapacityWait("waits").count(), 0);
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] { (void)request("/drover/build-slot/acquire"); });
  }
  std::this_thread::sleep_for(milliseconds(1500));
  slots.Release(*held, "someone-else");
  for (auto& waiter : waiters) waiter.join();
  auto waited = gateway.CapacityWait("waits");
  // Three parallel waits of about 1.5 s count about 1.5 s, not 4.5 s.
  EXPECT_GE(waited.count(), 1400);
  EXPECT_LT(waited.count(), 3000);
  auto served = request("/drover/capacity-wait", "GET");
  ASSERT_OK(served);
  EXPECT_EQ(served->status, 200);
  int64_t reported = Json::parse(served->body).value("waited_ms", int64_t{-1});
  EXPECT_GE(reported, waited.count());
  EXPECT_LT(reported, waited.count() + 1000);
}

// A request held by the run's rate governor (here paused, as after a 429) waits for capacity
// too.
TEST_F(GatewayTest, WaitingForTheRateGovernorIsCapacityWait) {
  RateGovernor governor({0, 0});  // On the real clock.
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.governor = &governor;
  Gateway gateway(options);
  JobConfig job = Job("paced");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddReply(agent::ModelReply{"ok", {}, {10, 5, 0}, "stop"});
  governor.PauseFor(milliseconds(800));
  ASSERT_OK(Client(Provider::kOpenAiChat, job).Complete(UserSays("paced")));
  EXPECT_GE(gateway.CapacityWait("paced").count(), 700);
  EXPECT_LT(gateway.CapacityWait("paced").count(), 3000);
}

TEST_F(GatewayTest, StalledStreamIsAbandonedAndRetried) {
  GatewayOptions options = UpstreamOptions(Provider::kAnthropic);
  options.stall_timeout = std::chrono::seconds(1);
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddStalledReply(agent::ModelReply{"never finished", {}, {}, ""},
                            std::chrono::seconds(30));
  upstream_.AddReply(agent::ModelReply{"second try", {}, {40, 3, 0}, ""});
  auto client = Client(Provider::kAnthropic, job);
  auto started = std::chrono::steady_clock::now();
  auto reply = client.Complete(UserSays("x"));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "second try");
  // The 1 s watchdog, not the 30 s stall, decides.
  EXPECT_LT(took, std::chrono::seconds(10));
  EXPECT_EQ(upstream_.requests().size(), 2u);
  JobUsage usage = gateway.Usage("j");
  EXPECT_EQ(usage.upstream_retries, 1);
  EXPECT_EQ(usage.input_tokens, 40);
  ASSERT_OK(gateway.CloseJob("j"));
  EXPECT_EQ(ReadJsonLines(*job.exchange_log).at(0)["attempts"], 2);
}

TEST_F(GatewayTest, UpstreamIgnoringStreamIsReadAsJson) {
  Gateway gateway(UpstreamOptions(Provider::kOpenAiChat));
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  agent::ModelReply plain{"plain json", {}, {11, 2, 0}, ""};
  upstream_.AddResponse(Raw(200, agent::EncodeResponse(Provider::kOpenAiChat, "m", plain).dump(),
                            {{"content-type", "application/json"}}));
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "plain json");
  EXPECT_EQ(gateway.Usage("j").upstream_retries, 0);
}

TEST_F(GatewayTest, ErrorEventMidStreamIsRetriedLikeItsStatus) {
  Gateway gateway(UpstreamOptions(Provider::kAnthropic));
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(200,
                            "event: message_start\n"
                            R"(data: {"type":"message_start","message":{"usage":{"input_tokens":9}}})"
                            "\n\nevent: error\n"
                            R"(data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
                            "\n\n",
                            {{"content-type", "text/event-stream"}}));
  upstream_.AddReply(agent::ModelReply{"recovered", {}, {7, 1, 0}, ""});
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_OK(reply);
  EXPECT_EQ(reply->text, "recovered");
  EXPECT_EQ(gateway.Usage("j").upstream_retries, 1);
}

TEST_F(GatewayTest, FallsBackToTheNextModelForTheRestOfTheJob) {
  testing::ScriptedModelServer backup;
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.retry.max_attempts = 2;
  options.upstreams.push_back(
      UpstreamConfig{Provider::kAnthropic, backup.AnthropicBaseUrl(), "sk-backup-key-abcdefgh",
                     "claude-backup"});
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(503, R"({"error": {"message": "overloaded"}})"));
  upstream_.AddResponse(Raw(503, R"({"error": {"message": "still overloaded"}})"));
  backup.AddReply(agent::ModelReply{"from the backup", {}, {100, 5, 0}, ""});
  backup.AddReply(agent::ModelReply{"backup again", {}, {120, 6, 0}, ""});
  auto client = Client(Provider::kOpenAiChat, job);
  auto first = client.Complete(UserSays("one"));
  ASSERT_OK(first);
  EXPECT_EQ(first->text, "from the backup");
  auto second = client.Complete(UserSays("two"));
  ASSERT_OK(second);
  EXPECT_EQ(second->text, "backup again");
  EXPECT_EQ(upstream_.requests().size(), 2u);  // Not asked again after falling back.
  auto received = backup.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].path, "/v1/messages");
  EXPECT_EQ(received[0].headers.at("x-api-key"), "sk-backup-key-abcdefgh");
  auto sent = agent::DecodeRequest(Provider::kAnthropic, received[0].body);
  ASSERT_OK(sent);
  EXPECT_EQ(sent->model, "claude-backup");
  EXPECT_EQ(sent->messages.back().text, "one");
  JobUsage usage = gateway.Usage("j");
  EXPECT_EQ(usage.fallbacks, 1);
  EXPECT_EQ(usage.model, "anthropic:claude-backup");
  EXPECT_EQ(usage.input_tokens, 220);
  ASSERT_OK(gateway.CloseJob("j"));
  auto log = ReadJsonLines(*job.exchange_log);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["model"], "openai:model-x");
  EXPECT_EQ(log[0]["fallback_to"], "anthropic:claude-backup");
  EXPECT_NE(log[0]["error"]["message"].get<std::string>().find("still overloaded"),
            std::string::npos);
  EXPECT_EQ(log[1]["model"], "anthropic:claude-backup");
  EXPECT_EQ(log[1]["reply"]["text"], "from the backup");
  // The backup had never seen this job: nothing of its first request is in its cache. Its
  // second request repeats the tools and the system prompt.
  EXPECT_EQ(log[1]["prompt_prefix"]["repeated_bytes"], 0);
  EXPECT_GT(log[2]["prompt_prefix"]["repeated_bytes"].get<size_t>(), 0u);
  EXPECT_LT(log[2]["prompt_prefix"]["repeated_bytes"].get<size_t>(),
            log[2]["prompt_prefix"]["bytes"].get<size_t>());
}

// Each answered exchange logs how much of its prompt repeats the job's previous request, as
// the provider's encoding lays it out (tools, system, messages): a growing conversation
// repeats all of it, a rewritten one only up to the first changed message.
TEST_F(GatewayTest, LogsThePromptPrefixRepeatedFromThePreviousRequest) {
  Gateway gateway(Options());
  JobConfig job = ReplayJob("j", R"json({"drover_cassette": 1, "exchanges": [
    {"reply": {"text": "one"}}, {"reply": {"text": "two"}}, {"reply": {"text": "three"}}]})json");
  ASSERT_OK(gateway.OpenJob(job));
  auto client = Client(Provider::kAnthropic, job);
  agent::ModelRequest request = UserSays("please rename user_id to account_id");
  request.tools.push_back({"read_file", "Reads a file.", Json{{"type", "object"}}});
  ASSERT_OK(client.Complete(request));
  // Cache breakpoints move from request to request; they are not part of the content.
  request.messages.back().cache_breakpoint = true;
  request.messages.push_back({agent::Role::kAssistant, "one", {}, "", false});
  request.messages.push_back({agent::Role::kUser, "go on", {}, "", true});
  ASSERT_OK(client.Complete(request));
  request.messages[1].text = "a digest of what happened";
  ASSERT_OK(client.Complete(request));
  ASSERT_OK(gateway.CloseJob("j"));

  auto log = ReadJsonLines(*job.exchange_log);
  ASSERT_EQ(log.size(), 3u);
  auto bytes = [&](size_t i) { return log[i]["prompt_prefix"]["bytes"].get<size_t>(); };
  auto repeated = [&](size_t i) { return log[i]["prompt_prefix"]["repeated_bytes"].get<size_t>(); };
  EXPECT_EQ(repeated(0), 0u);
  EXPECT_GT(bytes(0), 0u);
  EXPECT_EQ(repeated(1), bytes(0));
  EXPECT_GT(bytes(1), bytes(0));
  // Tools and system are repeated; the rewritten first message and all after it are not.
  EXPECT_GT(repeated(2), 0u);
  EXPECT_LT(repeated(2), bytes(0));
  EXPECT_EQ(bytes(2), bytes(1) - std::string("please rename user_id to account_id").size() +
                          std::string("a digest of what happened").size());
}

TEST_F(GatewayTest, EveryModelFailingNamesEachError) {
  testing::ScriptedModelServer backup;
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.retry.max_attempts = 1;
  options.upstreams.push_back(
      UpstreamConfig{Provider::kOpenAiResponses, backup.OpenAiBaseUrl(), "", "gpt-backup"});
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(500, R"({"error": {"message": "primary down"}})"));
  backup.AddResponse(Raw(429, R"({"error": {"message": "backup busy"}})"));
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(reply.error().message.find("primary down"), std::string::npos);
  EXPECT_NE(reply.error().message.find("backup busy"), std::string::npos);
}

TEST_F(GatewayTest, BadRequestDoesNotFallBack) {
  testing::ScriptedModelServer backup;
  GatewayOptions options = UpstreamOptions(Provider::kOpenAiChat);
  options.upstreams.push_back(
      UpstreamConfig{Provider::kAnthropic, backup.AnthropicBaseUrl(), "", "claude-backup"});
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(400, R"({"error": {"message": "tools[0] is invalid"}})"));
  auto client = Client(Provider::kOpenAiChat, job);
  auto reply = client.Complete(UserSays("x"));
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, ErrorCode::kProtocol);
  EXPECT_NE(reply.error().message.find("tools[0] is invalid"), std::string::npos);
  EXPECT_TRUE(backup.requests().empty());
  EXPECT_EQ(gateway.Usage("j").fallbacks, 0);
}

// A key no credential shape matches, with characters that every encoding changes.
constexpr const char* kEchoedKey = "gw-Key/With+Odd\"Chars\\=0123456789";

// Each form a provider may quote the key in, as the scripted server renders it.
std::vector<std::string> EchoForms() {
  return {"{credential}", "{credential_json}", "{credential_percent}", "{credential_base64}"};
}

// What the agent received, read whole (status, headers and body) over the job's socket.
HttpResponse AgentSends(HttpClient& http, const JobConfig& job, Provider provider, bool stream) {
  agent::ModelRequest request = UserSays("x");
  request.stream = stream;
  HttpRequest out;
  out.method = "POST";
  out.url = std::string("http://gateway") + std::string(agent::RequestPath(provider));
  out.unix_socket = job.socket_path.string();
  out.headers["content-type"] = "application/json";
  out.body = agent::EncodeRequest(provider, request).dump();
  auto response = http.Send(out);
  EXPECT_TRUE(response.has_value());
  return response ? *response : HttpResponse{};
}

// No trace of the key: the raw value, the distinctive tail every form keeps, or an encoding.
void ExpectNoKey(std::string_view text) {
  EXPECT_EQ(text.find("0123456789"), std::string_view::npos) << text;
  EXPECT_EQ(text.find("Odd"), std::string_view::npos) << text;
  EXPECT_EQ(text.find("T2Rk"), std::string_view::npos) << text;  // base64 of "Odd" aligned
}

void ExpectNoKey(const HttpResponse& response) {
  ExpectNoKey(response.body);
  for (const auto& [name, value] : response.headers) ExpectNoKey(value);
}

class GatewayEchoTest : public GatewayTest, public ::testing::WithParamInterface<Provider> {
 protected:
  GatewayOptions EchoOptions() {
    GatewayOptions options = UpstreamOptions(GetParam());
    options.upstreams[0].api_key = kEchoedKey;
    return options;
  }

  // A streamed error event in the provider's own shape, quoting `form`.
  HttpResponse StreamError(const std::string& form) {
    std::string data =
        GetParam() == Provider::kAnthropic
            ? R"({"type":"error","error":{"type":"overloaded_error","message":"bad key )" + form +
                  R"("}})"
            : R"({"error":{"type":"server_error","message":"bad key )" + form + R"("}})";
    std::string event = GetParam() == Provider::kAnthropic ? "event: error\n" : "";
    return Raw(200, event + "data: " + data + "\n\n", {{"content-type", "text/event-stream"}});
  }
};

// A provider that quotes the key in 429, 500 and stream errors, then in a 401: the agent gets
// the gateway's own 401 with a masked excerpt, and no form of the key anywhere.
TEST_P(GatewayEchoTest, KeyEchoedInErrorsNeverReachesTheAgent) {
  Gateway gateway(EchoOptions());
  for (const std::string& form : EchoForms()) {
    SCOPED_TRACE(form);
    JobConfig job = Job("j" + std::to_string(form.size()));
    ASSERT_OK(gateway.OpenJob(job));
    // Inside JSON a provider escapes the key; as is, it quotes it in a plain-text body.
    const bool raw = form == "{credential}";
    const std::string in_json = raw ? "{credential_json}" : form;
    upstream_.AddResponse(
        Raw(429, R"({"error": {"message": "Rate limit for key )" + in_json + R"("}})"));
    upstream_.AddResponse(Raw(500, "Internal error, key " + form));
    upstream_.AddResponse(StreamError(in_json));
    upstream_.AddResponse(raw ? Raw(401, "Incorrect API key provided: " + form)
                              : Raw(401, R"({"error": {"message": "Incorrect API key provided: )" +
                                             form + R"(", "type": "invalid_request_error"}})"));
    HttpResponse seen = AgentSends(*http_, job, GetParam(), /*stream=*/false);
    EXPECT_EQ(seen.status, 401);
    EXPECT_EQ(seen.headers["x-drover-error"], "upstream_rejected");
    EXPECT_NE(seen.body.find("upstream answered HTTP 401: Incorrect API key provided: [REDACTED]"),
              std::string::npos)
        << seen.body;
    ExpectNoKey(seen);
    ASSERT_OK(gateway.CloseJob(job.job_id));
    ExpectNoKey(testing::ReadTestFile(*job.exchange_log));
  }
  EXPECT_EQ(upstream_.requests().size(), 4 * EchoForms().size());
}

// Retries used up on errors quoting the key: the gateway's 502 quotes them, masked.
TEST_P(GatewayEchoTest, KeyEchoedInRetriedErrorsIsMaskedInTheGatewaysOwnError) {
  GatewayOptions options = EchoOptions();
  options.retry.max_attempts = 3;
  Gateway gateway(options);
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  upstream_.AddResponse(Raw(500, R"({"error": {"message": "key {credential_json} failed"}})"));
  upstream_.AddResponse(Raw(429, "slow down {credential_percent}"));
  upstream_.AddResponse(StreamError("{credential_base64}"));
  HttpResponse seen = AgentSends(*http_, job, GetParam(), /*stream=*/true);
  EXPECT_EQ(seen.status, 502);
  EXPECT_EQ(seen.headers["x-drover-error"], "upstream_unavailable");
  EXPECT_NE(seen.body.find("[REDACTED]"), std::string::npos) << seen.body;
  ExpectNoKey(seen);
}

// A successful reply that quotes the key (text and tool arguments), served as JSON and as a
// stream: masked in both, and in the exchange log.
TEST_P(GatewayEchoTest, KeyEchoedInAReplyIsMasked) {
  Gateway gateway(EchoOptions());
  JobConfig job = Job("j");
  ASSERT_OK(gateway.OpenJob(job));
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream);
    for (const std::string& form : EchoForms()) {
      upstream_.AddReply(agent::ModelReply{
          "your key is " + form,
          {{"call_1", "write_file", Json{{"path", "k.txt"}, {"content", form}}.dump()}},
          {5, 5, 0},
          ""});
      HttpResponse seen = AgentSends(*http_, job, GetParam(), stream);
      EXPECT_EQ(seen.status, 200) << seen.body;
      EXPECT_NE(seen.body.find("your key is [REDACTED]"), std::string::npos) << seen.body;
      ExpectNoKey(seen);
    }
  }
  ExpectNoKey(testing::ReadTestFile(*job.exchange_log));
}

INSTANTIATE_TEST_SUITE_P(Providers, GatewayEchoTest,
                         ::testing::Values(Provider::kOpenAiChat, Provider::kAnthropic),
                         [](const auto& param_info) {
                           return param_info.param == Provider::kAnthropic
                                      ? std::string("anthropic")
                                      : std::string("openai");
                         });

}  // namespace
}  // namespace drover::fleet
