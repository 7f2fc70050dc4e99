#include "verifiers/diff_policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "core/markdown.h"
#include "core/strings.h"

namespace drover::verifiers {
namespace {

constexpr size_t kMaxScannedFileBytes = 1 << 20;
// Git's own binary heuristic looks for a NUL in the first 8000 bytes.
constexpr size_t kBinaryProbeBytes = 8192;
// Enough places for a sentence; the first few are named.
constexpr size_t kMaxRemainingHits = 1000;
constexpr size_t kNamedPlaces = 5;

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Reads one C-quoted string from the front of `s` (git quotes paths holding '"', '\\',
// control characters and, unless core.quotepath=off, non-ASCII bytes) and consumes it.
std::optional<std::string> TakeQuoted(std::string_view& s) {
  if (s.empty() || s.front() != '"') return std::nullopt;
  std::string out;
  size_t i = 1;
  while (i < s.size() && s[i] != '"') {
    if (s[i] != '\\') {
      out += s[i++];
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    char c = s[i];
    if (c >= '0' && c <= '7') {
      int value = 0;
      for (int k = 0; k < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k, ++i) {
        value = value * 8 + (s[i] - '0');
      }
      out += static_cast<char>(value);
      continue;
    }
    switch (c) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      default: out += c; break;
    }
    ++i;
  }
  if (i >= s.size()) return std::nullopt;
  s.remove_prefix(i + 1);
  return out;
}

// A path as written after `---`, `+++`, `rename from`: maybe quoted, maybe followed by a tab
// (git appends one to names with spaces). Empty for /dev/null.
std::optional<std::string> PathField(std::string_view text, bool strip_prefix) {
  std::string path;
  if (!text.empty() && text.front() == '"') {
    auto quoted = TakeQuoted(text);
    if (!quoted) return std::nullopt;
    path = *quoted;
  } else {
    path = std::string(text.substr(0, text.find('\t')));
  }
  if (path == "/dev/null") return std::string();
  if (strip_prefix) {
    if (path.size() < 2 || path[1] != '/') return std::nullopt;
    path.erase(0, 2);
  }
  return path;
}

// "a/x b/y" after `diff --git`. Unquoted names may hold spaces, so the unambiguous case (both
// names equal) is tried before splitting at " b/".
std::optional<std::pair<std::string, std::string>> GitHeaderPaths(std::string_view rest) {
  std::string old_path;
  if (!rest.empty() && rest.front() == '"') {
    auto quoted = TakeQuoted(rest);
    if (!quoted || !rest.starts_with(' ')) return std::nullopt;
    old_path = *quoted;
    rest.remove_prefix(1);
  } else {
    if (rest.size() >= 5 && (rest.size() - 5) % 2 == 0) {
      size_t n = (rest.size() - 5) / 2;
      std::string_view a = rest.substr(0, 2 + n);
      std::string_view b = rest.substr(2 + n + 1);
      if (a.starts_with("a/") && b.starts_with("b/") && a.substr(2) == b.substr(2) &&
          rest[2 + n] == ' ') {
        return std::pair{std::string(a.substr(2)), std::string(b.substr(2))};
      }
    }
    size_t split = rest.find(" \"b/");
    if (split == std::string_view::npos) split = rest.find(" b/");
    if (split == std::string_view::npos) return std::nullopt;
    old_path = std::string(rest.substr(0, split));
    rest.remove_prefix(split + 1);
  }
  auto new_path = PathField(rest, false);
  if (!new_path || !old_path.starts_with("a/") || !new_path->starts_with("b/")) {
    return std::nullopt;
  }
  return std::pair{old_path.substr(2), new_path->substr(2)};
}

// "-a,b" or "+c" from a hunk header.
bool ParseRange(std::string_view text, char sign, int& start, int& count) {
  if (text.empty() || text.front() != sign) return false;
  text.remove_prefix(1);
  size_t comma = text.find(',');
  std::string_view first = text.substr(0, comma);
  auto parsed = std::from_chars(first.data(), first.data() + first.size(), start);
  if (parsed.ec != std::errc() || parsed.ptr != first.data() + first.size()) return false;
  count = 1;
  if (comma == std::string_view::npos) return true;
  std::string_view second = text.substr(comma + 1);
  parsed = std::from_chars(second.data(), second.data() + second.size(), count);
  return parsed.ec == std::errc() && parsed.ptr == second.data() + second.size() && count >= 0;
}

// --- Globs ---

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

bool SegmentMatches(std::string_view glob, std::string_view name) {
  size_t g = 0;
  size_t n = 0;
  size_t star = std::string_view::npos;
  size_t star_n = 0;
  while (n < name.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      star_n = n;
    } else if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool SegmentsMatch(std::span<const std::string_view> glob, std::span<const std::string_view> path) {
  if (glob.empty()) return path.empty();
  if (glob.front() == "**") {
    for (size_t skip = 0; skip <= path.size(); ++skip) {
      if (SegmentsMatch(glob.subspan(1), path.subspan(skip))) return true;
    }
    return false;
  }
  return !path.empty() && SegmentMatches(glob.front(), path.front()) &&
         SegmentsMatch(glob.subspan(1), path.subspan(1));
}

bool MatchesAny(std::span<const std::string> globs, std::string_view path) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return GlobMatches(glob, path); });
}

// Files that run code or decide what runs on a forge, a runner or a developer's machine,
// rather than being code under test. Globs as GlobMatches reads them.
struct ControlGlob {
  std::string_view glob;
  std::string_view kind;
};
constexpr ControlGlob kControlFiles[] = {
    {".github/workflows/**", "CI configuration"},
    {".github/actions/**", "CI configuration"},
    {"**/action.yml", "CI configuration"},
    {"**/action.yaml", "CI configuration"},
    {".gitlab-ci.yml", "CI configuration"},
    {".gitlab-ci.yaml", "CI configuration"},
    {"**/*.gitlab-ci.yml", "CI configuration"},
    {".gitlab/**", "CI configuration"},
    {"**/Jenkinsfile", "CI configuration"},
    {"**/Jenkinsfile.*", "CI configuration"},
    {"**/*.jenkinsfile", "CI configuration"},
    {".circleci/**", "CI configuration"},
    {"**/azure-pipelines*.yml", "CI configuration"},
    {"**/azure-pipelines*.yaml", "CI configuration"},
    {".azure-pipelines/**", "CI configuration"},
    {".azuredevops/**", "CI configuration"},
    {".travis.yml", "CI configuration"},
    {"bitbucket-pipelines.yml", "CI configuration"},
    {".buildkite/**", "CI configuration"},
    {".drone.yml", "CI configuration"},
    {".drone.jsonnet", "CI configuration"},
    {"appveyor.yml", "CI configuration"},
    {".appveyor.yml", "CI configuration"},
    {".cirrus.yml", "CI configuration"},
    {".woodpecker.yml", "CI configuration"},
    {".woodpecker/**", "CI configuration"},
    {".semaphore/**", "CI configuration"},
    {"cloudbuild.yaml", "CI configuration"},
    {"cloudbuild.yml", "CI configuration"},
    {"codemagic.yaml", "CI configuration"},
    {".tekton/**", "CI configuration"},
    {"buildspec.yml", "CI configuration"},
    {".github/dependabot.yml", "CI configuration"},
    {".husky/**", "a git hook"},
    {".githooks/**", "a git hook"},
    {".pre-commit-config.yaml", "a git hook"},
    {".pre-commit-config.yml", "a git hook"},
    {".pre-commit-hooks.yaml", "a git hook"},
    {"lefthook.yml", "a git hook"},
    {".lefthook.yml", "a git hook"},
    {"lefthook-local.yml", "a git hook"},
    {".lefthook/**", "a git hook"},
    {".overcommit.yml", "a git hook"},
    {"**/.gitattributes", "git attributes"},
    {".gitmodules", "submodules"},
    {"CODEOWNERS", "code owners"},
    {".github/CODEOWNERS", "code owners"},
    {"docs/CODEOWNERS", "code owners"},
    {".gitlab/CODEOWNERS", "code owners"},
};

// --- Tests and skips ---

enum class Language { kNone, kPython, kJvm, kJs, kGo, kRust, kCpp };

Language LanguageOf(std::string_view path) {
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || path.find('/', dot) != std::string_view::npos) {
    return Language::kNone;
  }
  std::string_view ext = path.substr(dot + 1);
  if (ext == "py") return Language::kPython;
  if (ext == "java" || ext == "kt") return Language::kJvm;
  for (std::string_view js : {"js", "jsx", "ts", "tsx", "mjs", "cjs", "mts", "cts"}) {
    if (ext == js) return Language::kJs;
  }
  if (ext == "go") return Language::kGo;
  if (ext == "rs") return Language::kRust;
  for (std::string_view cpp : {"cc", "cpp", "cxx", "c++", "h", "hh", "hpp"}) {
    if (ext == cpp) return Language::kCpp;
  }
  return Language::kNone;
}

constexpr std::string_view kTestFileNames[] = {
    "test_*.py",  "*_test.py", "*Test.java", "*Tests.java", "*Test.kt",
    "*Tests.kt",  "*.test.js", "*.test.jsx", "*.test.ts",   "*.test.tsx",
    "*.test.mjs", "*.spec.js", "*.spec.jsx", "*.spec.ts",   "*.spec.tsx",
    "*.spec.mjs", "*_test.go", "*_test.cc",  "*_test.cpp",  "*_unittest.cc"};

// Test conventions by name, or source code under a tests/, test/ or __tests__/ directory
// (fixtures and data there are not tests).
bool IsTestPath(std::string_view path) {
  std::vector<std::string_view> segments = Segments(path);
  std::string_view name = segments.back();
  for (std::string_view pattern : kTestFileNames) {
    if (SegmentMatches(pattern, name)) return true;
  }
  if (LanguageOf(path) == Language::kNone) return false;
  return std::any_of(segments.begin(), segments.end() - 1, [](std::string_view dir) {
    return dir == "tests" || dir == "test" || dir == "__tests__";
  });
}

// Whether `line` starts with `prefix` followed by something that cannot continue a name.
bool StartsWithWord(std::string_view line, std::string_view prefix) {
  return line.starts_with(prefix) && (line.size() == prefix.size() || !IsIdentChar(prefix.back()) ||
                                      !IsIdentChar(line[prefix.size()]));
}

std::string_view TakeIdentifier(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && IsIdentChar(s[n])) ++n;
  return s.substr(0, n);
}

// GoogleTest runs DISABLED_ tests as skipped: the same test, reported as a skip instead.
std::string WithoutDisabled(std::string_view name) {
  if (name.starts_with("DISABLED_")) name.remove_prefix(9);
  return std::string(name);
}

// The name of a JUnit/Kotlin method declared on `line`: `void name(` or `fun name(`.
std::optional<std::string> JvmMethodName(std::string_view line) {
  for (std::string_view keyword : {"void ", "fun "}) {
    size_t at = line.find(keyword);
    while (at != std::string_view::npos && at > 0 && IsIdentChar(line[at - 1])) {
      at = line.find(keyword, at + 1);
    }
    if (at == std::string_view::npos) continue;
    std::string_view rest = Trim(line.substr(at + keyword.size()));
    if (rest.starts_with('`')) {
      size_t close = rest.find('`', 1);
      if (close != std::string_view::npos) return std::string(rest.substr(1, close - 1));
      continue;
    }
    std::string_view name = TakeIdentifier(rest);
    if (!name.empty() && rest.substr(name.size()).starts_with('(')) return std::string(name);
  }
  return std::nullopt;
}

std::optional<std::string> RustFunctionName(std::string_view line) {
  size_t at = line.find("fn ");
  if (at == std::string_view::npos || (at > 0 && IsIdentChar(line[at - 1]))) return std::nullopt;
  std::string_view name = TakeIdentifier(Trim(line.substr(at + 3)));
  if (name.empty()) return std::nullopt;
  return std::string(name);
}

bool IsJvmTestAnnotation(std::string_view line) {
  for (std::string_view annotation :
       {"@Test", "@ParameterizedTest", "@RepeatedTest", "@TestFactory", "@TestTemplate"}) {
    if (StartsWithWord(line, annotation)) return true;
  }
  return false;
}

