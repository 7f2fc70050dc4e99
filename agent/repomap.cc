#include "agent/repomap.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

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
    "node_modules", "vendor", "build", "dist",     "target",          "out",
    "__pycache__",  ".venv",  "venv",  ".tox",     ".mypy_cache",     ".pytest_cache",
    ".gradle",      ".idea",  ".next", "coverage", "bower_components"};

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
  size_t end =
      static_cast<size_t>(line) < starts.size() ? starts[static_cast<size_t>(line)] : text.size();
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
  static const std::set<std::string_view> kKinds = {"function",  "method",   "class",  "struct",
                                                    "interface", "type",     "enum",   "field",
                                                    "constant",  "variable", "module", "macro"};
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

bool IsLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool IsUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
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

namespace {

// The words of ExtractWords: [A-Za-z_][A-Za-z0-9_]*; a run that starts with a digit is a
// number, not a word.
const std::array<bool, 256> kWordChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = IsIdentChar(static_cast<char>(c));
  return table;
}();

bool IsWordChar(char c) {
  return kWordChars[static_cast<unsigned char>(c)];
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// FNV-1a, 64 bits: collisions among a repository's words are rare enough, and every answer
// is checked against the file's extraction before anyone sees it.
uint64_t WordHash(std::string_view word) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : word) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}

bool IsPlainWord(std::string_view name) {
  return !name.empty() && !IsDigit(name[0]) &&
         std::all_of(name.begin(), name.end(), [](char c) { return IsWordChar(c); });
}

// The plain words inside `name` ("events.v2" → events, v2).
std::vector<std::string_view> WordsOf(std::string_view name) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < name.size()) {
    if (!IsWordChar(name[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < name.size() && IsWordChar(name[i])) ++i;
    if (!IsDigit(name[start])) words.push_back(name.substr(start, i - start));
  }
  return words;
}

// Counts words by hash: open addressing, linear probing, kept at most half full.
class WordCounter {
 public:
  void Clear() {
    if (slots_.size() != kInitialSlots) {
      slots_.assign(kInitialSlots, Slot{});
    } else {
      std::fill(slots_.begin(), slots_.end(), Slot{});
    }
    used_ = 0;
  }
  void Add(uint64_t hash) {
    hash |= 1;  // 0 marks an empty slot.
    size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(hash ^ (hash >> 29)) & mask;; i = (i + 1) & mask) {
      if (slots_[i].hash == hash) {
        ++slots_[i].count;
        return;
      }
      if (slots_[i].hash == 0) {
        slots_[i] = Slot{hash, 1};
        if (++used_ * 2 > slots_.size()) Grow();
        return;
      }
    }
  }
  // (hash, occurrences), by hash.
  std::vector<std::pair<uint64_t, uint32_t>> Sorted() const {
    std::vector<std::pair<uint64_t, uint32_t>> out;
    out.reserve(used_);
    for (const Slot& slot : slots_) {
      if (slot.hash != 0) out.emplace_back(slot.hash, slot.count);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static constexpr size_t kInitialSlots = 1024;
  struct Slot {
    uint64_t hash = 0;
    uint32_t count = 0;
  };
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.hash == 0) continue;
      size_t i = static_cast<size_t>(slot.hash ^ (slot.hash >> 29)) & mask;
      while (slots_[i].hash != 0) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }
  std::vector<Slot> slots_ = std::vector<Slot>(kInitialSlots);
  size_t used_ = 0;
};

// The hash of a word as the index stores it.
uint64_t IndexedHash(uint64_t hash) {
  return hash | 1;
}

// (word hash, occurrences) for every word of `text`, by hash.
std::vector<std::pair<uint64_t, uint32_t>> CountWords(std::string_view text, WordCounter& counter) {
  counter.Clear();
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    if (!IsWordChar(*p)) {
      ++p;
      continue;
    }
    bool number = IsDigit(*p);
    uint64_t hash = 0xcbf29ce484222325ULL;
    while (p < end && IsWordChar(*p)) {
      hash = (hash ^ static_cast<unsigned char>(*p)) * 0x100000001b3ULL;
      ++p;
    }
    if (!number) counter.Add(hash);
  }
  return counter.Sorted();
}

struct Indexed {
  bool skipped = true;
  size_t bytes = 0;
  std::vector<std::pair<uint64_t, uint32_t>> words;
};

