#include "verifiers/detect.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "core/fs.h"
#include "core/yaml.h"

namespace drover::verifiers {
namespace {

namespace fs = std::filesystem;

// Marker files are small; anything bigger is not what we are looking for.
constexpr size_t kMaxMarkerBytes = 512 * 1024;

std::optional<std::string> ReadMarker(const fs::path& repo, const std::string& name) {
  auto text = ReadRegularFile(repo / name, kMaxMarkerBytes);
  if (!text) return std::nullopt;
  return std::move(*text);
}

// symlink_status, so that a symlink counts as neither a file nor a directory.
bool IsRegular(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(path, ec));
}

bool IsDirectory(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(path, ec));
}

// Regular files directly in `dir` (symlinks left out), sorted for stable results.
std::vector<std::string> FileNames(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code status_ec;
    if (fs::is_regular_file(it->symlink_status(status_ec))) {
      names.push_back(it->path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// How much a proposal is worth; for each kind the strongest wins, ties go to the first made.
enum Strength : int {
  kFromCiRunner = 50,  // A CI line that runs a test runner drover knows (ctest, pytest, ...).
  kFromCi = 40,        // Any other CI line (a build, `make test`).
  kMakeRunner = 30,    // A Makefile target whose recipe runs a known runner or builds.
  kDefault = 20,       // An ecosystem's own tool (ctest for CMake, pytest, go test, ...).
  kMakeOpaque = 10,    // A Makefile test target whose recipe runs no known test runner.
};

struct Proposal {
  VerifierKind kind;
  std::string command;
  std::string why;
  int strength = kDefault;
};

// What one shell line of a CI configuration or a Makefile recipe does, judged from the
// programs it runs. Every simple command of the line counts; the most telling one wins:
// network or privileged > test runner > wrapper test > build > shell bookkeeping > unknown.
enum class LineUse {
  kUnknown,      // A program drover knows nothing about (a script, a linter).
  kContext,      // cd, mkdir, export, echo: shell state the following lines need.
  kBuild,        // cmake, make, go build, cargo build, npm run build, ...
  kWrapperTest,  // make test / make check: the project's own entry point, contents unknown.
  kTest,         // A test runner whose output test evidence reads.
  kNetwork,      // Installs, downloads, uploads, publishing, secrets: never a verifier.
  kPrivileged,   // sudo, package managers of the system, containers.
};

// Words of a shell line grouped into simple commands (split at && || ; | & and parentheses
// outside quotes). Quotes are removed from words; expansions are left as they are.
std::vector<std::vector<std::string>> SimpleCommands(std::string_view line) {
  std::vector<std::vector<std::string>> commands(1);
  std::string word;
  bool in_word = false;
  char quote = 0;
  auto end_word = [&] {
    if (in_word) commands.back().push_back(word);
    word.clear();
    in_word = false;
  };
  auto end_command = [&] {
    end_word();
    if (!commands.back().empty()) commands.emplace_back();
  };
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      end_word();
    } else if (c == '&' || c == '|' || c == ';' || c == '(' || c == ')' || c == '`') {
      end_command();
    } else if (c == '#' && !in_word) {
      break;  // A comment.
    } else {
      word += c;
      in_word = true;
    }
  }
  end_word();
  if (commands.back().empty()) commands.pop_back();
  return commands;
}

// Words joined back into a line (quoting is gone; only used to classify).
std::string SimpleCommandText(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

bool HasWord(const std::vector<std::string>& words, size_t from,
             std::initializer_list<std::string_view> any) {
  for (size_t i = from; i < words.size(); ++i) {
    for (auto w : any) {
      if (words[i] == w) return true;
    }
  }
  return false;
}

// The subcommand of `tool sub ...`: the first word after `from` that is not an option.
std::string_view Subcommand(const std::vector<std::string>& words, size_t from) {
  for (size_t i = from; i < words.size(); ++i) {
    if (!words[i].starts_with("-")) return words[i];
  }
  return "";
}

LineUse ClassifyCommand(const std::vector<std::string>& all_words) {
  size_t at = 0;
  // Leading assignments (`CC=clang make`) and `env`/`time`/`exec` prefixes.
  while (at < all_words.size() &&
         ((all_words[at].find('=') != std::string::npos && !all_words[at].starts_with("-")) ||
          all_words[at] == "env" || all_words[at] == "time" || all_words[at] == "exec" ||
          all_words[at] == "command")) {
    ++at;
  }
  if (at >= all_words.size()) return LineUse::kContext;
  const std::vector<std::string>& w = all_words;
  std::string program = w[at];
  if (auto slash = program.rfind('/'); slash != std::string::npos) {
    program = program.substr(slash + 1);
  }
  size_t args = at + 1;
  static const std::set<std::string, std::less<>> kPrivileged = {
      "sudo",  "su",        "doas",    "apt",    "apt-get",        "aptitude", "dpkg",
      "yum",   "dnf",       "apk",     "zypper", "pacman",         "brew",     "port",
      "choco", "winget",    "snap",    "docker", "docker-compose", "podman",   "kubectl",
      "helm",  "systemctl", "service", "mount",  "chown"};
  static const std::set<std::string, std::less<>> kNetwork = {
      "curl",   "wget",    "gh",    "hub",    "twine",      "codecov", "coveralls", "aws",
      "gcloud", "gsutil",  "az",    "ssh",    "scp",        "sftp",    "rsync",     "pip",
      "pip3",   "pipx",    "conda", "mamba",  "micromamba", "pipenv",  "poetry",    "uv",
      "gem",    "bundle",  "nvm",   "rustup", "sdk",        "tox",     "nox",       "pre-commit",
      "cpan",   "cpanm",   "vcpkg", "conan",  "npx",        "bazel",   "bazelisk",  "nix",
      "cachix", "sccache", "vsce",  "ghr",    "goreleaser", "netlify", "vercel",    "heroku"};
  static const std::set<std::string, std::less<>> kContext = {
      "cd",  "mkdir", "export", "set",   "echo",  "printf", "pwd",  "ls",    "true", ":",
      "cat", "unset", "ulimit", "shopt", "which", "type",   "date", "nproc", "uname"};
  static const std::set<std::string, std::less<>> kTestRunners = {
      "ctest", "pytest", "py.test", "jest", "vitest", "mocha", "ava", "tap", "karma"};
  if (kPrivileged.contains(program)) return LineUse::kPrivileged;
  if (kNetwork.contains(program)) return LineUse::kNetwork;
  if (kTestRunners.contains(program)) return LineUse::kTest;
  if (kContext.contains(program)) return LineUse::kContext;
  std::string_view sub = Subcommand(w, args);
  if (program == "git") {
    return (sub == "clone" || sub == "fetch" || sub == "pull" || sub == "push" ||
            sub == "submodule" || sub == "remote" || sub == "config" || sub == "lfs")
               ? LineUse::kNetwork
               : LineUse::kUnknown;
  }
  if (program.starts_with("python")) {
    if (HasWord(w, args, {"-m"})) {
      for (size_t i = args; i + 1 < w.size(); ++i) {
        if (w[i] != "-m") continue;
        const std::string& module = w[i + 1];
        if (module == "pytest" || module == "unittest") return LineUse::kTest;
        if (module == "pip" || module == "build" || module == "twine" || module == "venv" ||
            module == "tox" || module == "nox") {
          return LineUse::kNetwork;
        }
        return LineUse::kUnknown;
      }
    }
    if (HasWord(w, args, {"setup.py"})) {
      if (HasWord(w, args, {"test"})) return LineUse::kTest;
      if (HasWord(w, args, {"install", "upload", "sdist", "bdist_wheel", "develop"})) {
        return LineUse::kNetwork;
      }
      return LineUse::kBuild;
    }
    return LineUse::kUnknown;
  }
  if (program == "npm" || program == "yarn" || program == "pnpm" || program == "bun") {
    std::string_view script = sub;
    if (sub == "run" || sub == "run-script") {
      for (size_t i = args; i < w.size(); ++i) {
        if (w[i] == sub) {
          script = Subcommand(w, i + 1);
          break;
        }
      }
    }
    if (script == "test" || script == "t" || script.starts_with("test:")) return LineUse::kTest;
    if (script == "build" || script.starts_with("build:") || script == "compile") {
      return LineUse::kBuild;
    }
    if (sub == "run" || sub == "run-script") return LineUse::kUnknown;  // lint, docs, ...
    return LineUse::kNetwork;  // ci, install, add, publish, audit, exec, dlx.
  }
  if (program == "cargo") {
    if (sub == "test" || sub == "nextest") return LineUse::kTest;
    if (sub == "build" || sub == "check") return LineUse::kBuild;
    if (sub == "install" || sub == "publish" || sub == "fetch" || sub == "login" ||
        sub == "update" || sub == "audit") {
      return LineUse::kNetwork;
    }
    return LineUse::kUnknown;  // fmt, clippy, doc.
  }
  if (program == "go") {
    if (sub == "test") return LineUse::kTest;
    if (sub == "build" || sub == "vet") return LineUse::kBuild;
    if (sub == "install" || sub == "get" || sub == "mod" || sub == "generate" || sub == "run" ||
        sub == "work") {
      return LineUse::kNetwork;
    }
    return LineUse::kUnknown;
  }
  if (program == "mvn" || program == "mvnw" || program == "gradle" || program == "gradlew") {
    if (HasWord(w, args, {"deploy", "release:perform", "publish", "site", "sonar:sonar"})) {
      return LineUse::kNetwork;
    }
    bool skip_tests = false;
    for (size_t i = args; i < w.size(); ++i) {
      skip_tests = skip_tests || w[i].starts_with("-DskipTests") ||
                   w[i].starts_with("-Dmaven.test.skip") || w[i] == "-x";
    }
    if (!skip_tests &&
        HasWord(w, args, {"test", "verify", "install", "package", "check", "build"})) {
      return LineUse::kTest;
    }
    return LineUse::kBuild;
  }
  if (program == "make" || program == "gmake") {
    if (HasWord(
            w, args,
            {"install", "upload", "publish", "deploy", "release", "dist", "docs", "doc", "html"})) {
      return LineUse::kNetwork;
    }
    if (HasWord(w, args, {"test", "tests", "check", "unittest", "unit-test", "test-unit"})) {
      return LineUse::kWrapperTest;
    }
    return LineUse::kBuild;
  }
  if (program == "meson" || program == "ninja") {
    if (sub == "test") return LineUse::kTest;
    if (sub == "install" || sub == "dist") return LineUse::kNetwork;
    return LineUse::kBuild;
  }
  if (program == "cmake") {
    return HasWord(w, args, {"--install"}) ? LineUse::kNetwork : LineUse::kBuild;
  }
  if (program == "configure" || program == "autoreconf" || program == "autogen.sh" ||
      program == "cc" || program == "gcc" || program == "g++" || program == "c++" ||
      program == "clang" || program == "clang++") {
    return LineUse::kBuild;
  }
  return LineUse::kUnknown;
}

LineUse ClassifyLine(std::string_view line) {
  // Expressions a CI service expands, its tokens and its environment: not runnable here.
  for (std::string_view marker : {"${{", "secrets.", "$GITHUB_", "${GITHUB_", "$CI_JOB_TOKEN",
                                  "${CI_JOB_TOKEN", "$RUNNER_", "TOKEN"}) {
    if (line.find(marker) != std::string_view::npos) return LineUse::kNetwork;
  }
  LineUse use = LineUse::kUnknown;
  bool any = false;
  bool all_context = true;
  for (const auto& command : SimpleCommands(line)) {
    any = true;
    LineUse one = ClassifyCommand(command);
    if (one != LineUse::kContext) all_context = false;
    if (one != LineUse::kContext && static_cast<int>(one) > static_cast<int>(use)) use = one;
  }
  if (any && all_context) return LineUse::kContext;
  return use;
}

// Rule targets of a Makefile in the order they appear. Good enough for the hand-written
// Makefiles that name `all`, `test` or `check`: assignments, pattern rules and special targets
// are left out, line continuations and conditionals are not interpreted.
std::vector<std::string> MakeTargets(std::string_view text) {
  std::vector<std::string> targets;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '\t' || line[0] == '#' || line[0] == ' ') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view head = line.substr(0, colon);
    if (head.find('=') != std::string_view::npos) continue;
    std::string_view rest = line.substr(colon + 1);
    if (rest.starts_with(":")) rest.remove_prefix(1);  // Double-colon rule.
    if (rest.starts_with("=")) continue;               // `X := value`, `X ::= value`.
    size_t pos = 0;
    while (pos < head.size()) {
      size_t word_start = head.find_first_not_of(" \t", pos);
      if (word_start == std::string_view::npos) break;
      size_t word_end = head.find_first_of(" \t", word_start);
      if (word_end == std::string_view::npos) word_end = head.size();
      std::string_view word = head.substr(word_start, word_end - word_start);
      pos = word_end;
      if (word.starts_with(".") || word.find_first_of("%$") != std::string_view::npos) continue;
      targets.emplace_back(word);
    }
  }
  return targets;
}

