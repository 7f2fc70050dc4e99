// One governed client for a forge's JSON REST API (GitHub, GitLab): every request waits for the
// token's ForgeGovernor and reports the answer's rate-limit headers to it, an error status is
// mapped once (core/http_status.h), the token is masked from every error, and a rate limit is
// tried again under one RetryPolicy. Thread-safe: Call may be used from many job threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/http.h"
#include "core/json.h"
#include "core/redact.h"
#include "forge/forge_governor.h"

namespace drover::fleet {

// How the token travels.
enum class RestAuth {
  kBearer,        // `Authorization: Bearer TOKEN` (GitHub).
  kPrivateToken,  // `PRIVATE-TOKEN: TOKEN` (GitLab).
};

struct RestClientOptions {
  std::string forge;  // "GitHub", "GitLab": begins every error's text.
  // Never logged and removed from every error message. Empty: no credential header.
  std::string token;
  RestAuth auth = RestAuth::kBearer;
  // Sent with every request besides the credential (accept, user agent, API version); lower-case
  // names.
  HttpHeaders headers;
  // Per-request deadline. Default 60 s.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  // Tries per request when the forge answers with a rate limit, the governor's pause waited in
  // between. Other errors are not tried again here: a 5xx or a broken connection may come after
  // the forge acted on a POST, and the runner repeats whole operations, which look before they
  // create. Default 3.
  int max_attempts = 3;
  // A rate-limit pause longer than this is returned as kRateLimited (with retry_after) instead
  // of being waited out on the caller's thread. Default 5 minutes.
  std::chrono::milliseconds max_wait{std::chrono::minutes(5)};
};

// How a forge over a REST API is configured: GitHubForgeOptions and GitLabForgeOptions.
struct RestForgeOptions {
  // API root without a trailing slash. Empty (default): the host's own: https://api.github.com
  // for github.com, https://HOST/api/v3 for GitHub Enterprise, https://HOST/api/v4 for GitLab.
  std::string api_base_url;
  // Sent as the forge's credential header (`Authorization: Bearer` on GitHub, `PRIVATE-TOKEN`
  // on GitLab); never logged and removed from every error message.
  std::string token;
  std::string user_agent = "drover";
  // As in RestClientOptions: per-request deadline (default 60 s), tries per request after a rate
  // limit (default 3), the longest rate-limit pause waited out (default 5 minutes).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  int max_attempts = 3;
  std::chrono::milliseconds max_wait{std::chrono::minutes(5)};
  // Ask the owners of the patch's paths (CODEOWNERS) for review. Default true.
  bool request_codeowners = true;
  // Push the head branch to a fork of the target and open the PR/MR from it (PushLocation
  // makes the fork when it is missing). Default false: push to the target.
  bool push_to_fork = false;
  // The user, organisation or namespace that holds the fork. Empty: the token's user.
  std::string fork_owner;
};

// The REST client settings of a forge configured with `options`, named `forge` in errors,
// sending the token as `auth` besides `headers` (accept, API version) and the user agent.
RestClientOptions ForgeRestClientOptions(const RestForgeOptions& options, std::string forge,
                                         RestAuth auth, HttpHeaders headers);

// The text of a forge's error body: GitHub's `message` with its `errors` summarised, GitLab's
// `message` (a string, a list, or field → problems) or `error`; for a body that is not a JSON
// object, its first 200 characters ("(no body)" when empty).
std::string ForgeErrorMessage(std::string_view body);

class RestClient {
 public:
  // `http` and `governor` must outlive the client; one governor per token.
  RestClient(RestClientOptions options, HttpClient& http, ForgeGovernor& governor);

  // Sends METHOD `api_base` + `path` (`body` as JSON when given) and returns the parsed body of a
  // 2xx answer (null when empty). Errors, their text "FORGE METHOD PATH: STATUS MESSAGE":
  // kRateLimited with retry_after (429, a 403 that is a rate limit, a governor wait above
  // max_wait), else ErrorFromHttpStatus's code; the transport's (kUnavailable, kTimeout);
  // kProtocol for a 2xx body that is not JSON.
  Result<Json> Call(std::string_view api_base, std::string_view method, const std::string& path,
                    const std::optional<Json>& body);

 private:
  Result<Json> Attempt(const HttpRequest& request, bool creates_content, const std::string& what);

  RestClientOptions options_;
  HttpClient& http_;
  ForgeGovernor& governor_;
  Redactor redactor_;
};

}  // namespace drover::fleet
