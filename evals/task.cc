#include "evals/task.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <span>

#include "core/fs.h"
#include "gateway/cassette.h"
#include "spec/spec.h"

namespace drover::evals {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFields[] = {"id",       "language", "tags", "migration", "checks",
                                        "cassette", "expect",   "base", "limits"};
constexpr std::string_view kCheckFields[] = {"name", "command", "timeout_seconds"};
constexpr std::string_view kLimitFields[] = {"max_turns", "max_attempts"};
constexpr std::string_view kLanguages[] = {"python", "java", "javascript", "typescript",
                                           "go",     "cpp",  "sql"};

// Errors at a node of one task.yaml: "FILE:LINE: FIELD: message".
class Reader {
 public:
  explicit Reader(fs::path file) : file_(std::move(file)) {}

  std::unexpected<Error> FailAt(const YAML::Node& node, std::string_view field,
                                std::string_view message) const {
    YAML::Mark mark = node.Mark();
    int line = mark.is_null() ? 1 : mark.line + 1;
    return Fail(ErrorCode::kInvalidArgument, file_.string() + ":" + std::to_string(line) + ": " +
                                                 std::string(field) + ": " + std::string(message));
  }

  Status CheckKeys(const YAML::Node& map, std::string_view field,
                   std::span<const std::string_view> known) const {
    if (!map.IsMap()) return FailAt(map, field, "expected a mapping");
    std::set<std::string> seen;
    for (const auto& entry : map) {
      std::string name = entry.first.Scalar();
      std::string path = field.empty() ? name : std::string(field) + "." + name;
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return FailAt(entry.first, path, "unknown field");
      }
      if (!seen.insert(name).second) return FailAt(entry.first, path, "given twice");
    }
    return {};
  }

  Result<std::string> String(const YAML::Node& node, std::string_view field) const {
    if (!node.IsScalar() || node.Scalar().empty()) {
      return FailAt(node, field, "expected a non-empty text");
    }
    return node.Scalar();
  }

  Result<int> PositiveInt(const YAML::Node& node, std::string_view field) const {
    int value = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value <= 0) {
      return FailAt(node, field, "expected a positive integer");
    }
    return value;
  }

  const fs::path& file() const { return file_; }

 private:
  fs::path file_;
};

Result<std::vector<verifiers::VerifierSpec>> ReadChecks(const Reader& reader,
                                                        const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) {
    return reader.FailAt(node, "checks", "expected a non-empty list of {name, command}");
  }
  std::vector<verifiers::VerifierSpec> checks;
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    std::string field = "checks[" + std::to_string(i) + "]";
    const YAML::Node& entry = node[i];
    if (auto keys = reader.CheckKeys(entry, field, kCheckFields); !keys) return Fail(keys.error());
    verifiers::VerifierSpec check;
    if (!entry["name"] || !entry["command"]) {
      return reader.FailAt(entry, field, "needs a name and a command");
    }
    auto name = reader.String(entry["name"], field + ".name");
    if (!name) return Fail(name.error());
    auto command = reader.String(entry["command"], field + ".command");
    if (!command) return Fail(command.error());
    if (!names.insert(*name).second) {
      return reader.FailAt(entry["name"], field + ".name", "'" + *name + "' is given twice");
    }
    check.name = *name;
    check.command = *command;
    if (entry["timeout_seconds"]) {
      auto timeout = reader.PositiveInt(entry["timeout_seconds"], field + ".timeout_seconds");
      if (!timeout) return Fail(timeout.error());
      check.timeout = std::chrono::seconds(*timeout);
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

Result<std::vector<std::string>> ReadTags(const Reader& reader, const YAML::Node& node) {
  if (!node.IsSequence()) return reader.FailAt(node, "tags", "expected a list of words");
  std::vector<std::string> tags;
  for (size_t i = 0; i < node.size(); ++i) {
    auto tag = reader.String(node[i], "tags[" + std::to_string(i) + "]");
    if (!tag) return Fail(tag.error());
    tags.push_back(*tag);
  }
  return tags;
}

Status ReadLimits(const Reader& reader, const YAML::Node& node, EvalTask& task) {
  if (auto keys = reader.CheckKeys(node, "limits", kLimitFields); !keys) return keys;
  if (node["max_turns"]) {
    auto turns = reader.PositiveInt(node["max_turns"], "limits.max_turns");
    if (!turns) return Fail(turns.error());
    task.max_turns = *turns;
  }
  if (node["max_attempts"]) {
    auto attempts = reader.PositiveInt(node["max_attempts"], "limits.max_attempts");
    if (!attempts) return Fail(attempts.error());
    task.max_attempts = *attempts;
  }
  return {};
}

// The fields that name a file or a folder relative to the task.
Result<fs::path> ReadPath(const Reader& reader, const YAML::Node& node, std::string_view field,
                          const fs::path& dir) {
  auto text = reader.String(node, field);
  if (!text) return Fail(text.error());
  fs::path path = fs::weakly_canonical(dir / *text);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return reader.FailAt(node, field, "'" + *text + "' does not exist (" + path.string() + ")");
  }
  return path;
}