// Prerequisites and recipe lines of each rule target (the first rule of a name that has a
// recipe). Like MakeTargets: conditionals and includes are not interpreted.
struct MakeRule {
  std::vector<std::string> prerequisites;
  std::vector<std::string> recipe;
};
std::map<std::string, MakeRule, std::less<>> MakeRules(std::string_view text) {
  std::map<std::string, MakeRule, std::less<>> rules;
  std::vector<std::string> current;  // Targets of the rule being read.
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    while (line.ends_with("\\") && start < text.size()) {  // Continuation lines.
      size_t next = text.find('\n', start);
      if (next == std::string_view::npos) next = text.size();
      line.pop_back();
      line += " " + std::string(text.substr(start, next - start));
      start = next + 1;
    }
    if (line.starts_with("\t")) {
      for (const auto& target : current) rules[target].recipe.push_back(line.substr(1));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    current.clear();
    if (line[0] == ' ') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view head = std::string_view(line).substr(0, colon);
    std::string_view rest = std::string_view(line).substr(colon + 1);
    if (head.find('=') != std::string_view::npos) continue;
    if (rest.starts_with(":")) rest.remove_prefix(1);
    if (rest.starts_with("=")) continue;
    std::string_view recipe;
    if (size_t semi = rest.find(';'); semi != std::string_view::npos) {
      recipe = rest.substr(semi + 1);
      rest = rest.substr(0, semi);
    }
    auto words = [](std::string_view s) {
      std::vector<std::string> out;
      size_t pos = 0;
      while (pos < s.size()) {
        size_t b = s.find_first_not_of(" \t", pos);
        if (b == std::string_view::npos) break;
        size_t e = s.find_first_of(" \t", b);
        if (e == std::string_view::npos) e = s.size();
        out.emplace_back(s.substr(b, e - b));
        pos = e;
      }
      return out;
    };
    for (const auto& target : words(head)) {
      if (rules.contains(target) && !rules[target].recipe.empty()) continue;
      current.push_back(target);
      auto& rule = rules[target];
      for (auto& p : words(rest)) rule.prerequisites.push_back(std::move(p));
      if (!recipe.empty()) rule.recipe.emplace_back(recipe);
    }
  }
  return rules;
}

