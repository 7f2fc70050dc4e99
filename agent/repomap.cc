#include "agent/repomap.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "core/fs.h"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCacheMagic = "drover-repomap 1";
constexpr size_t kBinaryProbeBytes = 8192;
constexpr size_t kMaxCacheNameBytes = 256;
constexpr int kMaxThreads = 8;
constexpr size_t kMaxDefinersPerName = 50;  // Names defined more widely link nothing.
constexpr double kDamping = 0.85;
constexpr int kRankIterations = 30;
constexpr size_t kDefsPerFile = 8;
constexpr size_t kMatchedLinesPerFile = 6;
constexpr int kMaxMisses = 20;

// Folders of dependencies and build outputs: large, generated, never the migration's target.
constexpr std::string_view kSkippedFolders[] = {
    "node_modules", "vendor", "build", "dist", "target", "out", "__pycache__", ".venv", "venv",
    ".tox", ".mypy_cache", ".pytest_cache", ".gradle", ".idea", ".next", "coverage", "bower_components"};

bool InSkippedFolder(std::string_view path) {
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) return false;
    std::string_view part = path.substr(start, slash - start);
    for (std::string_view skipped : kSkippedFolders) {
      if (part == skipped) return true;
    }
    start = slash + 1;
  }
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex;
}

// Offsets of line starts, for checking cache entries against the file.
std::vector<size_t> LineStarts(std::string_view text) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') starts.push_back(i + 1);
  }
  return starts;
}

bool LineHas(std::string_view text, const std::vector<size_t>& starts, int line,
             std::string_view name) {
  if (line < 1 || static_cast<size_t>(line) > starts.size()) return false;
  size_t begin = starts[static_cast<size_t>(line) - 1];
  size_t end = static_cast<size_t>(line) < starts.size() ? starts[static_cast<size_t>(line)]
                                                        : text.size();
  return text.substr(begin, end - begin).find(name) != std::string_view::npos;
}

bool CacheableName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxCacheNameBytes &&
         name.find_first_of("\t\n\r") == std::string_view::npos;
}

fs::path EntryPath(const fs::path& dir, const std::string& hash, std::string_view language) {
  return dir / hash.substr(0, 2) / (hash + "." + std::string(language));
}

std::string EncodeEntry(const Extracted& extracted, std::string_view language,
                        const std::string& hash) {
  std::string out = std::string(kCacheMagic) + "\t" + std::string(language) + "\t" + hash + "\n";
  for (const auto& def : extracted.definitions) {
    out.append("d\t").append(std::to_string(def.line)).append("\t").append(def.kind);
    out.append("\t").append(def.name).append("\n");
  }
  for (const auto& ref : extracted.references) {
    out.append("r\t").append(ref.name).append("\t");
    for (size_t i = 0; i < ref.lines.size(); ++i) {
      if (i > 0) out += ',';
      out += std::to_string(ref.lines[i]);
    }
    out += '\n';
  }
  return out;
}