bool IsRustTestAttribute(std::string_view line) {
  return line.starts_with("#[test]") ||
         (line.starts_with("#[") && line.find("::test]") != line.npos);
}

// The test a single line declares by itself (Python, Go, JS/TS, C++), if any.
std::optional<std::string> TestDeclaredOn(Language language, std::string_view line) {
  switch (language) {
    case Language::kPython: {
      if (line.starts_with("async ")) line = Trim(line.substr(6));
      if (!line.starts_with("def test")) return std::nullopt;
      std::string_view name = TakeIdentifier(line.substr(4));
      return std::string(name);
    }
    case Language::kGo: {
      if (!line.starts_with("func ")) return std::nullopt;
      std::string_view rest = Trim(line.substr(5));
      if (rest.starts_with('(')) {  // A method of a test suite: func (s *Suite) TestX(.
        size_t close = rest.find(')');
        if (close == std::string_view::npos) return std::nullopt;
        rest = Trim(rest.substr(close + 1));
      }
      std::string_view name = TakeIdentifier(rest);
      if (!name.starts_with("Test") || !rest.substr(name.size()).starts_with('(')) {
        return std::nullopt;
      }
      return std::string(name);
    }
    case Language::kJs: {
      for (std::string_view call :
           {"it(", "test(", "describe(", "xit(", "xtest(", "xdescribe(", "it.skip(", "test.skip(",
            "describe.skip(", "it.only(", "test.only(", "describe.only("}) {
        if (!line.starts_with(call)) continue;
        std::string_view args = line.substr(call.size());
        if (!args.empty() && (args[0] == '\'' || args[0] == '"' || args[0] == '`')) {
          size_t close = args.find(args[0], 1);
          if (close != std::string_view::npos) return std::string(args.substr(1, close - 1));
        }
        return std::string(Trim(args));
      }
      return std::nullopt;
    }
    case Language::kCpp: {
      for (std::string_view macro :
           {"TEST(", "TEST_F(", "TEST_P(", "TYPED_TEST(", "TYPED_TEST_P("}) {
        if (!line.starts_with(macro)) continue;
        std::string_view args = line.substr(macro.size());
        size_t comma = args.find(',');
        size_t close = args.find(')');
        if (comma == std::string_view::npos || close == std::string_view::npos || close < comma) {
          return std::nullopt;
        }
        return WithoutDisabled(Trim(args.substr(0, comma))) + "." +
               WithoutDisabled(Trim(args.substr(comma + 1, close - comma - 1)));
      }
      return std::nullopt;
    }
    case Language::kJvm:
    case Language::kRust:
    case Language::kNone: return std::nullopt;
  }
  return std::nullopt;
}

// The tests declared or un-annotated by the changed lines of one side of a file (`removed`:
// the old side). The side maps hold each side's known lines (changed and context) by line
// number, so that an annotation can find the method it marks on a following line.
std::set<std::string> TestsChanged(Language language, bool test_file,
                                   const std::vector<const DiffLine*>& changed,
                                   const std::map<int, const DiffLine*>& old_side,
                                   const std::map<int, const DiffLine*>& new_side, bool removed) {
  const std::map<int, const DiffLine*>& side = removed ? old_side : new_side;
  // Whether the new side still has a test annotation in the lines above `line`.
  auto still_marked = [&](int line, auto is_marker) {
    for (int above = line - 1; above >= 1 && above >= line - 6; --above) {
      auto it = new_side.find(above);
      if (it == new_side.end()) return false;
      std::string_view text = Trim(it->second->text);
      if (is_marker(text)) return true;
      if (text.empty() || text.ends_with('}') || text.ends_with(';')) return false;
    }
    return false;
  };
  auto follow = [&](int line, auto name_of, auto is_marker) -> std::optional<std::string> {
    for (int next = line; next <= line + 6; ++next) {
      auto it = side.find(next);
      if (it == side.end()) break;
      auto name = name_of(Trim(it->second->text));
      if (!name) continue;
      // The method survives and is still annotated: of two identical annotation lines the
      // diff removed one, the one this method did not keep.
      const DiffLine* method = it->second;
      if (removed && method->new_line != 0 && still_marked(method->new_line, is_marker)) {
        return std::nullopt;
      }
      return name;
    }
    return "at line " + std::to_string(line);
  };
  std::set<std::string> names;
  for (const DiffLine* diff_line : changed) {
    std::string_view text = Trim(diff_line->text);
    int number = removed ? diff_line->old_line : diff_line->new_line;
    std::optional<std::string> name;
    switch (language) {
      case Language::kJvm:
        if (IsJvmTestAnnotation(text)) {
          name = follow(number, JvmMethodName, IsJvmTestAnnotation);
        } else if (test_file) {
          // A JUnit 3 style test has no annotation; in a test class every method counts.
          name = JvmMethodName(text);
        }
        break;
      case Language::kRust:
        if (IsRustTestAttribute(text)) name = follow(number, RustFunctionName, IsRustTestAttribute);
        break;
      case Language::kPython:
      case Language::kJs:
      case Language::kGo:
      case Language::kCpp:
      case Language::kNone: name = TestDeclaredOn(language, text); break;
    }
    if (name) names.insert(*name);
  }
  return names;
}

struct SkipMarker {
  std::string_view text;
  std::optional<Language> only_in;  // Markers common as words elsewhere stay in their language.
};

constexpr std::array<SkipMarker, 19> kSkipMarkers = {{
    {"@Disabled", Language::kJvm},
    {"@Ignore", Language::kJvm},
    {"@pytest.mark.skip", std::nullopt},
    {"pytest.skip(", std::nullopt},
    {"@unittest.skip", std::nullopt},
    {"@pytest.mark.xfail", std::nullopt},
    {"t.Skip(", Language::kGo},
    {"t.Skipf(", Language::kGo},
    {"t.SkipNow(", Language::kGo},
    {"xit(", Language::kJs},
    {"xtest(", Language::kJs},
    {"xdescribe(", Language::kJs},
    {"it.skip(", Language::kJs},
    {"test.skip(", Language::kJs},
    {"describe.skip(", Language::kJs},
    {"#[ignore", Language::kRust},
    {"GTEST_SKIP(", Language::kCpp},
    {"DISABLED_", Language::kCpp},
    {"self.skipTest(", Language::kPython},
}};

std::optional<std::string_view> SkipMarkerIn(Language language, std::string_view line) {
  for (const SkipMarker& marker : kSkipMarkers) {
    if (marker.only_in && *marker.only_in != language) continue;
    size_t at = line.find(marker.text);
    // "exit(" is not "xit(", nor "MY_DISABLED_FLAG" a disabled test.
    while (at != std::string_view::npos && at > 0 && IsIdentChar(marker.text.front()) &&
           IsIdentChar(line[at - 1])) {
      at = line.find(marker.text, at + 1);
    }
    if (at != std::string_view::npos) return marker.text;
  }
  return std::nullopt;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

std::string JoinGlobs(std::span<const std::string> globs) {
  std::string out;
  for (const std::string& glob : globs) out += (out.empty() ? "" : ", ") + glob;
  return out;
}

// "(a.py:3, b.py:7, c.py:9 and 2 more)"
std::string Places(const std::vector<std::string>& places) {
  std::string out = " (";
  for (size_t i = 0; i < places.size() && i < kNamedPlaces; ++i) {
    out += (i > 0 ? ", " : "") + places[i];
  }
  if (places.size() > kNamedPlaces) {
    out += " and " + std::to_string(places.size() - kNamedPlaces) + " more";
  }
  return out + ")";
}

// Repository text inside a sentence: at most 120 bytes, control bytes as '?'.
std::string Shown(std::string_view text) {
  std::string out(text.substr(0, 120));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return text.size() > 120 ? out + "..." : out;
}

std::string Verb(const FileChange& file) {
  switch (file.status) {
    case FileStatus::kAdded: return "adds " + file.new_path;
    case FileStatus::kDeleted: return "deletes " + file.old_path;
    case FileStatus::kModified: return "changes " + file.new_path;
    case FileStatus::kRenamed: return "moves " + file.old_path + " to " + file.new_path;
  }
  return "changes " + file.path();
}

std::vector<std::string> PathsOf(const FileChange& file) {
  std::vector<std::string> paths;
  if (!file.old_path.empty()) paths.push_back(file.old_path);
  if (!file.new_path.empty() && file.new_path != file.old_path) paths.push_back(file.new_path);
  return paths;
}

void CheckPaths(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict) {
  for (const FileChange& file : diff.files) {
    for (const std::string& path : PathsOf(file)) {
      bool rename = file.status == FileStatus::kRenamed;
      if (!rules.allowed_paths.empty() && !MatchesAny(rules.allowed_paths, path)) {
        verdict.violations.push_back(Verb(file) + (rename ? ", and " + path + " is" : ",") +
                                     " outside the allowed paths (" +
                                     JoinGlobs(rules.allowed_paths) + ")");
      }
      for (const std::string& glob : rules.forbidden_paths) {
        if (GlobMatches(glob, path)) {
          verdict.violations.push_back(Verb(file) +
                                       (rename ? ", and " + path + " matches" : ", matching") +
                                       " the forbidden path " + glob);
          break;
        }
      }
    }
  }
}

void CheckTests(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict) {
  struct Removed {
    const FileChange* file;
    std::set<std::string> names;
  };
  std::vector<Removed> removed;
  std::set<std::string> added;  // Anywhere in the diff: a test may move to another file.
  for (const FileChange& file : diff.files) {
    std::map<int, const DiffLine*> old_side;
    std::map<int, const DiffLine*> new_side;
    std::vector<const DiffLine*> removed_lines;
    std::vector<const DiffLine*> added_lines;
    for (const DiffLine& line : file.context) {
      old_side.emplace(line.old_line, &line);
      new_side.emplace(line.new_line, &line);
    }
    for (const DiffLine& line : file.removed) {
      old_side.emplace(line.old_line, &line);
      removed_lines.push_back(&line);
    }
    for (const DiffLine& line : file.added) {
      new_side.emplace(line.new_line, &line);
      added_lines.push_back(&line);
    }
    if (!file.old_path.empty()) {
      removed.push_back({&file, TestsChanged(LanguageOf(file.old_path), IsTestPath(file.old_path),
                                             removed_lines, old_side, new_side, true)});
    }
    if (!file.new_path.empty()) {
      added.merge(TestsChanged(LanguageOf(file.new_path), IsTestPath(file.new_path), added_lines,
                               old_side, new_side, false));
    }

    if (rules.allow_skipped_tests || file.new_path.empty()) continue;
    Language language = LanguageOf(file.new_path);
    if (language == Language::kNone) continue;
    // A marker on a line that was only rewritten (re-indented, reformatted) is not new.
    std::multiset<std::string_view> before;
    for (const DiffLine& line : file.removed) before.insert(Trim(line.text));
    for (const DiffLine& line : file.added) {
      auto marker = SkipMarkerIn(language, line.text);
      if (!marker) continue;
      if (auto it = before.find(Trim(line.text)); it != before.end()) {
        before.erase(it);
        continue;
      }
      verdict.violations.push_back("adds a skip: " + std::string(*marker) + " in " + file.new_path +
                                   ":" + std::to_string(line.new_line));
    }
  }
  if (rules.allow_deleted_tests) return;
  for (const Removed& entry : removed) {
    std::vector<std::string> gone;
    for (const std::string& name : entry.names) {
      if (!added.contains(name)) gone.push_back(name);
    }
    const FileChange& file = *entry.file;
    if (file.status == FileStatus::kDeleted && IsTestPath(file.old_path)) {
      if (!gone.empty()) {
        verdict.violations.push_back("deletes the test file " + file.old_path + " (" +
                                     JoinNames(gone) + ")");
      } else if (entry.names.empty()) {
        verdict.violations.push_back("deletes the test file " + file.old_path);
      }
      continue;
    }
    if (gone.empty()) continue;
    verdict.violations.push_back(
        std::string(gone.size() == 1 ? "deletes the test " : "deletes the tests ") +
        JoinNames(gone) + " in " + file.old_path);
  }
}

bool IsGitDir(std::string_view segment) {
  // Case-insensitive: on a case-insensitive checkout `.GIT` is the repository itself.
  return segment.size() == 4 && segment[0] == '.' && (segment[1] | 0x20) == 'g' &&
         (segment[2] | 0x20) == 'i' && (segment[3] | 0x20) == 't';
}

// Why a link at `path` to `target` is refused: nullopt when it stays inside the work tree
// and away from `.git`. `external` is set when the only problem is leaving the tree. The
// target is resolved lexically from the link's directory; '\' counts as a separator too,
// since a Windows checkout reads it as one.
std::optional<std::string> LinkProblem(std::string_view path, std::string_view target,
                                       bool& external) {
  external = false;
  std::vector<std::string_view> at = Segments(path);
  if (std::any_of(at.begin(), at.end(), IsGitDir)) return "lies inside .git";
  at.pop_back();
  if (target.empty()) return "has an empty target";
  if (target.find('\0') != std::string_view::npos || target.find('\n') != std::string_view::npos) {
    return "has a target with a NUL or a line break";
  }
  bool drive = target.size() >= 2 && target[1] == ':' &&
               ((target[0] | 0x20) >= 'a' && (target[0] | 0x20) <= 'z');
  bool absolute = target.front() == '/' || target.front() == '\\' || drive;
  std::vector<std::string_view> resolved = absolute ? std::vector<std::string_view>{} : at;
  bool climbs = false;
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = target.size();
    std::string_view segment = target.substr(start, end - start);
    start = end + 1;
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (resolved.empty()) {
        climbs = true;
      } else {
        resolved.pop_back();
      }
      continue;
    }
    if (IsGitDir(segment)) return "points into .git";
    resolved.push_back(segment);
  }
  if (absolute || climbs) {
    external = true;
    return std::string(absolute ? "points to an absolute path" : "climbs out of the repository");
  }
  return std::nullopt;
}

