// End-to-end: `drover discover` against a Backstage catalog on loopback, its repos file read
// back by `drover run`'s loader, and the usage errors.
#include <gtest/gtest.h>

#include "core/http_server.h"
#include "sandbox/process.h"
#include "tests/e2e/e2e.h"

namespace drover::e2e {
namespace {

sandbox::ProcessResult Discover(const std::string& source,
                                const std::map<std::string, std::string>& extra_env = {}) {
  sandbox::ProcessSpec spec;
  spec.argv = {DROVER_BINARY, "discover", source};
  spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  for (const auto& [k, v] : extra_env) spec.env[k] = v;
  auto result = sandbox::MakeLocalProcessRunner()->Run(spec);
  EXPECT_TRUE(result.has_value());
  return result ? *result : sandbox::ProcessResult{};
}

Json Entity(const std::string& name, const std::string& location) {
  return {{"kind", "Component"},
          {"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"annotations", {{"backstage.io/source-location", location}}}}},
          {"spec", {{"type", "service"}, {"dependsOn", {"resource:default/playlist-events"}}}}};
}

TEST(Discover, BackstageCatalogBecomesAReposFile) {
  std::string seen_auth;
  HttpServer server([&](const HttpRequest& request) {
    if (auto it = request.headers.find("authorization"); it != request.headers.end()) {
      seen_auth = it->second;
    }
    Json items = Json::array({Entity("events-py", "url:https://github.com/acme/events-py/tree/main/"),
                              Entity("no-source", "file:/srv/x")});
    return HttpResponse{200, {{"content-type", "application/json"}},
                        Json{{"items", items}, {"totalItems", 2}, {"pageInfo", Json::object()}}.dump()};
  });
  ASSERT_OK(server.ListenTcp());
  std::string source = "backstage:http://127.0.0.1:" + std::to_string(server.port()) +
                       "?filter=kind=component&depends_on=resource:default/playlist-events";
  auto result = Discover(source, {{"BACKSTAGE_TOKEN", "bs-token"}});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(seen_auth, "Bearer bs-token");
  EXPECT_NE(result.output.find("https://github.com/acme/events-py"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("left out"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("bs-token"), std::string::npos) << result.output;
}

// A token read from a secret file as it is ends in a newline: what is sent is the token, and a
// catalog that still refuses the request with 400 or 401 is answered with a pointer to it.
TEST(Discover, TokenIsTrimmedAndARefusalPointsAtIt) {
  std::string seen_auth;
  bool refuse = false;
  HttpServer server([&](const HttpRequest& request) {
    auto it = request.headers.find("authorization");
    seen_auth = it == request.headers.end() ? "" : it->second;
    if (refuse || seen_auth != "Bearer bs-token") {
      return HttpResponse{400, {{"content-type", "application/json"}},
                          Json{{"error", {{"message", "Bad Request"}}}}.dump()};
    }
    Json items = Json::array({Entity("events-py", "url:https://bitbucket.org/acme/events-py/src/main/")});
    return HttpResponse{200, {{"content-type", "application/json"}},
                        Json{{"items", items}, {"totalItems", 1}, {"pageInfo", Json::object()}}.dump()};
  });
  ASSERT_OK(server.ListenTcp());
  std::string source = "backstage:http://127.0.0.1:" + std::to_string(server.port()) +
                       "?filter=kind=component";
  auto result = Discover(source, {{"BACKSTAGE_TOKEN", "bs-token\n"}});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(seen_auth, "Bearer bs-token");
  EXPECT_NE(result.output.find("https://bitbucket.org/acme/events-py.git"), std::string::npos)
      << result.output;

  refuse = true;
  for (const char* token : {"bs-token\n", "bs-token"}) {
    result = Discover(source, {{"BACKSTAGE_TOKEN", token}});
    EXPECT_EQ(result.exit_code, 4) << result.output;
    EXPECT_NE(result.output.find("HTTP 400"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("check the token in BACKSTAGE_TOKEN"), std::string::npos)
        << result.output;
    EXPECT_EQ(result.output.find("bs-token"), std::string::npos) << result.output;
  }
}

TEST(Discover, BadSourceIsAUsageError) {
  auto result = Discover("gitlab:acme");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("gitlab:acme"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace drover::e2e
