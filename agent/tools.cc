#include "agent/tools.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "agent/edit.h"

namespace drover::agent {
namespace {

constexpr int kMaxReadLines = 400;
constexpr size_t kMaxReadBytes = size_t{32} << 10;
constexpr size_t kMaxLineBytes = 2000;
constexpr size_t kMaxListEntries = 400;
constexpr size_t kMaxSearchHits = 100;
constexpr size_t kMaxCommandOutputBytes = size_t{16} << 10;
constexpr size_t kVerifyBudgetBytes = 6000;
constexpr size_t kMaxSymbolHits = 50;
constexpr size_t kMaxReferenceHits = 100;
constexpr size_t kMaxListedCreations = 200000;

// Every path under `root` (relative, '/'-separated), without following links; `.git` skipped.
void ListTree(const std::filesystem::path& root, std::set<std::string>& out) {
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string relative = it->path().lexically_relative(root).generic_string();
    if (relative == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    out.insert(relative);
  }
}

// Gives the owner write and search permission on `path` and every directory below it.
void MakeDirectoriesWritable(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) return;
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::recursive_directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      ec.clear();
    }
  }
}

struct ToolSpec {
  const char* name;
  const char* usage;  // Shown when the arguments are wrong.
};

constexpr ToolSpec kSpecs[] = {
    {"read_file", R"({"path": string, "start_line"?: integer, "end_line"?: integer})"},
    {"list_files", R"({"path"?: string, "glob"?: string})"},
    {"search", R"({"pattern": string, "path"?: string, "glob"?: string})"},
    {"edit",
     R"({"path": string, "search": string, "replace": string} or {"edits": [{"path": string, "search": string, "replace": string}, ...]})"},
    {"write_file", R"({"path": string, "content": string})"},
    {"run", R"({"command": string, "timeout_seconds"?: integer})"},
    {"find_symbol", R"({"name": string})"},
    {"references", R"({"name": string})"},
    {"verify", "{}"},
    {"finish", R"({"summary": string, "not_applicable_reason"?: string})"},
};

std::string_view UsageOf(std::string_view tool) {
  for (const auto& spec : kSpecs) {
    if (tool == spec.name) return spec.usage;
  }
  return "{}";
}

Json StringProp(const char* description = nullptr) {
  Json prop = {{"type", "string"}};
  if (description != nullptr) prop["description"] = description;
  return prop;
}

Json IntegerProp(const char* description = nullptr) {
  Json prop = {{"type", "integer"}};
  if (description != nullptr) prop["description"] = description;
  return prop;
}

Json Object(Json properties, std::vector<std::string> required) {
  Json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

// Replaces bytes that are not valid UTF-8 with U+FFFD, so protocol encoders never choke.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (valid && length == 2) valid = c >= 0xC2;
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

ToolResult Error(std::string text) {
  ToolResult result;
  result.text = std::move(text);
  result.is_error = true;
  return result;
}

ToolResult Malformed(std::string_view tool, std::string_view problem) {
  ToolResult result = Error(std::string(tool) + ": " + std::string(problem) +
                            ". Expected arguments: " + std::string(UsageOf(tool)));
  result.malformed = true;
  return result;
}

ToolResult Ok(std::string text) {
  ToolResult result;
  result.text = std::move(text);
  return result;
}

// Argument readers: the error text names the field and the type it needs.
Result<std::optional<std::string>> OptionalString(const Json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return Fail(ErrorCode::kInvalidArgument,
                "field '" + std::string(key) + "' must be a string, not " + it->type_name());
  }
  return it->get<std::string>();
}

Result<std::string> RequiredString(const Json& args, const char* key) {
  auto value = OptionalString(args, key);
  if (!value) return Fail(value.error());
  if (!*value) {
    return Fail(ErrorCode::kInvalidArgument,
                "missing required string field '" + std::string(key) + "'");
  }
  return std::move(**value);
}

Result<std::optional<int64_t>> OptionalInt(const Json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    return Fail(ErrorCode::kInvalidArgument,
                "field '" + std::string(key) + "' must be an integer, not " + it->type_name());
  }
  return it->get<int64_t>();
}