void JudgeLink(const FileChange& file, std::string_view target, const DiffRules& rules,
               PolicyVerdict& verdict) {
  bool external = false;
  auto problem = LinkProblem(file.new_path, target, external);
  if (!problem) return;
  std::string sentence =
      Verb(file) + ", a symbolic link that " + *problem + " (" + Shown(target) + ")";
  if (external && rules.allow_external_symlinks) {
    verdict.notes.push_back(sentence);
  } else {
    verdict.violations.push_back(sentence +
                                 (external ? "; policy.allow_external_symlinks allows it" : ""));
  }
}

// New and changed symbolic links: where they point must stay in the work tree (unless the
// spec allows otherwise) and never reach `.git`.
void CheckLinks(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict) {
  for (const FileChange& file : diff.files) {
    if (file.new_mode != 0120000 || file.new_path.empty()) continue;
    std::string target = file.symlink_target;
    if (target.empty() && file.added.size() > 1) {
      for (const DiffLine& line : file.added) target += (target.empty() ? "" : "\n") + line.text;
    }
    // A link moved without a change has no target in the diff: CheckRemaining reads it.
    if (target.empty()) continue;
    JudgeLink(file, target, rules, verdict);
  }
}

// Control characters other than tab and CR, and what IsInvisibleCodePoint lists plus the
// remaining format (Cf) characters: Arabic number signs, the Syriac abbreviation mark,
// Egyptian hieroglyph and Brahmi format controls, musical symbol beams.
bool Hidden(uint32_t cp) {
  if (cp == '\t' || cp == '\r') return false;
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;
  return IsInvisibleCodePoint(cp) || (cp >= 0x0600 && cp <= 0x0605) || cp == 0x06DD ||
         cp == 0x070F || cp == 0x0890 || cp == 0x0891 || cp == 0x08E2 || cp == 0x110BD ||
         cp == 0x110CD || (cp >= 0x13430 && cp <= 0x1343F) || (cp >= 0x1BCA0 && cp <= 0x1BCA3) ||
         (cp >= 0x1D173 && cp <= 0x1D17A);
}

std::string CodePoint(uint32_t cp) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
  return code;
}

// Binary files, sizes and invisible characters in what the change adds.
void CheckContent(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict) {
  for (const FileChange& file : diff.files) {
    if (file.new_path.empty() || file.new_mode == 0120000 || file.new_mode == 0160000) continue;
    uint64_t bytes = file.new_size;
    uint64_t added = 0;
    for (const DiffLine& line : file.added) added += line.text.size() + 1;
    bytes = std::max(bytes, added);
    bool content_changed = file.status != FileStatus::kRenamed || !file.added.empty();
    if (file.binary && content_changed) {
      std::string sentence =
          Verb(file) + ", a binary file" +
          (file.new_size > 0 ? " of " + std::to_string(file.new_size) + " bytes" : std::string());
      if (rules.allow_binary_files) {
        verdict.notes.push_back(sentence);
      } else {
        verdict.violations.push_back(sentence + "; policy.allow_binary_files allows it");
      }
    }
    if (bytes > rules.max_file_bytes && content_changed) {
      verdict.violations.push_back(Verb(file) + " with " + std::to_string(bytes) +
                                   " bytes, more than policy.max_file_bytes (" +
                                   std::to_string(rules.max_file_bytes) + ")");
    }
    std::vector<std::string> places;
    for (const DiffLine& line : file.added) {
      std::set<uint32_t> seen;
      for (size_t i = 0; i < line.text.size();) {
        uint32_t cp = 0;
        size_t length = DecodeUtf8At(line.text, i, cp);
        if (length == 0) {  // Not UTF-8 (Latin-1 and the like): one byte, not judged.
          ++i;
          continue;
        }
        // A byte-order mark is a file's first character, not a hidden one.
        bool bom = cp == 0xFEFF && i == 0 && line.new_line == 1;
        if (!bom && Hidden(cp) && seen.insert(cp).second) {
          places.push_back(file.new_path + ":" + std::to_string(line.new_line) + " " +
                           CodePoint(cp));
        }
        i += length;
      }
    }
    if (places.empty()) continue;
    std::string sentence = Verb(file) + " with invisible or control characters" + Places(places);
    if (rules.flag_invisible_characters) {
      verdict.notes.push_back(sentence);
    } else {
      verdict.violations.push_back(sentence);
    }
  }
}

// --- Credentials ---

