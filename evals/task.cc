#include "evals/task.h"

#include <algorithm>
#include <climits>
#include <set>

#include "core/fs.h"
#include "core/yaml.h"
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

Result<std::vector<verifiers::VerifierSpec>> ReadChecks(const YamlNode& node) {
  if (!node.IsList() || node.Items().empty()) {
    return node.Fail("expected a non-empty list of {name, command}, got " + node.Describe());
  }
  std::vector<verifiers::VerifierSpec> checks;
  std::set<std::string> names;
  for (const YamlNode& entry : node.Items()) {
    if (!entry.IsMap()) return entry.Fail("expected a mapping, got " + entry.Describe());
    if (auto keys = entry.CheckFields(kCheckFields); !keys) return Fail(keys.error());
    verifiers::VerifierSpec check;
    for (auto [field, target] :
         {std::pair{"name", &check.name}, std::pair{"command", &check.command}}) {
      auto field_node = entry.Require(field);
      if (!field_node) return Fail(field_node.error());
      auto value = field_node->ReadText();
      if (!value) return Fail(value.error());
      *target = std::move(*value);
    }
    if (!names.insert(check.name).second) {
      return entry.Find("name")->Fail("'" + check.name + "' is given twice");
    }
    if (auto timeout = entry.Find("timeout_seconds")) {
      auto seconds = timeout->ReadInteger(1, INT_MAX);
      if (!seconds) return Fail(seconds.error());
      check.timeout = std::chrono::seconds(*seconds);
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

Status ReadLimits(const YamlNode& node, EvalTask& task) {
  if (!node.IsMap()) return node.Fail("expected a mapping, got " + node.Describe());
  if (auto keys = node.CheckFields(kLimitFields); !keys) return keys;
  for (auto [field, target] :
       {std::pair{"max_turns", &task.max_turns}, std::pair{"max_attempts", &task.max_attempts}}) {
    if (auto limit = node.Find(field)) {
      auto value = limit->ReadInteger(1, INT_MAX);
      if (!value) return Fail(value.error());
      *target = static_cast<int>(*value);
    }
  }
  return {};
}

// The fields that name a file or a folder relative to the task.
Result<fs::path> ReadPath(const YamlNode& node, const fs::path& dir) {
  auto text = node.ReadText();
  if (!text) return Fail(text.error());
  fs::path path = fs::weakly_canonical(dir / *text);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return node.Fail("'" + *text + "' does not exist (" + path.string() + ")");
  }
  return path;
}

Result<EvalTask> LoadTaskAt(const fs::path& dir, int depth);

// Fills the task from its parsed task.yaml.
Status ReadTask(const YamlNode& root, int depth, EvalTask& task) {
  if (!root.IsMap()) return root.Fail("expected a mapping of fields, got " + root.Describe());
  if (auto keys = root.CheckFields(kFields); !keys) return keys;
  auto id_node = root.Require("id");
  if (!id_node) return Fail(id_node.error());
  auto id = id_node->ReadText();
  if (!id) return Fail(id.error());
  if (*id != task.dir.filename().string()) {
    return id_node->Fail("'" + *id + "' must equal the folder's name '" +
                         task.dir.filename().string() + "'");
  }
  task.id = *id;
  task.source_dir = task.dir;
  if (auto base_node = root.Find("base")) {
    if (depth > 0) return base_node->Fail("a base task cannot have a base");
    auto base_dir = ReadPath(*base_node, task.dir);
    if (!base_dir) return Fail(base_dir.error());
    auto base = LoadTaskAt(*base_dir, depth + 1);
    if (!base) return Fail(WithContext(base.error(), root.file_name() + ": base"));
    task.source_dir = base->source_dir;
    task.language = base->language;
    task.tags = base->tags;
    task.migration = base->migration;
    task.checks = base->checks;
    task.max_turns = base->max_turns;
    task.max_attempts = base->max_attempts;
  }
  if (auto language = root.Find("language")) {
    auto name = language->ReadChoice(kLanguages);
    if (!name) return Fail(name.error());
    task.language = *name;
  } else if (task.language.empty()) {
    return root.FailField("language", "required");
  }
  if (auto tags = root.Find("tags")) {
    if (!tags->IsList()) return tags->Fail("expected a list of words, got " + tags->Describe());
    auto words = tags->ReadTextList();
    if (!words) return Fail(words.error());
    task.tags = *words;
  }
  if (auto checks = root.Find("checks")) {
    auto read = ReadChecks(*checks);
    if (!read) return Fail(read.error());
    task.checks = *read;
  } else if (task.checks.empty()) {
    return root.FailField("checks", "required");
  }
  if (auto migration = root.Find("migration")) {
    auto path = ReadPath(*migration, task.dir);
    if (!path) return Fail(path.error());
    task.migration = *path;
  } else if (task.migration.empty()) {
    task.migration = task.source_dir / "migration.md";
  }
  if (auto cassette = root.Find("cassette")) {
    auto path = ReadPath(*cassette, task.dir);
    if (!path) return Fail(path.error());
    task.cassette = *path;
  } else if (std::error_code ec; fs::is_regular_file(task.dir / "cassettes/solve.json", ec)) {
    task.cassette = task.dir / "cassettes/solve.json";
  }
  if (auto expect = root.Find("expect")) {
    constexpr std::string_view kExpect[] = {"success", "failure"};
    auto outcome = expect->ReadChoice(kExpect);
    if (!outcome) return Fail(outcome.error());
    task.expect_success = *outcome == "success";
  }
  if (auto limits = root.Find("limits")) return ReadLimits(*limits, task);
  return {};
}

Result<EvalTask> LoadTaskAt(const fs::path& dir, int depth) {
  EvalTask task;
  task.dir = fs::weakly_canonical(fs::absolute(dir));
  fs::path file = task.dir / "task.yaml";
  auto text = ReadFile(file);
  if (!text) return Fail(text.error());
  auto doc = ParseYaml(*text, file.string());
  if (!doc) return Fail(doc.error());
  if (auto read = ReadTask(doc->Root(), depth, task); !read) return Fail(read.error());
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