std::string CountLines(std::string_view text) {
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  if (!text.empty() && text.back() != '\n') ++lines;
  return std::to_string(lines) + (lines == 1 ? " line" : " lines");
}

}  // namespace

Tools::Tools(const AgentTask& task, Workspace& workspace, sandbox::ProcessRunner& processes,
             std::map<std::string, std::string> command_env)
    : task_(task),
      workspace_(workspace),
      processes_(processes),
      command_env_(std::move(command_env)) {
  ListTree(workspace_.root(), initial_paths_);
}

void Tools::NoteWritten(std::string_view path) {
  auto resolved = workspace_.Resolve(path, /*for_write=*/true);
  if (!resolved) return;
  std::filesystem::path relative = resolved->lexically_relative(workspace_.root());
  for (; !relative.empty() && relative != "."; relative = relative.parent_path()) {
    written_paths_.insert(relative.generic_string());
  }
}

Status Tools::RemoveBuildOutputs() {
  const std::filesystem::path& root = workspace_.root();
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root, ec), end;
  std::vector<std::filesystem::path> outputs;
  for (; !ec && it != end; it.increment(ec)) {
    std::string relative = it->path().lexically_relative(root).generic_string();
    // A nested repository's .git stays, so that the runner's commit refuses it by name.
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (initial_paths_.contains(relative) || written_paths_.contains(relative)) continue;
    // A directory that is not kept goes whole; a link is removed, never followed.
    outputs.push_back(it->path());
    it.disable_recursion_pending();
  }
  if (ec) return Fail(ErrorCode::kIo, "listing the workspace: " + ec.message());
  for (const auto& path : outputs) {
    std::filesystem::remove_all(path, ec);
    if (ec) {
      // A build may leave read-only directories (as Go's module cache does): their owner can
      // make them writable again. Links are neither followed nor changed.
      ec.clear();
      MakeDirectoriesWritable(path);
      std::filesystem::remove_all(path, ec);
    }
    if (ec) {
      return Fail(ErrorCode::kIo, "removing the build output " +
                                      path.lexically_relative(root).generic_string() + ": " +
                                      ec.message());
    }
  }
  if (!outputs.empty()) map_stale_ = true;
  return {};
}

const std::vector<ToolSchema>& Tools::Schemas() {
  static const std::vector<ToolSchema> kSchemas = {
      {"read_file", "Read a text file as numbered lines. Long files come in parts.",
       Object({{"path", StringProp()}, {"start_line", IntegerProp()}, {"end_line", IntegerProp()}},
              {"path"})},
      {"list_files",
       "List files, skipping .gitignored ones. A glob without '/' matches names at any depth.",
       Object({{"path", StringProp("Folder, default the root")}, {"glob", StringProp()}}, {})},
      {"search", "Search file contents with a regex (ECMAScript). Prints path:line: text.",
       Object({{"pattern", StringProp()}, {"path", StringProp()}, {"glob", StringProp()}},
              {"pattern"})},
      {"edit",
       "Replace text. search must match exactly once: copy it from the file without line "
       "numbers. Use edits for several changes, applied all or none.",
       Object(
           {{"path", StringProp()},
            {"search", StringProp()},
            {"replace", StringProp()},
            {"edits",
             {{"type", "array"},
              {"items",
               Object({{"path", StringProp()}, {"search", StringProp()}, {"replace", StringProp()}},
                      {"path", "search", "replace"})}}}},
           {})},
      {"write_file", "Create or overwrite a file with the whole content.",
       Object({{"path", StringProp()}, {"content", StringProp()}}, {"path", "content"})},
      {"run",
       "Run a shell command in the repository root. Long output is cut. New files it makes "
       "are kept, except .gitignored ones: those are build outputs, removed before verify.",
       Object({{"command", StringProp()}, {"timeout_seconds", IntegerProp()}}, {"command"})},
      {"find_symbol", "Where a name is defined: path:line: signature.",
       Object({{"name", StringProp()}}, {"name"})},
      {"references", "Where a name is used, in code, strings and config files: path:line: text.",
       Object({{"name", StringProp()}}, {"name"})},
      {"verify", "Run the repository's checks (build, tests) and report failures.",
       Object(Json::object(), {})},
      {"finish",
       "End the task with a summary for the pull request. Checks must pass, unless "
       "not_applicable_reason says why the migration does not apply to this repository.",
       Object({{"summary", StringProp()}, {"not_applicable_reason", StringProp()}}, {"summary"})},
  };
  return kSchemas;
}

