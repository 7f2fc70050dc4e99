#include "spec/spec.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"
#include "core/strings.h"
#include "core/yaml.h"
#include "sandbox/egress_proxy.h"

namespace drover::fleet {
namespace {

constexpr std::string_view kTopFields[] = {"id",       "title",  "verifiers", "limits",
                                           "baseline", "policy", "pr",        "author",
                                           "sandbox",  "judge",  "forge",
                                           "rollout",  "setup"};
constexpr std::string_view kVerifierFields[] = {"name", "command", "timeout",
                                                "require_test_evidence"};
constexpr std::string_view kLimitFields[] = {"max_turns",
                                             "max_tokens",
                                             "max_wall_seconds",
                                             "max_consecutive_errors",
                                             "command_timeout_seconds",
                                             "max_output_tokens",
                                             "repo_map_tokens",
                                             "context_window_tokens",
                                             "max_tool_output_tokens",
                                             "context_management",
                                             "max_attempts"};
constexpr std::string_view kBaselineFields[] = {"on_red"};
constexpr std::string_view kPolicyFields[] = {
    "max_files_changed",    "max_lines_changed",       "allowed_paths",      "forbidden_paths",
    "allow_deleted_tests",  "allow_skipped_tests",     "must_be_gone",       "must_be_gone_except",
    "must_appear",          "allow_external_symlinks", "allow_binary_files", "max_file_bytes",
    "invisible_characters", "allow_control_files",     "verification_changes",
    "allow_verification_files", "weakened_tests"};
constexpr std::string_view kPrFields[] = {"title", "branch", "labels", "draft"};
constexpr std::string_view kAuthorFields[] = {"name", "email"};
constexpr std::string_view kJudgeFields[] = {"enabled"};
constexpr std::string_view kRolloutFields[] = {"canary", "min_success"};
constexpr std::string_view kForgeFields[] = {"kind",    "base_url",  "token_env",
                                             "push_to", "fork_owner"};
constexpr std::string_view kSandboxFields[] = {"allow_hosts", "read_only_paths", "memory_mb",
                                               "max_processes", "disk_mb", "setup_hosts"};

// Reads `field` of mapping `parent` into `out` through `read` when it is present and not null.
template <typename T, typename Read>
Status Optional(const YamlNode& parent, std::string_view field, Read read, T& out) {
  auto node = parent.Get(field);
  if (!node) return {};
  auto value = read(*node);
  if (!value) return std::unexpected(value.error());
  out = static_cast<T>(*value);
  return {};
}

// A positive integer of at most `max`, as a reader for Optional.
auto Positive(int64_t max = INT_MAX) {
  return [max](const YamlNode& node) { return node.ReadInteger(1, max); };
}
Result<bool> Flag(const YamlNode& node) {
  return node.ReadBool();
}
Result<std::string> Text(const YamlNode& node) {
  return node.ReadText();
}

// `parent[field]` read as a list of texts, with the list's items for the errors found later;
// absent or null gives an empty list.
struct TextList {
  std::vector<std::string> texts;
  std::vector<YamlNode> items;
};
Result<TextList> ReadList(const YamlNode& parent, std::string_view field) {
  TextList out;
  auto node = parent.Find(field);
  if (!node) return out;
  auto texts = node->ReadTextList();
  if (!texts) return std::unexpected(texts.error());
  out.texts = std::move(*texts);
  out.items = node->Items();
  return out;
}

// A host name for the egress allow-list: letters, digits, '-', '.', optionally "*." first.
bool IsHostPattern(std::string_view host) {
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

bool IsValidId(std::string_view id) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (id.empty() || !lower_or_digit(id.front())) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return lower_or_digit(c) || c == '.' || c == '_' || c == '-'; });
}

// The subset of git's ref-name rules that a hand-written branch name can break.
bool IsValidBranch(std::string_view branch) {
  if (branch.empty() || branch.front() == '-' || branch.front() == '/' || branch.back() == '/' ||
      branch.back() == '.') {
    return false;
  }
  for (char c : branch) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
    if (std::string_view("~^:?*[\\").find(c) != std::string_view::npos) return false;
  }
  if (branch.find("..") != std::string_view::npos || branch.find("//") != std::string_view::npos ||
      branch.find("@{") != std::string_view::npos || branch == "@") {
    return false;
  }
  size_t start = 0;
  while (start <= branch.size()) {
    size_t slash = branch.find('/', start);
    std::string_view part = branch.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.front() == '.' || part.ends_with(".lock")) return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

