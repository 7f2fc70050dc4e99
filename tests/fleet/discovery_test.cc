#include "fleet/discovery.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/http_server.h"
#include "core/json.h"
#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A loopback server answering from `handler` and keeping every request it saw.
class FakeApi {
 public:
  explicit FakeApi(HttpHandler handler)
      : handler_(std::move(handler)), server_([this](const HttpRequest& request) {
          {
            std::lock_guard lock(mutex_);
            requests_.push_back(request);
          }
          return handler_(request);
        }) {
    EXPECT_OK(server_.ListenTcp());
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<HttpRequest> Requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  HttpHandler handler_;
  std::mutex mutex_;
  std::vector<HttpRequest> requests_;
  HttpServer server_;
};

std::string Path(const std::string& target) {
  return target.substr(0, target.find('?'));
}

// The raw (still percent-encoded) query parameters of a request target.
std::multimap<std::string, std::string> RawParams(const std::string& target) {
  std::multimap<std::string, std::string> params;
  size_t question = target.find('?');
  if (question == std::string::npos) return params;
  std::string rest = target.substr(question + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string param = rest.substr(0, amp);
    rest = amp == std::string::npos ? "" : rest.substr(amp + 1);
    size_t eq = param.find('=');
    params.emplace(param.substr(0, eq), eq == std::string::npos ? "" : param.substr(eq + 1));
  }
  return params;
}

std::string Param(const std::string& target, const std::string& key) {
  auto params = RawParams(target);
  auto it = params.find(key);
  return it == params.end() ? "<none>" : it->second;
}

HttpResponse JsonReply(const Json& body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.headers["content-type"] = "application/json";
  response.body = body.dump();
  return response;
}

Json Entity(const std::string& name, Json annotations, Json spec = Json::object(),
            const std::string& ns = "") {
  Json metadata = {{"name", name}, {"annotations", std::move(annotations)}};
  if (!ns.empty()) metadata["namespace"] = ns;
  return {{"apiVersion", "backstage.io/v1alpha1"},
          {"kind", "Component"},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)}};
}

Json DependsOn(const std::string& ref) {
  return {{"type", "service"}, {"dependsOn", Json::array({ref})}};
}

// Page 1 and page 2 of a catalog, covering each annotation form and each reason to skip.
std::vector<Json> CatalogEntities() {
  return {
      Entity("playlist",
             {{"backstage.io/source-location", "url:https://github.com/acme/playlist/tree/main/"}},
             DependsOn("resource:playlist-events")),
      Entity("search", {{"github.com/project-slug", "acme/search"}},
             DependsOn("Resource:default/Playlist-Events")),
      Entity("orphan", {{"backstage.io/techdocs-ref", "dir:."}},
             DependsOn("resource:default/playlist-events")),
      Entity("billing", {{"backstage.io/source-location", "url:https://github.com/acme/billing"}},
             DependsOn("resource:default/invoices")),
      Entity("ledger", {{"backstage.io/source-location", "url:https://github.com/acme/ledger"}},
             Json::object(), "payments"),
      Entity("playlist-worker",
             {{"backstage.io/source-location",
               "url:https://GitHub.com/acme/playlist/blob/main/worker/catalog-info.yaml"}},
             DependsOn("resource:default/playlist-events")),
      Entity("local", {{"backstage.io/source-location", "file:/srv/catalog/local"}},
             DependsOn("resource:default/playlist-events")),
  };
}

Json WithRelation(Json entity, const std::string& target_ref) {
  entity["relations"] = Json::array({{{"type", "ownedBy"}, {"targetRef", "group:default/team-a"}},
                                     {{"type", "dependsOn"}, {"targetRef", target_ref}}});
  return entity;
}

