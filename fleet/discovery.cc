#include "fleet/discovery.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "core/http_status.h"
#include "core/json.h"
#include "core/strings.h"

namespace drover::fleet {
namespace {

constexpr std::string_view kDefaultNamespace = "default";
constexpr size_t kMaxPages = 10000;  // Guards against a server that never stops paging.

// Percent-encodes everything but RFC 3986 unreserved characters, for query values and path
// segments alike.
std::string Encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::string StringAt(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool BoolAt(const Json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// "https://host:port" of an http(s) URL, lower-cased; empty when `url` is not one.
std::string Origin(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string scheme = Lower(url.substr(0, scheme_end));
  if (scheme != "https" && scheme != "http") return "";
  size_t host_end = url.find_first_of("/?#", scheme_end + 3);
  std::string_view host = url.substr(scheme_end + 3, host_end - (scheme_end + 3));
  if (host.empty() || host.find_first_of(" \t@") != std::string_view::npos) return "";
  return scheme + "://" + Lower(host);
}

Result<std::string> BaseUrl(std::string_view url, std::string_view what) {
  std::string base(url);
  while (base.ends_with('/')) base.pop_back();
  if (Origin(base).empty() || base.find_first_of("?# \t") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(what) + " \"" + std::string(url) +
                    "\" is not an http(s) URL without query (https://host[/prefix])");
  }
  return base;
}

// Dedupe key: scheme and host lower-cased, no trailing '/' or ".git".
std::string LocationKey(std::string_view location) {
  std::string origin = Origin(location);
  std::string_view rest = location;
  if (!origin.empty()) rest.remove_prefix(origin.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.ends_with(".git")) rest.remove_suffix(4);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  return origin + std::string(rest);
}

// Collects targets in order, unique by location and by name.
class TargetList {
 public:
  // `display` becomes the target's name once made safe as a directory name.
  void Add(const std::string& ref, std::string_view display, std::string location) {
    std::string key = LocationKey(location);
    if (auto it = ref_of_location_.find(key); it != ref_of_location_.end()) {
      discovery_.skipped.push_back({ref, "same repository as " + it->second});
      return;
    }
    ref_of_location_.emplace(key, ref);
    std::string name;
    for (char c : display) {
      auto u = static_cast<unsigned char>(c);
      name += std::isalnum(u) || c == '.' || c == '_' || c == '-' ? c : '-';
    }
    Target target;
    target.location = std::move(location);
    target.name = name;
    for (int suffix = 2; names_.contains(target.name); ++suffix) {
      target.name = name + "-" + std::to_string(suffix);
    }
    names_.insert(target.name);
    discovery_.targets.push_back(std::move(target));
  }
  void Skip(std::string ref, std::string reason) {
    discovery_.skipped.push_back({std::move(ref), std::move(reason)});
  }
  Discovery Take() { return std::move(discovery_); }

 private:
  Discovery discovery_;
  std::map<std::string, std::string> ref_of_location_;
  std::set<std::string> names_;
};

// Maps a non-2xx reply to an error (ErrorFromHttpStatus, IsRateLimitAnswer: a 403 is a rate
// limit when the quota is used up or the server asks for a delay, GitHub's primary and
// secondary limits), with the catalog's own hints. `token_hint`, when given,
// is said on a 400 as on a 401: a catalog answers a malformed Authorization header with 400.
Error HttpError(const HttpResponse& response, const std::string& what, const Json& body,
                std::string not_found, const std::string& token_hint) {
  std::string message = StringAt(body, "message");
  if (message.empty()) message = StringAt(body, "error");
  if (message.empty() && body.contains("error")) {
    message = StringAt(body["error"], "message");
  }
  std::string detail =
      what + ": HTTP " + std::to_string(response.status) + (message.empty() ? "" : ": " + message);
  RateLimitInfo limits = ParseRateLimitHeaders(response.headers);
  std::optional<std::chrono::milliseconds> retry_after = limits.retry_after;
  if (!retry_after && limits.Exhausted() && limits.reset) {
    retry_after = std::max(std::chrono::milliseconds(0),
                           std::chrono::duration_cast<std::chrono::milliseconds>(
                               *limits.reset - std::chrono::system_clock::now()));
  }
  ErrorCode code = ErrorFromHttpStatus(response.status, what, message).code;
  if (IsRateLimitAnswer(response.status, limits, message)) {
    code = ErrorCode::kRateLimited;
  } else if (response.status == 401 || (response.status == 400 && !token_hint.empty())) {
    detail += token_hint.empty() ? " (check the token)" : " (" + token_hint + ")";
  } else if (response.status == 404) {
    detail = not_found + " (" + detail + ")";
  }
  return Error{code, detail, retry_after};
}

// Sends a GET and returns the 2xx reply's JSON body with the response headers.
Result<std::pair<Json, HttpHeaders>> GetJson(HttpClient& http, HttpRequest request,
                                             const std::string& what,
                                             const std::string& not_found,
                                             const std::string& token_hint = "") {
  auto response = http.Send(request);
  if (!response) return Fail(WithContext(response.error(), what));
  auto body = ParseJson(response->body, what + " reply");
  if (response->status < 200 || response->status >= 300) {
    return Fail(HttpError(*response, what, body ? *body : Json(), not_found, token_hint));
  }
  if (!body) return Fail(body.error());
  return std::pair{std::move(*body), std::move(response->headers)};
}

// ---- Backstage ----

struct EntityRef {
  std::string kind;  // Empty: any kind.
  std::string ns;
  std::string name;
  bool Matches(const EntityRef& other) const {
    return (kind.empty() || other.kind.empty() || kind == other.kind) && ns == other.ns &&
           name == other.name;
  }
};

// "[kind:][namespace/]name", lower-cased.
EntityRef ParseRef(std::string_view text, std::string_view default_ns) {
  EntityRef ref;
  std::string lower = Lower(text);
  std::string_view rest = lower;
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    ref.kind = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    ref.ns = rest.substr(0, slash);
    rest.remove_prefix(slash + 1);
  } else {
    ref.ns = Lower(default_ns);
  }
  ref.name = rest;
  return ref;
}

bool DependsOn(const Json& entity, const EntityRef& wanted, std::string_view entity_ns) {
  if (auto spec = entity.find("spec"); spec != entity.end() && spec->is_object()) {
    if (auto deps = spec->find("dependsOn"); deps != spec->end() && deps->is_array()) {
      for (const Json& dep : *deps) {
        if (dep.is_string() && ParseRef(dep.get<std::string>(), entity_ns).Matches(wanted)) {
          return true;
        }
      }
    }
  }
  if (auto relations = entity.find("relations");
      relations != entity.end() && relations->is_array()) {
    for (const Json& relation : *relations) {
      if (StringAt(relation, "type") == "dependsOn" &&
          ParseRef(StringAt(relation, "targetRef"), kDefaultNamespace).Matches(wanted)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::pair<std::string, std::string> CloneUrlFromSourceLocation(std::string_view value) {
  if (!value.starts_with("url:")) {
    return {"",
            "backstage.io/source-location \"" + std::string(value) + "\" is not a url: location"};
  }
  std::string_view url = value.substr(4);
  url = url.substr(0, url.find_first_of("?#"));
  std::string origin = Origin(url);
  if (origin.empty() || url.find_first_of(" \t") != std::string_view::npos) {
    return {"",
            "backstage.io/source-location \"" + std::string(value) + "\" is not an http(s) URL"};
  }
  std::vector<std::string_view> segments;
  for (std::string_view rest = url.substr(origin.size()); !rest.empty();) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (!segment.empty()) segments.push_back(segment);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  std::string_view host = std::string_view(origin).substr(origin.find("://") + 3);
  std::string prefix = std::string(url.substr(0, origin.size()));
  // Bitbucket Server and Data Center browse at [/CONTEXT]/projects/KEY/repos/NAME/browse/...,
  // and clone at [/CONTEXT]/scm/key/NAME.git (the project key lower-cased, as the clone URL
  // the server shows); a personal repository at /users/USER/repos/NAME clones at
  // /scm/~user/NAME.git.
  for (size_t i = 0; i + 3 < segments.size(); ++i) {
    bool project = segments[i] == "projects";
    if ((project || segments[i] == "users") && segments[i + 2] == "repos") {
      std::string location = prefix;
      for (size_t j = 0; j < i; ++j) location += "/" + std::string(segments[j]);
      std::string name(segments[i + 3]);
      if (name.ends_with(".git")) name.resize(name.size() - 4);
      return {location + "/scm/" + (project ? "" : "~") + Lower(segments[i + 1]) + "/" + name +
                  ".git",
              ""};
    }
  }
  // Where the repository's path ends: GitLab's "/-/" (groups nest, so at any depth); past
  // owner/name, GitHub's tree|blob, Bitbucket Cloud's src/REF, Gitea's src/branch|commit|tag.
  size_t keep = segments.size();
  for (size_t i = 0; i < segments.size(); ++i) {
    bool gitea_src =
        segments[i] == "src" && i + 1 < segments.size() &&
        (segments[i + 1] == "branch" || segments[i + 1] == "commit" || segments[i + 1] == "tag");
    bool bitbucket_src = segments[i] == "src" && Lower(host) == "bitbucket.org";
    if (segments[i] == "-" || (i >= 2 && (segments[i] == "tree" || segments[i] == "blob" ||
                                          gitea_src || bitbucket_src))) {
      keep = i;
      break;
    }
  }
  if (keep == 0) {
    return {"", "backstage.io/source-location \"" + std::string(value) + "\" names no repository"};
  }
  std::string location = prefix;
  for (size_t i = 0; i < keep; ++i) location += "/" + std::string(segments[i]);
  // Bitbucket Cloud serves git only at WORKSPACE/NAME.git: its page URL does not clone.
  if (Lower(host) == "bitbucket.org" && keep >= 2 && !location.ends_with(".git")) {
    location = prefix + "/" + std::string(segments[0]) + "/" + std::string(segments[1]) + ".git";
  }
  return {location, ""};
}

namespace {

void AddEntity(const Json& entity, const std::optional<EntityRef>& wanted, TargetList& list) {
  const Json& metadata = entity.contains("metadata") ? entity["metadata"] : Json();
  std::string name = StringAt(metadata, "name");
  std::string ns = StringAt(metadata, "namespace");
  if (ns.empty()) ns = kDefaultNamespace;
  std::string kind = Lower(StringAt(entity, "kind"));
  std::string ref = kind + ":" + ns + "/" + name;
  if (name.empty()) {
    list.Skip(ref, "entity has no metadata.name");
    return;
  }
  if (wanted && !DependsOn(entity, *wanted, ns)) return;

  const Json& annotations =
      metadata.is_object() && metadata.contains("annotations") ? metadata["annotations"] : Json();
  std::string reason;
  std::string location;
  if (std::string source = StringAt(annotations, "backstage.io/source-location"); !source.empty()) {
    std::tie(location, reason) = CloneUrlFromSourceLocation(source);
  }
  if (location.empty()) {
    std::string slug = StringAt(annotations, "github.com/project-slug");
    size_t slash = slug.find('/');
    bool valid = slash != std::string::npos && slash > 0 && slash + 1 < slug.size() &&
                 slug.find('/', slash + 1) == std::string::npos &&
                 std::all_of(slug.begin(), slug.end(), [](char c) {
                   auto u = static_cast<unsigned char>(c);
                   return std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '/';
                 });
    if (valid) {
      location = "https://github.com/" + slug + ".git";
    } else if (!slug.empty()) {
      reason = "github.com/project-slug \"" + slug + "\" is not \"org/repo\"";
    }
  }
  if (location.empty()) {
    list.Skip(ref, reason.empty() ? "no backstage.io/source-location or "
                                    "github.com/project-slug annotation"
                                  : reason);
    return;
  }
  list.Add(ref, ns == kDefaultNamespace ? name : ns + "/" + name, std::move(location));
}

// ---- GitHub ----

// The rel="next" URL of a Link header, or empty.
std::string NextLink(const HttpHeaders& headers) {
  auto it = headers.find("link");
  if (it == headers.end()) return "";
  std::string_view rest = it->second;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    size_t open = part.find('<');
    size_t close = part.find('>');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
      continue;
    }
    std::string params = Lower(part.substr(close + 1));
    params.erase(std::remove(params.begin(), params.end(), ' '), params.end());
    if (params.find(";rel=\"next\"") != std::string::npos ||
        params.find(";rel=next") != std::string::npos) {
      return std::string(part.substr(open + 1, close - open - 1));
    }
  }
  return "";
}

// Percent-decodes `s`; nullopt on a malformed escape.
std::optional<std::string> Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int high = hex(s[i + 1]);
    int low = hex(s[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

Result<bool> ParseBool(std::string_view spec, std::string_view key, std::string_view value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return Fail(ErrorCode::kInvalidArgument,
              "discovery source \"" + std::string(spec) + "\": " + std::string(key) +
                  " must be true or false, got \"" + std::string(value) + "\"");
}

}  // namespace

Result<Discovery> DiscoverFromBackstage(HttpClient& http, const BackstageQuery& query) {
  auto base = BaseUrl(query.base_url, "Backstage base URL");
  if (!base) return Fail(base.error());
  if (query.page_size <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "Backstage page size must be positive");
  }
  std::optional<EntityRef> wanted;
  if (!query.depends_on.empty()) {
    EntityRef ref = ParseRef(query.depends_on, kDefaultNamespace);
    if (ref.kind.empty() || ref.name.empty()) {
      return Fail(
          ErrorCode::kInvalidArgument,
          "depends_on \"" + query.depends_on + "\" is not an entity ref (kind:[namespace/]name)");
    }
    wanted = ref;
  }
  std::string filters;
  for (const std::string& filter : query.filters) filters += "&filter=" + Encode(filter);
  std::string limit = "limit=" + std::to_string(query.page_size);

  HttpRequest request;
  request.timeout = query.timeout;
  request.headers["accept"] = "application/json";
  if (query.token) request.headers["authorization"] = "Bearer " + *query.token;

  TargetList list;
  std::string cursor;
  for (size_t page = 0;; ++page) {
    if (page == kMaxPages) {
      return Fail(ErrorCode::kProtocol,
                  "Backstage catalog: more than " + std::to_string(kMaxPages) + " pages");
    }
    switch (query.paging) {
      case BackstagePaging::kCursor:
        request.url = *base + "/api/catalog/entities/by-query?" + limit +
                      (cursor.empty() ? filters : "&cursor=" + Encode(cursor));
        break;
      case BackstagePaging::kOffset:
        request.url = *base + "/api/catalog/entities?" + limit +
                      "&offset=" + std::to_string(page * static_cast<size_t>(query.page_size)) +
                      filters;
        break;
    }
    auto reply = GetJson(http, request, "Backstage catalog " + *base,
                         "Backstage catalog API not found at " + *base,
                         query.token ? "check the token in BACKSTAGE_TOKEN: the catalog refused "
                                       "the request that carried it"
                                     : "");
    if (!reply) return Fail(reply.error());
    const Json& body = reply->first;
    const Json* items = &body;
    if (query.paging == BackstagePaging::kCursor) {
      items = body.is_object() && body.contains("items") ? &body["items"] : nullptr;
    }
    if (items == nullptr || !items->is_array()) {
      return Fail(ErrorCode::kProtocol,
                  "Backstage catalog " + *base + ": expected " +
                      (query.paging == BackstagePaging::kCursor ? "an object with an items array"
                                                                : "an array of entities"));
    }
    for (const Json& entity : *items) {
      if (!entity.is_object()) {
        return Fail(ErrorCode::kProtocol,
                    "Backstage catalog " + *base + ": an entity is not a JSON object");
      }
      AddEntity(entity, wanted, list);
    }
    if (query.paging == BackstagePaging::kCursor) {
      std::string next = body.contains("pageInfo") ? StringAt(body["pageInfo"], "nextCursor") : "";
      if (next.empty() || next == cursor) break;
      cursor = next;
    } else if (items->size() != static_cast<size_t>(query.page_size)) {
      break;  // Shorter: the last page. Longer: the catalog ignored limit and sent everything.
    }
  }
  return list.Take();
}

Result<Discovery> DiscoverFromGitHub(HttpClient& http, const GitHubQuery& query) {
  auto base = BaseUrl(query.api_base_url, "GitHub API URL");
  if (!base) return Fail(base.error());
  std::string url;
  std::string what;
  std::string not_found;
  switch (query.source) {
    case GitHubSource::kOrganisation:
      if (query.org.empty()) {
        return Fail(ErrorCode::kInvalidArgument, "GitHub organisation name is empty");
      }
      url = *base + "/orgs/" + Encode(query.org) + "/repos?per_page=100&type=all";
      what = "GitHub organisation \"" + query.org + "\"";
      not_found =
          "GitHub organisation \"" + query.org + "\" not found (or not visible to this token)";
      break;
    case GitHubSource::kRepositorySearch:
    case GitHubSource::kCodeSearch: {
      if (query.search.empty()) {
        return Fail(ErrorCode::kInvalidArgument, "GitHub search query is empty");
      }
      bool code = query.source == GitHubSource::kCodeSearch;
      url = *base + (code ? "/search/code" : "/search/repositories") +
            "?q=" + Encode(query.search) + "&per_page=100";
      what = std::string("GitHub ") + (code ? "code" : "repository") + " search \"" + query.search +
             "\"";
      not_found = what + ": search API not found at " + *base;
      break;
    }
  }
  const std::string origin = Origin(*base);

  HttpRequest request;
  request.timeout = query.timeout;
  request.headers["accept"] = "application/vnd.github+json";
  request.headers["x-github-api-version"] = "2022-11-28";
  request.headers["user-agent"] = "drover";
  if (query.token) request.headers["authorization"] = "Bearer " + *query.token;

  TargetList list;
  std::set<std::string> visited;
  while (!url.empty()) {
    if (!visited.insert(url).second || visited.size() > kMaxPages) {
      return Fail(ErrorCode::kProtocol, what + ": pagination does not end");
    }
    request.url = url;
    auto reply = GetJson(http, request, what, not_found);
    if (!reply) return Fail(reply.error());
    const Json& body = reply->first;
    const Json* items = &body;
    if (query.source != GitHubSource::kOrganisation) {
      items = body.is_object() && body.contains("items") ? &body["items"] : nullptr;
    }
    if (items == nullptr || !items->is_array()) {
      return Fail(ErrorCode::kProtocol, what + ": unexpected reply shape");
    }
    for (const Json& item : *items) {
      const Json& repo = query.source == GitHubSource::kCodeSearch && item.is_object() &&
                                 item.contains("repository")
                             ? item["repository"]
                             : item;
      std::string full_name = StringAt(repo, "full_name");
      if (full_name.empty()) {
        return Fail(ErrorCode::kProtocol, what + ": a repository without full_name");
      }
      if (BoolAt(repo, "disabled")) {
        list.Skip(full_name, "disabled");
      } else if (BoolAt(repo, "archived") && !query.include_archived) {
        list.Skip(full_name, "archived");
      } else if (BoolAt(repo, "fork") && !query.include_forks) {
        list.Skip(full_name, "fork");
      } else {
        std::string location = StringAt(repo, "clone_url");
        if (location.empty() && !StringAt(repo, "html_url").empty()) {
          location = StringAt(repo, "html_url") + ".git";
        }
        if (Origin(location).empty() || location.find_first_of(" \t") != std::string::npos) {
          list.Skip(full_name, "no https clone URL");
        } else {
          list.Add(full_name, full_name, std::move(location));
        }
      }
    }
    url = NextLink(reply->second);
    if (!url.empty() && Origin(url) != origin) {
      return Fail(ErrorCode::kProtocol, what + ": next page link leaves " + origin + ": " + url);
    }
  }
  return list.Take();
}

Result<DiscoverySpec> ParseDiscoverySpec(std::string_view text) {
  auto fail = [&](const std::string& what) {
    return Fail(ErrorCode::kInvalidArgument,
                "discovery source \"" + std::string(text) + "\": " + what);
  };
  size_t colon = text.find(':');
  std::string_view kind = text.substr(0, colon);
  std::string_view rest = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (colon == std::string_view::npos || (kind != "backstage" && kind != "github-org" &&
                                          kind != "github-search" && kind != "github-code")) {
    return fail("unknown kind \"" + std::string(kind) +
                "\" (use backstage:URL, github-org:ORG, github-search:QUERY or "
                "github-code:QUERY)");
  }
  if (kind == "github-search" || kind == "github-code") {
    if (rest.find_first_not_of(" \t") == std::string_view::npos) return fail("empty query");
    GitHubQuery query;
    query.source =
        kind == "github-code" ? GitHubSource::kCodeSearch : GitHubSource::kRepositorySearch;
    query.search = rest;
    return query;
  }

  size_t question = rest.find('?');
  std::string_view head = rest.substr(0, question);
  std::vector<std::pair<std::string, std::string>> params;
  std::set<std::string> seen;
  if (question != std::string_view::npos) {
    std::string_view query_text = rest.substr(question + 1);
    while (!query_text.empty()) {
      size_t amp = query_text.find('&');
      std::string_view param = query_text.substr(0, amp);
      query_text.remove_prefix(amp == std::string_view::npos ? query_text.size() : amp + 1);
      if (param.empty()) continue;
      size_t eq = param.find('=');
      std::string key(param.substr(0, eq));
      if (eq == std::string_view::npos) return fail("parameter \"" + key + "\" has no value");
      auto value = Decode(param.substr(eq + 1));
      if (!value) return fail("bad percent escape in parameter \"" + key + "\"");
      if (key != "filter" && !seen.insert(key).second) {
        return fail("parameter \"" + key + "\" is repeated");
      }
      params.emplace_back(std::move(key), std::move(*value));
    }
  }

  if (kind == "github-org") {
    if (head.empty()) return fail("empty organisation name");
    if (head.find_first_of("/ \t") != std::string_view::npos) {
      return fail("organisation name \"" + std::string(head) + "\" is not a plain name");
    }
    GitHubQuery query;
    query.org = head;
    for (const auto& [key, value] : params) {
      if (key != "include_archived" && key != "include_forks") {
        return fail("unknown parameter \"" + key +
                    "\" for github-org (known: include_archived, include_forks)");
      }
      auto flag = ParseBool(text, key, value);
      if (!flag) return Fail(flag.error());
      (key == "include_archived" ? query.include_archived : query.include_forks) = *flag;
    }
    return query;
  }

  BackstageQuery query;
  if (Origin(head).empty()) {
    return fail("expected backstage:https://HOST[/PREFIX][?filter=...], got \"" +
                std::string(head) + "\"");
  }
  query.base_url = head;
  while (query.base_url.ends_with('/')) query.base_url.pop_back();
  for (auto& [key, value] : params) {
    if (key == "filter") {
      if (value.empty()) return fail("empty filter");
      query.filters.push_back(std::move(value));
    } else if (key == "depends_on") {
      if (value.find(':') == std::string::npos) {
        return fail("depends_on \"" + value + "\" is not an entity ref (kind:[namespace/]name)");
      }
      query.depends_on = std::move(value);
    } else if (key == "paging") {
      if (value == "cursor") {
        query.paging = BackstagePaging::kCursor;
      } else if (value == "offset") {
        query.paging = BackstagePaging::kOffset;
      } else {
        return fail("paging must be cursor or offset, got \"" + value + "\"");
      }
    } else {
      return fail("unknown parameter \"" + key +
                  "\" for backstage (known: filter, depends_on, paging)");
    }
  }
  return query;
}

std::string FormatReposFile(const Discovery& discovery, std::string_view source,
                            std::chrono::system_clock::time_point when) {
  auto one_line = [](std::string_view s) {
    std::string out(s);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return out;
  };
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

  std::string out = "# Discovered by drover from " + one_line(source) + "\n# at " + stamp + ": " +
                    std::to_string(discovery.targets.size()) + " repositories, " +
                    std::to_string(discovery.skipped.size()) + " skipped.\n";
  for (const Target& target : discovery.targets) {
    out += target.location + "  # " + target.name + "\n";
  }
  if (!discovery.skipped.empty()) out += "#\n# Skipped:\n";
  for (const SkippedTarget& skipped : discovery.skipped) {
    out += "#   " + one_line(skipped.ref) + ": " + one_line(skipped.reason) + "\n";
  }
  return out;
}

}  // namespace drover::fleet