std::optional<int> ParseLine(std::string_view field) {
  int value = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (ec != std::errc() || end != field.data() + field.size() || value < 1) return std::nullopt;
  return value;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

bool KnownKind(std::string_view kind) {
  static const std::set<std::string_view> kKinds = {
      "function", "method", "class",    "struct",   "interface", "type",
      "enum",     "field",  "constant", "variable", "module",    "macro"};
  return kKinds.contains(kind);
}

// A cache entry is a hint: every name must be found on the line it claims, in the file it
// claims to describe, or the whole entry is ignored.
std::optional<Extracted> DecodeEntry(std::string_view entry, std::string_view language,
                                     const std::string& hash, std::string_view text) {
  std::string header = std::string(kCacheMagic) + "\t" + std::string(language) + "\t" + hash;
  if (!entry.starts_with(header + "\n")) return std::nullopt;
  entry.remove_prefix(header.size() + 1);
  std::vector<size_t> starts = LineStarts(text);
  Extracted out;
  while (!entry.empty()) {
    size_t nl = entry.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;  // Cut short.
    std::vector<std::string_view> fields = SplitTabs(entry.substr(0, nl));
    entry.remove_prefix(nl + 1);
    if (fields[0] == "d" && fields.size() == 4) {
      auto line = ParseLine(fields[1]);
      if (!line || !KnownKind(fields[2]) || !CacheableName(fields[3]) ||
          !LineHas(text, starts, *line, fields[3])) {
        return std::nullopt;
      }
      out.definitions.push_back(SymbolDef{std::string(fields[3]), std::string(fields[2]), *line,
                                          LineAt(text, starts[static_cast<size_t>(*line) - 1])});
    } else if (fields[0] == "r" && fields.size() == 3 && CacheableName(fields[1])) {
      NameRefs ref{std::string(fields[1]), {}};
      std::string_view list = fields[2];
      while (!list.empty()) {
        size_t comma = list.find(',');
        auto line = ParseLine(list.substr(0, comma));
        if (!line || (!ref.lines.empty() && *line <= ref.lines.back()) ||
            !LineHas(text, starts, *line, ref.name)) {
          return std::nullopt;
        }
        ref.lines.push_back(*line);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
      if (ref.lines.empty()) return std::nullopt;
      out.references.push_back(std::move(ref));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

enum class Source { kParsed, kCache, kWords };

struct FileResult {
  RepoFile file;
  bool skipped = false;
  bool cache_rejected = false;
  Source source = Source::kWords;
};

FileResult ExtractFile(const Workspace& workspace, const std::string& path,
                       const RepoMapOptions& options) {
  FileResult result;
  result.file.path = path;
  std::error_code ec;
  auto size = fs::file_size(workspace.root() / path, ec);
  if (ec || size > options.max_file_bytes) {
    result.skipped = true;
    return result;
  }
  auto content = workspace.ReadText(path);
  if (!content || std::string_view(*content).substr(0, kBinaryProbeBytes).find('\0') !=
                      std::string_view::npos) {
    result.skipped = true;
    return result;
  }
  std::string_view text = *content;
  std::string_view language = LanguageForPath(path);
  if (language.empty()) {
    result.file.references = ExtractWords(text);
    return result;
  }
  std::string hash;
  fs::path entry_path;
  if (!options.cache_dir.empty()) {
    hash = Sha256Hex(text);
    entry_path = EntryPath(options.cache_dir, hash, language);
    if (auto entry = ReadRegularFile(entry_path, options.max_file_bytes * 8); entry) {
      if (auto cached = DecodeEntry(*entry, language, hash, text)) {
        result.file.language = std::string(language);
        result.file.definitions = std::move(cached->definitions);
        result.file.references = std::move(cached->references);
        result.source = Source::kCache;
        return result;
      }
      result.cache_rejected = true;
    }
  }
  auto extracted = ExtractWithGrammar(language, text);
  if (!extracted) {
    // A file the grammar cannot handle still counts by its words.
    result.file.references = ExtractWords(text);
    return result;
  }
  if (!entry_path.empty()) {
    bool cacheable = std::all_of(extracted->references.begin(), extracted->references.end(),
                                 [](const NameRefs& r) { return CacheableName(r.name); }) &&
                     std::all_of(extracted->definitions.begin(), extracted->definitions.end(),
                                 [](const SymbolDef& d) { return CacheableName(d.name); });
    // A cache that cannot be written only costs speed.
    if (cacheable && CreateDirectories(entry_path.parent_path())) {
      (void)WriteFileAtomic(entry_path, EncodeEntry(*extracted, language, hash));
    }
  }
  result.file.language = std::string(language);
  result.file.definitions = std::move(extracted->definitions);
  result.file.references = std::move(extracted->references);
  result.source = Source::kParsed;
  return result;
}

const NameRefs* FindRefs(const RepoFile& file, std::string_view name) {
  auto it = std::lower_bound(file.references.begin(), file.references.end(), name,
                             [](const NameRefs& r, std::string_view n) { return r.name < n; });
  return it != file.references.end() && it->name == name ? &*it : nullptr;
}

std::string_view BaseStem(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  return path.substr(0, path.find('.'));
}

std::string_view LastPart(std::string_view name) {
  size_t cut = name.rfind("::");
  if (cut != std::string_view::npos) name.remove_prefix(cut + 2);
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < name.size()) name.remove_prefix(dot + 1);
  return name;
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsIdentChar(char c) {
  return IsLower(c) || IsUpper(c) || (c >= '0' && c <= '9') || c == '_';
}

// Looks like code rather than prose: snake_case, camelCase, or a compound with '.' or '-'.
bool CodeLike(std::string_view word) {
  if (word.find('_') != std::string_view::npos) return word.size() > 1;
  if (word.find_first_of(".-") != std::string_view::npos) return true;
  for (size_t i = 1; i < word.size(); ++i) {
    if (IsUpper(word[i]) && (IsLower(word[i - 1]) || (word[i - 1] >= '0' && word[i - 1] <= '9'))) {
      return true;
    }
  }
  return false;
}

void AddTerms(std::string_view span, bool all, std::set<std::string>& terms) {
  for (const auto& ref : ExtractWords(span)) {
    std::string_view word = ref.name;
    bool compound = word.find_first_of(".-") != std::string_view::npos;
    if (word.size() < 2 || (!all && !CodeLike(word))) continue;
    terms.insert(ref.name);
    if (!compound) continue;
    // The parts of a compound that are themselves code-like, or long enough to be names.
    size_t start = 0;
    while (start <= word.size()) {
      size_t sep = word.find_first_of(".-", start);
      std::string_view part = word.substr(start, sep == std::string_view::npos ? sep : sep - start);
      if (part.size() >= 4 || CodeLike(part)) terms.insert(std::string(part));
      if (sep == std::string_view::npos) break;
      start = sep + 1;
    }
  }
}

}  // namespace

std::vector<std::string> SeedTerms(std::string_view text) {
  std::set<std::string> terms;
  // Backticked and quoted spans: every word counts; elsewhere only code-like words.
  std::string prose;
  prose.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    bool quote = c == '`' || c == '"' ||
                 (c == '\'' && (i == 0 || !IsIdentChar(text[i - 1])));  // Not "don't".
    size_t close = quote ? text.find(c, i + 1) : std::string_view::npos;
    if (close != std::string_view::npos && close - i <= 120 &&
        text.substr(i + 1, close - i - 1).find('\n') == std::string_view::npos) {
      AddTerms(text.substr(i + 1, close - i - 1), true, terms);
      prose += ' ';
      i = close + 1;
      continue;
    }
    prose += c;
    ++i;
  }
  AddTerms(prose, false, terms);
  return {terms.begin(), terms.end()};
}

Result<RepoMap> RepoMap::Build(const Workspace& workspace, const RepoMapOptions& options) {
  auto listing = workspace.List("", "", SIZE_MAX);
  if (!listing) return Fail(WithContext(listing.error(), "repo map"));
  std::vector<std::string> paths;
  RepoMap map;
  for (auto& path : listing->paths) {
    if (InSkippedFolder(path)) continue;
    if (paths.size() >= options.max_files) {
      ++map.stats_.skipped;
      continue;
    }
    paths.push_back(std::move(path));
  }

  std::vector<FileResult> results(paths.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < paths.size(); i = next++) {
      results[i] = ExtractFile(workspace, paths[i], options);
    }
  };
  int threads = options.threads > 0
                    ? options.threads
                    : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                 kMaxThreads);
  threads = std::min<int>(threads, static_cast<int>(std::max<size_t>(paths.size() / 16, 1)));
  std::vector<std::jthread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  pool.clear();

  for (auto& result : results) {
    if (result.cache_rejected) ++map.stats_.cache_rejected;
    if (result.skipped) {
      ++map.stats_.skipped;
      continue;
    }
    if (result.source == Source::kParsed) ++map.stats_.parsed;
    if (result.source == Source::kCache) ++map.stats_.cache_hits;
    map.files_.push_back(std::move(result.file));
  }
  map.stats_.files = map.files_.size();
  for (size_t f = 0; f < map.files_.size(); ++f) {
    for (const auto& def : map.files_[f].definitions) {
      auto& definers = map.definers_[def.name].files;
      if (definers.empty() || definers.back() != f) definers.push_back(f);
    }
  }
  for (const auto& file : map.files_) {
    for (const auto& ref : file.references) {
      if (auto it = map.definers_.find(ref.name); it != map.definers_.end()) ++it->second.users;
    }
  }
  return map;
}

std::vector<Location> RepoMap::Definitions(std::string_view name) const {
  std::vector<Location> found;
  std::string_view bare = LastPart(name);
  auto it = definers_.find(std::string(bare));
  if (it == definers_.end()) return found;
  for (size_t f : it->second.files) {
    for (const auto& def : files_[f].definitions) {
      if (def.name == bare) found.push_back(Location{files_[f].path, def.line, def.signature});
    }
  }
  return found;
}

std::vector<Location> RepoMap::References(std::string_view name) const {
  std::vector<Location> found;
  for (const auto& file : files_) {
    const NameRefs* refs = FindRefs(file, name);
    if (refs == nullptr) continue;
    for (int line : refs->lines) found.push_back(Location{file.path, line, ""});
  }
  return found;
}

std::vector<RankedFile> RepoMap::Rank(const std::vector<std::string>& seeds) const {
  size_t n = files_.size();
  std::vector<RankedFile> ranked(n);
  std::vector<double> personal(n, 0.0);
  double personal_sum = 0;
  for (size_t f = 0; f < n; ++f) {
    ranked[f].path = files_[f].path;
    for (const auto& seed : seeds) {
      int mentions = 0;
      if (const NameRefs* refs = FindRefs(files_[f], seed)) {
        mentions += static_cast<int>(refs->lines.size());
      }
      for (const auto& def : files_[f].definitions) mentions += def.name == seed ? 1 : 0;
      if (mentions == 0) continue;
      ranked[f].seed_mentions += mentions;
      personal[f] += 1.0 + std::log(static_cast<double>(mentions));
    }
    personal_sum += personal[f];
  }
  if (personal_sum == 0) {
    std::fill(personal.begin(), personal.end(), 1.0);
    personal_sum = static_cast<double>(n);
  }
  for (double& p : personal) p /= personal_sum;

  // Edges: a file that uses a name links to the files that define it (or are named after it,
  // as imports of modules are), weighted by uses and shared among the definers.
  std::unordered_map<std::string_view, std::vector<size_t>> stems;
  for (size_t f = 0; f < n; ++f) {
    if (!files_[f].language.empty()) stems[BaseStem(files_[f].path)].push_back(f);
  }
  std::vector<std::vector<std::pair<size_t, double>>> edges(n);
  for (size_t a = 0; a < n; ++a) {
    std::map<size_t, double> out;
    for (const auto& ref : files_[a].references) {
      auto add = [&](const std::vector<size_t>& targets) {
        if (targets.size() > kMaxDefinersPerName) return;
        double weight = std::sqrt(static_cast<double>(ref.lines.size())) /
                        static_cast<double>(targets.size());
        for (size_t b : targets) {
          if (b != a) out[b] += weight;
        }
      };
      if (auto it = definers_.find(ref.name); it != definers_.end()) add(it->second.files);
      if (auto it = stems.find(ref.name); it != stems.end()) add(it->second);
    }
    double total = 0;
    for (const auto& [b, w] : out) total += w;
    for (const auto& [b, w] : out) edges[a].emplace_back(b, w / total);
  }

  std::vector<double> rank = personal;
  std::vector<double> next(n);
  for (int iteration = 0; iteration < kRankIterations; ++iteration) {
    double dangling = 0;
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t a = 0; a < n; ++a) {
      if (edges[a].empty()) dangling += rank[a];
      for (const auto& [b, w] : edges[a]) next[b] += kDamping * rank[a] * w;
    }
    for (size_t f = 0; f < n; ++f) {
      next[f] += ((1 - kDamping) + kDamping * dangling) * personal[f];
    }
    rank.swap(next);
  }
  bool seeded = std::any_of(ranked.begin(), ranked.end(), [](const auto& r) {
                  return r.seed_mentions > 0;
                });
  for (size_t f = 0; f < n; ++f) ranked[f].score = rank[f] + (seeded ? personal[f] : 0.0);
  std::sort(ranked.begin(), ranked.end(), [](const RankedFile& a, const RankedFile& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.path < b.path;
  });
  return ranked;
}