HttpResponse ServeCatalogByQuery(const HttpRequest& request) {
  std::vector<Json> entities = CatalogEntities();
  entities[4] = WithRelation(entities[4], "resource:default/playlist-events");
  if (request.headers.count("authorization") == 0 ||
      request.headers.at("authorization") != "Bearer s3cret") {
    return JsonReply({{"error", {{"name", "AuthenticationError"}, {"message", "no token"}}}}, 401);
  }
  if (Path(request.url) != "/api/catalog/entities/by-query") return JsonReply({}, 404);
  if (Param(request.url, "cursor") == "<none>") {
    return JsonReply({{"items", {entities[0], entities[1], entities[2]}},
                      {"totalItems", 7},
                      {"pageInfo", {{"nextCursor", "eyJwIjoyfQ/+="}}}});
  }
  if (Param(request.url, "cursor") == "eyJwIjoyfQ%2F%2B%3D") {
    return JsonReply({{"items", {entities[3], entities[4], entities[5], entities[6]}},
                      {"totalItems", 7},
                      {"pageInfo", {{"prevCursor", "eyJwIjoxfQ"}}}});
  }
  return JsonReply({{"error", {{"message", "bad cursor"}}}}, 400);
}

TEST(DiscoverFromBackstageTest, SourceLocationsOfEachForgeBecomeCloneUrls) {
  const std::pair<const char*, const char*> cases[] = {
      {"url:https://github.com/acme/x/tree/main/", "https://github.com/acme/x"},
      {"url:https://github.com/acme/src/blob/main/a.md", "https://github.com/acme/src"},
      {"url:https://gitlab.example.com/g/sub/x/-/tree/main/svc",
       "https://gitlab.example.com/g/sub/x"},
      {"url:https://gitlab.example.com/g/sub/x/tree/main", "https://gitlab.example.com/g/sub/x"},
      {"url:https://bitbucket.org/acme/x/src/main/", "https://bitbucket.org/acme/x.git"},
      {"url:https://bitbucket.org/acme/x/src/3f2a9c1/svc/catalog-info.yaml?at=main",
       "https://bitbucket.org/acme/x.git"},
      {"url:https://Bitbucket.org/acme/x", "https://Bitbucket.org/acme/x.git"},
      {"url:https://bitbucket.org/acme/x.git", "https://bitbucket.org/acme/x.git"},
      {"url:https://bitbucket.example.com/projects/ACME/repos/x/browse/svc?at=refs/heads/main",
       "https://bitbucket.example.com/scm/acme/x.git"},
      {"url:https://bitbucket.example.com/projects/K/repos/x/browse",
       "https://bitbucket.example.com/scm/k/x.git"},
      {"url:https://host.example.com/bitbucket/projects/K/repos/x/browse/a.yaml",
       "https://host.example.com/bitbucket/scm/k/x.git"},
      {"url:https://bitbucket.example.com/users/Jo/repos/x/browse",
       "https://bitbucket.example.com/scm/~jo/x.git"},
      {"url:https://gitea.example.com/acme/x/src/branch/main/", "https://gitea.example.com/acme/x"},
      {"url:https://gitea.example.com/acme/src/src/branch/main",
       "https://gitea.example.com/acme/src"},
      {"url:https://dev.azure.com/acme/proj/_git/x?path=/",
       "https://dev.azure.com/acme/proj/_git/x"},
  };
  for (const auto& [annotation, clone] : cases) {
    auto [location, reason] = CloneUrlFromSourceLocation(annotation);
    EXPECT_EQ(location, clone) << annotation << ": " << reason;
  }
  EXPECT_NE(CloneUrlFromSourceLocation("url:https://bitbucket.org/").second.find("names no"),
            std::string::npos);
  EXPECT_NE(CloneUrlFromSourceLocation("file:/srv/x").second.find("not a url:"), std::string::npos);
}