Result<EvalTask> LoadTaskAt(const fs::path& dir, int depth);

// Fills the task from its parsed task.yaml.
Status ReadTask(const Reader& reader, const YAML::Node& root, int depth, EvalTask& task) {
  if (auto keys = reader.CheckKeys(root, "", kFields); !keys) return keys;
  if (!root["id"]) return reader.FailAt(root, "id", "required");
  auto id = reader.String(root["id"], "id");
  if (!id) return Fail(id.error());
  if (*id != task.dir.filename().string()) {
    return reader.FailAt(
        root["id"], "id",
        "'" + *id + "' must equal the folder's name '" + task.dir.filename().string() + "'");
  }
  task.id = *id;
  task.source_dir = task.dir;
  if (root["base"]) {
    if (depth > 0) return reader.FailAt(root["base"], "base", "a base task cannot have a base");
    auto base_dir = ReadPath(reader, root["base"], "base", task.dir);
    if (!base_dir) return Fail(base_dir.error());
    auto base = LoadTaskAt(*base_dir, depth + 1);
    if (!base) return Fail(WithContext(base.error(), reader.file().string() + ": base"));
    task.source_dir = base->source_dir;
    task.language = base->language;
    task.tags = base->tags;
    task.migration = base->migration;
    task.checks = base->checks;
    task.max_turns = base->max_turns;
    task.max_attempts = base->max_attempts;
  }
  if (root["language"]) {
    auto language = reader.String(root["language"], "language");
    if (!language) return Fail(language.error());
    if (std::find(std::begin(kLanguages), std::end(kLanguages), *language) ==
        std::end(kLanguages)) {
      return reader.FailAt(
          root["language"], "language",
          "'" + *language + "' is not one of python, java, javascript, typescript, go, cpp, sql");
    }
    task.language = *language;
  } else if (task.language.empty()) {
    return reader.FailAt(root, "language", "required");
  }
  if (root["tags"]) {
    auto tags = ReadTags(reader, root["tags"]);
    if (!tags) return Fail(tags.error());
    task.tags = *tags;
  }
  if (root["checks"]) {
    auto checks = ReadChecks(reader, root["checks"]);
    if (!checks) return Fail(checks.error());
    task.checks = *checks;
  } else if (task.checks.empty()) {
    return reader.FailAt(root, "checks", "required");
  }
  if (root["migration"]) {
    auto migration = ReadPath(reader, root["migration"], "migration", task.dir);
    if (!migration) return Fail(migration.error());
    task.migration = *migration;
  } else if (task.migration.empty()) {
    task.migration = task.source_dir / "migration.md";
  }
  if (root["cassette"]) {
    auto cassette = ReadPath(reader, root["cassette"], "cassette", task.dir);
    if (!cassette) return Fail(cassette.error());
    task.cassette = *cassette;
  } else if (std::error_code ec; fs::is_regular_file(task.dir / "cassettes/solve.json", ec)) {
    task.cassette = task.dir / "cassettes/solve.json";
  }
  if (root["expect"]) {
    auto expect = reader.String(root["expect"], "expect");
    if (!expect) return Fail(expect.error());
    if (*expect != "success" && *expect != "failure") {
      return reader.FailAt(root["expect"], "expect", "expected success or failure");
    }
    task.expect_success = *expect == "success";
  }
  if (root["limits"]) return ReadLimits(reader, root["limits"], task);
  return {};
}