std::string RepoMap::Render(const Workspace& workspace, const std::vector<std::string>& seeds,
                            size_t max_tokens) const {
  size_t budget = max_tokens * 4;
  std::unordered_map<std::string_view, size_t> index;
  for (size_t f = 0; f < files_.size(); ++f) index[files_[f].path] = f;
  std::set<std::string_view> seed_set(seeds.begin(), seeds.end());
  std::map<std::string_view, size_t> seed_files;  // Seed → files that mention it.
  for (const auto& file : files_) {
    for (const auto& seed : seeds) seed_files[seed] += FindRefs(file, seed) != nullptr ? 1 : 0;
  }
  std::string out;
  int misses = 0;  // Blocks in a row that did not fit: the budget is as full as it gets.
  for (const auto& ranked : Rank(seeds)) {
    if (out.size() >= budget || misses >= kMaxMisses) break;
    const RepoFile& file = files_[index[ranked.path]];
    std::map<int, std::string> lines;  // line → text, shown in line order.
    std::vector<std::pair<size_t, const SymbolDef*>> defs;
    // Definitions of the seeds first, then types and functions before fields and variables
    // (test tables are full of those), each by how many files use the name.
    for (const auto& def : file.definitions) {
      bool member = def.kind == "field" || def.kind == "variable";
      size_t weight = seed_set.contains(def.name) ? SIZE_MAX
                      : member                    ? definers_.at(def.name).users
                                                  : (SIZE_MAX / 2) + definers_.at(def.name).users;
      defs.emplace_back(weight, &def);
    }
    std::stable_sort(defs.begin(), defs.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < defs.size() && i < kDefsPerFile; ++i) {
      lines[defs[i].second->line] = defs[i].second->signature;
    }
    if (ranked.seed_mentions > 0) {
      // The rarest seeds are the most specific: their lines first.
      std::vector<std::pair<size_t, const NameRefs*>> by_rarity;
      for (const auto& seed : seeds) {
        if (const NameRefs* refs = FindRefs(file, seed)) {
          by_rarity.emplace_back(seed_files[seed], refs);
        }
      }
      std::stable_sort(by_rarity.begin(), by_rarity.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      auto content = workspace.ReadText(file.path);
      size_t shown = 0;
      for (const auto& [files_with_seed, refs] : by_rarity) {
        for (int line : refs->lines) {
          if (!content || shown >= kMatchedLinesPerFile) break;
          if (lines.contains(line)) continue;
          lines[line] = LineText(*content, line);
          ++shown;
        }
      }
    }
    if (lines.empty()) continue;
    std::string block = file.path + ":\n";
    for (const auto& [line, text] : lines) {
      block += "  " + std::to_string(line) + ": " + text + "\n";
    }
    if (out.size() + block.size() <= budget) {
      out += block;
      misses = 0;
    } else {
      ++misses;
    }
  }
  return out;
}

}  // namespace drover::agent