// What making `target` runs, following prerequisites and recursive `$(MAKE) other` lines:
// the strongest use of any recipe line (LineUse order), kUnknown when nothing is known.
LineUse MakeTargetUse(const std::map<std::string, MakeRule, std::less<>>& rules,
                      const std::string& target) {
  LineUse use = LineUse::kUnknown;
  std::set<std::string> seen;
  std::vector<std::pair<std::string, int>> todo = {{target, 0}};
  while (!todo.empty() && seen.size() < 64) {
    auto [name, depth] = todo.back();
    todo.pop_back();
    if (!seen.insert(name).second || depth > 8) continue;
    auto rule = rules.find(name);
    if (rule == rules.end()) continue;
    for (const auto& p : rule->second.prerequisites) todo.push_back({p, depth + 1});
    for (std::string line : rule->second.recipe) {
      while (!line.empty() && (line[0] == '@' || line[0] == '-' || line[0] == '+' ||
                               line[0] == ' ' || line[0] == '\t')) {
        line.erase(0, 1);
      }
      // Tool variables stand for the tool: $(PYTHON) -m pytest, $(MAKE) check.
      for (size_t open = line.find("$("); open != std::string::npos;
           open = line.find("$(", open + 1)) {
        size_t close = line.find(')', open);
        if (close == std::string::npos) break;
        std::string name_upper = line.substr(open + 2, close - open - 2);
        std::string lower;
        for (char c : name_upper)
          lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        line.replace(open, close - open + 1, lower);
      }
      auto commands = SimpleCommands(line);
      for (const auto& words : commands) {
        if (!words.empty() && (words[0] == "make" || words[0] == "gmake")) {
          for (size_t i = 1; i < words.size(); ++i) {
            if (!words[i].starts_with("-") && words[i].find('=') == std::string::npos) {
              todo.push_back({words[i], depth + 1});
            }
          }
          continue;  // Judged by what the target it makes runs.
        }
        LineUse one = ClassifyLine(SimpleCommandText(words));
        if (one != LineUse::kContext && static_cast<int>(one) > static_cast<int>(use)) use = one;
      }
    }
  }
  return use;
}

void ProposeMake(const fs::path& repo, std::vector<Proposal>& out) {
  for (const char* name : {"GNUmakefile", "makefile", "Makefile"}) {
    auto text = ReadMarker(repo, name);
    if (!text) continue;
    auto targets = MakeTargets(*text);
    auto rules = MakeRules(*text);
    auto has = [&](std::string_view target) {
      return std::find(targets.begin(), targets.end(), target) != targets.end();
    };
    // A target that installs, downloads or needs root fails in the sandbox (no network, no
    // privileges) whatever the change: it is no check of the change.
    auto needs_network = [&](const std::string& target) {
      LineUse use = MakeTargetUse(rules, target);
      return use == LineUse::kNetwork || use == LineUse::kPrivileged;
    };
    std::string file = name;
    // `make` alone builds the first target; it is a build only when that is not a test, a
    // clean-up or the like.
    static const std::set<std::string, std::less<>> kNotBuild = {
        "test", "tests", "check", "lint", "clean", "distclean", "install", "help"};
    std::string default_target = has("all") ? "all" : targets.empty() ? "" : targets.front();
    if (!default_target.empty() && !needs_network(default_target)) {
      if (default_target == "all") {
        out.push_back({VerifierKind::kBuild, "make -s", file + ": all target", kMakeRunner});
      } else if (!kNotBuild.contains(default_target)) {
        out.push_back({VerifierKind::kBuild, "make -s", file + ": default target " + default_target,
                       kMakeRunner});
      }
    }
    for (const char* target : {"test", "check"}) {
      if (!has(target)) continue;
      if (!needs_network(target)) {
        // A recipe that runs no test runner drover knows (a demo, a script) yields to an
        // ecosystem's own runner when there is one.
        LineUse use = MakeTargetUse(rules, target);
        bool runner = use == LineUse::kTest || use == LineUse::kWrapperTest;
        out.push_back({VerifierKind::kTest, std::string("make -s ") + target,
                       file + ": " + target + " target" +
                           (runner ? "" : " (its recipe runs no known test runner)"),
                       runner ? kMakeRunner : kMakeOpaque});
      }
      break;
    }
    if (has("lint")) {
      out.push_back({VerifierKind::kLint, "make -s lint", file + ": lint target", kMakeRunner});
    }
    return;  // make reads the first of these names it finds, and so do we.
  }
}