TEST(DiscoverFromBackstageTest, PagesWithCursorsAndReadsEachAnnotationForm) {
  FakeApi api(ServeCatalogByQuery);
  auto http = MakeCurlHttpClient();
  BackstageQuery query;
  query.base_url = api.Url() + "/";
  query.token = "s3cret";
  query.filters = {"kind=component,spec.type=service"};
  query.depends_on = "resource:default/playlist-events";
  query.page_size = 3;

  auto found = DiscoverFromBackstage(*http, query);
  ASSERT_OK(found);

  auto requests = api.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(Path(requests[0].url), "/api/catalog/entities/by-query");
  EXPECT_EQ(Param(requests[0].url, "filter"), "kind%3Dcomponent%2Cspec.type%3Dservice");
  EXPECT_EQ(Param(requests[0].url, "limit"), "3");
  EXPECT_EQ(requests[0].headers.at("authorization"), "Bearer s3cret");
  // The cursor carries the query, so the filter is not sent again.
  EXPECT_EQ(Param(requests[1].url, "cursor"), "eyJwIjoyfQ%2F%2B%3D");
  EXPECT_EQ(Param(requests[1].url, "filter"), "<none>");
  EXPECT_EQ(Param(requests[1].url, "limit"), "3");

  ASSERT_EQ(found->targets.size(), 3u);
  EXPECT_EQ(found->targets[0].name, "playlist");
  EXPECT_EQ(found->targets[0].location, "https://github.com/acme/playlist");
  EXPECT_FALSE(found->targets[0].is_local);
  EXPECT_EQ(found->targets[1].name, "search");
  EXPECT_EQ(found->targets[1].location, "https://github.com/acme/search.git");
  EXPECT_EQ(found->targets[2].name, "payments-ledger");
  EXPECT_EQ(found->targets[2].location, "https://github.com/acme/ledger");

  // "billing" depends on something else: filtered out, not skipped.
  ASSERT_EQ(found->skipped.size(), 3u);
  EXPECT_EQ(found->skipped[0].ref, "component:default/orphan");
  EXPECT_EQ(found->skipped[0].reason,
            "no backstage.io/source-location or github.com/project-slug annotation");
  EXPECT_EQ(found->skipped[1].ref, "component:default/playlist-worker");
  EXPECT_EQ(found->skipped[1].reason, "same repository as component:default/playlist");
  EXPECT_EQ(found->skipped[2].ref, "component:default/local");
  EXPECT_NE(found->skipped[2].reason.find("not a url: location"), std::string::npos);
}

TEST(DiscoverFromBackstageTest, WithoutRelationFilterKeepsEveryEntityWithALocation) {
  FakeApi api(ServeCatalogByQuery);
  auto http = MakeCurlHttpClient();
  BackstageQuery query;
  query.base_url = api.Url();
  query.token = "s3cret";
  query.filters = {"kind=component", "kind=api,metadata.name=a&b"};
  query.page_size = 3;
  auto found = DiscoverFromBackstage(*http, query);
  ASSERT_OK(found);
  ASSERT_EQ(found->targets.size(), 4u);
  EXPECT_EQ(found->targets[2].name, "billing");

  auto requests = api.Requests();
  ASSERT_FALSE(requests.empty());
  auto params = RawParams(requests[0].url);
  auto [begin, end] = params.equal_range("filter");
  std::vector<std::string> filters;
  for (auto it = begin; it != end; ++it) filters.push_back(it->second);
  EXPECT_EQ(filters,
            (std::vector<std::string>{"kind%3Dcomponent", "kind%3Dapi%2Cmetadata.name%3Da%26b"}));
}

TEST(DiscoverFromBackstageTest, PagesWithOffsetAndLimit) {
  std::vector<Json> entities = CatalogEntities();
  FakeApi api([&](const HttpRequest& request) {
    if (Path(request.url) != "/api/catalog/entities") return JsonReply({}, 404);
    size_t offset = std::stoul(Param(request.url, "offset"));
    size_t limit = std::stoul(Param(request.url, "limit"));
    Json page = Json::array();
    for (size_t i = offset; i < entities.size() && i < offset + limit; ++i) {
      page.push_back(entities[i]);
    }
    return JsonReply(page);
  });
  auto http = MakeCurlHttpClient();
  BackstageQuery query;
  query.base_url = api.Url();
  query.filters = {"kind=component"};
  query.paging = BackstagePaging::kOffset;
  query.page_size = 3;
  auto found = DiscoverFromBackstage(*http, query);
  ASSERT_OK(found);

  auto requests = api.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Param(requests[0].url, "offset"), "0");
  EXPECT_EQ(Param(requests[1].url, "offset"), "3");
  EXPECT_EQ(Param(requests[2].url, "offset"), "6");
  EXPECT_EQ(Param(requests[2].url, "filter"), "kind%3Dcomponent");
  EXPECT_EQ(requests[0].headers.count("authorization"), 0u);
  EXPECT_EQ(found->targets.size(), 4u);
  EXPECT_EQ(found->skipped.size(), 3u);
}

