// The repo map: a word index of every text file in a workspace, and definitions and referenced
// names per file (tree-sitter for the languages it knows, words for other text files)
// extracted on first use; files ranked by relevance to a migration's terms and rendered to a
// token budget for the agent's first prompt; also the index behind the find_symbol and
// references tools.
//
// Build reads every file once and records which words it holds, which is about as fast as
// reading it; parsing is the expensive part, so a file is parsed only when something asks for
// it: Rank parses a small repository whole, and in a larger one the files that mention the
// migration's terms and the files they most likely use; Definitions and References parse the
// files that hold the name's words. Parse results may be cached by content hash in a folder
// shared by attempts and jobs.
//
// Thread-safe: all const calls may run concurrently (extraction on first use is internally
// synchronised, and an extracted file never changes). The files are read again when first
// extracted: rebuild the map after editing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
  int threads = 0;  // Reading and parsing threads; 0 = one per core, at most 8.
  // Rank parses every file of a repository with at most `parse_all_up_to` files in a parsed
  // language and `rank_parse_bytes` of them; in a larger one at most `rank_parse_files`
  // files and `rank_parse_bytes` bytes (parsing costs by the byte): half for the files that
  // mention the seeds most, the rest for those that most likely define the names they use.
  size_t parse_all_up_to = 1000;
  size_t rank_parse_files = 200;
  size_t rank_parse_bytes = size_t{1} << 20;
};

struct RepoMapStats {
  size_t files = 0;           // Files in the map (all indexed by their words).
  size_t parsed = 0;          // Parsed with a grammar so far.
  size_t cache_hits = 0;      // Taken from the cache so far.
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
  // folders such as node_modules, vendor, build, dist, target; binaries; files over the cap)
  // and indexes every file's words. Fails only when the workspace cannot be listed; a file
  // that cannot be read is skipped.
  static Result<RepoMap> Build(const Workspace& workspace, const RepoMapOptions& options);

  // The files in the map, sorted.
  const std::vector<std::string>& paths() const { return paths_; }
  // The definitions and references of paths()[index], extracted on first use. A file that
  // can no longer be read, or that a grammar cannot handle, is kept with its words.
  const RepoFile& File(size_t index) const;
  // Extracts every file now (threads as in the options).
  void ExtractAll() const;
  RepoMapStats stats() const;

  // Definitions named `name` (a qualified "a.b" or "A::b" is looked up by its last part),
  // ordered by path and line; `text` is the signature.
  std::vector<Location> Definitions(std::string_view name) const;
  // Places that use `name` (identifiers, words in strings, words of non-code files), by path
  // and line; `text` is empty (the caller reads the lines it shows).
  std::vector<Location> References(std::string_view name) const;

  // Every file, most relevant first: a PageRank over "file A uses a name file B defines" (or
  // is named after, as imports of modules are), personalised to the files that mention
  // `seeds`, plus the share of the seed mentions. Uses are words; definitions are those of
  // the files this call parses (see RepoMapOptions). Ties are broken by path, so the order
  // is deterministic and does not depend on what was extracted before.
  std::vector<RankedFile> Rank(const std::vector<std::string>& seeds) const;

  // The ranked files with their main definitions and the lines that mention the seeds, as
  // "path:" then "  line: text" lines, within about `max_tokens` tokens (bytes / 4).
  // "" when nothing fits or nothing is known.
  std::string Render(const std::vector<std::string>& seeds, size_t max_tokens) const;

  RepoMap(RepoMap&&) noexcept;
  RepoMap& operator=(RepoMap&&) noexcept;
  ~RepoMap();

 private:
  struct Posting {
    uint64_t word = 0;  // WordHash of the word.
    uint32_t file = 0;
    uint32_t count = 0;  // Occurrences in the file.
  };
  struct Lazy;
  struct Seeding;

  RepoMap(const Workspace& workspace, const RepoMapOptions& options);
  // Extracts those of `files` not extracted yet, in parallel when there are many.
  void Extract(const std::vector<size_t>& files) const;
  std::span<const Posting> Postings(std::string_view word) const;
  // Files that may hold `name`: those that have every word of it (all files when it has none).
  std::vector<size_t> Candidates(std::string_view name) const;
  Seeding Seed(const std::vector<std::string>& seeds) const;
  // The files Rank takes definitions from (see RepoMapOptions), extracted.
  std::vector<size_t> RankParseSet(const Seeding& seeding) const;
  struct Ranked {
    size_t file = 0;
    double score = 0;
    int seed_mentions = 0;
  };
  std::vector<Ranked> RankSeeded(const Seeding& seeding) const;

  Workspace workspace_;
  RepoMapOptions options_;
  std::vector<std::string> paths_;
  std::vector<std::string_view> languages_;  // Per file; "" for words only.
  std::vector<size_t> sizes_;                // Per file, in bytes when indexed.
  std::vector<Posting> postings_;            // By word, then file.
  std::unique_ptr<Lazy> lazy_;
};

// The terms of a migration's text worth looking for: backticked and quoted words, and bare
// identifiers that look like code (snake_case, camelCase, dotted or hyphenated names), with
// the parts of compound ones. Sorted, unique.
std::vector<std::string> SeedTerms(std::string_view text);

}  // namespace drover::agent
