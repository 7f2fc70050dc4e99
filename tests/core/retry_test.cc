#include "core/retry.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/http_status.h"
#include "tests/testing/testing.h"

namespace drover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

Error Unavailable() { return Error{ErrorCode::kUnavailable, "502", std::nullopt}; }

RetryPolicy Exponential() {
  return RetryPolicy{.max_attempts = 6, .base_delay = milliseconds(100),
                     .max_delay = milliseconds(1000)};
}

TEST(RetryPolicy, DoublesFromTheBaseDelayUpToTheCap) {
  RetryPolicy policy = Exponential();
  std::vector<milliseconds> delays;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    delays.push_back(policy.DelayBefore(attempt, Unavailable(), 1.0).value());
  }
  EXPECT_EQ(delays, (std::vector<milliseconds>{milliseconds(100), milliseconds(200),
                                               milliseconds(400), milliseconds(800),
                                               milliseconds(1000)}));
  // The sixth try was the last.
  EXPECT_FALSE(policy.DelayBefore(6, Unavailable(), 1.0).has_value());
}

TEST(RetryPolicy, JitterDrawsTheRandomShareOfTheDelay) {
  RetryPolicy policy = Exponential();
  policy.jitter = 0.5;
  EXPECT_EQ(policy.DelayBefore(2, Unavailable(), 0.0), milliseconds(100));
  EXPECT_EQ(policy.DelayBefore(2, Unavailable(), 0.5), milliseconds(150));
  EXPECT_EQ(policy.DelayBefore(2, Unavailable(), 1.0), milliseconds(200));
  policy.jitter = 1;
  EXPECT_EQ(policy.DelayBefore(1, Unavailable(), 0.0), milliseconds(0));
  for (int i = 0; i < 100; ++i) {
    double sample = RetryJitterSample();
    ASSERT_GE(sample, 0.0);
    ASSERT_LE(sample, 1.0);
  }
}

TEST(RetryPolicy, TheServersDelayIsTakenAsItIsUpToTheCap) {
  RetryPolicy policy = Exponential();
  policy.jitter = 0.5;
  Error limited{ErrorCode::kRateLimited, "429", milliseconds(700)};
  EXPECT_EQ(policy.DelayBefore(1, limited, 0.0), milliseconds(700));  // Never jittered.
  limited.retry_after = milliseconds(0);
  EXPECT_EQ(policy.DelayBefore(3, limited, 0.0), milliseconds(0));
  limited.retry_after = seconds(90);
  EXPECT_EQ(policy.DelayBefore(1, limited, 0.0), milliseconds(1000));
  // Under kGiveUp a delay beyond the cap is the caller's to report, not to wait out.
  policy.long_server_delay = RetryPolicy::LongServerDelay::kGiveUp;
  EXPECT_FALSE(policy.DelayBefore(1, limited, 0.0).has_value());
  limited.retry_after = milliseconds(1000);
  EXPECT_EQ(policy.DelayBefore(1, limited, 0.0), milliseconds(1000));
}

TEST(RetryPolicy, ErrorsThatAreNotRetryableStopAtOnce) {
  RetryPolicy policy = Exponential();
  for (ErrorCode code : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound,
                         ErrorCode::kPermissionDenied, ErrorCode::kProtocol,
                         ErrorCode::kBudgetExhausted, ErrorCode::kCancelled}) {
    // A server's delay does not make a refusal worth repeating.
    EXPECT_FALSE(policy.DelayBefore(1, Error{code, "no", milliseconds(5)}, 1.0).has_value())
        << ErrorCodeName(code);
  }
  EXPECT_TRUE(policy.DelayBefore(1, Error{ErrorCode::kTimeout, "slow", std::nullopt}, 1.0));
  policy.only_rate_limited = true;
  EXPECT_FALSE(policy.DelayBefore(1, Unavailable(), 1.0).has_value());
  EXPECT_TRUE(policy.DelayBefore(1, Error{ErrorCode::kRateLimited, "429", std::nullopt}, 1.0));
  // One try in all (or a nonsensical count): nothing to wait for.
  policy.max_attempts = 0;
  EXPECT_FALSE(policy.DelayBefore(1, Error{ErrorCode::kRateLimited, "429", std::nullopt}, 1.0));
}