Result<std::vector<verifiers::VerifierSpec>> ParseVerifiers(const YamlNode& node) {
  if (!node.IsList()) {
    return node.Fail("expected a list of {name, command} entries, got " + node.Describe());
  }
  auto items = node.Items();
  if (items.empty()) {
    return node.Fail("list at least one verifier, or write `auto` (detected per repository)");
  }
  std::vector<verifiers::VerifierSpec> out;
  for (const YamlNode& item : items) {
    if (!item.IsMap()) {
      return item.Fail("expected a mapping with name and command, got " + item.Describe());
    }
    if (auto ok = item.CheckFields(kVerifierFields); !ok) return std::unexpected(ok.error());
    verifiers::VerifierSpec spec;
    for (auto [field, target] :
         {std::pair{"name", &spec.name}, std::pair{"command", &spec.command}}) {
      auto value = item.Require(field);
      if (!value) return std::unexpected(value.error());
      auto text = value->ReadText();
      if (!text) return std::unexpected(text.error());
      *target = std::move(*text);
    }
    if (std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.name == spec.name; })) {
      return item.Find("name")->Fail("another verifier is already named '" + spec.name + "'");
    }
    int64_t timeout = spec.timeout.count();
    if (auto ok = Optional(item, "timeout", Positive(), timeout); !ok) {
      return std::unexpected(ok.error());
    }
    spec.timeout = std::chrono::seconds(timeout);
    if (auto flag = item.Find("require_test_evidence")) {
      auto value = flag->ReadBool();
      if (!value) return std::unexpected(value.error());
      spec.require_test_evidence = *value;
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Status ParseLimits(const YamlNode& node, MigrationSpec& spec) {
  if (auto ok = node.CheckFields(kLimitFields); !ok) return ok;
  if (node.IsNull()) return {};
  agent::AgentLimits& limits = spec.limits;
  for (auto ok :
       {Optional(node, "max_turns", Positive(), limits.max_turns),
        Optional(node, "max_tokens", Positive(INT64_MAX), limits.max_tokens),
        Optional(node, "max_wall_seconds", Positive(), limits.max_wall_seconds),
        Optional(node, "max_consecutive_errors", Positive(), limits.max_consecutive_errors),
        Optional(node, "command_timeout_seconds", Positive(), limits.command_timeout_seconds),
        Optional(node, "max_output_tokens", Positive(), limits.max_output_tokens),
        Optional(
            node, "repo_map_tokens",
            [](const YamlNode& n) -> Result<int64_t> {
              if (Trim(n.Text()) == "0") return 0;  // No repo map.
              return n.ReadInteger(1, 100000);
            },
            limits.repo_map_tokens),
        Optional(node, "context_window_tokens", Positive(INT64_MAX), limits.context_window_tokens),
        Optional(node, "max_tool_output_tokens", Positive(), limits.max_tool_output_tokens),
        Optional(node, "context_management", Flag, limits.context_management),
        Optional(node, "max_attempts", Positive(100), spec.max_attempts)}) {
    if (!ok) return ok;
  }
  if (limits.context_window_tokens <= limits.max_output_tokens) {
    auto window = node.Find("context_window_tokens");
    return (window ? *window : node)
        .Fail("must be larger than limits.max_output_tokens (" +
              std::to_string(limits.max_output_tokens) + "), got " +
              std::to_string(limits.context_window_tokens));
  }
  return {};
}

Status ParsePolicy(const YamlNode& policy, DiffPolicy& rules) {
  if (auto ok = policy.CheckFields(kPolicyFields); !ok) return ok;
  if (!policy.IsMap()) return {};
  for (auto [field, target] : {std::pair{"max_files_changed", &rules.max_files_changed},
                               std::pair{"max_lines_changed", &rules.max_lines_changed}}) {
    if (auto ok = Optional(policy, field, Positive(), *target); !ok) return ok;
  }
  for (auto [field, target] : {std::pair{"allow_deleted_tests", &rules.allow_deleted_tests},
                               std::pair{"allow_skipped_tests", &rules.allow_skipped_tests},
                               std::pair{"allow_external_symlinks", &rules.allow_external_symlinks},
                               std::pair{"allow_binary_files", &rules.allow_binary_files}}) {
    if (auto ok = Optional(policy, field, Flag, *target); !ok) return ok;
  }
  if (auto ok =
          Optional(policy, "max_file_bytes", Positive(int64_t{1} << 40), rules.max_file_bytes);
      !ok) {
    return ok;
  }
  bool flag_invisible = rules.flag_invisible_characters;
  bool flag_verification = !rules.refuse_verification_changes;
  bool flag_weakened = !rules.refuse_weakened_tests;
  constexpr std::string_view kModes[] = {"refuse", "flag"};
  for (auto [field, flag] : {std::pair{"invisible_characters", &flag_invisible},
                             std::pair{"verification_changes", &flag_verification},
                             std::pair{"weakened_tests", &flag_weakened}}) {
    auto node = policy.Get(field);
    if (!node) continue;
    auto mode = node->ReadChoice(kModes);
    if (!mode) return std::unexpected(mode.error());
    *flag = *mode == "flag";
  }
  rules.flag_invisible_characters = flag_invisible;
  rules.refuse_verification_changes = !flag_verification;
  rules.refuse_weakened_tests = !flag_weakened;
  for (auto [field, target] :
       {std::pair{"allowed_paths", &rules.allowed_paths},
        std::pair{"forbidden_paths", &rules.forbidden_paths},
        std::pair{"must_be_gone_except", &rules.must_be_gone_except},
        std::pair{"allow_control_files", &rules.allow_control_files},
        std::pair{"allow_verification_files", &rules.allow_verification_files}}) {
    auto globs = ReadList(policy, field);
    if (!globs) return std::unexpected(globs.error());
    for (size_t i = 0; i < globs->texts.size(); ++i) {
      if (auto ok = verifiers::CheckGlob(globs->texts[i]); !ok) {
        return globs->items[i].Fail(ok.error().message);
      }
    }
    *target = std::move(globs->texts);
  }
  TextList appear;
  for (auto [field, target] : {std::pair{"must_be_gone", &rules.must_be_gone},
                               std::pair{"must_appear", &rules.must_appear}}) {
    auto patterns = ReadList(policy, field);
    if (!patterns) return std::unexpected(patterns.error());
    for (size_t i = 0; i < patterns->texts.size(); ++i) {
      // Patterns are matched line by line.
      if (patterns->texts[i].find('\n') != std::string::npos) {
        return patterns->items[i].Fail("must be a single line");
      }
    }
    *target = patterns->texts;
    if (std::string_view(field) == "must_appear") appear = std::move(*patterns);
  }
  for (size_t i = 0; i < appear.texts.size(); ++i) {
    for (const std::string& pattern : rules.must_be_gone) {
      if (appear.texts[i].find(pattern) == std::string::npos) continue;
      return appear.items[i].Fail("\"" + appear.texts[i] +
                                  "\" contains the must_be_gone pattern \"" + pattern +
                                  "\": no added line could satisfy both");
    }
  }
  return {};
}

Status ParseForge(const YamlNode& forge, ForgeSettings& out) {
  if (auto ok = forge.CheckFields(kForgeFields); !ok) return ok;
  std::string kind = "local";
  if (auto ok = Optional(forge, "kind", Text, kind); !ok) return ok;
  auto parsed = ParseForgeKind(kind);
  if (!parsed) return forge.Find("kind")->Fail(parsed.error().message);
  out.kind = *parsed;
  if (auto ok = Optional(forge, "base_url", Text, out.base_url); !ok) return ok;
  const auto& url = out.base_url;
  if (!url.empty() && !url.starts_with("https://") && !url.starts_with("http://")) {
    return forge.Find("base_url")->Fail("\"" + url + "\" is not an http(s) URL");
  }
  if (auto ok = Optional(forge, "token_env", Text, out.token_env); !ok) return ok;
  const auto& name = out.token_env;
  bool valid_name = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!name.empty() && !valid_name) {
    return forge.Find("token_env")->Fail("\"" + name + "\" is not an environment variable name");
  }
  std::string push_to = "upstream";
  if (auto ok = Optional(forge, "push_to", Text, push_to); !ok) return ok;
  if (push_to != "upstream" && push_to != "fork") {
    return forge.Find("push_to")->Fail("\"" + push_to + "\" is neither upstream nor fork");
  }
  out.push_to_fork = push_to == "fork";
  if (auto ok = Optional(forge, "fork_owner", Text, out.fork_owner); !ok) return ok;
  const auto& owner = out.fork_owner;
  if (!owner.empty() && !out.push_to_fork) {
    return forge.Find("fork_owner")->Fail("needs forge.push_to: fork");
  }
  bool valid_owner = !owner.starts_with('/') && !owner.ends_with('/');
  for (char c : owner) {
    valid_owner = valid_owner && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                  c == '_' || c == '.' || c == '/');
  }
  if (!valid_owner) {
    return forge.Find("fork_owner")
        ->Fail("\"" + owner + "\" is not a user, organisation or namespace name");
  }
  return {};
}