TEST(DiscoverFromBackstageTest, CatalogIgnoringLimitIsReadOnce) {
  std::vector<Json> entities = CatalogEntities();
  FakeApi api([&](const HttpRequest&) { return JsonReply(Json(entities)); });
  auto http = MakeCurlHttpClient();
  BackstageQuery query;
  query.base_url = api.Url();
  query.paging = BackstagePaging::kOffset;
  query.page_size = 2;
  auto found = DiscoverFromBackstage(*http, query);
  ASSERT_OK(found);
  EXPECT_EQ(api.Requests().size(), 1u);
  EXPECT_EQ(found->targets.size(), 4u);
}

TEST(DiscoverFromBackstageTest, MapsErrors) {
  FakeApi api(ServeCatalogByQuery);
  auto http = MakeCurlHttpClient();
  BackstageQuery query;
  query.base_url = api.Url();
  query.token = "wrong-token";
  auto denied = DiscoverFromBackstage(*http, query);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.error().message.find("no token"), std::string::npos);
  EXPECT_EQ(denied.error().message.find("wrong-token"), std::string::npos);

  query.base_url = "backstage.example.com";
  auto bad = DiscoverFromBackstage(*http, query);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  query.base_url = api.Url();
  query.depends_on = "playlist-events";
  bad = DiscoverFromBackstage(*http, query);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

// ---- GitHub ----

Json Repo(const std::string& full_name, bool archived = false, bool fork = false,
          bool disabled = false) {
  return {{"full_name", full_name},
          {"name", full_name.substr(full_name.find('/') + 1)},
          {"clone_url", "https://github.com/" + full_name + ".git"},
          {"html_url", "https://github.com/" + full_name},
          {"archived", archived},
          {"fork", fork},
          {"disabled", disabled}};
}

class GitHubOrgTest : public ::testing::Test {
 protected:
  GitHubOrgTest()
      : api_([this](const HttpRequest& request) { return Serve(request); }),
        http_(MakeCurlHttpClient()) {}

