#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <type_traits>
#include <variant>

#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/http.h"
#include "core/redact.h"
#include "fleet/discovery.h"

namespace drover::cli {
namespace {

// `drover discover SOURCE`: the targets a catalog or a forge knows of, as a repos file on
// stdout; what was left out (and why) goes to stderr.
int DiscoverCommand(const std::string& source, const std::map<std::string, std::string>& env) {
  auto spec = fleet::ParseDiscoverySpec(source);
  if (!spec) {
    std::fprintf(stderr, "drover discover: %s\n", spec.error().message.c_str());
    return ToInt(ExitCode::kUsage);
  }
  auto token = [&](const char* name) -> std::optional<std::string> {
    std::string value = ReadCredential(env, name);
    if (value.empty()) return std::nullopt;
    return value;
  };
  auto http = MakeCurlHttpClient();
  Result<fleet::Discovery> found = std::visit(
      [&](auto& query) -> Result<fleet::Discovery> {
        using Query = std::decay_t<decltype(query)>;
        if constexpr (std::is_same_v<Query, fleet::BackstageQuery>) {
          query.token = token("BACKSTAGE_TOKEN");
          return fleet::DiscoverFromBackstage(*http, query);
        } else {
          query.token = token("GITHUB_TOKEN");
          return fleet::DiscoverFromGitHub(*http, query);
        }
      },
      *spec);
  if (!found) {
    std::fprintf(stderr, "drover discover: %s\n", found.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  std::cout << fleet::FormatReposFile(*found, source, std::chrono::system_clock::now());
  std::fprintf(stderr, "drover discover: %zu repositories, %zu left out\n", found->targets.size(),
               found->skipped.size());
  for (const auto& skipped : found->skipped) {
    std::fprintf(stderr, "  left out %s: %s\n", skipped.ref.c_str(), skipped.reason.c_str());
  }
  return ToInt(ExitCode::kOk);
}

}  // namespace

CommandRun AddDiscoverCommand(CLI::App& cmd, Invocation&) {
  auto source = std::make_shared<std::string>();
  cmd.add_option("source", *source,
                 "backstage:https://HOST?filter=...&depends_on=..., github-org:ORG, "
                 "github-search:QUERY or github-code:QUERY (tokens: BACKSTAGE_TOKEN, "
                 "GITHUB_TOKEN)")
      ->required();
  return [source](const Invocation& parsed) {
    (void)SetUpLogging(parsed.log_level, std::nullopt);
    return DiscoverCommand(*source, parsed.env);
  };
}

}  // namespace drover::cli