Indexed IndexFile(const Workspace& workspace, const std::string& path,
                  const RepoMapOptions& options, WordCounter& counter) {
  Indexed indexed;
  std::error_code ec;
  auto size = fs::file_size(workspace.root() / path, ec);
  if (ec || size > options.max_file_bytes) return indexed;
  auto content = workspace.ReadText(path);
  if (!content || std::string_view(*content).substr(0, kBinaryProbeBytes).find('\0') !=
                      std::string_view::npos) {
    return indexed;
  }
  indexed.skipped = false;
  indexed.bytes = content->size();
  indexed.words = CountWords(*content, counter);
  return indexed;
}

int ThreadCount(const RepoMapOptions& options) {
  return options.threads > 0
             ? options.threads
             : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxThreads);
}

// Runs body(i) for i in [0, count) on up to `threads` threads (one per 16 items at most).
template <typename Body>
void ParallelFor(size_t count, int threads, Body&& body) {
  threads = std::min<int>(threads, static_cast<int>(std::max<size_t>(count / 16, 1)));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) body(i);
  };
  std::vector<std::jthread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
}

// Sorted file indexes present in both.
std::vector<size_t> Intersect(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  std::vector<size_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return both;
}

constexpr size_t kPreExtractedForRender = 32;
constexpr size_t kMinUsersCap = 200;
constexpr size_t kUsersCapShare = 10;

}  // namespace

struct RepoMap::Lazy {
  std::mutex mutex;
  std::vector<std::unique_ptr<RepoFile>> files;  // Set once, never changed after.
  RepoMapStats stats;
};

// What the seeds select: per file, the weight of its seed mentions; per seed, how many files
// mention it (the rarest are the most specific).
struct RepoMap::Seeding {
  std::vector<double> personal;
  std::vector<int> mentions;
  std::map<std::string, size_t, std::less<>> files_per_seed;
  std::vector<std::string> seeds;
};

RepoMap::RepoMap(const Workspace& workspace, const RepoMapOptions& options)
    : workspace_(workspace), options_(options), lazy_(std::make_unique<Lazy>()) {}
RepoMap::RepoMap(RepoMap&&) noexcept = default;
RepoMap& RepoMap::operator=(RepoMap&&) noexcept = default;
RepoMap::~RepoMap() = default;

Result<RepoMap> RepoMap::Build(const Workspace& workspace, const RepoMapOptions& options) {
  auto listing = workspace.List("", "", SIZE_MAX);
  if (!listing) return Fail(WithContext(listing.error(), "repo map"));
  RepoMap map(workspace, options);
  std::vector<std::string> paths;
  size_t skipped = 0;
  for (auto& path : listing->paths) {
    if (InSkippedFolder(path)) continue;
    if (paths.size() >= options.max_files) {
      ++skipped;
      continue;
    }
    paths.push_back(std::move(path));
  }

  std::vector<Indexed> indexed(paths.size());
  ParallelFor(paths.size(), ThreadCount(options), [&](size_t i) {
    thread_local WordCounter counter;
    indexed[i] = IndexFile(workspace, paths[i], options, counter);
  });
  size_t postings = 0;
  for (const auto& file : indexed) postings += file.words.size();
  map.postings_.reserve(postings);
  for (size_t i = 0; i < paths.size(); ++i) {
    if (indexed[i].skipped) {
      ++skipped;
      continue;
    }
    auto file = static_cast<uint32_t>(map.paths_.size());
    for (const auto& [word, count] : indexed[i].words) {
      map.postings_.push_back(Posting{word, file, count});
    }
    indexed[i].words = {};
    map.languages_.push_back(LanguageForPath(paths[i]));
    map.sizes_.push_back(indexed[i].bytes);
    map.paths_.push_back(std::move(paths[i]));
  }
  std::sort(map.postings_.begin(), map.postings_.end(), [](const Posting& a, const Posting& b) {
    return a.word != b.word ? a.word < b.word : a.file < b.file;
  });
  map.lazy_->files.resize(map.paths_.size());
  map.lazy_->stats.files = map.paths_.size();
  map.lazy_->stats.skipped = skipped;
  return map;
}

const RepoFile& RepoMap::File(size_t index) const {
  Extract({index});
  std::lock_guard lock(lazy_->mutex);
  return *lazy_->files[index];
}