bool IsAlnum(char c) {
  return IsIdentChar(c) && c != '_';
}
bool IsUpperOr27(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}
bool IsTokenChar(char c) {
  return IsIdentChar(c) || c == '-';
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool ContainsLower(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return false;
  for (size_t i = 0; i + needle.size() <= text.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && Lower(text[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

// A value that only stands in for a secret: AWS's documented EXAMPLE keys, xxxx, one
// repeated character, 123456..., <token>, ${VAR}, "changeme" and the like.
bool Placeholder(std::string_view value) {
  for (std::string_view word :
       {"example", "xxxx", "****", "....", "placeholder", "changeme", "change_me", "redacted",
        "dummy", "sample", "your_", "your-", "<", "${", "{{", "%(", "$(", "insert", "replace"}) {
    if (ContainsLower(value, word)) return true;
  }
  std::set<char> distinct(value.begin(), value.end());
  return distinct.size() <= 3;
}

struct TokenFormat {
  std::string_view prefix;
  std::string_view kind;
  size_t min_rest;     // Characters the body needs after the prefix.
  bool (*body)(char);  // What a body character may be.
  bool word_start;     // The prefix may not continue a word.
};

constexpr TokenFormat kTokenFormats[] = {
    {"AKIA", "an AWS access key id", 16, IsUpperOr27, true},
    {"ASIA", "an AWS access key id", 16, IsUpperOr27, true},
    {"ABIA", "an AWS access key id", 16, IsUpperOr27, true},
    {"ACCA", "an AWS access key id", 16, IsUpperOr27, true},
    {"ghp_", "a GitHub token", 36, IsAlnum, true},
    {"gho_", "a GitHub token", 36, IsAlnum, true},
    {"ghs_", "a GitHub token", 36, IsAlnum, true},
    {"ghu_", "a GitHub token", 36, IsAlnum, true},
    {"ghr_", "a GitHub token", 36, IsAlnum, true},
    {"github_pat_", "a GitHub token", 40, IsIdentChar, true},
    {"glpat-", "a GitLab token", 20, IsTokenChar, true},
    {"gldt-", "a GitLab token", 20, IsTokenChar, true},
    {"glrt-", "a GitLab token", 20, IsTokenChar, true},
    {"xoxb-", "a Slack token", 20, IsTokenChar, true},
    {"xoxp-", "a Slack token", 20, IsTokenChar, true},
    {"xoxa-", "a Slack token", 20, IsTokenChar, true},
    {"xoxr-", "a Slack token", 20, IsTokenChar, true},
    {"xoxs-", "a Slack token", 20, IsTokenChar, true},
    {"xoxe-", "a Slack token", 20, IsTokenChar, true},
    {"sk_live_", "a Stripe secret key", 20, IsAlnum, true},
    {"rk_live_", "a Stripe secret key", 20, IsAlnum, true},
    {"AIza", "a Google API key", 35, IsTokenChar, true},
    {"sk-ant-", "an Anthropic API key", 32, IsTokenChar, true},
    {"sk-proj-", "an OpenAI API key", 32, IsTokenChar, true},
    {"sk-svcacct-", "an OpenAI API key", 32, IsTokenChar, true},
    {"sk-", "an OpenAI API key", 40, IsAlnum, true},
    {"npm_", "an npm token", 36, IsAlnum, true},
    {"pypi-", "a PyPI token", 50, IsTokenChar, true},
    {"hf_", "a Hugging Face token", 34, IsAlnum, true},
};

// Bits per character of `value`'s character distribution.
double Entropy(std::string_view value) {
  std::array<int, 256> counts{};
  for (char c : value) ++counts[static_cast<unsigned char>(c)];
  double bits = 0;
  for (int count : counts) {
    if (count == 0) continue;
    double p = static_cast<double>(count) / static_cast<double>(value.size());
    bits -= p * std::log2(p);
  }
  return bits;
}

bool LooksRandom(std::string_view value) {
  if (value.size() < 16 || Placeholder(value)) return false;
  bool letter = false;
  bool digit = false;
  for (char c : value) {
    if (c == ' ') return false;  // Prose, not a key.
    letter = letter || (Lower(c) >= 'a' && Lower(c) <= 'z');
    digit = digit || (c >= '0' && c <= '9');
  }
  return letter && digit && Entropy(value) >= 3.5;
}

constexpr std::string_view kSecretNames[] = {
    "password", "passwd",     "pwd",           "secret",      "token",       "api_key",
    "apikey",   "api-key",    "access_key",    "accesskey",   "private_key", "privatekey",
    "auth_key", "credential", "client_secret", "signing_key", "session_key", "bearer"};

// "name = 'value'", "name: value", "NAME=value", "name := \"value\"", "\"name\": \"value\"",
// "name => 'value'": the value assigned to each secret-like name on the line.
void AssignedSecrets(std::string_view line, std::vector<std::string>& kinds) {
  size_t i = 0;
  while (i < line.size()) {
    if (!IsIdentChar(line[i]) && line[i] != '-') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < line.size() && (IsIdentChar(line[i]) || line[i] == '-' || line[i] == '.')) ++i;
    std::string_view name = line.substr(start, i - start);
    std::string_view secret_name;
    for (std::string_view candidate : kSecretNames) {
      if (ContainsLower(name, candidate)) secret_name = candidate;
    }
    if (secret_name.empty()) continue;
    size_t j = i;
    while (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == ']')) ++j;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j < line.size() && line[j] == ':' && j + 1 < line.size() && line[j + 1] == '=') ++j;
    if (j >= line.size() || (line[j] != '=' && line[j] != ':')) continue;
    ++j;
    if (j < line.size() && (line[j] == '>' || line[j] == '=')) {
      if (line[j] == '=') continue;  // A comparison: name == value.
      ++j;
    }
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    std::string_view value;
    if (j < line.size() && (line[j] == '"' || line[j] == '\'' || line[j] == '`')) {
      size_t close = line.find(line[j], j + 1);
      if (close == std::string_view::npos) continue;
      value = line.substr(j + 1, close - j - 1);
    } else {
      size_t end = j;
      while (end < line.size() && (IsTokenChar(line[end]) || line[end] == '+' || line[end] == '/' ||
                                   line[end] == '=' || line[end] == '.')) {
        ++end;
      }
      // A call, an index or an attribute: an expression computing the value, not the value.
      if (end < line.size() && (line[end] == '(' || line[end] == '[')) continue;
      value = line.substr(j, end - j);
      if (value.find('.') != std::string_view::npos &&
          !(value.starts_with("eyJ") && std::count(value.begin(), value.end(), '.') == 2)) {
        continue;
      }
    }
    if (LooksRandom(value)) kinds.push_back("a secret assigned to `" + std::string(name) + "`");
  }
}

// Changes to control files (and submodule commits) outside policy.allow_control_files.
void CheckControlFiles(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict) {
  for (const FileChange& file : diff.files) {
    for (const std::string& path : PathsOf(file)) {
      std::string_view kind = ControlFileKind(path);
      bool gitlink = (path == file.new_path && file.new_mode == 0160000) ||
                     (path == file.old_path && file.old_mode == 0160000);
      if (kind.empty() && gitlink) kind = "a submodule commit";
      if (kind.empty()) continue;
      std::string sentence = Verb(file) + ", " + std::string(kind);
      if (MatchesAny(rules.allow_control_files, path)) {
        verdict.notes.push_back(sentence);
      } else {
        verdict.violations.push_back(sentence +
                                     "; only paths in policy.allow_control_files may "
                                     "change");
      }
      break;
    }
  }
}

// --- What defines how verification runs ---

// What the verifier commands name: make targets, package scripts, Python modules, programs
// looked up on PATH and scripts given by path.
struct Invocations {
  std::set<std::string> make_targets;
  bool make_default_goal = false;        // A `make` without a target runs the first rule.
  std::set<std::string> makefiles;       // `make -f FILE`.
  std::set<std::string> scripts;         // package.json scripts (with their pre/post hooks).
  std::set<std::string> python_modules;  // `python -m NAME`: the top-level NAME.
  std::set<std::string> programs;
  std::set<std::string> paths;  // Relative to the root, without a leading "./".
};

// Simple commands of a shell line, as words (quotes removed, no expansion): split at
// ; & | ( ) ` and line ends.
std::vector<std::vector<std::string>> SimpleCommands(std::string_view command) {
  std::vector<std::vector<std::string>> out(1);
  std::string word;
  bool in_word = false;
  char quote = 0;
  auto end_word = [&] {
    if (in_word) out.back().push_back(word);
    word.clear();
    in_word = false;
  };
  for (char c : command) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else if (std::string_view(";&|()`\n").find(c) != std::string_view::npos) {
      end_word();
      if (!out.back().empty()) out.emplace_back();
    } else {
      word += c;
      in_word = true;
    }
  }
  end_word();
  if (out.back().empty()) out.pop_back();
  return out;
}

std::string WithoutDotSlash(std::string_view path) {
  while (path.starts_with("./")) path.remove_prefix(2);
  return std::string(path);
}

Invocations ParseInvocations(std::span<const std::string> commands) {
  Invocations inv;
  for (const std::string& command : commands) {
    for (const std::vector<std::string>& words : SimpleCommands(command)) {
      size_t i = 0;
      // Assignments and wrappers that run the next word.
      while (i < words.size()) {
        const std::string& w = words[i];
        if ((w.find('=') != std::string::npos && !w.starts_with('-')) || w == "env" ||
            w == "exec" || w == "time" || w == "nice" || w == "command" || w == "-s") {
          ++i;
        } else if (w == "timeout" && i + 1 < words.size()) {
          i += 2;
        } else if ((w == "uv" || w == "poetry" || w == "pipenv" || w == "pdm" || w == "rye" ||
                    w == "hatch") &&
                   i + 1 < words.size() && words[i + 1] == "run") {
          i += 2;
        } else if (w == "npx" || w == "pnpx" || w == "bunx") {
          ++i;
          while (i < words.size() && words[i].starts_with('-')) ++i;
        } else {
          break;
        }
      }
      if (i >= words.size()) continue;
      const std::string& program = words[i];
      std::string name = program.substr(program.rfind('/') + 1);
      if (program.find('/') == std::string::npos) {
        inv.programs.insert(program);
      } else if (!program.starts_with('/')) {
        inv.paths.insert(WithoutDotSlash(program));
      }
      // The first word after the program that is not an option.
      auto operands = [&] {
        std::vector<std::string> out;
        for (size_t j = i + 1; j < words.size(); ++j) {
          if (!words[j].starts_with('-')) out.push_back(words[j]);
        }
        return out;
      };
      if (name == "make" || name == "gmake") {
        bool any = false;
        for (size_t j = i + 1; j < words.size(); ++j) {
          const std::string& w = words[j];
          if (w == "-f" || w == "--file" || w == "--makefile") {
            if (j + 1 < words.size()) inv.makefiles.insert(WithoutDotSlash(words[++j]));
          } else if (w == "-C" || w == "--directory" || w == "-I" || w == "-o" || w == "-W") {
            ++j;
          } else if (!w.starts_with('-') && w.find('=') == std::string::npos &&
                     !std::all_of(w.begin(), w.end(),
                                  [](char c) { return c >= '0' && c <= '9'; })) {
            inv.make_targets.insert(w);
            any = true;
          }
        }
        inv.make_default_goal = inv.make_default_goal || !any;
      } else if (name == "npm" || name == "yarn" || name == "pnpm" || name == "bun") {
        std::vector<std::string> args = operands();
        std::string script;
        if (!args.empty() && (args[0] == "test" || args[0] == "t" || args[0] == "tst")) {
          script = "test";
        } else if (!args.empty() && (args[0] == "run" || args[0] == "run-script")) {
          if (args.size() > 1) script = args[1];
        } else if (!args.empty() && name != "npm") {
          script = args[0];
        }
        if (!script.empty()) {
          for (std::string_view prefix : {"", "pre", "post"}) {
            inv.scripts.insert(std::string(prefix) + script);
          }
        }
      } else if (name.starts_with("python") || name == "pypy3") {
        for (size_t j = i + 1; j < words.size(); ++j) {
          if (words[j] == "-m" && j + 1 < words.size()) {
            inv.python_modules.insert(words[j + 1].substr(0, words[j + 1].find('.')));
            break;
          }
          if (words[j] == "-c") break;
          if (!words[j].starts_with('-')) {
            inv.paths.insert(WithoutDotSlash(words[j]));
            break;
          }
        }
      } else if (name == "sh" || name == "bash" || name == "dash" || name == "zsh" ||
                 name == "node" || name == "ruby" || name == "perl") {
        std::vector<std::string> args = operands();
        bool inline_code = std::find(words.begin() + static_cast<std::ptrdiff_t>(i), words.end(),
                                     std::string("-c")) != words.end();
        if (!args.empty() && !inline_code) inv.paths.insert(WithoutDotSlash(args[0]));
      }
    }
  }
  return inv;
}

// Modules the Python test runners are or import first: a file or package of that name where
// Python looks first (the root the runner starts in) runs instead of the real one.
constexpr std::string_view kRunnerModules[] = {
    "unittest",      "pytest",        "_pytest",  "pluggy",  "site",
    "sitecustomize", "usercustomize", "runpy",    "doctest", "nose",
    "nose2",         "xmlrunner",     "coverage", "tox",     "nox"};
// Standard library modules the runners import after the working directory is on sys.path.
constexpr std::string_view kStdlibModules[] = {
    "abc",         "argparse",  "ast",      "atexit",    "collections", "contextlib",  "copy",
    "dataclasses", "difflib",   "enum",     "fnmatch",   "functools",   "gettext",     "glob",
    "importlib",   "inspect",   "io",       "itertools", "json",        "linecache",   "locale",
    "logging",     "operator",  "os",       "pathlib",   "platform",    "pprint",      "re",
    "shlex",       "shutil",    "signal",   "stat",      "string",      "struct",      "subprocess",
    "sys",         "sysconfig", "tempfile", "textwrap",  "threading",   "time",        "tokenize",
    "traceback",   "types",     "typing",   "warnings",  "weakref",     "codecs",      "encodings",
    "errno",       "keyword",   "token",    "zipimport", "posixpath",   "genericpath", "reprlib"};
// Test runner programs that a file of the same name in the root or bin/ could stand in for.
constexpr std::string_view kRunnerPrograms[] = {"jest",   "mocha",   "vitest",    "ava", "karma",
                                                "pytest", "py.test", "nosetests", "tox", "nox",
                                                "ctest",  "phpunit", "rspec"};
// Configuration of a test runner: any change to it is a change to how tests run.
constexpr std::string_view kRunnerConfigs[] = {"**/pytest.ini",
                                               "**/.pytest.ini",
                                               "**/tox.ini",
                                               "**/noxfile.py",
                                               "**/conftest.py",
                                               "**/jest.config.*",
                                               "**/jest.setup.*",
                                               "**/jest.preset.*",
                                               "**/.mocharc*",
                                               "**/vitest.config.*",
                                               "**/vitest.workspace.*",
                                               "**/vitest.setup.*",
                                               "**/karma.conf.*",
                                               "**/ava.config.*",
                                               "**/CTestTestfile.cmake",
                                               "**/CTestCustom.cmake",
                                               "**/CTestConfig.cmake",
                                               "**/phpunit.xml",
                                               "**/phpunit.xml.dist",
                                               "**/.rspec",
                                               "**/playwright.config.*",
                                               "**/cypress.config.*",
                                               "**/.nycrc*",
                                               "**/.c8rc*",
                                               "**/nose.cfg",
                                               "**/.noserc",
                                               "**/.coveragerc"};
// Package manager settings that choose what runs a script or resolves a module.
constexpr std::string_view kLoaderFiles[] = {"**/node_modules/**",
                                             "**/.npmrc",
                                             "**/.yarnrc",
                                             "**/.yarnrc.yml",
                                             "**/.pnpmfile.cjs",
                                             "**/bunfig.toml",
                                             ".pnp.cjs",
                                             ".pnp.js",
                                             ".pnp.loader.mjs",
                                             ".yarn/**",
                                             "**/site-packages/**",
                                             "**/dist-packages/**",
                                             "**/*.pth",
                                             "**/.cargo/config",
                                             "**/.cargo/config.toml"};

enum class BuildKind {
  kNone,
  kMake,
  kCMake,
  kPackageJson,
  kCargo,
  kSetupCfg,
  kPyproject,
  kKeyword
};

enum class VerificationClass { kNone, kShim, kConfig, kBuild };

struct VerificationFile {
  VerificationClass cls = VerificationClass::kNone;
  std::string what;  // For the sentence: what the file is or shadows.
  BuildKind build = BuildKind::kNone;
};

bool IsPythonFile(std::string_view name) {
  for (std::string_view ext : {".py", ".pyc", ".pyo", ".pyw", ".so", ".pyd"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

bool Listed(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// `path` judged as a new side: `added` says whether the change creates it there.
VerificationFile ClassifyVerificationPath(std::string_view path, bool added,
                                          const Invocations& inv) {
  std::vector<std::string_view> segments = Segments(path);
  std::string_view name = segments.back();
  // The repository's say in which verifiers drover runs, for this run and every later one.
  if (path == ".drover.yml" || path == ".drover.yaml") {
    return {VerificationClass::kShim, "the repository's verifier configuration for drover"};
  }
  for (std::string_view glob : kLoaderFiles) {
    if (GlobMatches(glob, path)) {
      return {VerificationClass::kShim,
              "a file that stands in for what resolves the modules or runs the scripts of tests"};
    }
  }
  // Python modules and packages at the root or in src/ and lib/, and modules in a test
  // directory: where runners put the paths Python imports from first.
  bool source_dir = segments.size() >= 2 && (segments[0] == "src" || segments[0] == "lib");
  bool test_dir = segments.size() == 2 &&
                  (segments[0] == "test" || segments[0] == "tests" || segments[0] == "testing");
  size_t base = source_dir || test_dir ? 1 : 0;
  if (IsPythonFile(name)) {
    for (size_t k : {size_t{0}, base}) {
      if (k >= segments.size()) continue;
      std::string_view module = segments[k];
      if (k + 1 == segments.size()) module = module.substr(0, module.find('.'));
      if (Listed(kRunnerModules, module) || inv.python_modules.contains(std::string(module))) {
        return {VerificationClass::kShim, "a file that stands in for the Python module " +
                                              std::string(module) + " that test runners import"};
      }
      if (Listed(kStdlibModules, module)) {
        return {added ? VerificationClass::kShim : VerificationClass::kConfig,
                "a file that stands in for the standard library module " + std::string(module) +
                    " that test runners import"};
      }
    }
    std::string stem(name.substr(0, name.find('.')));
    if (stem == "sitecustomize" || stem == "usercustomize") {
      return {VerificationClass::kShim, "a file that stands in for Python's start-up hook " + stem};
    }
  }
  bool bin_dir = segments.size() == 1 ||
                 (segments.size() == 2 && (segments[0] == "bin" || segments[0] == ".bin"));
  if (bin_dir && (Listed(kRunnerPrograms, name) || inv.programs.contains(std::string(name)))) {
    return {VerificationClass::kShim,
            "a file that stands in for the program " + std::string(name) + " a verifier runs"};
  }
  for (std::string_view glob : kRunnerConfigs) {
    if (GlobMatches(glob, path)) return {VerificationClass::kConfig, "test-runner configuration"};
  }
  if (inv.paths.contains(std::string(path))) {
    return {VerificationClass::kConfig, "a script a verifier runs"};
  }
  auto build = [&](BuildKind kind, std::string what) {
    return VerificationFile{VerificationClass::kBuild, std::move(what), kind};
  };
  if (name == "Makefile" || name == "makefile" || name == "GNUmakefile" || name.ends_with(".mk") ||
      name.ends_with(".mak") || inv.makefiles.contains(std::string(path))) {
    return build(BuildKind::kMake, "test recipes or make settings");
  }
  if (name == "CMakeLists.txt" || name.ends_with(".cmake")) {
    return build(BuildKind::kCMake, "CMake test definitions");
  }
  if (name == "package.json") return build(BuildKind::kPackageJson, "test scripts or settings");
  if (name == "Cargo.toml") return build(BuildKind::kCargo, "Cargo test or bench settings");
  if (name == "setup.cfg") return build(BuildKind::kSetupCfg, "pytest settings");
  if (name == "pyproject.toml") return build(BuildKind::kPyproject, "test-runner settings");
  if (name == "pom.xml" || name == "build.gradle" || name == "build.gradle.kts" ||
      name == "setup.py" || name.starts_with("vite.config.")) {
    return build(BuildKind::kKeyword, "test settings");
  }
  return {};
}

bool IsTestName(std::string_view name) {
  return ContainsLower(name, "test") || ContainsLower(name, "check");
}

// Whether the changed line `line` (on the side `side` holds) of a build file defines how
// verification runs. Lines are judged with what the diff shows around them; when that is not
// enough to place a line (its rule or section is outside the hunk), it counts.
bool BuildLineCounts(BuildKind kind, const DiffLine& line, int number,
                     const std::map<int, const DiffLine*>& side, const Invocations& inv) {
  std::string_view text = line.text;
  std::string_view trimmed = Trim(text);
  if (trimmed.empty()) return false;
  // The known line above `number`, or nullptr at a gap.
  auto above = [&](int n) -> const DiffLine* {
    auto it = side.find(n);
    return it == side.end() ? nullptr : it->second;
  };
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = Lower(c);
    return out;
  };
  switch (kind) {
    case BuildKind::kMake: {
      if (trimmed.starts_with('#')) return false;
      for (std::string_view runner :
           {"go test", "pytest", "unittest", "ctest", "jest", "mocha", "cargo test", "npm test"}) {
        if (text.find(runner) != std::string_view::npos) return true;
      }
      // The targets of a rule line: "a b: prerequisites", not an assignment (":=", "::=").
      auto rule_targets = [](std::string_view s) -> std::optional<std::vector<std::string>> {
        if (s.starts_with('\t')) return std::nullopt;
        size_t colon = s.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        std::string_view head = s.substr(0, colon);
        if (head.find('=') != std::string_view::npos) return std::nullopt;
        if (colon + 1 < s.size() && s[colon + 1] == '=') return std::nullopt;
        if (colon + 2 < s.size() && s[colon + 1] == ':' && s[colon + 2] == '=') return std::nullopt;
        std::vector<std::string> targets;
        for (const auto& words : SimpleCommands(head)) {
          for (const std::string& w : words) targets.push_back(w);
        }
        return targets;
      };
      auto counts = [&](const std::vector<std::string>& targets) {
        if (inv.make_default_goal) return true;
        return std::any_of(targets.begin(), targets.end(), [&](const std::string& t) {
          return inv.make_targets.contains(t) || IsTestName(t) || t.starts_with('.');
        });
      };
      if (auto targets = rule_targets(text)) return counts(*targets);
      if (!text.starts_with('\t')) return true;  // Variables and directives reach every recipe.
      for (int n = number - 1; n >= 1; --n) {
        const DiffLine* prior = above(n);
        if (prior == nullptr) return true;
        std::string_view p = prior->text;
        if (p.starts_with('\t') || Trim(p).empty() || Trim(p).starts_with('#')) continue;
        if (auto targets = rule_targets(p)) return counts(*targets);
        return true;
      }
      return true;
    }
    case BuildKind::kCMake: {
      std::string l = lower(trimmed);
      if (l.starts_with('#')) return false;
      for (std::string_view word :
           {"add_test", "enable_testing", "set_tests_properties", "set_property(test",
            "gtest_discover_tests", "gtest_add_tests", "catch_discover_tests",
            "doctest_discover_tests", "include(ctest", "include(googletest", "ctest_",
            "build_testing", "add_custom_target(test", "add_custom_target(check"}) {
        if (l.find(word) != std::string::npos) return true;
      }
      return false;
    }
    case BuildKind::kPackageJson: {
      auto key_of = [](std::string_view s) -> std::string {
        s = Trim(s);
        if (!s.starts_with('"')) return {};
        size_t close = s.find('"', 1);
        return close == std::string_view::npos ? std::string()
                                               : std::string(s.substr(1, close - 1));
      };
      auto indent = [](std::string_view s) { return s.find_first_not_of(" \t"); };
      constexpr std::string_view kConfigKeys[] = {"scripts", "jest", "mocha", "ava",
                                                  "vitest",  "nyc",  "c8",    "testRunner"};
      std::string key = key_of(text);
      if (Listed(kConfigKeys, key)) return true;
      // The keys of the objects holding this line, innermost first.
      size_t level = indent(text);
      std::vector<std::string> parents;
      bool known = false;
      for (int n = number - 1; n >= 1 && level > 0; --n) {
        const DiffLine* prior = above(n);
        if (prior == nullptr) break;
        size_t at = indent(prior->text);
        if (at == std::string_view::npos || at >= level) continue;
        level = at;
        parents.push_back(key_of(prior->text));
        if (at == 0 || (at <= 2 && parents.back().empty())) known = true;
      }
      if (level == 0) known = true;
      for (const std::string& parent : parents) {
        if (Listed(kConfigKeys, parent) && parent != "scripts") return true;
      }
      bool in_scripts = !parents.empty() && parents.front() == "scripts";
      bool test_key = inv.scripts.contains(key) || key == "test" || key.starts_with("test:") ||
                      key.starts_with("pretest") || key.starts_with("posttest");
      if (in_scripts) return test_key || IsTestName(key);
      return !known && test_key;
    }
    case BuildKind::kCargo:
    case BuildKind::kSetupCfg:
    case BuildKind::kPyproject: {
      if (trimmed.starts_with('#') || trimmed.starts_with(';')) return false;
      std::string section;
      if (trimmed.starts_with('[')) {
        section = lower(trimmed);
      } else {
        for (int n = number - 1; n >= 1; --n) {
          const DiffLine* prior = above(n);
          if (prior == nullptr) break;
          if (Trim(prior->text).starts_with('[')) {
            section = lower(Trim(prior->text));
            break;
          }
        }
      }
      std::string l = lower(trimmed);
      std::string key(Trim(l.substr(0, l.find('='))));
      bool keyword = l.find("test") != std::string::npos ||
                     l.find("harness") != std::string::npos || l.find("bench") != std::string::npos;
      if (section.empty()) return keyword;
      if (kind == BuildKind::kCargo) {
        if (section.starts_with("[[test") || section.starts_with("[[bench") ||
            section.starts_with("[profile.test") || section.starts_with("[profile.bench")) {
          return true;
        }
        return key == "harness" || key == "test" || key == "bench" || key == "doctest" ||
               key == "build" || key == "autotests" || key == "autobenches";
      }
      if (kind == BuildKind::kSetupCfg) {
        return section.starts_with("[tool:pytest") || section.starts_with("[pytest") ||
               section.starts_with("[aliases") || section.starts_with("[nosetests") || keyword;
      }
      return section.starts_with("[tool.pytest") || section.starts_with("[tool.tox") ||
             section.starts_with("[tool.nox") || section.starts_with("[tool.hatch.envs") ||
             section.starts_with("[tool.poe") || keyword;
    }
    case BuildKind::kKeyword: {
      std::string l = lower(trimmed);
      return l.find("test") != std::string::npos || l.find("surefire") != std::string::npos ||
             l.find("failsafe") != std::string::npos || l.find("junit") != std::string::npos;
    }
    case BuildKind::kNone: return false;
  }
  return false;
}

// Targets a Makefile's rules make the `seeds` depend on, directly or not, the seeds left out.
// Prerequisites written with variables are not expanded.
std::set<std::string> MakePrerequisites(std::string_view makefile, std::set<std::string> seeds) {
  std::map<std::string, std::vector<std::string>> rules;
  size_t pos = 0;
  while (pos < makefile.size()) {
    size_t end = makefile.find('\n', pos);
    if (end == std::string_view::npos) end = makefile.size();
    std::string_view line = makefile.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with('\t') || Trim(line).starts_with('#')) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view head = line.substr(0, colon);
    std::string_view tail = line.substr(colon + 1);
    if (tail.starts_with(':')) tail.remove_prefix(1);
    if (head.find('=') != std::string_view::npos || tail.starts_with('=')) continue;
    tail = tail.substr(0, tail.find(';'));
    if (tail.find('=') != std::string_view::npos) continue;  // A target-specific variable.
    std::vector<std::string> prerequisites;
    for (const auto& words : SimpleCommands(tail)) {
      for (const std::string& w : words) {
        if (w != "|" && w.find('$') == std::string::npos) prerequisites.push_back(w);
      }
    }
    for (const auto& words : SimpleCommands(head)) {
      for (const std::string& target : words) {
        auto& list = rules[target];
        list.insert(list.end(), prerequisites.begin(), prerequisites.end());
        if (IsTestName(target)) seeds.insert(target);
      }
    }
  }
  std::set<std::string> reached;
  std::vector<std::string> queue(seeds.begin(), seeds.end());
  while (!queue.empty()) {
    std::string target = std::move(queue.back());
    queue.pop_back();
    auto it = rules.find(target);
    if (it == rules.end()) continue;
    for (const std::string& prerequisite : it->second) {
      if (seeds.contains(prerequisite) || !reached.insert(prerequisite).second) continue;
      queue.push_back(prerequisite);
    }
  }
  return reached;
}

// `prerequisites`, when given, holds per Makefile the targets the verifiers' targets depend
// on (read from the final tree): then only recipes of those targets are judged, in Makefiles
// whose other changed lines did not already count.
void CheckVerificationFiles(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict,
                            const std::map<std::string, std::set<std::string>>* prerequisites) {
  Invocations inv = ParseInvocations(rules.verifier_commands);
  for (const FileChange& file : diff.files) {
    // The new side decides shims; either side a file's role in verification.
    VerificationFile found;
    std::string path;
    for (const std::string& candidate : PathsOf(file)) {
      bool new_side = candidate == file.new_path;
      VerificationFile kind = ClassifyVerificationPath(
          candidate, new_side && file.status != FileStatus::kModified, inv);
      if (kind.cls == VerificationClass::kShim && !new_side) kind.cls = VerificationClass::kConfig;
      if (static_cast<int>(kind.cls) > 0 &&
          (found.cls == VerificationClass::kNone || kind.cls == VerificationClass::kShim)) {
        found = kind;
        path = candidate;
      }
    }
    if (found.cls == VerificationClass::kNone) continue;
    std::vector<std::string> places;
    if (found.cls == VerificationClass::kBuild) {
      std::map<int, const DiffLine*> old_side;
      std::map<int, const DiffLine*> new_side;
      for (const DiffLine& line : file.context) {
        old_side.emplace(line.old_line, &line);
        new_side.emplace(line.new_line, &line);
      }
      for (const DiffLine& line : file.removed) old_side.emplace(line.old_line, &line);
      for (const DiffLine& line : file.added) new_side.emplace(line.new_line, &line);
      auto judge = [&](const Invocations& with) {
        std::vector<std::string> out;
        for (const DiffLine& line : file.removed) {
          if (BuildLineCounts(found.build, line, line.old_line, old_side, with)) {
            out.push_back(file.old_path + ":" + std::to_string(line.old_line) + " (removed)");
          }
        }
        for (const DiffLine& line : file.added) {
          if (BuildLineCounts(found.build, line, line.new_line, new_side, with)) {
            out.push_back(file.new_path + ":" + std::to_string(line.new_line));
          }
        }
        return out;
      };
      places = judge(inv);
      if (prerequisites != nullptr) {
        auto it = prerequisites->find(file.new_path);
        if (found.build != BuildKind::kMake || it == prerequisites->end() || !places.empty()) {
          continue;
        }
        Invocations deeper = inv;
        deeper.make_targets.insert(it->second.begin(), it->second.end());
        places = judge(deeper);
        if (places.empty()) continue;
        found.what = "the recipe of a target the tests depend on";
      }
      // A build file moved without a change in content is judged by its name alone.
      bool moved =
          file.status == FileStatus::kRenamed && file.added.empty() && file.removed.empty();
      if (places.empty() && !moved) continue;
    } else if (prerequisites != nullptr) {
      continue;
    }
    std::string sentence = Verb(file);
    if (found.cls == VerificationClass::kShim) {
      sentence += ", " + found.what;
    } else {
      sentence += ", which defines how verification runs (" + found.what + ")";
    }
    if (!places.empty()) sentence += Places(places);
    bool allowed = MatchesAny(rules.allow_verification_files, path);
    if (allowed || (found.cls != VerificationClass::kShim && !rules.refuse_verification_changes)) {
      verdict.verification_changes.push_back(sentence);
    } else if (found.cls == VerificationClass::kShim) {
      verdict.violations.push_back(sentence +
                                   "; only paths in policy.allow_verification_files may change");
    } else {
      verdict.violations.push_back(sentence +
                                   "; policy.verification_changes is refuse (paths in "
                                   "policy.allow_verification_files may change)");
    }
  }
}

// --- Assertions ---

// The arguments of the call whose '(' is at `open`, split at top-level commas and trimmed,
// and the position after its ')'. Strings and nested brackets are skipped.
std::optional<std::pair<std::vector<std::string>, size_t>> CallArguments(std::string_view line,
                                                                         size_t open) {
  if (open >= line.size() || line[open] != '(') return std::nullopt;
  std::vector<std::string> args;
  std::string current;
  int depth = 0;
  for (size_t i = open + 1; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"' || c == '\'' || c == '`') {
      size_t close = i + 1;
      while (close < line.size() && line[close] != c) close += line[close] == '\\' ? 2 : 1;
      if (close >= line.size()) return std::nullopt;
      current += line.substr(i, close - i + 1);
      i = close;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') {
      if (depth == 0) {
        if (!Trim(current).empty() || !args.empty()) args.emplace_back(Trim(current));
        return std::pair{args, i + 1};
      }
      --depth;
    }
    if (c == ',' && depth == 0) {
      args.emplace_back(Trim(current));
      current.clear();
      continue;
    }
    current += c;
  }
  return std::nullopt;
}

std::string Squeezed(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') out += c;
  }
  while (out.size() >= 2 && out.front() == '(' && out.back() == ')') {
    out = out.substr(1, out.size() - 2);
  }
  return out;
}

bool IsQuoted(std::string_view s) {
  return s.size() >= 2 && (s.front() == '"' || s.front() == '\'' || s.front() == '`') &&
         s.back() == s.front();
}

bool TruthyLiteral(std::string_view expression) {
  std::string s = Squeezed(expression);
  if (s.empty()) return false;
  for (std::string_view word : {"true", "True", "TRUE", "!false", "!0", "notFalse", "not0",
                                "notNone", "!!1", "!!true", "Some(true)"}) {
    if (s == word) return true;
  }
  if (IsQuoted(s)) return s.size() > 2;
  bool digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  return digits && s.find_first_not_of('0') != std::string::npos;
}

bool FalsyLiteral(std::string_view expression) {
  std::string s = Squeezed(expression);
  for (std::string_view word : {"false", "False", "FALSE", "0", "None", "nil", "null", "nullptr",
                                "NULL", "\"\"", "''", "!true", "notTrue", "!1"}) {
    if (s == word) return true;
  }
  return false;
}

// An expression of literals and operators only (`1 + 1 == 2`, `"a" in "abc"`, `not None`):
// it reads nothing the test computed, so it decides nothing.
bool ConstantExpression(std::string_view expression) {
  bool any = false;
  for (size_t i = 0; i < expression.size();) {
    char c = expression[i];
    if (c == '"' || c == '\'') {
      size_t close = expression.find(c, i + 1);
      if (close == std::string_view::npos) return false;
      any = true;
      i = close + 1;
    } else if (c >= '0' && c <= '9') {
      while (i < expression.size() && (IsIdentChar(expression[i]) || expression[i] == '.')) ++i;
      any = true;
    } else if (IsIdentChar(c)) {
      std::string_view word = TakeIdentifier(expression.substr(i));
      constexpr std::string_view kLiterals[] = {"true",  "True", "TRUE", "false", "False",
                                                "FALSE", "None", "nil",  "null",  "nullptr",
                                                "not",   "and",  "or",   "in",    "is"};
      if (std::find(std::begin(kLiterals), std::end(kLiterals), word) == std::end(kLiterals)) {
        return false;
      }
      any = any || (word != "not" && word != "and" && word != "or" && word != "in" && word != "is");
      i += word.size();
    } else if (c == '`' || c == '$' || c == '@') {
      return false;
    } else {
      ++i;
    }
  }
  return any;
}

// `a == a`, `a === a`, `a is a`: the same expression on both sides of a top-level comparison.
bool SelfComparison(std::string_view expression) {
  for (std::string_view op : {"===", "==", " is "}) {
    size_t at = expression.find(op);
    if (at == std::string_view::npos) continue;
    std::string left = Squeezed(expression.substr(0, at));
    std::string right = Squeezed(expression.substr(at + op.size()));
    if (!left.empty() && left == right) return true;
    return false;
  }
  return false;
}

// An assertion function or macro `name` (any case) given `args` that cannot fail.
bool TrivialCall(std::string_view name, std::vector<std::string> args) {
  std::string l(name);
  for (char& c : l) c = Lower(c);
  if (args.empty()) return false;
  bool negated = l.find("not") != std::string::npos || l.ends_with("ne") ||
                 l.find("_ne") != std::string::npos || l.find("neq") != std::string::npos;
  if (negated) return false;
  // A message before the values (JUnit 4: assertEquals("msg", a, b); assertTrue("msg", c)).
  auto drop_message = [&](size_t needed) {
    if (args.size() > needed && IsQuoted(args.front())) args.erase(args.begin());
  };
  if (l.find("false") != std::string::npos) {
    drop_message(1);
    return FalsyLiteral(args.front());
  }
  if (l.find("eq") != std::string::npos || l.find("same") != std::string::npos || l == "is" ||
      l.ends_with("is") || l.ends_with("_is")) {
    drop_message(2);
    return args.size() >= 2 && (Squeezed(args[0]) == Squeezed(args[1]) ||
                                (ConstantExpression(args[0]) && ConstantExpression(args[1])));
  }
  if (l.find("true") != std::string::npos || l == "assert" || l == "ok" || l == "check" ||
      l == "require" || l == "assert_" || l == "expect" || l == "debug_assert") {
    drop_message(1);
    return TruthyLiteral(args.front()) || SelfComparison(args.front()) ||
           ConstantExpression(args.front());
  }
  return false;
}

// The matcher chained after `expect(...)` at `at`: `.toBe(x)`, `.not.toBe(x)`, `.to.be.true`.
bool TrivialExpectation(std::string_view line, size_t at, const std::string& actual) {
  std::string last;
  while (at < line.size() && line[at] == '.') {
    std::string_view name = TakeIdentifier(line.substr(at + 1));
    if (name.empty()) return false;
    if (name == "not") return false;
    at += 1 + name.size();
    last = std::string(name);
    if (at < line.size() && line[at] == '(') {
      auto call = CallArguments(line, at);
      if (!call) return false;
      const std::vector<std::string>& expected = call->first;
      if (last == "toBeTruthy" || last == "toBeDefined" || last == "toBeTrue" || last == "ok") {
        return TruthyLiteral(actual);
      }
      if (last == "toBeFalsy" || last == "toBeFalse") return FalsyLiteral(actual);
      if (last == "toBeNull") return Squeezed(actual) == "null";
      if (!expected.empty() && (last == "toBe" || last == "toEqual" || last == "toStrictEqual" ||
                                last == "equal" || last == "eql" || last == "equals")) {
        return Squeezed(actual) == Squeezed(expected[0]) ||
               (ConstantExpression(actual) && ConstantExpression(expected[0]));
      }
      if (last == "toBeTruthy" || last == "true") return TruthyLiteral(actual);
      at = call->second;
    }
  }
  if (last == "true" || last == "ok") return TruthyLiteral(actual);
  if (last == "false") return FalsyLiteral(actual);
  return false;
}

}  // namespace