// `./wrapper` when the repository carries an executable wrapper script, `sh ./wrapper` when it
// carries one without the executable bit (common after a zip or a Windows commit), else `tool`.
std::pair<std::string, std::string> WrapperOr(const fs::path& repo, const std::string& wrapper,
                                              const std::string& tool) {
  struct stat st {};
  if (::lstat((repo / wrapper).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    return {(st.st_mode & S_IXUSR) ? "./" + wrapper : "sh ./" + wrapper, ", " + wrapper};
  }
  return {tool, ""};
}

void ProposeGradle(const fs::path& repo, std::vector<Proposal>& out) {
  for (const char* name :
       {"build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"}) {
    if (!IsRegular(repo / name)) continue;
    auto [gradle, wrapper] = WrapperOr(repo, "gradlew", "gradle");
    std::string why = name + wrapper;
    out.push_back({VerifierKind::kBuild, gradle + " --no-daemon -q assemble", why});
    out.push_back({VerifierKind::kTest, gradle + " --no-daemon -q test", why});
    return;
  }
}

void ProposeMaven(const fs::path& repo, std::vector<Proposal>& out) {
  if (!IsRegular(repo / "pom.xml")) return;
  auto [mvn, wrapper] = WrapperOr(repo, "mvnw", "mvn");
  std::string why = "pom.xml" + wrapper;
  // test-compile, so that test sources broken by a change fail the build, not only the tests.
  out.push_back({VerifierKind::kBuild, mvn + " -B -q test-compile", why});
  out.push_back({VerifierKind::kTest, mvn + " -B -q test", why});
}

void ProposeCargo(const fs::path& repo, std::vector<Proposal>& out) {
  if (!IsRegular(repo / "Cargo.toml")) return;
  out.push_back({VerifierKind::kBuild, "cargo build -q", "Cargo.toml"});
  out.push_back({VerifierKind::kTest, "cargo test -q", "Cargo.toml"});
}

void ProposeGo(const fs::path& repo, std::vector<Proposal>& out) {
  if (!IsRegular(repo / "go.mod")) return;
  out.push_back({VerifierKind::kBuild, "go build ./...", "go.mod"});
  out.push_back({VerifierKind::kTest, "go test ./...", "go.mod"});
  out.push_back({VerifierKind::kLint, "go vet ./...", "go.mod"});
}

void ProposeCMake(const fs::path& repo, std::vector<Proposal>& out) {
  auto text = ReadMarker(repo, "CMakeLists.txt");
  if (!text) return;
  // Out of the tree: build outputs in the workspace would end up in the diff of a repository
  // that does not ignore them. The runner names a build dir kept for the job's runs in
  // DROVER_CMAKE_BUILD_DIR; else /tmp, private to each run in the sandbox. No -G, so that
  // CMAKE_GENERATOR in the environment still applies.
  const std::string build =
      "b=\"${DROVER_CMAKE_BUILD_DIR:-${TMPDIR:-/tmp}/drover-cmake-build}\" && "
      "cmake -S . -B \"$b\" >/dev/null && cmake --build \"$b\" --parallel 4";
  if (text->find("enable_testing") != std::string::npos ||
      text->find("CTest") != std::string::npos) {
    // One verifier builds and tests: a separate build verifier would build everything twice,
    // each run starting from an empty /tmp.
    out.push_back({VerifierKind::kTest,
                   build + " && ctest --test-dir \"$b\" --output-on-failure",
                   "CMakeLists.txt: enable_testing"});
  } else {
    out.push_back({VerifierKind::kBuild, build, "CMakeLists.txt"});
  }
}

void ProposeNode(const fs::path& repo, std::vector<Proposal>& out) {
  auto text = ReadMarker(repo, "package.json");
  if (!text) return;
  auto json = ParseJson(*text, "package.json");
  if (!json || !json->is_object() || !json->contains("scripts") ||
      !(*json)["scripts"].is_object()) {
    return;
  }
  const Json& scripts = (*json)["scripts"];
  std::string manager = "npm";
  std::string lock;
  if (IsRegular(repo / "pnpm-lock.yaml")) {
    manager = "pnpm";
    lock = ", pnpm-lock.yaml";
  } else if (IsRegular(repo / "yarn.lock")) {
    manager = "yarn";
    lock = ", yarn.lock";
  } else if (IsRegular(repo / "package-lock.json")) {
    lock = ", package-lock.json";
  }
  struct Script {
    VerifierKind kind;
    const char* name;
  };
  for (auto [kind, name] :
       {Script{VerifierKind::kBuild, "build"}, Script{VerifierKind::kTest, "test"},
        Script{VerifierKind::kLint, "lint"}}) {
    auto it = scripts.find(name);
    if (it == scripts.end() || !it->is_string() || it->get<std::string>().empty()) continue;
    // `npm init` writes a test script that always fails; it says there are no tests.
    if (it->get<std::string>().find("no test specified") != std::string::npos) continue;
    std::string command;
    bool is_test = kind == VerifierKind::kTest;
    if (manager == "npm") {
      command = is_test ? "npm test --silent" : std::string("npm run -s ") + name;
    } else {
      command = is_test ? manager + " test" : manager + " run " + name;
    }
    out.push_back({kind, command, std::string("package.json scripts.") + name + lock});
  }
}

bool MentionsPytest(const fs::path& repo, const std::string& name) {
  auto text = ReadMarker(repo, name);
  return text && text->find("pytest") != std::string::npos;
}

void ProposePython(const fs::path& repo, const std::vector<std::string>& top_files,
                   std::vector<Proposal>& out) {
  bool python_files = false;
  bool top_tests = false;         // test*.py: unittest's default pattern.
  bool top_suffix_tests = false;  // *_test.py.
  std::string pytest_why;
  for (const auto& name : top_files) {
    bool py = name.ends_with(".py");
    python_files = python_files || py;
    if (py && name.starts_with("test")) top_tests = true;
    if (name.ends_with("_test.py")) top_suffix_tests = true;
    if (!pytest_why.empty()) continue;
    if (name == "pytest.ini" || name == "conftest.py") {
      pytest_why = name;
    } else if ((name == "pyproject.toml" || name == "setup.cfg" || name == "tox.ini" ||
                name == "Pipfile" || (name.starts_with("requirements") && name.ends_with(".txt")) ||
                name.ends_with("requirements.txt")) &&
               MentionsPytest(repo, name)) {
      pytest_why = name + " mentions pytest";
    }
  }
  std::string test_dir;
  bool test_dir_package = false;
  for (const char* dir : {"tests", "test"}) {
    if (!IsDirectory(repo / dir)) continue;
    auto names = FileNames(repo / dir);
    if (std::none_of(names.begin(), names.end(),
                     [](const std::string& n) { return n.ends_with(".py"); })) {
      continue;
    }
    test_dir = dir;
    test_dir_package = std::find(names.begin(), names.end(), "__init__.py") != names.end();
    break;
  }
  if (!pytest_why.empty()) {
    out.push_back({VerifierKind::kTest, "python3 -m pytest -q", pytest_why});
    return;
  }
  if (!python_files && test_dir.empty()) return;
  // unittest discovery only descends into packages, so a tests/ folder without __init__.py
  // must be its start directory.
  if (top_tests || test_dir_package) {
    out.push_back({VerifierKind::kTest, "python3 -m unittest discover -q",
                   top_tests ? "test*.py files" : test_dir + "/__init__.py"});
  } else if (!test_dir.empty()) {
    out.push_back({VerifierKind::kTest, "python3 -m unittest discover -q -s " + test_dir,
                   test_dir + "/*.py"});
  } else if (top_suffix_tests) {
    out.push_back(
        {VerifierKind::kTest, "python3 -m unittest discover -q -p '*_test.py'", "*_test.py files"});
  }
}

// CI configuration: the commands the project's own CI runs are the strongest hint of how it
// is built and tested. Only `run:`/`script:`/`commands` text is read; `uses:` actions,
// includes and templates are never followed, and nothing is run here.
constexpr size_t kMaxCiBytes = 256 * 1024;
constexpr size_t kMaxWorkflowFiles = 32;
constexpr size_t kMaxCiCommandBytes = 8 * 1024;

struct CiLine {
  std::string text;
  int line = 0;  // 1-based, in `file`.
  LineUse use = LineUse::kUnknown;
};
struct CiStep {
  std::vector<CiLine> lines;  // Run in one shell, in order.
  std::string workdir;        // Relative to the repository root; empty: the root.
};
struct CiJob {
  std::string file;
  std::string name;
  std::vector<CiStep> steps;  // Each in a shell of its own, from the root.
};

bool Kept(LineUse use) {
  return use == LineUse::kContext || use == LineUse::kBuild || use == LineUse::kTest ||
         use == LineUse::kWrapperTest;
}

// A working directory a step may name: relative, inside the repository, plain.
bool PlainRelativeDir(std::string_view dir) {
  if (dir.empty() || dir.starts_with("/") || dir.starts_with("~")) return false;
  if (dir.find_first_of("$`'\"\\{}\n") != std::string_view::npos) return false;
  for (const auto& part : fs::path(std::string(dir))) {
    if (part == "..") return false;
  }
  return true;
}

// Logical lines of a block of shell text (backslash continuations joined, blank lines and
// comments dropped), each with the number of its first line counted from `first_line`.
void AddShellLines(std::string_view text, int first_line, std::vector<CiLine>& out) {
  int number = first_line;
  size_t start = 0;
  std::string pending;
  int pending_line = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    int this_line = number++;
    size_t b = raw.find_first_not_of(" \t");
    if (b == std::string_view::npos && pending.empty()) {
      if (end == text.size()) break;
      continue;
    }
    std::string_view trimmed = b == std::string_view::npos ? "" : raw.substr(b);
    if (pending.empty()) pending_line = this_line;
    if (trimmed.ends_with("\\")) {
      pending += std::string(trimmed.substr(0, trimmed.size() - 1)) + " ";
    } else {
      pending += std::string(trimmed);
      if (!pending.empty() && pending[0] != '#') {
        out.push_back({pending, pending_line, ClassifyLine(pending)});
      }
      pending.clear();
    }
    if (end == text.size()) break;
  }
  if (!pending.empty() && pending[0] != '#') {
    out.push_back({pending, pending_line, ClassifyLine(pending)});
  }
}