void RepoMap::ExtractAll() const {
  std::vector<size_t> all(paths_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  Extract(all);
}

RepoMapStats RepoMap::stats() const {
  std::lock_guard lock(lazy_->mutex);
  return lazy_->stats;
}

void RepoMap::Extract(const std::vector<size_t>& files) const {
  std::vector<size_t> missing;
  {
    std::lock_guard lock(lazy_->mutex);
    for (size_t f : files) {
      if (!lazy_->files[f]) missing.push_back(f);
    }
  }
  if (missing.empty()) return;
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  std::vector<FileResult> results(missing.size());
  ParallelFor(missing.size(), ThreadCount(options_), [&](size_t i) {
    results[i] = ExtractFile(workspace_, paths_[missing[i]], options_);
  });
  std::lock_guard lock(lazy_->mutex);
  for (size_t i = 0; i < missing.size(); ++i) {
    auto& slot = lazy_->files[missing[i]];
    if (slot) continue;  // Another call got there first; its file stays.
    FileResult& result = results[i];
    if (result.cache_rejected) ++lazy_->stats.cache_rejected;
    if (result.source == Source::kParsed) ++lazy_->stats.parsed;
    if (result.source == Source::kCache) ++lazy_->stats.cache_hits;
    slot = std::make_unique<RepoFile>(std::move(result.file));
  }
}

std::span<const RepoMap::Posting> RepoMap::Postings(std::string_view word) const {
  if (!IsPlainWord(word)) return {};
  uint64_t hash = IndexedHash(WordHash(word));
  auto [first, last] =
      std::equal_range(postings_.begin(), postings_.end(), Posting{hash, 0, 0},
                       [](const Posting& a, const Posting& b) { return a.word < b.word; });
  return {first, last};
}

std::vector<size_t> RepoMap::Candidates(std::string_view name) const {
  std::vector<std::string_view> words = WordsOf(name);
  if (words.empty()) {
    std::vector<size_t> all(paths_.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    return all;
  }
  std::vector<size_t> files;
  for (size_t w = 0; w < words.size(); ++w) {
    std::vector<size_t> with;
    for (const Posting& p : Postings(words[w])) with.push_back(p.file);
    files = w == 0 ? std::move(with) : Intersect(files, with);
    if (files.empty()) break;
  }
  return files;
}

RepoMap::Seeding RepoMap::Seed(const std::vector<std::string>& seeds) const {
  Seeding seeding;
  seeding.seeds = seeds;
  size_t n = paths_.size();
  seeding.personal.assign(n, 0.0);
  seeding.mentions.assign(n, 0);
  for (const auto& seed : seeds) {
    auto add = [&](size_t file, int mentions) {
      if (mentions <= 0) return;
      seeding.mentions[file] += mentions;
      seeding.personal[file] += 1.0 + std::log(static_cast<double>(mentions));
      ++seeding.files_per_seed[seed];
    };
    if (IsPlainWord(seed)) {
      for (const Posting& p : Postings(seed)) add(p.file, static_cast<int>(p.count));
      continue;
    }
    // A compound ("events.v2"): the files that have all its words, read again.
    for (size_t file : Candidates(seed)) {
      auto text = workspace_.ReadText(paths_[file]);
      if (!text) continue;
      RepoFile words{paths_[file], "", {}, ExtractWords(*text)};
      const NameRefs* refs = FindRefs(words, seed);
      add(file, refs == nullptr ? 0 : static_cast<int>(refs->lines.size()));
    }
  }
  return seeding;
}

std::vector<size_t> RepoMap::RankParseSet(const Seeding& seeding) const {
  std::vector<size_t> grammar;
  for (size_t f = 0; f < paths_.size(); ++f) {
    if (!languages_[f].empty()) grammar.push_back(f);
  }
  size_t grammar_bytes = 0;
  for (size_t f : grammar) grammar_bytes += sizes_[f];
  if (grammar.size() <= options_.parse_all_up_to && grammar_bytes <= options_.rank_parse_bytes) {
    Extract(grammar);
    return grammar;
  }
  // The files that mention the seeds most, up to half the budget.
  std::vector<size_t> chosen;
  for (size_t f : grammar) {
    if (seeding.personal[f] > 0) chosen.push_back(f);
  }
  std::stable_sort(chosen.begin(), chosen.end(),
                   [&](size_t a, size_t b) { return seeding.personal[a] > seeding.personal[b]; });
  size_t files_left = options_.rank_parse_files;
  size_t bytes_left = options_.rank_parse_bytes;
  // Takes `files` in order while half (or, for the last call, all) of the budget lasts.
  auto take = [&](std::vector<size_t>& files, bool half) {
    size_t max_files = half ? files_left / 2 : files_left;
    size_t max_bytes = half ? bytes_left / 2 : bytes_left;
    size_t kept = 0;
    size_t bytes = 0;
    for (; kept < files.size() && kept < max_files; ++kept) {
      if (bytes + sizes_[files[kept]] > max_bytes) break;
      bytes += sizes_[files[kept]];
    }
    files.resize(kept);
    files_left -= kept;
    bytes_left -= bytes;
  };
  take(chosen, true);
  Extract(chosen);
  // Then the files that most likely define what those use: those holding the rarer names
  // they use, or named after one (an imported module).
  std::unordered_map<std::string_view, std::vector<size_t>> stems;
  for (size_t f : grammar) stems[BaseStem(paths_[f])].push_back(f);
  std::vector<double> score(paths_.size(), 0.0);
  for (size_t from : chosen) {
    for (const auto& ref : File(from).references) {
      auto holders = Postings(ref.name);
      if (holders.size() > 1 && holders.size() <= kMaxDefinersPerName) {
        for (const Posting& p : holders) {
          if (p.file != from && !languages_[p.file].empty()) score[p.file] += 1.0 / holders.size();
        }
      }
      if (auto it = stems.find(ref.name);
          it != stems.end() && it->second.size() <= kMaxDefinersPerName) {
        for (size_t f : it->second) score[f] += 1.0;
      }
    }
  }
  for (size_t f : chosen) score[f] = 0;
  std::vector<size_t> neighbours;
  for (size_t f : grammar) {
    if (score[f] > 0) neighbours.push_back(f);
  }
  std::stable_sort(neighbours.begin(), neighbours.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  take(neighbours, false);
  Extract(neighbours);
  chosen.insert(chosen.end(), neighbours.begin(), neighbours.end());
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::vector<RepoMap::Ranked> RepoMap::RankSeeded(const Seeding& seeding) const {
  size_t n = paths_.size();
  std::vector<double> personal = seeding.personal;
  double personal_sum = 0;
  for (double p : personal) personal_sum += p;
  bool seeded = personal_sum > 0;
  if (!seeded) {
    std::fill(personal.begin(), personal.end(), 1.0);
    personal_sum = static_cast<double>(n);
  }
  for (double& p : personal) p /= personal_sum;

  // Edges: a file that uses a name links to the files that define it (or are named after it,
  // as imports of modules are), weighted by uses and shared among the definers.
  std::map<std::string_view, std::vector<size_t>> targets;
  for (size_t b : RankParseSet(seeding)) {
    for (const auto& def : File(b).definitions) {
      auto& definers = targets[def.name];
      if (definers.empty() || definers.back() != b) definers.push_back(b);
    }
  }
  std::map<std::string_view, std::vector<size_t>> stems;
  for (size_t f = 0; f < n; ++f) {
    if (!languages_[f].empty()) stems[BaseStem(paths_[f])].push_back(f);
  }
  struct Edge {
    size_t from;
    size_t to;
    double weight;
  };
  std::vector<Edge> edges;
  // A name most files use says little about any of them, and would cost the most edges.
  size_t max_users = std::max(kMinUsersCap, n / kUsersCapShare);
  auto link = [&](std::string_view name, const std::vector<size_t>& to) {
    if (to.size() > kMaxDefinersPerName) return;
    auto users = Postings(name);
    if (users.size() > max_users) return;
    for (const Posting& user : users) {
      double weight = std::sqrt(static_cast<double>(user.count)) / static_cast<double>(to.size());
      for (size_t b : to) {
        if (b != user.file) edges.push_back(Edge{user.file, b, weight});
      }
    }
  };
  for (const auto& [name, to] : targets) link(name, to);
  for (const auto& [stem, to] : stems) link(stem, to);
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    return std::tie(a.from, a.to, a.weight) < std::tie(b.from, b.to, b.weight);
  });
  // Per file: its out-edges with weights summing to 1.
  std::vector<size_t> first(n + 1, 0);
  std::vector<std::pair<size_t, double>> out;
  for (size_t i = 0; i < edges.size();) {
    size_t from = edges[i].from;
    size_t begin = out.size();
    double total = 0;
    while (i < edges.size() && edges[i].from == from) {
      size_t to = edges[i].to;
      double weight = 0;
      for (; i < edges.size() && edges[i].from == from && edges[i].to == to; ++i) {
        weight += edges[i].weight;
      }
      out.emplace_back(to, weight);
      total += weight;
    }
    for (size_t k = begin; k < out.size(); ++k) out[k].second /= total;
    first[from + 1] = out.size() - begin;
  }
  for (size_t f = 0; f < n; ++f) first[f + 1] += first[f];

  std::vector<double> rank = personal;
  std::vector<double> next(n);
  for (int iteration = 0; iteration < kRankIterations; ++iteration) {
    double dangling = 0;
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t a = 0; a < n; ++a) {
      if (first[a] == first[a + 1]) dangling += rank[a];
      for (size_t k = first[a]; k < first[a + 1]; ++k) {
        next[out[k].first] += kDamping * rank[a] * out[k].second;
      }
    }
    for (size_t f = 0; f < n; ++f) {
      next[f] += ((1 - kDamping) + kDamping * dangling) * personal[f];
    }
    rank.swap(next);
  }
  std::vector<Ranked> ranked(n);
  for (size_t f = 0; f < n; ++f) {
    ranked[f] = Ranked{f, rank[f] + (seeded ? personal[f] : 0.0), seeding.mentions[f]};
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return a.score != b.score ? a.score > b.score : a.file < b.file;
  });
  return ranked;
}