AssertionCount CountAssertions(std::string_view path, std::string_view line) {
  AssertionCount count;
  Language language = LanguageOf(path);
  std::string_view trimmed = Trim(line);
  if (language == Language::kNone) return count;
  if (language == Language::kPython
          ? trimmed.starts_with('#')
          : trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with("*")) {
    return count;
  }
  std::string_view text = trimmed;
  auto preceded_by = [&](size_t at, std::string_view receiver) {
    return at >= receiver.size() &&
           text.substr(at - receiver.size(), receiver.size()) == receiver &&
           (at == receiver.size() || !IsIdentChar(text[at - receiver.size() - 1]));
  };
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"' || c == '\'' || c == '`') {
      size_t close = i + 1;
      while (close < text.size() && text[close] != c) close += text[close] == '\\' ? 2 : 1;
      i = close + 1;
      continue;
    }
    if (language == Language::kPython ? c == '#'
                                      : c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      break;
    }
    if (!IsIdentChar(c) || (i > 0 && IsIdentChar(text[i - 1])) || (c >= '0' && c <= '9')) {
      ++i;
      continue;
    }
    std::string_view name = TakeIdentifier(text.substr(i));
    size_t after = i + name.size();
    char next = after < text.size() ? text[after] : '\0';
    bool assertion = false;
    bool trivial = false;
    auto call_trivial = [&](std::string_view function, size_t open) {
      auto call = CallArguments(text, open);
      return call && TrivialCall(function, call->first);
    };
    switch (language) {
      case Language::kPython:
        if (name == "assert" && (next == ' ' || next == '(')) {
          assertion = true;
          std::string_view rest = text.substr(after);
          // The message after a top-level comma is not part of the condition.
          int depth = 0;
          size_t end = 0;
          for (; end < rest.size(); ++end) {
            char r = rest[end];
            if (r == '(' || r == '[' || r == '{') ++depth;
            if (r == ')' || r == ']' || r == '}') --depth;
            if ((r == ',' && depth == 0) || r == '#') break;
          }
          std::string_view condition = rest.substr(0, end);
          trivial = TruthyLiteral(condition) || SelfComparison(condition) ||
                    ConstantExpression(condition);
        } else if (name.starts_with("assert") && next == '(') {
          assertion = true;
          trivial = call_trivial(name, after);
        } else if ((name == "raises" || name == "warns") && preceded_by(i, "pytest.")) {
          assertion = true;
        } else if (name == "fail" && preceded_by(i, "self.") && next == '(') {
          assertion = true;
        }
        break;
      case Language::kJvm:
        if (name.starts_with("assert") && next == '(') {
          assertion = true;
          trivial = call_trivial(name, after);
        } else if (name == "fail" && next == '(') {
          assertion = true;
        }
        break;
      case Language::kJs:
        if (name == "expect" && next == '(') {
          assertion = true;
          auto call = CallArguments(text, after);
          if (call && !call->first.empty()) {
            trivial = TrivialExpectation(text, call->second, call->first[0]);
          }
        } else if (name == "assert" && (next == '(' || next == '.')) {
          assertion = true;
          if (next == '(') {
            trivial = call_trivial(name, after);
          } else {
            std::string_view method = TakeIdentifier(text.substr(after + 1));
            size_t open = after + 1 + method.size();
            trivial = call_trivial(method == "ok" ? "ok" : method, open);
          }
        } else if (name == "should" && i > 0 && text[i - 1] == '.') {
          assertion = true;
        } else if (preceded_by(i, "t.") && next == '(') {
          for (std::string_view ava : {"is", "deepEqual", "true", "false", "truthy", "falsy",
                                       "throws", "throwsAsync", "like", "regex", "snapshot"}) {
            if (name == ava) assertion = true;
          }
          if (assertion) trivial = call_trivial(name == "truthy" ? "true" : name, after);
        }
        break;
      case Language::kGo:
        if ((preceded_by(i, "t.") || preceded_by(i, "b.") || preceded_by(i, "tb.")) &&
            next == '(') {
          for (std::string_view report :
               {"Error", "Errorf", "Fatal", "Fatalf", "Fail", "FailNow"}) {
            if (name == report) assertion = true;
          }
        } else if ((preceded_by(i, "require.") || preceded_by(i, "assert.")) && next == '(') {
          assertion = true;
          auto call = CallArguments(text, after);
          if (call && call->first.size() >= 2) {
            std::vector<std::string> args(call->first.begin() + 1, call->first.end());
            trivial = TrivialCall(name, args);
          }
        }
        break;
      case Language::kRust:
        if ((name.starts_with("assert") || name.starts_with("debug_assert")) && next == '!') {
          assertion = true;
          trivial = call_trivial(name, after + 1);
        }
        break;
      case Language::kCpp:
        if ((name.starts_with("EXPECT_") || name.starts_with("ASSERT_") || name == "CHECK" ||
             name.starts_with("CHECK_") || name == "REQUIRE" || name.starts_with("REQUIRE_")) &&
            next == '(') {
          assertion = true;
          std::string_view macro = name;
          for (std::string_view prefix : {"EXPECT_", "ASSERT_", "CHECK_", "REQUIRE_"}) {
            if (macro.starts_with(prefix)) macro.remove_prefix(prefix.size());
          }
          trivial = call_trivial(macro, after);
        }
        break;
      case Language::kNone: break;
    }
    if (assertion) {
      ++count.total;
      if (trivial) ++count.trivial;
    }
    i = after;
  }
  return count;
}