// The 1-based line where a YAML scalar's text starts: the line after a `|`/`>` indicator.
int ScalarFirstLine(const YamlNode& node, std::string_view text) {
  YamlMark mark = node.mark();
  size_t pos = 0;
  for (int i = 1; i < mark.line && pos != std::string_view::npos; ++i) {
    pos = text.find('\n', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos) return mark.line;
  size_t at = pos + static_cast<size_t>(std::max(0, mark.column));
  if (at < text.size() && (text[at] == '|' || text[at] == '>')) return mark.line + 1;
  return mark.line;
}

std::string TextOr(const std::optional<YamlNode>& node, std::string fallback = "") {
  return node && node->IsText() ? node->Text() : fallback;
}

bool OtherOs(std::string_view runs_on) {
  return runs_on.find("windows") != std::string_view::npos ||
         runs_on.find("macos") != std::string_view::npos;
}

void ReadGithubWorkflow(const YamlNode& root, const std::string& text, std::vector<CiJob>& out) {
  auto jobs = root.Find("jobs");
  if (!jobs || !jobs->IsMap()) return;
  for (const auto& [name, job] : jobs->Members()) {
    if (!job.IsMap()) continue;
    if (OtherOs(TextOr(job.Find("runs-on")))) continue;
    auto steps = job.Find("steps");
    if (!steps || !steps->IsList()) continue;
    std::string job_workdir;
    if (auto defaults = job.Find("defaults"); defaults && defaults->IsMap()) {
      if (auto run = defaults->Find("run"); run && run->IsMap()) {
        job_workdir = TextOr(run->Find("working-directory"));
      }
    }
    CiJob ci{root.file_name(), name, {}};
    for (const YamlNode& step : steps->Items()) {
      if (!step.IsMap() || step.Find("uses")) continue;
      auto run = step.Find("run");
      if (!run || !run->IsText()) continue;
      std::string shell = TextOr(step.Find("shell"), "bash");
      if (shell.find("pwsh") != std::string::npos ||
          shell.find("powershell") != std::string::npos || shell == "cmd" ||
          shell.starts_with("python")) {
        continue;
      }
      CiStep ci_step;
      ci_step.workdir = TextOr(step.Find("working-directory"), job_workdir);
      if (!ci_step.workdir.empty() && ci_step.workdir != "." &&
          !PlainRelativeDir(ci_step.workdir)) {
        continue;
      }
      if (ci_step.workdir == ".") ci_step.workdir.clear();
      AddShellLines(run->Text(), ScalarFirstLine(*run, text), ci_step.lines);
      ci.steps.push_back(std::move(ci_step));
    }
    out.push_back(std::move(ci));
  }
}

void AddGitlabScript(const std::optional<YamlNode>& script, const std::string& text, CiStep& step) {
  if (!script) return;
  if (script->IsText()) {
    AddShellLines(script->Text(), ScalarFirstLine(*script, text), step.lines);
    return;
  }
  for (const YamlNode& item : script->Items()) {
    if (item.IsText()) {
      AddShellLines(item.Text(), ScalarFirstLine(item, text), step.lines);
    } else {  // Nested lists come from YAML anchors.
      for (const YamlNode& inner : item.Items()) {
        if (inner.IsText()) AddShellLines(inner.Text(), ScalarFirstLine(inner, text), step.lines);
      }
    }
  }
}

void ReadGitlabCi(const YamlNode& root, const std::string& text, std::vector<CiJob>& out) {
  static const std::set<std::string, std::less<>> kKeywords = {
      "default",  "include",       "stages",       "variables", "workflow", "image",
      "services", "before_script", "after_script", "cache",     "pages"};
  auto global_before = root.Find("before_script");
  if (auto defaults = root.Find("default"); defaults && defaults->Find("before_script")) {
    global_before = defaults->Find("before_script");
  }
  for (const auto& [name, job] : root.Members()) {
    if (name.empty() || name.starts_with(".") || kKeywords.contains(name)) continue;
    if (!job.IsMap() || !job.Find("script")) continue;
    if (auto tags = job.Find("tags"); tags && tags->IsList()) {
      bool other = false;
      for (const YamlNode& tag : tags->Items()) other = other || OtherOs(TextOr(tag));
      if (other) continue;
    }
    // One shell runs before_script and script, so a `cd` carries over.
    CiStep step;
    auto before = job.Find("before_script");
    AddGitlabScript(before ? before : global_before, text, step);
    AddGitlabScript(job.Find("script"), text, step);
    out.push_back({root.file_name(), name, {std::move(step)}});
  }
}

// tox's substitutions that have a meaning here; nullopt when the line needs tox itself.
std::optional<std::string> ToxLine(std::string line) {
  while (!line.empty() && (line[0] == '-' || line[0] == ' ')) line.erase(0, 1);
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '{') {
      out += line[i];
      continue;
    }
    size_t close = line.find('}', i);
    if (close == std::string::npos) return std::nullopt;
    std::string name = line.substr(i + 1, close - i - 1);
    if (name == "posargs") {
    } else if (name.starts_with("posargs:")) {
      out += name.substr(8);
    } else if (name == "toxinidir" || name == "tox_root") {
      out += ".";
    } else if (name == "envpython" || name == "env_python") {
      out += "python3";
    } else {
      return std::nullopt;
    }
    i = close;
  }
  return out;
}

