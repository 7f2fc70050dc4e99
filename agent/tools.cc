#include "agent/tools.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "agent/edit.h"
#include "agent/messages.h"
#include "prompts/prompts.h"

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

// What a call with wrong arguments is shown as expected, per tool (agent_tools.json's "usage").
// Empty when the template does not load (Agent::Run then refuses to start).
const std::map<std::string, std::string, std::less<>>& Usages() {
  static const std::map<std::string, std::string, std::less<>> kUsages = [] {
    std::map<std::string, std::string, std::less<>> usages;
    auto text = prompts::TemplateText(kToolsTemplate);
    if (!text) return usages;
    auto json = ParseJson(*text, kToolsTemplate);
    if (!json || !json->is_object()) return usages;
    for (const auto& [name, tool] : json->items()) {
      if (tool.is_object() && tool.contains("usage") && tool["usage"].is_string()) {
        usages[name] = tool["usage"].get<std::string>();
      }
    }
    return usages;
  }();
  return kUsages;
}

std::string_view UsageOf(std::string_view tool) {
  auto it = Usages().find(tool);
  return it == Usages().end() ? std::string_view("{}") : std::string_view(it->second);
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

// "read_file: ", the start of a tool's error.
std::string Label(std::string_view tool) {
  return std::string(tool) + ": ";
}

ToolResult Malformed(std::string_view tool, std::string_view problem) {
  ToolResult result =
      Error(ModelMessage("malformed_call", {{"tool", std::string(tool)},
                                            {"problem", std::string(problem)},
                                            {"usage", std::string(UsageOf(tool))}}));
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

Result<std::vector<ToolSchema>> Tools::LoadSchemas() {
  auto text = prompts::TemplateText(kToolsTemplate);
  if (!text) return Fail(text.error());
  auto json = ParseJson(*text, kToolsTemplate);
  if (!json) return Fail(json.error());
  std::string where = "template " + std::string(kToolsTemplate);
  if (!json->is_object()) return Fail(ErrorCode::kParse, where + " is not a JSON object");
  std::vector<ToolSchema> schemas;
  for (std::string_view name : kToolNames) {
    auto tool = json->find(name);
    if (tool == json->end() || !tool->is_object() || !tool->contains("description") ||
        !(*tool)["description"].is_string() || !tool->contains("parameters") ||
        !(*tool)["parameters"].is_object()) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + ": tool '" + std::string(name) + "' needs a description and parameters");
    }
    schemas.push_back(
        {std::string(name), (*tool)["description"].get<std::string>(), (*tool)["parameters"]});
  }
  for (const auto& [name, tool] : json->items()) {
    if (std::find(std::begin(kToolNames), std::end(kToolNames), name) == std::end(kToolNames)) {
      return Fail(ErrorCode::kInvalidArgument, where + ": no tool is named '" + name + "'");
    }
  }
  return schemas;
}

const std::vector<ToolSchema>& Tools::Schemas() {
  static const std::vector<ToolSchema> kSchemas = [] {
    auto loaded = LoadSchemas();
    return loaded ? std::move(*loaded) : std::vector<ToolSchema>();
  }();
  return kSchemas;
}