namespace {

// Tests left with fewer assertions while other files change, and assertions that cannot fail.
void CheckWeakenedTests(const ParsedDiff& diff, const DiffRules& rules, PolicyVerdict& verdict) {
  bool other_changes = std::any_of(diff.files.begin(), diff.files.end(), [](const FileChange& f) {
    std::vector<std::string> paths = PathsOf(f);
    return std::none_of(paths.begin(), paths.end(),
                        [](const std::string& p) { return IsTestPath(p); });
  });
  auto report = [&](std::string sentence) {
    if (rules.refuse_weakened_tests) {
      verdict.violations.push_back(sentence + "; policy.weakened_tests is refuse");
    } else {
      verdict.weakened_tests.push_back(std::move(sentence));
    }
  };
  for (const FileChange& file : diff.files) {
    if (file.new_path.empty() || !IsTestPath(file.new_path)) continue;
    const std::string& old_path = file.old_path.empty() ? file.new_path : file.old_path;
    int removed = 0;
    std::vector<std::string> removed_places;
    std::multiset<std::string_view> before;
    for (const DiffLine& line : file.removed) {
      AssertionCount count = CountAssertions(old_path, line.text);
      removed += count.total - count.trivial;
      if (count.total > 0) {
        removed_places.push_back(old_path + ":" + std::to_string(line.old_line));
      }
      before.insert(Trim(line.text));
    }
    int added = 0;
    std::vector<std::string> trivial_places;
    for (const DiffLine& line : file.added) {
      AssertionCount count = CountAssertions(file.new_path, line.text);
      added += count.total - count.trivial;
      if (count.trivial == 0) continue;
      // Only re-indented or moved: not new.
      if (auto it = before.find(Trim(line.text)); it != before.end()) {
        before.erase(it);
        continue;
      }
      trivial_places.push_back(file.new_path + ":" + std::to_string(line.new_line));
    }
    if (!trivial_places.empty()) {
      report(Verb(file) + " with assertions that are always true" + Places(trivial_places));
    }
    if (other_changes && added < removed) {
      report(Verb(file) + " with " + std::to_string(removed - added) + " fewer assertion" +
             (removed - added == 1 ? "" : "s") + " (" + std::to_string(removed) + " removed, " +
             std::to_string(added) + " added) while code outside the tests changes" +
             Places(removed_places));
    }
  }
}

// "100644" and the like; 0 when the text is not an octal mode.
uint32_t OctalMode(std::string_view text) {
  uint32_t mode = 0;
  size_t i = 0;
  for (; i < text.size() && i < 7 && text[i] >= '0' && text[i] <= '7'; ++i) {
    mode = mode * 8 + static_cast<uint32_t>(text[i] - '0');
  }
  return i == 0 || (i < text.size() && text[i] != ' ') ? 0 : mode;
}

}  // namespace