void ReadToxIni(const std::string& text, std::vector<CiJob>& out) {
  std::string section;
  std::string key;
  CiJob* job = nullptr;
  int number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.starts_with("[")) {
      section = line.substr(1, line.find(']') == std::string::npos ? 0 : line.find(']') - 1);
      key.clear();
      job = nullptr;
      continue;
    }
    if (section != "testenv" && !section.starts_with("testenv:")) continue;
    bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    std::string value;
    if (!continuation) {
      size_t eq = line.find('=');
      if (eq == std::string::npos || line.starts_with("#") || line.starts_with(";")) {
        key.clear();
        continue;
      }
      key = line.substr(0, eq);
      while (!key.empty() && key.back() == ' ') key.pop_back();
      value = line.substr(eq + 1);
    } else {
      value = line;
    }
    if (key == "changedir" && !continuation) {
      std::string dir = value.substr(std::min(value.find_first_not_of(' '), value.size()));
      if (auto d = ToxLine(dir); d && job != nullptr) job->steps.front().workdir = *d;
      continue;
    }
    if (key != "commands") continue;
    if (job == nullptr) {
      out.push_back({"tox.ini", section, {CiStep{}}});
      job = &out.back();
    }
    size_t b = value.find_first_not_of(" \t");
    if (b == std::string::npos || value[b] == '#') continue;
    auto command = ToxLine(value.substr(b));
    if (!command) continue;
    // tox runs each command as a process of its own, from changedir.
    AddShellLines(*command, number, job->steps.front().lines);
  }
  for (auto& j : out) {
    if (j.file != "tox.ini") continue;
    auto& dir = j.steps.front().workdir;
    if (dir == "." || dir.starts_with("./")) dir = dir.size() > 2 ? dir.substr(2) : "";
    if (!dir.empty() && !PlainRelativeDir(dir)) j.steps.clear();
  }
}

// `session.run("pytest", "-q", *session.posargs)` lines whose arguments are string literals.
void ReadNoxfile(const std::string& text, std::vector<CiJob>& out) {
  CiJob job{"noxfile.py", "nox", {CiStep{}}};
  int number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line = std::string_view(text).substr(start, end - start);
    start = end + 1;
    ++number;
    size_t call = line.find("session.run(");
    if (call == std::string_view::npos) continue;
    std::string_view args = line.substr(call + 12);
    std::string command;
    bool ok = true;
    size_t i = 0;
    bool closed = false;
    while (i < args.size() && ok) {
      char c = args[i];
      if (c == ' ' || c == ',') {
        ++i;
      } else if (c == ')') {
        closed = true;
        break;
      } else if (c == '"' || c == '\'') {
        size_t close = args.find(c, i + 1);
        if (close == std::string_view::npos) {
          ok = false;
          break;
        }
        std::string word(args.substr(i + 1, close - i - 1));
        if (word.find_first_of("'\\") != std::string::npos) ok = false;
        command += (command.empty() ? "" : " ") + ("'" + word + "'");
        i = close + 1;
      } else if (args.substr(i).starts_with("*session.posargs")) {
        i += 16;
      } else {
        // A keyword argument ends the positional ones; anything else is not a literal.
        size_t eq = args.find('=', i);
        size_t comma = args.find_first_of(",)", i);
        ok = eq != std::string_view::npos && eq < comma &&
             args.substr(i, eq - i).find_first_of("()[]\"'") == std::string_view::npos;
        if (ok) closed = true;
        break;
      }
    }
    if (!ok || !closed || command.empty()) continue;
    AddShellLines(command, number, job.steps.front().lines);
  }
  if (!job.steps.front().lines.empty()) out.push_back(std::move(job));
}

