#include "forge/rest_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <vector>

#include "core/http_server.h"
#include "forge/forge_governor.h"
#include "tests/testing/fake_github.h"
#include "tests/testing/fake_governor_clock.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using drover::testing::JsonResponse;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kToken[] = "glpat-secret0123456789";

// A loopback server that answers from a script, the last answer repeated, and records what it
// was sent.
class ScriptedServer {
 public:
  ScriptedServer() : server_([this](const HttpRequest& request) { return Handle(request); }) {}
  Status Start() { return server_.ListenTcp(); }
  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  void Answer(std::vector<HttpResponse> answers) {
    std::lock_guard lock(mutex_);
    answers_.assign(answers.begin(), answers.end());
  }
  std::vector<HttpRequest> Requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  HttpResponse Handle(const HttpRequest& request) {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    HttpResponse answer = answers_.front();
    if (answers_.size() > 1) answers_.pop_front();
    return answer;
  }

  std::mutex mutex_;
  std::deque<HttpResponse> answers_{JsonResponse(200, Json::object())};
  std::vector<HttpRequest> requests_;
  HttpServer server_;  // Last: stopped first.
};

class RestClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(server_.Start()); }

  RestClient Client(RestAuth auth = RestAuth::kPrivateToken) {
    RestClientOptions options;
    options.forge = "GitLab";
    options.token = kToken;
    options.auth = auth;
    options.headers = {{"accept", "application/json"}, {"user-agent", "drover-test"}};
    return RestClient(options, *http_, governor_);
  }

  ScriptedServer server_;
  drover::testing::FakeGovernorClock clock_;
  ForgeGovernor governor_{ForgeGovernorOptions{}, clock_.Clock()};
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient();
};

TEST_F(RestClientTest, SendsTheForgesCredentialHeaderAndJsonBothWays) {
  server_.Answer({JsonResponse(201, {{"iid", 3}})});
  RestClient gitlab = Client(RestAuth::kPrivateToken);
  auto created = gitlab.Call(server_.BaseUrl(), "POST", "/projects/1/merge_requests",
                             Json{{"title", "Upgrade"}});
  ASSERT_OK(created);
  EXPECT_EQ((*created)["iid"], 3);

  RestClient github = Client(RestAuth::kBearer);
  server_.Answer({HttpResponse{204, {}, "", {}}});
  auto empty = github.Call(server_.BaseUrl(), "GET", "/user", std::nullopt);
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->is_null());

  auto requests = server_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].url, "/projects/1/merge_requests");
  EXPECT_EQ(requests[0].headers.at("private-token"), kToken);
  EXPECT_FALSE(requests[0].headers.contains("authorization"));
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(requests[0].headers.at("user-agent"), "drover-test");
  EXPECT_EQ(Json::parse(requests[0].body), (Json{{"title", "Upgrade"}}));
  EXPECT_EQ(requests[1].headers.at("authorization"), std::string("Bearer ") + kToken);
  EXPECT_FALSE(requests[1].headers.contains("private-token"));
  EXPECT_EQ(requests[1].headers.at("accept"), "application/json");
}

TEST_F(RestClientTest, MapsEachStatusOnceNamingTheRequestWithoutTheToken) {
  RestClient client = Client();
  struct Case {
    int status;
    ErrorCode code;
  };
  // The whole table is ErrorFromHttpStatus's (tests/core); here, that the client uses it.
  for (Case c : std::vector<Case>{{401, ErrorCode::kPermissionDenied},
                                  {404, ErrorCode::kNotFound},
                                  {409, ErrorCode::kInvalidArgument},
                                  {503, ErrorCode::kUnavailable}}) {
    // Echoing the credential back, as a careless proxy might, to prove it is masked.
    server_.Answer({JsonResponse(c.status, {{"message", std::string("no for ") + kToken}})});
    auto answer = client.Call(server_.BaseUrl(), "GET", "/projects/1", std::nullopt);
    ASSERT_FALSE(answer) << c.status;
    EXPECT_EQ(answer.error().code, c.code) << c.status;
    EXPECT_TRUE(answer.error().message.starts_with("GitLab GET /projects/1: " +
                                                   std::to_string(c.status) + " no for "))
        << answer.error().message;
    EXPECT_EQ(answer.error().message.find(kToken), std::string::npos) << answer.error().message;
  }
  // A 5xx is not tried again here, not even for a GET: the runner repeats whole operations.
  EXPECT_EQ(server_.Requests().size(), 4u);
  EXPECT_TRUE(clock_.sleeps.empty());
}