int ParsedDiff::lines_added() const {
  int n = 0;
  for (const FileChange& file : files) n += static_cast<int>(file.added.size());
  return n;
}

int ParsedDiff::lines_removed() const {
  int n = 0;
  for (const FileChange& file : files) n += static_cast<int>(file.removed.size());
  return n;
}

Result<ParsedDiff> ParseDiff(std::string_view patch) {
  ParsedDiff diff;
  FileChange* file = nullptr;
  int old_left = 0;
  int new_left = 0;
  int old_line = 0;
  int new_line = 0;
  bool in_hunks = false;  // Past the file's header lines.
  int number = 0;
  auto fail = [&](std::string_view what) {
    return Fail(ErrorCode::kParse,
                "diff line " + std::to_string(number) + ": " + std::string(what));
  };
  auto finish = [&] {
    if (file == nullptr) return;
    if (file->status == FileStatus::kAdded) file->old_path.clear();
    if (file->status == FileStatus::kDeleted) file->new_path.clear();
    // A link's blob is its target, one line without a line end.
    if (file->new_mode == 0120000 && file->added.size() == 1) {
      file->symlink_target = file->added.front().text;
    }
  };
  size_t pos = 0;
  while (pos < patch.size()) {
    size_t end = patch.find('\n', pos);
    if (end == std::string_view::npos) end = patch.size();
    std::string_view line = patch.substr(pos, end - pos);
    pos = end + 1;
    ++number;

    if (old_left > 0 || new_left > 0) {
      // Inside a hunk the counts, not the text, say where it ends: a removed line may well
      // read "--- a/x" or "diff --git".
      char kind = line.empty() ? ' ' : line.front();
      std::string text(line.empty() ? line : line.substr(1));
      if (kind == '\\') continue;
      if (kind == ' ' && old_left > 0 && new_left > 0) {
        file->context.push_back({old_line++, new_line++, std::move(text)});
        --old_left;
        --new_left;
      } else if (kind == '-' && old_left > 0) {
        file->removed.push_back({old_line++, 0, std::move(text)});
        --old_left;
      } else if (kind == '+' && new_left > 0) {
        file->added.push_back({0, new_line++, std::move(text)});
        --new_left;
      } else {
        return fail("the hunk's lines do not match its header's counts");
      }
      continue;
    }

    if (line.starts_with("diff --git ")) {
      finish();
      auto paths = GitHeaderPaths(line.substr(11));
      if (!paths) return fail("cannot read the paths of \"" + std::string(line) + "\"");
      diff.files.emplace_back();
      file = &diff.files.back();
      file->old_path = paths->first;
      file->new_path = paths->second;
      in_hunks = false;
      continue;
    }
    if (line.starts_with('\\')) continue;  // "\ No newline at end of file"
    if (file == nullptr) {
      if (Trim(line).empty()) continue;
      return fail("expected \"diff --git\", got \"" + std::string(line) + "\"");
    }
    if (line.starts_with("@@ ")) {
      size_t close = line.find(" @@", 3);
      if (close == std::string_view::npos) return fail("malformed hunk header");
      std::string_view ranges = line.substr(3, close - 3);
      size_t space = ranges.find(' ');
      if (space == std::string_view::npos ||
          !ParseRange(ranges.substr(0, space), '-', old_line, old_left) ||
          !ParseRange(ranges.substr(space + 1), '+', new_line, new_left)) {
        return fail("malformed hunk header \"" + std::string(line) + "\"");
      }
      // An empty side's start is the line before the hunk.
      if (old_left == 0) ++old_line;
      if (new_left == 0) ++new_line;
      in_hunks = true;
      continue;
    }
    if (in_hunks) {
      if (Trim(line).empty()) continue;
      return fail("unexpected line after a hunk: \"" + std::string(line) + "\"");
    }
    if (line.starts_with("new file mode ")) {
      file->status = FileStatus::kAdded;
      file->new_mode = OctalMode(line.substr(14));
    } else if (line.starts_with("deleted file mode ")) {
      file->status = FileStatus::kDeleted;
      file->old_mode = OctalMode(line.substr(18));
    } else if (line.starts_with("old mode ")) {
      file->old_mode = OctalMode(line.substr(9));
    } else if (line.starts_with("new mode ")) {
      file->new_mode = OctalMode(line.substr(9));
    } else if (line.starts_with("index ")) {
      // "index abc..def 100644": the mode of both sides when it did not change.
      if (size_t space = line.find(' ', 6); space != std::string_view::npos) {
        uint32_t mode = OctalMode(line.substr(space + 1));
        if (file->old_mode == 0 && file->status != FileStatus::kAdded) file->old_mode = mode;
        if (file->new_mode == 0 && file->status != FileStatus::kDeleted) file->new_mode = mode;
      }
    } else if (line.starts_with("rename from ") || line.starts_with("copy from ")) {
      bool copy = line.starts_with("copy");
      auto path = PathField(line.substr(copy ? 10 : 12), false);
      if (!path) return fail("malformed rename");
      file->old_path = *path;
      // A copy leaves its source in place: to the policy it is a new file.
      file->status = copy ? FileStatus::kAdded : FileStatus::kRenamed;
    } else if (line.starts_with("rename to ") || line.starts_with("copy to ")) {
      auto path = PathField(line.substr(line.starts_with("copy") ? 8 : 10), false);
      if (!path) return fail("malformed rename");
      file->new_path = *path;
    } else if (line.starts_with("--- ") || line.starts_with("+++ ")) {
      auto path = PathField(line.substr(4), true);
      if (!path) return fail("malformed file name line \"" + std::string(line) + "\"");
      bool old_side = line.front() == '-';
      if (path->empty()) {
        file->status = old_side ? FileStatus::kAdded : FileStatus::kDeleted;
      } else {
        (old_side ? file->old_path : file->new_path) = *path;
      }
    } else if (line.starts_with("Binary files ") || line == "GIT binary patch") {
      file->binary = true;
    }
    // Other header lines (similarity) say nothing the policy needs.
  }
  if (old_left > 0 || new_left > 0) return fail("the diff ends inside a hunk");
  finish();
  return diff;
}