std::vector<CiJob> ReadCiJobs(const fs::path& repo) {
  std::vector<CiJob> jobs;
  // Read leniently: a file that does not parse proposes nothing, and what is not understood
  // is left alone.
  auto read_yaml = [&](const std::string& file, const std::string& text, auto read) {
    auto doc = ParseYaml(text, file);
    if (doc && doc->Root().IsMap()) read(doc->Root(), text, jobs);
  };
  if (IsDirectory(repo / ".github") && IsDirectory(repo / ".github" / "workflows")) {
    auto names = FileNames(repo / ".github" / "workflows");
    size_t files = 0;
    for (const auto& name : names) {
      if (!name.ends_with(".yml") && !name.ends_with(".yaml")) continue;
      if (++files > kMaxWorkflowFiles) break;
      auto text = ReadRegularFile(repo / ".github" / "workflows" / name, kMaxCiBytes);
      if (!text) continue;
      read_yaml(".github/workflows/" + name, *text, ReadGithubWorkflow);
    }
  }
  if (auto text = ReadRegularFile(repo / ".gitlab-ci.yml", kMaxCiBytes); text) {
    read_yaml(".gitlab-ci.yml", *text, ReadGitlabCi);
  }
  if (auto text = ReadRegularFile(repo / "tox.ini", kMaxCiBytes); text) ReadToxIni(*text, jobs);
  if (auto text = ReadRegularFile(repo / "noxfile.py", kMaxCiBytes); text) ReadNoxfile(*text, jobs);
  return jobs;
}

std::string ShellQuote(std::string_view word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The job's steps up to line `last` of step `last_step` (both inclusive), each step in a
// subshell of its own from the repository root, as the CI service runs them; lines that need
// the network or privileges and lines of unknown programs are left out.
std::string ComposeCi(const CiJob& job, size_t last_step, size_t last) {
  std::string command;
  for (size_t s = 0; s <= last_step && s < job.steps.size(); ++s) {
    const CiStep& step = job.steps[s];
    std::string body;
    size_t count = s == last_step ? last + 1 : step.lines.size();
    for (size_t l = 0; l < count && l < step.lines.size(); ++l) {
      if (!Kept(step.lines[l].use)) continue;
      body += (body.empty() ? "" : " && ") + step.lines[l].text;
    }
    if (body.empty()) continue;
    if (!step.workdir.empty()) body = "cd " + ShellQuote(step.workdir) + " && " + body;
    command += (command.empty() ? "" : " && ") + ("(" + body + ")");
  }
  return command;
}

void ProposeFromCi(const fs::path& repo, std::vector<Proposal>& out) {
  auto jobs = ReadCiJobs(repo);
  struct Where {
    size_t job, step, line;
  };
  std::optional<Where> test;
  auto rank = [](LineUse use) {
    return use == LineUse::kTest ? 2 : use == LineUse::kWrapperTest ? 1 : 0;
  };
  for (size_t j = 0; j < jobs.size(); ++j) {
    for (size_t s = 0; s < jobs[j].steps.size(); ++s) {
      const auto& lines = jobs[j].steps[s].lines;
      for (size_t l = 0; l < lines.size(); ++l) {
        int r = rank(lines[l].use);
        if (r == 0) continue;
        if (!test || r > rank(jobs[test->job].steps[test->step].lines[test->line].use)) {
          test = Where{j, s, l};
        }
      }
    }
  }
  auto why = [&](const Where& w) {
    const CiJob& job = jobs[w.job];
    // The job's name is the repository's text: one short printable line.
    std::string name;
    for (char c : job.name.substr(0, 64)) {
      name += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    }
    return "from " + job.file + " line " + std::to_string(job.steps[w.step].lines[w.line].line) +
           (name.empty() ? "" : " (job " + name + ")");
  };
  // The last build line before `until` in job `j` (or in the whole job).
  auto last_build = [&](size_t j, std::optional<Where> until) -> std::optional<Where> {
    std::optional<Where> found;
    for (size_t s = 0; s < jobs[j].steps.size(); ++s) {
      const auto& lines = jobs[j].steps[s].lines;
      for (size_t l = 0; l < lines.size(); ++l) {
        if (until && (s > until->step || (s == until->step && l >= until->line))) return found;
        if (lines[l].use == LineUse::kBuild) found = Where{j, s, l};
      }
    }
    return found;
  };
  std::optional<Where> build;
  if (test) {
    build = last_build(test->job, test);
  } else {
    for (size_t j = 0; j < jobs.size() && !build; ++j) build = last_build(j, std::nullopt);
  }
  if (build) {
    std::string command = ComposeCi(jobs[build->job], build->step, build->line);
    if (command.size() <= kMaxCiCommandBytes) {
      out.push_back({VerifierKind::kBuild, command, why(*build), kFromCi});
    }
  }
  if (test) {
    std::string command = ComposeCi(jobs[test->job], test->step, test->line);
    bool runner = jobs[test->job].steps[test->step].lines[test->line].use == LineUse::kTest;
    if (command.size() <= kMaxCiCommandBytes) {
      out.push_back({VerifierKind::kTest, command, why(*test), runner ? kFromCiRunner : kFromCi});
    }
  }
}

}  // namespace

std::string_view VerifierKindName(VerifierKind kind) {
  switch (kind) {
    case VerifierKind::kBuild: return "build";
    case VerifierKind::kTest: return "test";
    case VerifierKind::kLint: return "lint";
  }
  return "test";
}