std::vector<RankedFile> RepoMap::Rank(const std::vector<std::string>& seeds) const {
  std::vector<RankedFile> ranked;
  for (const Ranked& r : RankSeeded(Seed(seeds))) {
    ranked.push_back(RankedFile{paths_[r.file], r.score, r.seed_mentions});
  }
  return ranked;
}

std::vector<Location> RepoMap::Definitions(std::string_view name) const {
  std::string_view bare = LastPart(name);
  std::vector<size_t> files;
  for (size_t f : Candidates(bare)) {
    if (!languages_[f].empty()) files.push_back(f);
  }
  Extract(files);
  std::vector<Location> found;
  for (size_t f : files) {
    for (const auto& def : File(f).definitions) {
      if (def.name == bare) found.push_back(Location{paths_[f], def.line, def.signature});
    }
  }
  return found;
}

std::vector<Location> RepoMap::References(std::string_view name) const {
  std::vector<size_t> files = Candidates(name);
  Extract(files);
  std::vector<Location> found;
  for (size_t f : files) {
    const NameRefs* refs = FindRefs(File(f), name);
    if (refs == nullptr) continue;
    for (int line : refs->lines) found.push_back(Location{paths_[f], line, ""});
  }
  return found;
}

std::string RepoMap::Render(const std::vector<std::string>& seeds, size_t max_tokens) const {
  size_t budget = max_tokens * 4;
  Seeding seeding = Seed(seeds);
  std::vector<Ranked> ranked = RankSeeded(seeding);
  std::vector<size_t> likely;  // Extracted together, in parallel.
  for (size_t i = 0; i < ranked.size() && i < kPreExtractedForRender; ++i) {
    likely.push_back(ranked[i].file);
  }
  Extract(likely);
  std::set<std::string_view> seed_set(seeds.begin(), seeds.end());
  std::string out;
  int misses = 0;  // Blocks in a row that did not fit: the budget is as full as it gets.
  for (const Ranked& r : ranked) {
    if (out.size() >= budget || misses >= kMaxMisses) break;
    const RepoFile& file = File(r.file);
    std::map<int, std::string> lines;  // line → text, shown in line order.
    std::vector<std::pair<size_t, const SymbolDef*>> defs;
    // Definitions of the seeds first, then types and functions before fields and variables
    // (test tables are full of those), each by how many files use the name.
    for (const auto& def : file.definitions) {
      bool member = def.kind == "field" || def.kind == "variable";
      size_t users = Postings(def.name).size();
      size_t weight = seed_set.contains(def.name) ? SIZE_MAX
                      : member                    ? users
                                                  : (SIZE_MAX / 2) + users;
      defs.emplace_back(weight, &def);
    }
    std::stable_sort(defs.begin(), defs.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < defs.size() && i < kDefsPerFile; ++i) {
      lines[defs[i].second->line] = defs[i].second->signature;
    }
    if (r.seed_mentions > 0) {
      // The rarest seeds are the most specific: their lines first.
      std::vector<std::pair<size_t, const NameRefs*>> by_rarity;
      for (const auto& seed : seeds) {
        if (const NameRefs* refs = FindRefs(file, seed)) {
          auto it = seeding.files_per_seed.find(seed);
          by_rarity.emplace_back(it == seeding.files_per_seed.end() ? 0 : it->second, refs);
        }
      }
      std::stable_sort(by_rarity.begin(), by_rarity.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      auto content = workspace_.ReadText(file.path);
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
