// The repo map: definitions and referenced names of every file in a workspace (tree-sitter for
// the languages it knows, words for other text files), ranked by relevance to a migration's
// terms and rendered to a token budget for the agent's first prompt; also the index behind
// the find_symbol and references tools. Parse results may be cached by content hash in a
// folder shared by attempts and jobs. A built RepoMap is immutable: const calls are
// thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/tree_sitter_langs.h"
#include "agent/workspace.h"
#include "core/error.h"

namespace drover::agent {

struct RepoFile {
  std::string path;                    // Relative to the workspace root, '/'-separated.
  std::string language;                // Grammar used; "" for words only.
  std::vector<SymbolDef> definitions;  // By line.
  std::vector<NameRefs> references;    // By name.
};

struct RepoMapOptions {
  // Parse results by content hash; "" means no cache. Created when missing. Entries are
  // checked against the file before use: a corrupt or forged entry is parsed over.
  std::filesystem::path cache_dir;
  size_t max_file_bytes = size_t{1} << 20;  // Larger files are left out.
  size_t max_files = 50000;                 // Files beyond this (in path order) are left out.
  int threads = 0;                          // Parsing threads; 0 = one per core, at most 8.
};

struct RepoMapStats {
  size_t files = 0;           // Files in the map.
  size_t parsed = 0;          // Parsed with a grammar in this build.
  size_t cache_hits = 0;      // Taken from the cache.
  size_t cache_rejected = 0;  // Cache entries present but unusable (then parsed again).
  size_t skipped = 0;         // Binary, too large, unreadable, or over max_files.
};

struct Location {
  std::string path;
  int line = 0;
  std::string text;  // Definitions: the signature line.
};

struct RankedFile {
  std::string path;
  double score = 0;
  int seed_mentions = 0;  // Occurrences of the seed terms in the file.
};

class RepoMap {
 public:
  // Lists the workspace (skipping .git, .gitignored paths, dependency and build output
  // folders such as node_modules, vendor, build, dist, target; binaries; files over the cap),
  // then extracts every file. Fails only when the workspace cannot be listed; a file that
  // cannot be read or parsed is skipped or kept with its words.
  static Result<RepoMap> Build(const Workspace& workspace, const RepoMapOptions& options);

  const std::vector<RepoFile>& files() const { return files_; }
  const RepoMapStats& stats() const { return stats_; }

  // Definitions named `name` (a qualified "a.b" or "A::b" is looked up by its last part),
  // ordered by path and line; `text` is the signature.
  std::vector<Location> Definitions(std::string_view name) const;
  // Places that use `name` (identifiers, words in strings, words of non-code files), by path
  // and line; `text` is empty (the caller reads the lines it shows).
  std::vector<Location> References(std::string_view name) const;

  // Every file, most relevant first: a PageRank over "file A uses a name file B defines",
  // personalised to the files that mention `seeds`, plus the share of the seed mentions.
  // Ties are broken by path, so the order is deterministic.
  std::vector<RankedFile> Rank(const std::vector<std::string>& seeds) const;

  // The ranked files with their main definitions and the lines that mention the seeds, as
  // "path:" then "  line: text" lines, within about `max_tokens` tokens (bytes / 4).
  // Reads the matched lines through `workspace`. "" when nothing fits or nothing is known.
  std::string Render(const Workspace& workspace, const std::vector<std::string>& seeds,
                     size_t max_tokens) const;

 private:
  std::vector<RepoFile> files_;
  RepoMapStats stats_;
  struct Defined {
    std::vector<size_t> files;  // Indexes of the files that define the name.
    size_t users = 0;           // Files that use the name.
  };
  std::unordered_map<std::string, Defined> definers_;
};

// The terms of a migration's text worth looking for: backticked and quoted words, and bare
// identifiers that look like code (snake_case, camelCase, dotted or hyphenated names), with
// the parts of compound ones. Sorted, unique.
std::vector<std::string> SeedTerms(std::string_view text);

}  // namespace drover::agent