Status ParseSandbox(const YamlNode& sandbox, SandboxSettings& out) {
  if (auto ok = sandbox.CheckFields(kSandboxFields); !ok) return ok;
  if (!sandbox.IsMap()) return {};
  for (auto [field, target] :
       {std::pair{"allow_hosts", &out.allow_hosts}, std::pair{"setup_hosts", &out.setup_hosts}}) {
    auto hosts = ReadList(sandbox, field);
    if (!hosts) return std::unexpected(hosts.error());
    for (size_t i = 0; i < hosts->texts.size(); ++i) {
      const std::string& host = hosts->texts[i];
      if (sandbox::IsIpLiteral(host)) {
        return hosts->items[i].Fail("\"" + host +
                                    "\" is an IP address; only host names can be allowed");
      }
      if (!IsHostPattern(host)) {
        return hosts->items[i].Fail(
            "\"" + host + "\" is not a host name (no scheme, port or path; \"*.\" may start it)");
      }
    }
    *target = std::move(hosts->texts);
  }
  auto paths = ReadList(sandbox, "read_only_paths");
  if (!paths) return std::unexpected(paths.error());
  for (size_t i = 0; i < paths->texts.size(); ++i) {
    std::filesystem::path path(paths->texts[i]);
    if (!path.is_absolute()) return paths->items[i].Fail("must be an absolute path");
    out.read_only_paths.push_back(path.lexically_normal());
  }
  for (auto [field, target] :
       {std::pair{"memory_mb", &out.memory_mb}, std::pair{"max_processes", &out.max_processes},
        std::pair{"disk_mb", &out.disk_mb}}) {
    if (auto ok = Optional(sandbox, field, Positive(), *target); !ok) return ok;
  }
  return {};
}