  HttpResponse Serve(const HttpRequest& request) {
    std::string base = api_.Url();
    if (request.headers.count("authorization") == 0 ||
        request.headers.at("authorization") != "Bearer ghp_token") {
      return JsonReply({{"message", "Bad credentials"}}, 401);
    }
    std::string path = Path(request.url);
    if (path == "/orgs/acme/repos") {
      HttpResponse response = JsonReply(Json::array({Repo("acme/api"), Repo("acme/old", true)}));
      response.headers["link"] = "<" + base +
                                 "/organizations/7/repos?per_page=100&type=all&page=2>; "
                                 "rel=\"next\", <" +
                                 base +
                                 "/organizations/7/repos?per_page=100&type=all&page=3>; "
                                 "rel=\"last\"";
      return response;
    }
    if (path == "/organizations/7/repos" && Param(request.url, "page") == "2") {
      HttpResponse response =
          JsonReply(Json::array({Repo("acme/x-fork", false, true), Repo("acme/web"),
                                 Repo("acme/dead", false, false, true)}));
      response.headers["link"] =
          "<" + base + "/organizations/7/repos?per_page=100&type=all&page=1>; rel=\"prev\", <" +
          base + "/organizations/7/repos?per_page=100&type=all&page=3>; rel=\"next\"";
      return response;
    }
    if (path == "/organizations/7/repos" && Param(request.url, "page") == "3") {
      HttpResponse response = JsonReply(Json::array({Repo("acme/tools")}));
      response.headers["link"] =
          "<" + base + "/organizations/7/repos?per_page=100&type=all&page=2>; rel=\"prev\"";
      return response;
    }
    if (path == "/orgs/limited/repos") {
      HttpResponse response = JsonReply({{"message", "API rate limit exceeded"}}, 403);
      auto reset =
          std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()) +
          seconds(120);
      response.headers["x-ratelimit-remaining"] = "0";
      response.headers["x-ratelimit-reset"] = std::to_string(reset.count());
      return response;
    }
    if (path == "/orgs/busy/repos") {
      HttpResponse response = JsonReply({{"message", "secondary rate limit"}}, 429);
      response.headers["retry-after"] = "7";
      return response;
    }
    if (path == "/orgs/sso/repos") {
      return JsonReply({{"message", "Resource protected by organization SAML enforcement"}}, 403);
    }
    if (path == "/orgs/escape/repos") {
      HttpResponse response = JsonReply(Json::array({Repo("escape/a")}));
      response.headers["link"] = "<https://elsewhere.example/repos?page=2>; rel=\"next\"";
      return response;
    }
    if (path == "/search/repositories") {
      return JsonReply({{"total_count", 2},
                        {"incomplete_results", false},
                        {"items", {Repo("acme/pay"), Repo("acme/old-pay", true)}}});
    }
    if (path == "/search/code") {
      Json item_a = {{"path", "go.mod"}, {"repository", Repo("acme/pay")}};
      Json item_b = {{"path", "sub/go.mod"}, {"repository", Repo("acme/pay")}};
      Json item_c = {{"path", "go.mod"}, {"repository", Repo("other/fork", false, true)}};
      for (Json* item : {&item_a, &item_b, &item_c}) {
        (*item)["repository"].erase("clone_url");  // Code search omits it.
        (*item)["repository"].erase("archived");
      }
      return JsonReply({{"total_count", 3}, {"items", {item_a, item_b, item_c}}});
    }
    return JsonReply({{"message", "Not Found"}}, 404);
  }

  GitHubQuery Query(const std::string& org) const {
    GitHubQuery query;
    query.api_base_url = api_.Url();
    query.token = "ghp_token";
    query.org = org;
    return query;
  }

  FakeApi api_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(GitHubOrgTest, FollowsLinkPagesAndFiltersArchivedForksAndDisabled) {
  auto found = DiscoverFromGitHub(*http_, Query("acme"));
  ASSERT_OK(found);
  auto requests = api_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Path(requests[0].url), "/orgs/acme/repos");
  EXPECT_EQ(Param(requests[0].url, "per_page"), "100");
  EXPECT_EQ(Param(requests[0].url, "type"), "all");
  EXPECT_EQ(Param(requests[1].url, "page"), "2");
  EXPECT_EQ(Param(requests[2].url, "page"), "3");
  for (const HttpRequest& request : requests) {
    EXPECT_EQ(request.headers.at("authorization"), "Bearer ghp_token");
    EXPECT_EQ(request.headers.at("accept"), "application/vnd.github+json");
    EXPECT_EQ(request.headers.count("user-agent"), 1u);
  }

  std::vector<std::string> names;
  std::vector<std::string> locations;
  for (const Target& target : found->targets) {
    names.push_back(target.name);
    locations.push_back(target.location);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"acme-api", "acme-web", "acme-tools"}));
  EXPECT_EQ(locations, (std::vector<std::string>{"https://github.com/acme/api.git",
                                                 "https://github.com/acme/web.git",
                                                 "https://github.com/acme/tools.git"}));
  ASSERT_EQ(found->skipped.size(), 3u);
  EXPECT_EQ(found->skipped[0].ref, "acme/old");
  EXPECT_EQ(found->skipped[0].reason, "archived");
  EXPECT_EQ(found->skipped[1].ref, "acme/x-fork");
  EXPECT_EQ(found->skipped[1].reason, "fork");
  EXPECT_EQ(found->skipped[2].ref, "acme/dead");
  EXPECT_EQ(found->skipped[2].reason, "disabled");
}

TEST_F(GitHubOrgTest, IncludesArchivedAndForksWhenAsked) {
  GitHubQuery query = Query("acme");
  query.include_archived = true;
  query.include_forks = true;
  auto found = DiscoverFromGitHub(*http_, query);
  ASSERT_OK(found);
  EXPECT_EQ(found->targets.size(), 5u);
  ASSERT_EQ(found->skipped.size(), 1u);
  EXPECT_EQ(found->skipped[0].reason, "disabled");
}