TEST_F(RestClientTest, ReadsGitHubAndGitLabErrorShapes) {
  EXPECT_EQ(ForgeErrorMessage(R"({"message": "Validation Failed", "errors": [
                {"resource": "PullRequest", "code": "custom", "message": "No commits"},
                {"resource": "PullRequest", "field": "base", "code": "invalid"}]})"),
            "Validation Failed (No commits; PullRequest base invalid)");
  EXPECT_EQ(ForgeErrorMessage(R"({"message": ["Another open merge request already exists"]})"),
            "Another open merge request already exists");
  EXPECT_EQ(ForgeErrorMessage(R"({"message": {"title": ["is too long"], "labels": "bad"}})"),
            "labels bad; title is too long");
  EXPECT_EQ(ForgeErrorMessage(R"({"error": "insufficient_scope"})"), "insufficient_scope");
  EXPECT_EQ(ForgeErrorMessage(R"({"documentation_url": "x"})"), "(no message)");
  EXPECT_EQ(ForgeErrorMessage("  <html>Bad Gateway</html>\n"), "<html>Bad Gateway</html>");
  EXPECT_EQ(ForgeErrorMessage(""), "(no body)");
  EXPECT_EQ(ForgeErrorMessage(std::string(500, 'x')).size(), 200u);
}

TEST_F(RestClientTest, WaitsOutARateLimitOnTheGovernorsClockThenSucceeds) {
  server_.Answer({JsonResponse(429, {{"message", "Retry later"}}, {{"retry-after", "3"}}),
                  JsonResponse(200, {{"ok", true}})});
  RestClient client = Client();
  auto answer = client.Call(server_.BaseUrl(), "PUT", "/projects/1/merge_requests/2",
                            Json{{"title", "t"}});
  ASSERT_OK(answer);
  EXPECT_EQ((*answer)["ok"], true);
  EXPECT_EQ(server_.Requests().size(), 2u);
  EXPECT_EQ(clock_.sleeps, std::vector<milliseconds>{milliseconds(3000)});
}

TEST_F(RestClientTest, GivesUpAfterMaxAttemptsWithTheServersDelay) {
  server_.Answer({JsonResponse(429, {{"message", "Retry later"}}, {{"retry-after", "2"}})});
  RestClient client = Client();
  auto answer = client.Call(server_.BaseUrl(), "POST", "/projects/1/fork", std::nullopt);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(answer.error().retry_after, milliseconds(2000));
  EXPECT_EQ(server_.Requests().size(), 3u);
  EXPECT_EQ(clock_.sleeps, (std::vector<milliseconds>{milliseconds(2000), milliseconds(2000)}));
}

// GitLab's spelling of a used-up quota on a 403, with a reset an hour away: longer than the
// client waits on a caller's thread, so it returns at once, and the governor holds everyone.
TEST_F(RestClientTest, AQuotaUsedUpBeyondMaxWaitIsReturnedAndPausesTheGovernor) {
  server_.Answer({JsonResponse(403, {{"message", "Forbidden"}},
                               {{"ratelimit-remaining", "0"}, {"ratelimit-reset", "1700003600"}})});
  RestClient client = Client();
  auto answer = client.Call(server_.BaseUrl(), "GET", "/projects/1", std::nullopt);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(answer.error().retry_after, milliseconds(3601000));
  EXPECT_EQ(server_.Requests().size(), 1u);
  EXPECT_TRUE(clock_.sleeps.empty());
  EXPECT_EQ(governor_.PauseRemaining(), milliseconds(3601000));

  // The next call is held back by the governor without reaching the forge.
  auto held = client.Call(server_.BaseUrl(), "GET", "/projects/1", std::nullopt);
  ASSERT_FALSE(held);
  EXPECT_EQ(held.error().code, ErrorCode::kRateLimited);
  EXPECT_NE(held.error().message.find("held back by the request governor"), std::string::npos);
  EXPECT_EQ(server_.Requests().size(), 1u);
}

TEST_F(RestClientTest, ASuccessThatIsNotJsonAndAnUnreachableForgeAreErrors) {
  server_.Answer({HttpResponse{200, {{"content-type", "text/html"}}, "<html>", {}}});
  RestClient client = Client();
  auto garbled = client.Call(server_.BaseUrl(), "GET", "/user", std::nullopt);
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().code, ErrorCode::kProtocol);

  // A port nothing listens on (the server's own, once it is stopped).
  std::string base;
  {
    ScriptedServer gone;
    ASSERT_OK(gone.Start());
    base = gone.BaseUrl();
  }
  auto unreachable = client.Call(base, "POST", "/projects/1/fork", std::nullopt);
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(unreachable.error().message.starts_with("GitLab POST /projects/1/fork: "))
      << unreachable.error().message;
  EXPECT_TRUE(clock_.sleeps.empty());
}

}  // namespace
}  // namespace drover::fleet