ToolResult Tools::Execute(const ToolCall& call) {
  bool known = std::any_of(std::begin(kSpecs), std::end(kSpecs),
                           [&](const ToolSpec& spec) { return call.name == spec.name; });
  if (!known) {
    std::string names;
    for (const auto& spec : kSpecs) names += (names.empty() ? "" : ", ") + std::string(spec.name);
    ToolResult result =
        Error("unknown tool '" + ValidUtf8(call.name) + "'; the tools are: " + names);
    result.malformed = true;
    return result;
  }
  Json args = Json::object();
  std::string_view raw = call.arguments;
  if (raw.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    auto parsed = ParseJson(raw, "arguments of " + call.name);
    if (!parsed) {
      ToolResult result = Error("invalid JSON in arguments of " + call.name + ": " +
                                ValidUtf8(parsed.error().message) +
                                ". Send one JSON object: " + std::string(UsageOf(call.name)));
      result.malformed = true;
      return result;
    }
    args = std::move(*parsed);
  }
  if (!args.is_object()) {
    return Malformed(call.name,
                     std::string("arguments must be a JSON object, not ") + args.type_name());
  }
  ToolResult result;
  if (call.name == "read_file") {
    result = ReadFile(args);
  } else if (call.name == "list_files") {
    result = ListFiles(args);
  } else if (call.name == "search") {
    result = Search(args);
  } else if (call.name == "edit") {
    result = Edit(args);
  } else if (call.name == "write_file") {
    result = WriteFile(args);
  } else if (call.name == "run") {
    result = Run(args);
  } else if (call.name == "find_symbol") {
    result = FindSymbol(args);
  } else if (call.name == "references") {
    result = References(args);
  } else if (call.name == "verify") {
    result = Verify();
  } else {
    result = Finish(args);
  }
  result.text = ValidUtf8(result.text);
  return result;
}

ToolResult Tools::ReadFile(const Json& args) {
  auto path = RequiredString(args, "path");
  if (!path) return Malformed("read_file", path.error().message);
  auto start = OptionalInt(args, "start_line");
  if (!start) return Malformed("read_file", start.error().message);
  auto end = OptionalInt(args, "end_line");
  if (!end) return Malformed("read_file", end.error().message);

  auto content = workspace_.ReadText(*path);
  if (!content) return Error("read_file: " + content.error().message);
  std::string_view text = *content;
  if (text.substr(0, 8192).find('\0') != std::string_view::npos) {
    return Error("read_file: " + *path + " is a binary file (" + std::to_string(text.size()) +
                 " bytes); not shown");
  }
  if (text.empty()) return Ok("(empty file)");
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  int64_t total = static_cast<int64_t>(lines.size());
  int64_t first = start->value_or(1);
  if (first < 1) first = 1;
  if (first > total) {
    return Error("read_file: start_line " + std::to_string(first) + " is past the end of " + *path +
                 " (" + std::to_string(total) + " lines)");
  }
  int64_t last = std::min(total, end->value_or(first + kMaxReadLines - 1));
  if (last < first) {
    return Error("read_file: end_line " + std::to_string(last) + " is before start_line " +
                 std::to_string(first));
  }
  last = std::min(last, first + kMaxReadLines - 1);
  std::string out;
  int64_t shown = first - 1;
  for (int64_t n = first; n <= last && out.size() < kMaxReadBytes; ++n) {
    std::string_view line = lines[static_cast<size_t>(n - 1)];
    if (line.ends_with('\r')) line.remove_suffix(1);
    out += std::to_string(n) + "\t";
    if (line.size() > kMaxLineBytes) {
      out += std::string(line.substr(0, kMaxLineBytes)) + " [line cut]";
    } else {
      out += line;
    }
    out += "\n";
    shown = n;
  }
  if (first > 1 || shown < total) {
    out += "[lines " + std::to_string(first) + "-" + std::to_string(shown) + " of " +
           std::to_string(total);
    if (shown < total) out += "; use start_line=" + std::to_string(shown + 1) + " to read on";
    out += "]\n";
  }
  return Ok(std::move(out));
}