ToolResult Tools::Execute(const ToolCall& call) {
  bool known =
      std::find(std::begin(kToolNames), std::end(kToolNames), call.name) != std::end(kToolNames);
  if (!known) {
    std::string names;
    for (std::string_view name : kToolNames)
      names += (names.empty() ? "" : ", ") + std::string(name);
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
  if (call.name == tool_name::kReadFile) {
    result = ReadFile(args);
  } else if (call.name == tool_name::kListFiles) {
    result = ListFiles(args);
  } else if (call.name == tool_name::kSearch) {
    result = Search(args);
  } else if (call.name == tool_name::kEdit) {
    result = Edit(args);
  } else if (call.name == tool_name::kWriteFile) {
    result = WriteFile(args);
  } else if (call.name == tool_name::kRun) {
    result = Run(args);
  } else if (call.name == tool_name::kFindSymbol) {
    result = FindSymbol(args);
  } else if (call.name == tool_name::kReferences) {
    result = References(args);
  } else if (call.name == tool_name::kVerify) {
    result = Verify();
  } else {
    result = Finish(args);
  }
  result.text = ValidUtf8(result.text);
  return result;
}

ToolResult Tools::ReadFile(const Json& args) {
  auto path = RequiredString(args, "path");
  if (!path) return Malformed(tool_name::kReadFile, path.error().message);
  auto start = OptionalInt(args, "start_line");
  if (!start) return Malformed(tool_name::kReadFile, start.error().message);
  auto end = OptionalInt(args, "end_line");
  if (!end) return Malformed(tool_name::kReadFile, end.error().message);

  auto content = workspace_.ReadText(*path);
  if (!content) return Error(Label(tool_name::kReadFile) + content.error().message);
  std::string_view text = *content;
  if (text.substr(0, 8192).find('\0') != std::string_view::npos) {
    return Error(Label(tool_name::kReadFile) + *path + " is a binary file (" +
                 std::to_string(text.size()) + " bytes); not shown");
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
    return Error(Label(tool_name::kReadFile) + "start_line " + std::to_string(first) +
                 " is past the end of " + *path + " (" + std::to_string(total) + " lines)");
  }
  int64_t last = std::min(total, end->value_or(first + kMaxReadLines - 1));
  if (last < first) {
    return Error(Label(tool_name::kReadFile) + "end_line " + std::to_string(last) +
                 " is before start_line " + std::to_string(first));
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
    if (shown < total) out += ModelMessage("read_on", {{"line", std::to_string(shown + 1)}});
    out += "]\n";
  }
  return Ok(std::move(out));
}

ToolResult Tools::ListFiles(const Json& args) {
  auto path = OptionalString(args, "path");
  if (!path) return Malformed(tool_name::kListFiles, path.error().message);
  auto glob = OptionalString(args, "glob");
  if (!glob) return Malformed(tool_name::kListFiles, glob.error().message);
  auto listing = workspace_.List(path->value_or(""), glob->value_or(""), kMaxListEntries);
  if (!listing) return Error(Label(tool_name::kListFiles) + listing.error().message);
  if (listing->paths.empty()) return Ok("no files match");
  std::string out;
  for (const auto& file : listing->paths) out += file + "\n";
  if (listing->truncated) {
    out += ModelMessage("listing_cut", {{"max", std::to_string(kMaxListEntries)}});
  }
  return Ok(std::move(out));
}

ToolResult Tools::Search(const Json& args) {
  auto pattern = RequiredString(args, "pattern");
  if (!pattern) return Malformed(tool_name::kSearch, pattern.error().message);
  auto path = OptionalString(args, "path");
  if (!path) return Malformed(tool_name::kSearch, path.error().message);
  auto glob = OptionalString(args, "glob");
  if (!glob) return Malformed(tool_name::kSearch, glob.error().message);
  auto found = workspace_.Search(*pattern, path->value_or(""), glob->value_or(""), kMaxSearchHits);
  if (!found) return Error(Label(tool_name::kSearch) + found.error().message);
  std::string out;
  for (const auto& hit : found->hits) {
    out += hit.path + ":" + std::to_string(hit.line) + ": " + hit.text + "\n";
  }
  if (found->hits.empty()) out = "no matches\n";
  if (found->truncated) {
    out += ModelMessage("search_cut", {{"max", std::to_string(kMaxSearchHits)}});
  }
  if (found->skipped_files > 0) {
    out += ModelMessage("search_skipped", {{"count", std::to_string(found->skipped_files)}});
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
      return Malformed(tool_name::kEdit, "field 'edits' must be a non-empty array of objects");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& item = (*list)[i];
      if (!item.is_object()) {
        return Malformed(tool_name::kEdit, "edits[" + std::to_string(i) + "] must be an object");
      }
      auto edit = read_one(item);
      if (!edit)
        return Malformed(tool_name::kEdit,
                         "edits[" + std::to_string(i) + "]: " + edit.error().message);
      edits.push_back(std::move(*edit));
    }
  } else {
    auto edit = read_one(args);
    if (!edit) return Malformed(tool_name::kEdit, edit.error().message);
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
  if (!path) return Malformed(tool_name::kWriteFile, path.error().message);
  auto content = RequiredString(args, "content");
  if (!content) return Malformed(tool_name::kWriteFile, content.error().message);
  if (auto wrote = workspace_.WriteText(*path, *content); !wrote) {
    return Error(Label(tool_name::kWriteFile) + wrote.error().message);
  }
  NoteWritten(*path);
  changed_since_verify_ = true;
  map_stale_ = true;
  return Ok("Wrote " + *path + " (" + CountLines(*content) + ").");
}

ToolResult Tools::Run(const Json& args) {
  auto command = RequiredString(args, "command");
  if (!command) return Malformed(tool_name::kRun, command.error().message);
  auto timeout = OptionalInt(args, "timeout_seconds");
  if (!timeout) return Malformed(tool_name::kRun, timeout.error().message);
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
  if (!ran)
    return Error(Label(tool_name::kRun) + "could not start the command: " + ran.error().message);
  // No duration: what the model reads stays the same from run to run.
  std::string out = ran->Describe() + "\n" + ran->output;
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (ran->output_bytes > ran->output.size()) {
    out += ModelMessage("output_cut", {{"bytes", std::to_string(ran->output_bytes)}});
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
  if (!name) return Malformed(tool_name::kFindSymbol, name.error().message);
  auto map = Map();
  if (!map) return Error(Label(tool_name::kFindSymbol) + map.error().message);
  auto found = (*map)->Definitions(*name);
  if (found.empty()) {
    return Ok(ModelMessage("no_definition", {{"name", *name}}));
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
  if (!name) return Malformed(tool_name::kReferences, name.error().message);
  auto map = Map();
  if (!map) return Error(Label(tool_name::kReferences) + map.error().message);
  auto found = (*map)->References(*name);
  if (found.empty()) return Ok(ModelMessage("no_references", {{"name", *name}}));
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
    out += ModelMessage("references_cut", {{"count", std::to_string(found.size())},
                                           {"max", std::to_string(kMaxReferenceHits)}});
  }
  return Ok(std::move(out));
}

ToolResult Tools::Verify() {
  // Each run starts from the commit plus the edits, never from a previous run's outputs (a
  // Makefile's `ln -s` fails on the link its last run made).
  if (auto cleaned = RemoveBuildOutputs(); !cleaned) {
    return Error(Label(tool_name::kVerify) + cleaned.error().message);
  }
  verifiers::VerifierReport report =
      verifiers::RunVerifiers(processes_, task_.verifiers, workspace_.root(), command_env_);
  changed_since_verify_ = false;
  last_report_ = report;
  std::string text =
      task_.verifiers.empty() ? ModelMessage("no_checks") : report.ForModel(kVerifyBudgetBytes);
  if (task_.judge_mode == verifiers::JudgeMode::kNoNewFailures && task_.baseline) {
    // The repository was red before the change: say which failures are the agent's.
    auto fresh = verifiers::NewFailures(*task_.baseline, report);
    std::string note = ModelMessage("red_baseline", {{"baseline", task_.baseline->Summary(false)}});
    if (fresh.empty()) {
      note += ModelMessage("no_new_failures");
    } else {
      note += ModelMessage("new_failures", {{"count", std::to_string(fresh.size())}});
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
  if (!summary) return Malformed(tool_name::kFinish, summary.error().message);
  auto not_applicable = OptionalString(args, "not_applicable_reason");
  if (!not_applicable) return Malformed(tool_name::kFinish, not_applicable.error().message);
  if (*not_applicable && !(*not_applicable)->empty()) {
    ToolResult result = Ok("Finished: the migration does not apply.");
    result.finished = true;
    result.not_applicable = true;
    result.reason = std::move(**not_applicable);
    result.summary = summary->value_or("");
    return result;
  }
  if (!*summary || (*summary)->empty()) {
    return Malformed(tool_name::kFinish, "missing required string field 'summary'");
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
    std::string text = ModelMessage("finish_refused", {{"checks", last_report_->Summary(false)}});
    if (report) text += "\n" + verify_text;
    ToolResult result = Error(std::move(text));
    result.malformed = true;
    result.refused_checks = last_report_->Summary(false);
    result.report = std::move(report);
    return result;
  }
  // The tree handed back is what gets committed: the checks' outputs are not part of it.
  if (auto cleaned = RemoveBuildOutputs(); !cleaned) {
    return Error(Label(tool_name::kFinish) + cleaned.error().message);
  }
  ToolResult result = Ok("Finished.");
  result.finished = true;
  result.summary = std::move(**summary);
  result.report = std::move(report);
  return result;
}

}  // namespace drover::agent