Status ParseSections(const YamlNode& root, MigrationSpec& spec) {
  if (auto baseline = root.Find("baseline")) {
    if (auto ok = baseline->CheckFields(kBaselineFields); !ok) return ok;
    if (auto on_red = baseline->Get("on_red")) {
      constexpr std::string_view kOnRed[] = {"skip", "no_new_failures"};
      auto mode = on_red->ReadChoice(kOnRed);
      if (!mode) return std::unexpected(mode.error());
      spec.on_red_baseline = *mode == "skip" ? OnRedBaseline::kSkip : OnRedBaseline::kNoNewFailures;
    }
  }

  if (auto policy = root.Find("policy")) {
    if (auto ok = ParsePolicy(*policy, spec.policy); !ok) return ok;
  }

  if (auto pr = root.Find("pr")) {
    if (auto ok = pr->CheckFields(kPrFields); !ok) return ok;
    if (auto ok = Optional(*pr, "title", Text, spec.pr.title); !ok) return ok;
    if (auto ok = Optional(*pr, "branch", Text, spec.pr.branch); !ok) return ok;
    if (auto branch = pr->Get("branch"); branch && !IsValidBranch(spec.pr.branch)) {
      return branch->Fail("\"" + spec.pr.branch + "\" is not a valid git branch name");
    }
    if (auto ok = Optional(*pr, "draft", Flag, spec.pr.draft); !ok) return ok;
    if (auto labels = pr->Get("labels")) {
      if (!labels->IsList()) {
        return labels->Fail("expected a list of labels, got " + labels->Describe());
      }
      auto texts = labels->ReadTextList();
      if (!texts) return std::unexpected(texts.error());
      spec.pr.labels = std::move(*texts);
    }
  }

  if (auto judge = root.Get("judge")) {
    if (judge->IsText()) {
      auto enabled = judge->ReadBool();
      if (!enabled) return std::unexpected(enabled.error());
      spec.judge.enabled = *enabled;
    } else {
      if (auto ok = judge->CheckFields(kJudgeFields); !ok) return ok;
      if (auto ok = Optional(*judge, "enabled", Flag, spec.judge.enabled); !ok) return ok;
    }
  }

  if (auto rollout = root.Find("rollout")) {
    if (auto ok = rollout->CheckFields(kRolloutFields); !ok) return ok;
    if (auto ok = Optional(*rollout, "canary", Positive(), spec.rollout.canary); !ok) return ok;
    auto fraction = [](const YamlNode& n) { return n.ReadNumber(0, 1); };
    if (auto ok = Optional(*rollout, "min_success", fraction, spec.rollout.min_success); !ok) {
      return ok;
    }
    if (auto rate = rollout->Find("min_success"); rate && !rollout->Find("canary")) {
      return rate->Fail("needs rollout.canary (how many targets go first)");
    }
  }

  if (auto forge = root.Get("forge")) {
    if (auto ok = ParseForge(*forge, spec.forge); !ok) return ok;
  }

  if (auto sandbox = root.Find("sandbox")) {
    if (auto ok = ParseSandbox(*sandbox, spec.sandbox); !ok) return ok;
  }

  if (auto author = root.Find("author")) {
    if (auto ok = author->CheckFields(kAuthorFields); !ok) return ok;
    if (auto ok = Optional(*author, "name", Text, spec.author.name); !ok) return ok;
    if (auto ok = Optional(*author, "email", Text, spec.author.email); !ok) return ok;
  }
  return {};
}