ToolResult Tools::ListFiles(const Json& args) {
  auto path = OptionalString(args, "path");
  if (!path) return Malformed("list_files", path.error().message);
  auto glob = OptionalString(args, "glob");
  if (!glob) return Malformed("list_files", glob.error().message);
  auto listing = workspace_.List(path->value_or(""), glob->value_or(""), kMaxListEntries);
  if (!listing) return Error("list_files: " + listing.error().message);
  if (listing->paths.empty()) return Ok("no files match");
  std::string out;
  for (const auto& file : listing->paths) out += file + "\n";
  if (listing->truncated) {
    out += "[listing cut at " + std::to_string(kMaxListEntries) +
           " files; narrow it with path or glob]\n";
  }
  return Ok(std::move(out));
}

ToolResult Tools::Search(const Json& args) {
  auto pattern = RequiredString(args, "pattern");
  if (!pattern) return Malformed("search", pattern.error().message);
  auto path = OptionalString(args, "path");
  if (!path) return Malformed("search", path.error().message);
  auto glob = OptionalString(args, "glob");
  if (!glob) return Malformed("search", glob.error().message);
  auto found = workspace_.Search(*pattern, path->value_or(""), glob->value_or(""), kMaxSearchHits);
  if (!found) return Error("search: " + found.error().message);
  std::string out;
  for (const auto& hit : found->hits) {
    out += hit.path + ":" + std::to_string(hit.line) + ": " + hit.text + "\n";
  }
  if (found->hits.empty()) out = "no matches\n";
  if (found->truncated) {
    out += "[more than " + std::to_string(kMaxSearchHits) +
           " matches; narrow it with path, glob or a tighter pattern]\n";
  }
  if (found->skipped_files > 0) {
    out += "[" + std::to_string(found->skipped_files) + " binary or large files not searched]\n";
  }
  return Ok(std::move(out));
}

ToolResult Tools::Edit(const Json& args) {
  std::vector<FileEdit> edits;
  auto read_one = [](const Json& object) -> Result<FileEdit> {
    FileEdit edit;
    for (auto [key, field] : {std::pair{"path", &edit.path}, std::pair{"search", &edit.search},
                              std::pair{"replace", &edit.replace}}) {
      auto value = RequiredString(object, key);
      if (!value) return Fail(value.error());
      *field = std::move(*value);
    }
    return edit;
  };
  if (auto list = args.find("edits"); list != args.end() && !list->is_null()) {
    if (!list->is_array() || list->empty()) {
      return Malformed("edit", "field 'edits' must be a non-empty array of objects");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& item = (*list)[i];
      if (!item.is_object()) {
        return Malformed("edit", "edits[" + std::to_string(i) + "] must be an object");
      }
      auto edit = read_one(item);
      if (!edit)
        return Malformed("edit", "edits[" + std::to_string(i) + "]: " + edit.error().message);
      edits.push_back(std::move(*edit));
    }
  } else {
    auto edit = read_one(args);
    if (!edit) return Malformed("edit", edit.error().message);
    edits.push_back(std::move(*edit));
  }
  if (auto applied = ApplyEdits(workspace_, edits); !applied) {
    std::string text = "edit failed, no file was changed: " + applied.error().message;
    return Error(std::move(text));
  }
  changed_since_verify_ = true;
  map_stale_ = true;
  for (const auto& edit : edits) NoteWritten(edit.path);
  std::vector<std::string> paths;
  for (const auto& edit : edits) {
    if (std::find(paths.begin(), paths.end(), edit.path) == paths.end()) paths.push_back(edit.path);
  }
  std::string out = "Edited ";
  for (size_t i = 0; i < paths.size(); ++i) out += (i == 0 ? "" : ", ") + paths[i];
  return Ok(out + ".");
}