TEST(Retry, TriesUntilSuccessSleepingTheDelaysInBetween) {
  RetryPolicy policy{.max_attempts = 4, .base_delay = milliseconds(10),
                     .max_delay = milliseconds(1000)};
  std::vector<milliseconds> sleeps;
  std::vector<std::string> seen;
  int calls = 0;
  Result<int> result = Retry(
      policy, [&](milliseconds d) { sleeps.push_back(d); },
      [&]() -> Result<int> {
        if (++calls < 3) return Fail(ErrorCode::kUnavailable, "busy " + std::to_string(calls));
        return 42;
      },
      [&](const Error& error, milliseconds) { seen.push_back(error.message); });
  ASSERT_OK(result);
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(sleeps, (std::vector<milliseconds>{milliseconds(10), milliseconds(20)}));
  EXPECT_EQ(seen, (std::vector<std::string>{"busy 1", "busy 2"}));
}

TEST(Retry, GivesUpWithTheLastErrorAfterMaxAttemptsOrANonRetryableOne) {
  RetryPolicy policy{.max_attempts = 3, .base_delay = milliseconds(1),
                     .max_delay = milliseconds(10)};
  int calls = 0;
  std::vector<milliseconds> sleeps;
  auto sleep = [&](milliseconds d) { sleeps.push_back(d); };
  Status failed = Retry(policy, sleep, [&]() -> Status {
    return Fail(ErrorCode::kTimeout, "try " + std::to_string(++calls));
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "try 3");
  EXPECT_EQ(sleeps.size(), 2u);

  calls = 0;
  sleeps.clear();
  Status refused =
      Retry(policy, sleep, [&]() -> Status { return Fail(ErrorCode::kNotFound, "gone"); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(sleeps.empty());
}

// ---- HTTP status and rate-limit headers ----

TEST(HttpStatus, MapsEachStatusOnce) {
  struct Case {
    int status;
    ErrorCode code;
  };
  for (Case c : std::vector<Case>{{400, ErrorCode::kInvalidArgument},
                                  {401, ErrorCode::kPermissionDenied},
                                  {403, ErrorCode::kPermissionDenied},
                                  {404, ErrorCode::kNotFound},
                                  {405, ErrorCode::kProtocol},
                                  {408, ErrorCode::kUnavailable},
                                  {409, ErrorCode::kInvalidArgument},
                                  {422, ErrorCode::kInvalidArgument},
                                  {429, ErrorCode::kRateLimited},
                                  {500, ErrorCode::kUnavailable},
                                  {502, ErrorCode::kUnavailable},
                                  {529, ErrorCode::kUnavailable},
                                  {302, ErrorCode::kProtocol},
                                  {600, ErrorCode::kProtocol}}) {
    Error error = ErrorFromHttpStatus(c.status, "GitHub GET /user", "Bad");
    EXPECT_EQ(error.code, c.code) << c.status;
    EXPECT_FALSE(error.retry_after.has_value());
  }
  EXPECT_EQ(ErrorFromHttpStatus(502, "GitHub POST /repos/a/b/pulls", "Server Error").message,
            "GitHub POST /repos/a/b/pulls: 502 Server Error");
}

TEST(RateLimitHeaders, RetryAfterInSecondsMillisecondsAndHttpDates) {
  auto now = system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRateLimitHeaders({{"retry-after", "2"}}, now).retry_after, milliseconds(2000));
  EXPECT_EQ(ParseRateLimitHeaders({{"retry-after", " 0.5 "}}, now).retry_after,
            milliseconds(500));
  EXPECT_EQ(
      ParseRateLimitHeaders({{"retry-after-ms", "1500"}, {"retry-after", "9"}}, now).retry_after,
      milliseconds(1500));
  EXPECT_EQ(
      ParseRateLimitHeaders({{"retry-after", "Wed, 21 Oct 2015 07:28:10 GMT"}}, now).retry_after,
      milliseconds(10000));
  // A date gone by asks for no wait at all; a negative count neither.
  EXPECT_EQ(
      ParseRateLimitHeaders({{"retry-after", "Wed, 21 Oct 2015 07:00:00 GMT"}}, now).retry_after,
      milliseconds(0));
  EXPECT_EQ(ParseRateLimitHeaders({{"retry-after", "-3"}}, now).retry_after, milliseconds(0));
}

TEST(RateLimitHeaders, GitHubAndGitLabQuotaSpellings) {
  auto now = system_clock::time_point(seconds(1'700'000'000));
  RateLimitInfo github = ParseRateLimitHeaders(
      {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1700003600"}}, now);
  EXPECT_TRUE(github.Exhausted());
  EXPECT_EQ(github.reset, system_clock::time_point(seconds(1'700'003'600)));
  EXPECT_FALSE(github.retry_after.has_value());

  RateLimitInfo gitlab = ParseRateLimitHeaders(
      {{"ratelimit-remaining", "12"}, {"ratelimit-reset", "1700000060"}}, now);
  EXPECT_EQ(gitlab.remaining, 12);
  EXPECT_FALSE(gitlab.Exhausted());
  EXPECT_EQ(gitlab.reset, system_clock::time_point(seconds(1'700'000'060)));

  // The IETF draft's reset counts seconds from now.
  RateLimitInfo draft =
      ParseRateLimitHeaders({{"ratelimit-remaining", "0"}, {"ratelimit-reset", "30"}}, now);
  EXPECT_TRUE(draft.Exhausted());
  EXPECT_EQ(draft.reset, now + seconds(30));

  RateLimitInfo dated = ParseRateLimitHeaders(
      {{"ratelimit-resettime", "Tue, 14 Nov 2023 22:14:20 GMT"}}, now);
  EXPECT_EQ(dated.reset, system_clock::time_point(seconds(1'700'000'060)));
}

TEST(RateLimitHeaders, GarbageIsLeftUnset) {
  auto now = system_clock::time_point(seconds(1'700'000'000));
  RateLimitInfo info = ParseRateLimitHeaders({{"retry-after", "soon"},
                                              {"retry-after-ms", "1e999"},
                                              {"x-ratelimit-remaining", "lots"},
                                              {"x-ratelimit-reset", "12:00"},
                                              {"ratelimit-resettime", "Tuesday noon"}},
                                             now);
  EXPECT_FALSE(info.retry_after.has_value());
  EXPECT_FALSE(info.remaining.has_value());
  EXPECT_FALSE(info.Exhausted());
  EXPECT_FALSE(info.reset.has_value());
  EXPECT_FALSE(ParseRateLimitHeaders({}, now).retry_after.has_value());
  EXPECT_FALSE(
      ParseRateLimitHeaders({{"retry-after", "Wed, 21 Oct 2015 07:28:10 GMT trailing"}}, now)
          .retry_after.has_value());
}

TEST(RateLimitHeaders, A403IsALimitOnlyWhenItSaysSo) {
  RateLimitInfo none;
  EXPECT_TRUE(IsRateLimitAnswer(429, none, ""));
  EXPECT_FALSE(IsRateLimitAnswer(403, none, "Resource not accessible by integration"));
  EXPECT_TRUE(IsRateLimitAnswer(403, none, "You have exceeded a secondary Rate Limit."));
  RateLimitInfo exhausted;
  exhausted.remaining = 0;
  EXPECT_TRUE(IsRateLimitAnswer(403, exhausted, ""));
  RateLimitInfo delayed;
  delayed.retry_after = milliseconds(1000);
  EXPECT_TRUE(IsRateLimitAnswer(403, delayed, ""));
  EXPECT_FALSE(IsRateLimitAnswer(503, delayed, "rate limit"));
}

}  // namespace
}  // namespace drover
