#include "verifiers/detect.h"

#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "core/fs.h"

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

struct Proposal {
  VerifierKind kind;
  std::string command;
  std::string why;
};

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

void ProposeMake(const fs::path& repo, std::vector<Proposal>& out) {
  for (const char* name : {"GNUmakefile", "makefile", "Makefile"}) {
    auto text = ReadMarker(repo, name);
    if (!text) continue;
    auto targets = MakeTargets(*text);
    auto has = [&](std::string_view target) {
      return std::find(targets.begin(), targets.end(), target) != targets.end();
    };
    std::string file = name;
    // `make` alone builds the first target; it is a build only when that is not a test, a
    // clean-up or the like.
    static const std::set<std::string, std::less<>> kNotBuild = {
        "test", "tests", "check", "lint", "clean", "distclean", "install", "help"};
    if (has("all")) {
      out.push_back({VerifierKind::kBuild, "make -s", file + ": all target"});
    } else if (!targets.empty() && !kNotBuild.contains(targets.front())) {
      out.push_back(
          {VerifierKind::kBuild, "make -s", file + ": default target " + targets.front()});
    }
    if (has("test")) {
      out.push_back({VerifierKind::kTest, "make -s test", file + ": test target"});
    } else if (has("check")) {
      out.push_back({VerifierKind::kTest, "make -s check", file + ": check target"});
    }
    if (has("lint")) out.push_back({VerifierKind::kLint, "make -s lint", file + ": lint target"});
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
  ProposeMake(repo, proposals);
  ProposeGradle(repo, proposals);
  ProposeMaven(repo, proposals);
  ProposeCargo(repo, proposals);
  ProposeGo(repo, proposals);
  ProposeCMake(repo, proposals);
  ProposeNode(repo, proposals);
  ProposePython(repo, FileNames(repo), proposals);

  std::vector<DetectedVerifier> out;
  for (VerifierKind kind : {VerifierKind::kBuild, VerifierKind::kTest, VerifierKind::kLint}) {
    auto first = std::find_if(proposals.begin(), proposals.end(),
                              [&](const Proposal& p) { return p.kind == kind; });
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

Json ToJson(const DetectedVerifier& detected) {
  Json json = ToJson(detected.spec);
  json["kind"] = VerifierKindName(detected.kind);
  json["why"] = detected.why;
  return json;
}

}  // namespace drover::verifiers