ToolResult Tools::WriteFile(const Json& args) {
  auto path = RequiredString(args, "path");
  if (!path) return Malformed("write_file", path.error().message);
  auto content = RequiredString(args, "content");
  if (!content) return Malformed("write_file", content.error().message);
  if (auto wrote = workspace_.WriteText(*path, *content); !wrote) {
    return Error("write_file: " + wrote.error().message);
  }
  NoteWritten(*path);
  changed_since_verify_ = true;
  map_stale_ = true;
  return Ok("Wrote " + *path + " (" + CountLines(*content) + ").");
}

ToolResult Tools::Run(const Json& args) {
  auto command = RequiredString(args, "command");
  if (!command) return Malformed("run", command.error().message);
  auto timeout = OptionalInt(args, "timeout_seconds");
  if (!timeout) return Malformed("run", timeout.error().message);
  int64_t limit = task_.limits.command_timeout_seconds;
  int64_t seconds = std::clamp<int64_t>(timeout->value_or(limit), 1, std::max<int64_t>(limit, 1));

  sandbox::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", *command};
  spec.cwd = workspace_.root();
  spec.env = command_env_;
  spec.timeout = std::chrono::seconds(seconds);
  spec.max_output_bytes = kMaxCommandOutputBytes;
  spec.stdin_data = "";
  // A command may change any file, so finish re-runs the verifiers afterwards.
  changed_since_verify_ = true;
  map_stale_ = true;
  std::set<std::string> before;
  ListTree(workspace_.root(), before);
  auto ran = processes_.Run(spec);
  // What a command creates is the agent's edit (a `mv`, a code generator) unless the
  // repository ignores it: an ignored file is a build output, which the final check's fresh
  // checkout would not have either.
  if (auto made = workspace_.List("", "", kMaxListedCreations); made) {
    for (const auto& path : made->paths) {
      if (!before.contains(path)) NoteWritten(path);
    }
  }
  if (!ran) return Error("run: could not start the command: " + ran.error().message);
  // No duration: what the model reads stays the same from run to run.
  std::string out = ran->Describe() + "\n" + ran->output;
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (ran->output_bytes > ran->output.size()) {
    out += "[output cut: " + std::to_string(ran->output_bytes) +
           " bytes in all, the middle was dropped]\n";
  }
  return Ok(std::move(out));
}

Result<const RepoMap*> Tools::Map() {
  if (!map_ || map_stale_) {
    RepoMapOptions options;
    options.cache_dir = task_.parse_cache_dir;
    auto built = RepoMap::Build(workspace_, options);
    if (!built) return Fail(built.error());
    map_ = std::move(*built);
    map_stale_ = false;
  }
  return &*map_;
}

ToolResult Tools::FindSymbol(const Json& args) {
  auto name = RequiredString(args, "name");
  if (!name) return Malformed("find_symbol", name.error().message);
  auto map = Map();
  if (!map) return Error("find_symbol: " + map.error().message);
  auto found = (*map)->Definitions(*name);
  if (found.empty()) {
    return Ok("no definition of " + *name +
              " found (only files in languages with a parser are indexed); try references or "
              "search\n");
  }
  std::string out;
  for (size_t i = 0; i < found.size() && i < kMaxSymbolHits; ++i) {
    out += found[i].path + ":" + std::to_string(found[i].line) + ": " + found[i].text + "\n";
  }
  if (found.size() > kMaxSymbolHits) {
    out += "[" + std::to_string(found.size()) + " definitions, first " +
           std::to_string(kMaxSymbolHits) + " shown]\n";
  }
  return Ok(std::move(out));
}