std::vector<DetectedVerifier> DetectVerifiers(const std::filesystem::path& repo) {
  std::vector<Proposal> proposals;  // In precedence order (see the header).
  ProposeFromCi(repo, proposals);
  ProposeMake(repo, proposals);
  ProposeGradle(repo, proposals);
  ProposeMaven(repo, proposals);
  ProposeCargo(repo, proposals);
  ProposeGo(repo, proposals);
  ProposeCMake(repo, proposals);
  ProposeNode(repo, proposals);
  ProposePython(repo, FileNames(repo), proposals);
  // A CI configuration that yields checks states what the project holds itself to: a lint
  // its CI does not run (often a tool that is not installed) is left out.
  if (std::any_of(proposals.begin(), proposals.end(),
                  [](const Proposal& p) { return p.strength >= kFromCi; })) {
    std::erase_if(proposals, [](const Proposal& p) {
      return p.kind == VerifierKind::kLint && p.strength < kFromCi;
    });
  }

  std::vector<DetectedVerifier> out;
  for (VerifierKind kind : {VerifierKind::kBuild, VerifierKind::kTest, VerifierKind::kLint}) {
    auto first = proposals.end();
    for (auto it = proposals.begin(); it != proposals.end(); ++it) {
      if (it->kind == kind && (first == proposals.end() || it->strength > first->strength)) {
        first = it;
      }
    }
    if (first == proposals.end()) continue;
    DetectedVerifier detected;
    detected.spec.name = std::string(VerifierKindName(kind));
    detected.spec.command = first->command;
    detected.kind = kind;
    detected.why = first->why;
    out.push_back(std::move(detected));
  }
  return out;
}

DetectedSetup DetectSetup(const std::filesystem::path& repo) {
  DetectedSetup setup;
  auto add = [&](std::string command, std::vector<std::string> hosts, std::string input,
                 std::string why) {
    setup.commands.push_back(std::move(command));
    for (auto& h : hosts) {
      if (std::find(setup.hosts.begin(), setup.hosts.end(), h) == setup.hosts.end()) {
        setup.hosts.push_back(std::move(h));
      }
    }
    setup.inputs.push_back(std::move(input));
    setup.why += (setup.why.empty() ? "" : ", ") + why;
  };
  if (IsRegular(repo / "package.json")) {
    if (IsRegular(repo / "pnpm-lock.yaml")) {
      add("pnpm install --frozen-lockfile", {"registry.npmjs.org"}, "pnpm-lock.yaml",
          "pnpm-lock.yaml");
    } else if (IsRegular(repo / "yarn.lock")) {
      add("yarn install --frozen-lockfile --non-interactive",
          {"registry.yarnpkg.com", "registry.npmjs.org"}, "yarn.lock", "yarn.lock");
    } else {
      for (const char* lock : {"package-lock.json", "npm-shrinkwrap.json"}) {
        if (!IsRegular(repo / lock)) continue;
        add("npm ci --no-audit --no-fund", {"registry.npmjs.org"}, lock, lock);
        break;
      }
    }
  }
  const std::vector<std::string> kPyHosts = {"pypi.org", "files.pythonhosted.org"};
  // The interpreter itself, not a version manager's shim: pyenv's shim runs a rehash after
  // `pip install` that fails on its read-only shims directory.
  const std::string pip =
      "\"$(python3 -c 'import sys; print(sys.executable)')\" -m pip install "
      "--disable-pip-version-check --no-input --target \"$DROVER_DEPS/python\"";
  for (const char* name :
       {"requirements.txt", "requirements-dev.txt", "requirements-test.txt", "requirements_dev.txt",
        "requirements_test.txt", "dev-requirements.txt", "test-requirements.txt",
        "requirements/test.txt", "requirements/dev.txt"}) {
    if (IsRegular(repo / name)) add(pip + " -r " + name, kPyHosts, name, name);
  }
  if (auto pyproject = ReadMarker(repo, "pyproject.toml");
      pyproject && pyproject->find("[project]") != std::string::npos) {
    // The requirements are read by Python's own TOML reader, in the sandbox; an empty list
    // installs nothing.
    const std::string list =
        "python3 -c 'import tomllib; p = tomllib.load(open(\"pyproject.toml\", \"rb\"))"
        ".get(\"project\", {}); o = p.get(\"optional-dependencies\", {}); "
        "print(\"\\n\".join(p.get(\"dependencies\", []) + [d for k in (\"test\", \"tests\", "
        "\"testing\", \"dev\") for d in o.get(k, [])]))' > /tmp/drover-requirements.txt";
    add(list + " && if [ -s /tmp/drover-requirements.txt ]; then " + pip +
            " -r /tmp/drover-requirements.txt; fi",
        kPyHosts, "pyproject.toml", "pyproject.toml dependencies and test extras");
  }
  if (IsRegular(repo / "go.mod")) {
    add("go mod download", {"proxy.golang.org", "sum.golang.org"},
        IsRegular(repo / "go.sum") ? "go.sum" : "go.mod", "go.mod");
  }
  if (IsRegular(repo / "Cargo.toml")) {
    add("cargo fetch", {"index.crates.io", "static.crates.io", "crates.io"},
        IsRegular(repo / "Cargo.lock") ? "Cargo.lock" : "Cargo.toml", "Cargo.toml");
  }
  if (IsRegular(repo / "pom.xml")) {
    std::string mvn = WrapperOr(repo, "mvnw", "mvn").first;
    add(mvn + " -B -q dependency:go-offline", {"repo.maven.apache.org", "repo1.maven.org"},
        "pom.xml", "pom.xml");
  }
  for (const char* name : {"build.gradle", "build.gradle.kts"}) {
    if (!IsRegular(repo / name)) continue;
    std::string gradle = WrapperOr(repo, "gradlew", "gradle").first;
    add(gradle + " --no-daemon -q dependencies",
        {"plugins.gradle.org", "services.gradle.org", "repo.maven.apache.org"}, name, name);
    break;
  }
  return setup;
}

std::map<std::string, std::string> SetupEnvironment(const std::filesystem::path& deps_dir,
                                                    const std::string& path) {
  std::string deps = deps_dir.string();
  return {{"DROVER_DEPS", deps},
          {"npm_config_cache", deps + "/npm-cache"},
          {"YARN_CACHE_FOLDER", deps + "/yarn-cache"},
          {"PIP_CACHE_DIR", deps + "/pip-cache"},
          {"PYTHONPATH", deps + "/python"},
          {"PATH", deps + "/python/bin" + (path.empty() ? "" : ":" + path)},
          {"GOMODCACHE", deps + "/go-mod"},
          {"GOFLAGS", "-modcacherw"},
          {"CARGO_HOME", deps + "/cargo"},
          {"MAVEN_OPTS", "-Dmaven.repo.local=" + deps + "/m2"},
          {"GRADLE_USER_HOME", deps + "/gradle"}};
}

Json ToJson(const DetectedVerifier& detected) {
  Json json = ToJson(detected.spec);
  json["kind"] = VerifierKindName(detected.kind);
  json["why"] = detected.why;
  return json;
}

}  // namespace drover::verifiers