TEST_F(GitHubOrgTest, RateLimitCarriesTheResetDelay) {
  auto found = DiscoverFromGitHub(*http_, Query("limited"));
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().code, ErrorCode::kRateLimited);
  ASSERT_TRUE(found.error().retry_after.has_value());
  EXPECT_GT(*found.error().retry_after, milliseconds(100'000));
  EXPECT_LE(*found.error().retry_after, milliseconds(121'000));
  EXPECT_NE(found.error().message.find("API rate limit exceeded"), std::string::npos);

  auto busy = DiscoverFromGitHub(*http_, Query("busy"));
  ASSERT_FALSE(busy.has_value());
  EXPECT_EQ(busy.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(busy.error().retry_after, milliseconds(7000));
}

TEST_F(GitHubOrgTest, MapsAuthAndNotFound) {
  GitHubQuery query = Query("acme");
  query.token = "ghp_wrong";
  auto unauthorised = DiscoverFromGitHub(*http_, query);
  ASSERT_FALSE(unauthorised.has_value());
  EXPECT_EQ(unauthorised.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(unauthorised.error().message.find("Bad credentials"), std::string::npos);
  EXPECT_EQ(unauthorised.error().message.find("ghp_wrong"), std::string::npos);

  auto sso = DiscoverFromGitHub(*http_, Query("sso"));
  ASSERT_FALSE(sso.has_value());
  EXPECT_EQ(sso.error().code, ErrorCode::kPermissionDenied);

  auto missing = DiscoverFromGitHub(*http_, Query("ghost"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("\"ghost\""), std::string::npos);
}

TEST_F(GitHubOrgTest, RefusesANextLinkToAnotherHost) {
  auto found = DiscoverFromGitHub(*http_, Query("escape"));
  ASSERT_FALSE(found.has_value());
  EXPECT_EQ(found.error().code, ErrorCode::kProtocol);
  EXPECT_EQ(api_.Requests().size(), 1u);
}

TEST_F(GitHubOrgTest, RepositoryAndCodeSearch) {
  GitHubQuery query = Query("");
  query.source = GitHubSource::kRepositorySearch;
  query.search = "topic:payments language:go";
  auto repos = DiscoverFromGitHub(*http_, query);
  ASSERT_OK(repos);
  ASSERT_EQ(repos->targets.size(), 1u);
  EXPECT_EQ(repos->targets[0].location, "https://github.com/acme/pay.git");
  auto requests = api_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(Path(requests[0].url), "/search/repositories");
  EXPECT_EQ(Param(requests[0].url, "q"), "topic%3Apayments%20language%3Ago");

  query.source = GitHubSource::kCodeSearch;
  query.search = "filename:go.mod \"github.com/acme/events\"";
  auto code = DiscoverFromGitHub(*http_, query);
  ASSERT_OK(code);
  ASSERT_EQ(code->targets.size(), 1u);
  EXPECT_EQ(code->targets[0].name, "acme-pay");
  EXPECT_EQ(code->targets[0].location, "https://github.com/acme/pay.git");
  ASSERT_EQ(code->skipped.size(), 2u);
  EXPECT_EQ(code->skipped[0].reason, "same repository as acme/pay");
  EXPECT_EQ(code->skipped[1].reason, "fork");
  requests = api_.Requests();
  EXPECT_EQ(Path(requests.back().url), "/search/code");
  EXPECT_EQ(Param(requests.back().url, "q"),
            "filename%3Ago.mod%20%22github.com%2Facme%2Fevents%22");
}

// ---- Specs and repos files ----

TEST(ParseDiscoverySpecTest, ParsesEachKind) {
  auto backstage = ParseDiscoverySpec(
      "backstage:https://backstage.example.com/?filter=kind=component,spec.type=service"
      "&filter=kind%3Dapi&depends_on=resource:default/playlist-events&paging=offset");
  ASSERT_OK(backstage);
  const auto& b = std::get<BackstageQuery>(*backstage);
  EXPECT_EQ(b.base_url, "https://backstage.example.com");
  EXPECT_EQ(b.filters, (std::vector<std::string>{"kind=component,spec.type=service", "kind=api"}));
  EXPECT_EQ(b.depends_on, "resource:default/playlist-events");
  EXPECT_EQ(b.paging, BackstagePaging::kOffset);
  EXPECT_FALSE(b.token.has_value());

  auto org = ParseDiscoverySpec("github-org:acme?include_forks=true");
  ASSERT_OK(org);
  const auto& o = std::get<GitHubQuery>(*org);
  EXPECT_EQ(o.source, GitHubSource::kOrganisation);
  EXPECT_EQ(o.org, "acme");
  EXPECT_TRUE(o.include_forks);
  EXPECT_FALSE(o.include_archived);
  EXPECT_EQ(o.api_base_url, "https://api.github.com");

  auto search = ParseDiscoverySpec("github-search:topic:payments org:acme");
  ASSERT_OK(search);
  EXPECT_EQ(std::get<GitHubQuery>(*search).source, GitHubSource::kRepositorySearch);
  EXPECT_EQ(std::get<GitHubQuery>(*search).search, "topic:payments org:acme");

  auto code = ParseDiscoverySpec("github-code:filename:go.mod acme/events?x=1");
  ASSERT_OK(code);
  EXPECT_EQ(std::get<GitHubQuery>(*code).source, GitHubSource::kCodeSearch);
  EXPECT_EQ(std::get<GitHubQuery>(*code).search, "filename:go.mod acme/events?x=1");
}

TEST(ParseDiscoverySpecTest, ErrorsNameWhatIsWrong) {
  struct Case {
    const char* spec;
    const char* expected;
  };
  const Case cases[] = {
      {"gitlab:acme", "unknown kind \"gitlab\""},
      {"acme", "unknown kind \"acme\""},
      {"github-org:", "empty organisation name"},
      {"github-org:acme/web", "not a plain name"},
      {"github-org:acme?include_forks=maybe", "include_forks must be true or false"},
      {"github-org:acme?forks=true", "unknown parameter \"forks\""},
      {"github-search:  ", "empty query"},
      {"backstage:backstage.example.com", "expected backstage:https://HOST"},
      {"backstage:https://b.example?filtre=kind=x", "unknown parameter \"filtre\""},
      {"backstage:https://b.example?filter=kind%3", "bad percent escape in parameter \"filter\""},
      {"backstage:https://b.example?depends_on=x", "is not an entity ref"},
      {"backstage:https://b.example?depends_on=a:b&depends_on=a:c", "\"depends_on\" is repeated"},
      {"backstage:https://b.example?paging=pages", "paging must be cursor or offset"},
      {"backstage:https://b.example?filter", "parameter \"filter\" has no value"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseDiscoverySpec(c.spec);
    ASSERT_FALSE(parsed.has_value()) << c.spec;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << c.spec;
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos)
        << c.spec << " -> " << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.spec), std::string::npos) << c.spec;
  }
}

TEST(DiscoveryReposFileTest, RoundTripsThroughLoadTargets) {
  Discovery discovery;
  discovery.targets = {
      Target{.location = "https://github.com/acme/playlist", .name = "playlist"},
      Target{.location = "https://github.com/acme/search.git", .name = "search"},
      Target{.location = "https://github.com/acme/ledger", .name = "payments-ledger"},
  };
  discovery.skipped = {{"component:default/orphan", "no annotation\nat all"}};
  auto when = std::chrono::system_clock::time_point(seconds(1714979289));  // 2024-05-06T07:08:09Z
  std::string text =
      FormatReposFile(discovery, "backstage:https://b.example?filter=kind=component\nx", when);
  EXPECT_TRUE(
      text.starts_with("# Discovered by drover from "
                       "backstage:https://b.example?filter=kind=component x\n"
                       "# at 2024-05-06T07:08:09Z: 3 repositories, 1 skipped.\n"))
      << text;
  EXPECT_NE(text.find("https://github.com/acme/ledger  # payments-ledger\n"), std::string::npos);
  EXPECT_NE(text.find("#   component:default/orphan: no annotation at all\n"), std::string::npos);

  testing::TempDir dir;
  testing::WriteTestFile(dir.path(), "repos.txt", text);
  auto loaded = LoadTargets(dir / "repos.txt");
  ASSERT_OK(loaded);
  ASSERT_EQ(loaded->size(), 3u);
  for (size_t i = 0; i < loaded->size(); ++i) {
    EXPECT_EQ((*loaded)[i].location, discovery.targets[i].location);
    EXPECT_FALSE((*loaded)[i].is_local);
  }
  EXPECT_EQ((*loaded)[2].name, "ledger");
}

TEST(DiscoveryReposFileTest, DiscoveredOrganisationLoadsBack) {
  Discovery empty;
  std::string text = FormatReposFile(empty, "github-org:acme", std::chrono::system_clock::now());
  testing::TempDir dir;
  testing::WriteTestFile(dir.path(), "repos.txt", text);
  auto loaded = LoadTargets(dir / "repos.txt");
  ASSERT_OK(loaded);
  EXPECT_TRUE(loaded->empty());
}

}  // namespace
}  // namespace drover::fleet