ToolResult Tools::References(const Json& args) {
  auto name = RequiredString(args, "name");
  if (!name) return Malformed("references", name.error().message);
  auto map = Map();
  if (!map) return Error("references: " + map.error().message);
  auto found = (*map)->References(*name);
  if (found.empty()) return Ok("no references to " + *name + " found\n");
  std::string out;
  std::string path;
  std::string content;
  for (size_t i = 0; i < found.size() && i < kMaxReferenceHits; ++i) {
    if (found[i].path != path) {
      path = found[i].path;
      auto text = workspace_.ReadText(path);
      content = text ? std::move(*text) : std::string();
    }
    out += path + ":" + std::to_string(found[i].line) + ": " + LineText(content, found[i].line) +
           "\n";
  }
  if (found.size() > kMaxReferenceHits) {
    out += "[" + std::to_string(found.size()) + " references, first " +
           std::to_string(kMaxReferenceHits) + " shown; narrow it with search]\n";
  }
  return Ok(std::move(out));
}

ToolResult Tools::Verify() {
  // Each run starts from the commit plus the edits, never from a previous run's outputs (a
  // Makefile's `ln -s` fails on the link its last run made).
  if (auto cleaned = RemoveBuildOutputs(); !cleaned) {
    return Error("verify: " + cleaned.error().message);
  }
  verifiers::VerifierReport report =
      verifiers::RunVerifiers(processes_, task_.verifiers, workspace_.root(), command_env_);
  changed_since_verify_ = false;
  last_report_ = report;
  std::string text = task_.verifiers.empty() ? "no checks are configured for this repository"
                                             : report.ForModel(kVerifyBudgetBytes);
  if (task_.judge_mode == verifiers::JudgeMode::kNoNewFailures && task_.baseline) {
    // The repository was red before the change: say which failures are the agent's.
    auto fresh = verifiers::NewFailures(*task_.baseline, report);
    std::string note = "\nThis repository already failed its checks before your change (" +
                       task_.baseline->Summary(false) + "); only failures it did not have count. ";
    if (fresh.empty()) {
      note += "No new failures: you may finish.\n";
    } else {
      note += "New failures (" + std::to_string(fresh.size()) + "):\n";
      for (size_t i = 0; i < fresh.size() && i < 20; ++i) note += "- " + fresh[i] + "\n";
    }
    text += note;
  }
  ToolResult result = Ok(std::move(text));
  result.report = std::move(report);
  return result;
}

ToolResult Tools::Finish(const Json& args) {
  auto summary = OptionalString(args, "summary");
  if (!summary) return Malformed("finish", summary.error().message);
  auto not_applicable = OptionalString(args, "not_applicable_reason");
  if (!not_applicable) return Malformed("finish", not_applicable.error().message);
  if (*not_applicable && !(*not_applicable)->empty()) {
    ToolResult result = Ok("Finished: the migration does not apply.");
    result.finished = true;
    result.not_applicable = true;
    result.reason = std::move(**not_applicable);
    result.summary = summary->value_or("");
    return result;
  }
  if (!*summary || (*summary)->empty()) {
    return Malformed("finish", "missing required string field 'summary'");
  }
  std::optional<verifiers::VerifierReport> report;
  std::string verify_text;  // What verify would have said, when finish ran the checks.
  if (changed_since_verify_ || !last_report_) {
    ToolResult verified = Verify();
    // The checks could not run (the tree could not be cleaned): nothing to finish on.
    if (!verified.report) return verified;
    report = std::move(verified.report);
    verify_text = std::move(verified.text);
  }
  const verifiers::VerifierReport* baseline = task_.baseline ? &*task_.baseline : nullptr;
  if (!verifiers::Acceptable(task_.judge_mode, baseline, *last_report_)) {
    std::string text = "finish refused: the checks failed (" + last_report_->Summary(false) + ")";
    text +=
        ". Fix the problems and call verify; if the migration cannot apply to this repository, "
        "call finish with not_applicable_reason.";
    if (report) text += "\n" + verify_text;
    ToolResult result = Error(std::move(text));
    result.malformed = true;
    result.refused_checks = last_report_->Summary(false);
    result.report = std::move(report);
    return result;
  }
  // The tree handed back is what gets committed: the checks' outputs are not part of it.
  if (auto cleaned = RemoveBuildOutputs(); !cleaned) {
    return Error("finish: " + cleaned.error().message);
  }
  ToolResult result = Ok("Finished.");
  result.finished = true;
  result.summary = std::move(**summary);
  result.report = std::move(report);
  return result;
}

}  // namespace drover::agent