Result<MigrationSpec> ParseFrontMatter(const YamlNode& root) {
  if (root.IsNull()) return root.Fail("the front matter is empty (required: id, title)");
  if (!root.IsMap()) {
    return root.Fail("the front matter must be a mapping of fields, got " + root.Describe());
  }
  if (auto ok = root.CheckFields(kTopFields); !ok) return std::unexpected(ok.error());
  auto id_node = root.Require("id");
  if (!id_node) return std::unexpected(id_node.error());
  auto title_node = root.Require("title");
  if (!title_node) return std::unexpected(title_node.error());
  MigrationSpec spec;
  auto id = id_node->ReadText();
  if (!id) return std::unexpected(id.error());
  if (!IsValidId(*id)) {
    return id_node->Fail("\"" + *id +
                         "\" is not a valid id (lower-case letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit)");
  }
  spec.id = std::move(*id);
  auto title = title_node->ReadText();
  if (!title) return std::unexpected(title.error());
  spec.title = std::move(*title);
  // Absent or `auto`: each repository's checks are detected from its files (verifiers/detect.h).
  if (auto node = root.Find("verifiers");
      node && !(node->IsText() && Trim(node->Text()) == "auto")) {
    auto verifier_specs = ParseVerifiers(*node);
    if (!verifier_specs) return std::unexpected(verifier_specs.error());
    spec.verifiers = std::move(*verifier_specs);
  }
  // Absent or `auto`: the dependency set-up is detected per repository; `[]`: none.
  if (auto setup = root.Find("setup");
      setup && !(setup->IsText() && Trim(setup->Text()) == "auto")) {
    auto commands = setup->ReadTextList();
    if (!commands) return std::unexpected(commands.error());
    spec.setup = std::move(*commands);
  }
  if (auto limits = root.Find("limits")) {
    if (auto ok = ParseLimits(*limits, spec); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = ParseSections(root, spec); !ok) return std::unexpected(ok.error());
  if (spec.pr.title.empty()) spec.pr.title = spec.title;
  if (spec.pr.branch.empty()) spec.pr.branch = "drover/" + spec.id;
  return spec;
}

}  // namespace

std::string_view ForgeKindName(ForgeKind kind) {
  switch (kind) {
    case ForgeKind::kLocal: return "local";
    case ForgeKind::kGitHub: return "github";
    case ForgeKind::kGitLab: return "gitlab";
  }
  return "local";
}

Result<ForgeKind> ParseForgeKind(std::string_view name) {
  for (ForgeKind kind : {ForgeKind::kLocal, ForgeKind::kGitHub, ForgeKind::kGitLab}) {
    if (ForgeKindName(kind) == name) return kind;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown forge \"" + std::string(name) + "\" (local, github or gitlab)");
}

Result<MigrationSpec> ParseMigrationSpec(std::string_view text, std::string_view file_name) {
  auto front = SplitFrontMatter(text, file_name);
  if (!front) return std::unexpected(front.error());
  auto doc = ParseYaml(front->yaml, file_name, front->yaml_line);
  if (!doc) {
    // Malformed YAML is the spec's bad input like any other field error.
    return Fail(ErrorCode::kInvalidArgument, doc.error().message);
  }
  auto spec = ParseFrontMatter(doc->Root());
  if (!spec) return spec;

  std::string_view body = front->body;
  size_t content = body.find_first_not_of(" \t\r\n");
  if (content == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(file_name) + ":" + std::to_string(front->body_line) +
                    ": the instructions are empty: write them below the front matter");
  }
  // Keeps the first line's indentation (it may be Markdown code) but drops blank lines.
  size_t start = body.rfind('\n', content);
  body.remove_prefix(start == std::string_view::npos ? 0 : start + 1);
  body = body.substr(0, body.find_last_not_of(" \t\r\n") + 1);
  spec->instructions = std::string(body) + "\n";
  return spec;
}

Result<MigrationSpec> LoadMigrationSpec(const std::filesystem::path& file) {
  auto text = ReadFile(file);
  if (!text) return std::unexpected(text.error());
  auto spec = ParseMigrationSpec(*text, file.string());
  if (spec) spec->file = file;
  return spec;
}

}  // namespace drover::fleet