std::string_view VerificationFileKind(std::string_view path,
                                      std::span<const std::string> verifier_commands) {
  switch (ClassifyVerificationPath(path, true, ParseInvocations(verifier_commands)).cls) {
    case VerificationClass::kShim: return "a test-runner shim";
    case VerificationClass::kConfig: return "test-runner configuration";
    case VerificationClass::kBuild: return "a build file";
    case VerificationClass::kNone: return {};
  }
  return {};
}

std::string_view ControlFileKind(std::string_view path) {
  for (const ControlGlob& control : kControlFiles) {
    if (GlobMatches(control.glob, path)) return control.kind;
  }
  return {};
}

bool GlobMatches(std::string_view glob, std::string_view path) {
  std::vector<std::string_view> glob_segments = Segments(glob);
  std::vector<std::string_view> path_segments = Segments(path);
  return SegmentsMatch(glob_segments, path_segments);
}

Status CheckGlob(std::string_view glob) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument, "\"" + std::string(glob) + "\" " + std::string(why));
  };
  if (glob.empty()) return bad("is empty");
  if (glob.front() == '/') {
    return bad("is absolute; globs are relative to the repository root (src/**, not /src/**)");
  }
  if (glob.find('[') != std::string_view::npos) {
    return bad("has a '[': character classes are not supported");
  }
  for (std::string_view segment : Segments(glob)) {
    if (segment.empty()) return bad("has an empty path segment ('//' or a trailing '/')");
    if (segment == "." || segment == "..") return bad("has a '.' or '..' segment");
    if (segment != "**" && segment.find("**") != std::string_view::npos) {
      return bad("has '**' inside a segment; '**' must stand alone between slashes (src/**/x)");
    }
  }
  return {};
}

std::string PolicyVerdict::Bullets() const {
  std::string out;
  for (const std::string& violation : violations) out += "- " + violation + "\n";
  return out;
}

std::vector<std::string> FindCredentials(std::string_view line) {
  std::vector<std::string> kinds;
  auto add = [&](std::string kind) {
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  };
  if (line.find("-----BEGIN ") != std::string_view::npos &&
      line.find("PRIVATE KEY") != std::string_view::npos) {
    add("a private key");
  }
  for (const TokenFormat& format : kTokenFormats) {
    size_t at = line.find(format.prefix);
    while (at != std::string_view::npos) {
      bool starts = at == 0 || !format.word_start || !IsTokenChar(line[at - 1]);
      size_t end = at + format.prefix.size();
      while (end < line.size() && format.body(line[end])) ++end;
      std::string_view body =
          line.substr(at + format.prefix.size(), end - at - format.prefix.size());
      if (starts && body.size() >= format.min_rest && !Placeholder(body)) {
        add(std::string(format.kind));
        break;
      }
      at = line.find(format.prefix, at + 1);
    }
  }
  // "sk-ant-" also starts with "sk-": one key, one name.
  if (std::find(kinds.begin(), kinds.end(), "an Anthropic API key") != kinds.end()) {
    std::erase(kinds, std::string("an OpenAI API key"));
  }
  std::vector<std::string> assigned;
  AssignedSecrets(line, assigned);
  // A known token assigned to a secret name is named once, by its format.
  if (kinds.empty()) {
    for (std::string& kind : assigned) add(std::move(kind));
  }
  return kinds;
}

PolicyVerdict CheckDiff(const ParsedDiff& diff, const DiffRules& rules) {
  PolicyVerdict verdict;
  int files = static_cast<int>(diff.files.size());
  if (files > rules.max_files_changed) {
    verdict.violations.push_back("changes " + std::to_string(files) + " files, more than the " +
                                 std::to_string(rules.max_files_changed) + " allowed");
  }
  int lines = diff.lines_added() + diff.lines_removed();
  if (lines > rules.max_lines_changed) {
    verdict.violations.push_back("changes " + std::to_string(lines) +
                                 " lines (added plus removed), more than the " +
                                 std::to_string(rules.max_lines_changed) + " allowed");
  }
  CheckPaths(diff, rules, verdict);
  CheckTests(diff, rules, verdict);
  CheckLinks(diff, rules, verdict);
  CheckContent(diff, rules, verdict);
  CheckControlFiles(diff, rules, verdict);
  CheckVerificationFiles(diff, rules, verdict, nullptr);
  CheckWeakenedTests(diff, rules, verdict);
  for (const FileChange& file : diff.files) {
    if (file.new_path.empty()) continue;
    std::map<std::string, std::vector<std::string>> places;  // By kind.
    for (const DiffLine& line : file.added) {
      for (const std::string& kind : FindCredentials(line.text)) {
        places[kind].push_back(file.new_path + ":" + std::to_string(line.new_line));
      }
    }
    for (const auto& [kind, where] : places) {
      verdict.violations.push_back(Verb(file) + " with what looks like " + kind + Places(where) +
                                   "; credentials never leave this machine");
    }
  }

  for (const std::string& pattern : rules.must_be_gone) {
    std::vector<std::string> places;
    for (const FileChange& file : diff.files) {
      if (file.new_path.empty() || MatchesAny(rules.must_be_gone_except, file.new_path)) continue;
      for (const DiffLine& line : file.added) {
        if (line.text.find(pattern) != std::string::npos) {
          places.push_back(file.new_path + ":" + std::to_string(line.new_line));
        }
      }
    }
    if (places.empty()) continue;
    verdict.violations.push_back("the pattern `" + pattern + "` is still present in " +
                                 std::to_string(places.size()) + " added/changed place" +
                                 (places.size() == 1 ? "" : "s") + Places(places));
  }
  for (const std::string& pattern : rules.must_appear) {
    bool found = std::any_of(diff.files.begin(), diff.files.end(), [&](const FileChange& file) {
      return std::any_of(file.added.begin(), file.added.end(), [&](const DiffLine& line) {
        return line.text.find(pattern) != std::string::npos;
      });
    });
    if (!found)
      verdict.violations.push_back("the pattern `" + pattern + "` appears in no added line");
  }
  return verdict;
}

Result<std::vector<Occurrence>> FindRemaining(const std::filesystem::path& workspace,
                                              std::span<const std::string> patterns,
                                              std::span<const std::string> exclude,
                                              size_t max_hits) {
  namespace fs = std::filesystem;
  std::vector<Occurrence> hits;
  std::error_code ec;
  fs::file_status root = fs::symlink_status(workspace, ec);
  if (ec || !fs::is_directory(root)) {
    return Fail(ErrorCode::kNotFound, workspace.string() + " is not a directory");
  }
  if (patterns.empty() || max_hits == 0) return hits;

  std::vector<std::string> files;
  // Directory symlinks are not followed: the default options leave them as entries.
  fs::recursive_directory_iterator it(workspace, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Fail(ErrorCode::kIo, "walking " + workspace.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator();) {
    fs::file_status status = it->symlink_status(ec);
    if (!ec) {
      bool git = it->path().filename() == ".git";
      if (fs::is_directory(status) && git) {
        it.disable_recursion_pending();
      } else if (fs::is_regular_file(status) && !git) {
        std::string rel = it->path().lexically_relative(workspace).generic_string();
        if (!MatchesAny(exclude, rel)) files.push_back(std::move(rel));
      }
    }
    it.increment(ec);
    if (ec) return Fail(ErrorCode::kIo, "walking " + workspace.string() + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());

  std::string content;
  for (const std::string& rel : files) {
    // The tree may hold anything the agent wrote: O_NOFOLLOW and O_NONBLOCK keep a file
    // swapped for a link or a FIFO since the walk from being followed or blocking.
    int fd = ::open((workspace / rel).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st {};
    bool readable = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    static_cast<size_t>(st.st_size) <= kMaxScannedFileBytes;
    content.clear();
    if (readable) {
      std::array<char, 65536> buffer{};
      while (content.size() <= kMaxScannedFileBytes) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          readable = n == 0;
          break;
        }
        content.append(buffer.data(), static_cast<size_t>(n));
      }
    }
    ::close(fd);
    if (!readable || content.size() > kMaxScannedFileBytes ||
        content.find('\0') < std::min(content.size(), kBinaryProbeBytes)) {
      continue;
    }
    size_t pos = 0;
    int line_number = 0;
    while (pos < content.size()) {
      size_t end = content.find('\n', pos);
      if (end == std::string::npos) end = content.size();
      std::string_view line(content.data() + pos, end - pos);
      pos = end + 1;
      ++line_number;
      for (const std::string& pattern : patterns) {
        if (line.find(pattern) == std::string_view::npos) continue;
        hits.push_back({rel, line_number, pattern});
        if (hits.size() >= max_hits) return hits;
      }
    }
  }
  return hits;
}

Status CheckRemaining(const std::filesystem::path& workspace, const ParsedDiff& diff,
                      const DiffRules& rules, PolicyVerdict& verdict) {
  // Files moved without a change carry no mode or content in the diff: a symbolic link
  // among them is judged by what it points to from its new place.
  for (const FileChange& file : diff.files) {
    if (file.status != FileStatus::kRenamed || !file.added.empty() || file.new_mode != 0) continue;
    std::error_code ec;
    std::filesystem::path link = workspace / file.new_path;
    if (!std::filesystem::is_symlink(std::filesystem::symlink_status(link, ec))) continue;
    std::filesystem::path target = std::filesystem::read_symlink(link, ec);
    if (ec) return Fail(ErrorCode::kIo, "reading the link " + file.new_path + ": " + ec.message());
    JudgeLink(file, target.string(), rules, verdict);
  }
  // Makefiles of the final tree: a recipe of a target the verifiers' targets depend on
  // (`test: build`) defines verification too, which the diff alone cannot show.
  Invocations inv = ParseInvocations(rules.verifier_commands);
  std::map<std::string, std::set<std::string>> prerequisites;
  for (const FileChange& file : diff.files) {
    if (file.new_path.empty() ||
        ClassifyVerificationPath(file.new_path, false, inv).build != BuildKind::kMake) {
      continue;
    }
    int fd =
        ::open((workspace / file.new_path).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    std::string content;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<size_t>(st.st_size) <= kMaxScannedFileBytes) {
      std::array<char, 65536> buffer{};
      ssize_t n = 0;
      while ((n = ::read(fd, buffer.data(), buffer.size())) > 0 &&
             content.size() <= kMaxScannedFileBytes) {
        content.append(buffer.data(), static_cast<size_t>(n));
      }
    }
    ::close(fd);
    std::set<std::string> reached = MakePrerequisites(content, inv.make_targets);
    if (!reached.empty()) prerequisites.emplace(file.new_path, std::move(reached));
  }
  if (!prerequisites.empty()) CheckVerificationFiles(diff, rules, verdict, &prerequisites);
  if (rules.must_be_gone.empty()) return {};
  auto hits =
      FindRemaining(workspace, rules.must_be_gone, rules.must_be_gone_except, kMaxRemainingHits);
  if (!hits) return std::unexpected(hits.error());
  std::set<std::pair<std::string_view, int>> added;
  for (const FileChange& file : diff.files) {
    for (const DiffLine& line : file.added) added.emplace(file.new_path, line.new_line);
  }
  bool capped = hits->size() >= kMaxRemainingHits;
  for (const std::string& pattern : rules.must_be_gone) {
    std::vector<std::string> places;
    for (const Occurrence& hit : *hits) {
      if (hit.pattern == pattern && !added.contains({hit.path, hit.line})) {
        places.push_back(hit.Where());
      }
    }
    if (places.empty()) continue;
    verdict.violations.push_back("the pattern `" + pattern + "` is still present in " +
                                 (capped ? "at least " : "") + std::to_string(places.size()) +
                                 " place" + (places.size() == 1 ? "" : "s") +
                                 " the change did not touch" + Places(places));
  }
  return {};
}

}  // namespace drover::verifiers
