// Target discovery: lists the repositories a migration should run over from a Backstage
// software catalog or from GitHub, and renders them as a repos file (see targets.h).
// Thread-safe: free functions over value types; each call uses the given HttpClient only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"
#include "core/http.h"
#include "spec/targets.h"

namespace drover::fleet {

// An entity or repository that matched the query but is not a target, and why.
struct SkippedTarget {
  std::string ref;     // "component:payments/playlist" (Backstage) or "org/repo" (GitHub).
  std::string reason;  // "no backstage.io/source-location or github.com/project-slug annotation"
};

struct Discovery {
  // Unique by location (compared without a trailing "/" or ".git" and with the scheme and
  // host lower-cased), in the order the source listed them. `name` is the source's name made
  // safe as a directory name ('/' and other characters outside [A-Za-z0-9._-] become '-'),
  // unique with "-2", "-3", ...; `is_local` is false and `line` is 0.
  std::vector<Target> targets;
  std::vector<SkippedTarget> skipped;
};

// How DiscoverFromBackstage pages through the catalog.
enum class BackstagePaging {
  // GET /api/catalog/entities/by-query?filter=..&limit=N, then ?cursor=..&limit=N while the
  // reply's pageInfo.nextCursor is set. Stable under concurrent catalog changes (Backstage
  // 1.13 and later).
  kCursor,
  // GET /api/catalog/entities?filter=..&offset=K&limit=N until a page is shorter than N.
  // For older catalogs; a catalog that ignores offset/limit and returns everything at once
  // (more than N entities) is read as that single page.
  kOffset,
};

struct BackstageQuery {
  // "https://backstage.example.com" (a path prefix is kept; a trailing '/' is ignored).
  std::string base_url;
  // Sent as "authorization: Bearer <token>" when set. Never logged nor put in error messages.
  std::optional<std::string> token;
  // Backstage filter expressions, one `filter` parameter each: within one expression the
  // comma-separated conditions must all hold ("kind=component,spec.type=service"); the
  // catalog returns entities matching any of the expressions. Empty: the whole catalog.
  std::vector<std::string> filters;
  // Keeps only entities that depend on this entity ref ("resource:default/playlist-events"),
  // checked here rather than by the catalog: an entity matches when its spec.dependsOn lists
  // the ref (a ref there without a namespace takes the entity's own namespace; one without a
  // kind matches any kind) or when its relations hold {type: dependsOn, targetRef: ref}.
  // Comparison ignores case, as Backstage does. Empty: no relation filter.
  std::string depends_on;
  BackstagePaging paging = BackstagePaging::kCursor;
  int page_size = 500;  // Entities per request; must be positive.
  // Per-request deadline. Default 60 s.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// Lists entities matching `query` and turns each into a target. The clone URL comes from the
// annotation backstage.io/source-location ("url:https://github.com/org/repo/tree/main/sub"
// becomes "https://github.com/org/repo": see CloneUrlFromSourceLocation),
// else from github.com/project-slug ("org/repo" becomes "https://github.com/org/repo.git").
// The name is metadata.name, prefixed by "<namespace>-" outside the default namespace
// ("payments-ledger"); `skipped` refs are "kind:namespace/name".
// Entities without a usable location, or repeating an earlier one's, go to `skipped`.
// Errors: kInvalidArgument (base_url, page_size), kPermissionDenied (401/403), kNotFound
// (404), kRateLimited (429, with the server's retry-after), kUnavailable (5xx, transport),
// kTimeout, kParse or kProtocol (an unexpected reply).
Result<Discovery> DiscoverFromBackstage(HttpClient& http, const BackstageQuery& query);

// The clone URL a backstage.io/source-location value names, or ("", why there is none). Knows
// the browse URLs of GitHub (/tree/, /blob/), GitLab (/-/tree/, /-/blob/, any group depth),
// Bitbucket Cloud (bitbucket.org/OWNER/REPO/src/REF/...), Bitbucket Server
// (/projects/KEY/repos/NAME/browse becomes /scm/KEY/NAME.git) and Gitea (/src/branch/...).
std::pair<std::string, std::string> CloneUrlFromSourceLocation(std::string_view value);

enum class GitHubSource {
  kOrganisation,      // GET /orgs/{org}/repos?per_page=100&type=all
  kRepositorySearch,  // GET /search/repositories?q=..&per_page=100
  // GET /search/code?q=..&per_page=100: the repositories holding matching files. Code search
  // results do not say whether a repository is archived, so include_archived has no effect.
  kCodeSearch,
};

struct GitHubQuery {
  // REST API root; "https://HOST/api/v3" for GitHub Enterprise Server.
  std::string api_base_url = "https://api.github.com";
  // Sent as "authorization: Bearer <token>" when set. Never logged nor put in error messages.
  std::optional<std::string> token;
  GitHubSource source = GitHubSource::kOrganisation;
  std::string org;     // For kOrganisation.
  std::string search;  // The `q` text for the searches ("topic:payments language:go").
  bool include_archived = false;
  bool include_forks = false;
  // Per-request deadline. Default 60 s.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// Lists repositories, following Link rel="next" pages (only on api_base_url's own scheme and
// host, so the token never leaves it). location = clone_url (for code search, the
// repository's html_url + ".git"), name = full_name. Disabled repositories, and archived ones
// and forks unless included, go to `skipped`. The search API serves at most 1000 results.
// Errors: kInvalidArgument (empty org or search, bad api_base_url), kPermissionDenied (401,
// 403 without a rate limit), kNotFound (404, naming the organisation), kRateLimited (429, or
// 403 with x-ratelimit-remaining: 0 or retry-after; retry_after from retry-after, else from
// x-ratelimit-reset), kUnavailable, kTimeout, kParse or kProtocol.
Result<Discovery> DiscoverFromGitHub(HttpClient& http, const GitHubQuery& query);

// A discovery source written as one string (a command-line argument); tokens are never part
// of it and are filled in by the caller.
//   backstage:https://HOST[/PREFIX][?filter=EXPR][&filter=EXPR...][&depends_on=REF]
//             [&paging=cursor|offset]
//       Parameter values are percent-decoded ('+' stays '+'); EXPR may hold '=' and ','
//       as is, but '&' must be written %26.
//   github-org:ORG[?include_archived=true][&include_forks=true]
//   github-search:QUERY   repository search; QUERY is taken verbatim (spaces allowed)
//   github-code:QUERY     code search; QUERY is taken verbatim
using DiscoverySpec = std::variant<BackstageQuery, GitHubQuery>;

// Errors: kInvalidArgument naming the spec and what is wrong (unknown kind, missing host,
// empty org or query, unknown or repeated parameter, bad percent escape, bad boolean).
Result<DiscoverySpec> ParseDiscoverySpec(std::string_view text);

// Renders `discovery` as a repos file LoadTargets reads back: a '#' header naming `source`
// and `when` (UTC, ISO 8601), one location a line followed by "  # <name>", then the
// skipped entries as comments. `source` is written on one line (newlines become spaces).
std::string FormatReposFile(const Discovery& discovery, std::string_view source,
                            std::chrono::system_clock::time_point when);

}  // namespace drover::fleet