Result<EvalTask> LoadTaskAt(const fs::path& dir, int depth) {
  EvalTask task;
  task.dir = fs::weakly_canonical(fs::absolute(dir));
  fs::path file = task.dir / "task.yaml";
  auto text = ReadFile(file);
  if (!text) return Fail(text.error());
  Reader reader(file);
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kParse, file.string() + ":" + std::to_string(e.mark.line + 1) +
                                       ": not valid YAML: " + e.msg);
  }
  if (auto read = ReadTask(reader, root, depth, task); !read) return Fail(read.error());
  std::error_code ec;
  for (const auto& [path, what] :
       {std::pair{task.repo_dir(), "repo/"}, std::pair{task.migration, "the migration"}}) {
    if (!fs::exists(path, ec)) {
      return Fail(ErrorCode::kInvalidArgument,
                  file.string() + ": " + what + " is missing (" + path.string() + ")");
    }
  }
  // A broken migration is the task's fault: say so now, not as a failed run.
  if (auto spec = fleet::LoadMigrationSpec(task.migration); !spec) {
    return Fail(WithContext(spec.error(), file.string()));
  }
  if (task.cassette) {
    if (auto cassette = fleet::LoadCassette(*task.cassette); !cassette) {
      return Fail(WithContext(cassette.error(), file.string()));
    }
  }
  return task;
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view text) {
  size_t g = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g;
      ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

Result<EvalTask> LoadTask(const fs::path& dir) {
  return LoadTaskAt(dir, 0);
}

Result<std::vector<EvalTask>> LoadSuite(const fs::path& suite, const std::string& glob) {
  std::error_code ec;
  if (!fs::is_directory(suite, ec)) {
    return Fail(ErrorCode::kNotFound, suite.string() + ": no such suite folder");
  }
  std::vector<fs::path> dirs;
  if (fs::is_regular_file(suite / "task.yaml", ec)) dirs.push_back(suite);
  for (auto it = fs::recursive_directory_iterator(suite, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // A task's own folders (repo/, checks/, ...) hold no further tasks.
    if (it->is_directory() && fs::is_regular_file(it->path().parent_path() / "task.yaml")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().filename() == "task.yaml" &&
        it->path().parent_path() != suite) {
      dirs.push_back(it->path().parent_path());
    }
  }
  if (ec) return Fail(ErrorCode::kIo, suite.string() + ": " + ec.message());
  std::vector<EvalTask> tasks;
  std::set<std::string> ids;
  for (const auto& dir : dirs) {
    if (!glob.empty() && !GlobMatch(glob, dir.filename().string())) continue;
    auto task = LoadTask(dir);
    if (!task) return Fail(task.error());
    if (!ids.insert(task->id).second) {
      return Fail(ErrorCode::kInvalidArgument,
                  (dir / "task.yaml").string() + ": id: '" + task->id + "' is used by two tasks");
    }
    tasks.push_back(std::move(*task));
  }
  if (tasks.empty()) {
    return Fail(ErrorCode::kNotFound, suite.string() + ": no task.yaml" +
                                          (glob.empty() ? "" : " matching '" + glob + "'"));
  }
  std::sort(tasks.begin(), tasks.end(),
            [](const EvalTask& a, const EvalTask& b) { return a.id < b.id; });
  return tasks;
}

}  // namespace drover::evals
