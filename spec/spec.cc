#include "spec/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/fs.h"
#include "core/strings.h"
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

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Where in the file the front matter sits, for error messages.
struct Source {
  std::string_view file_name;
  int first_line;  // File line (1-based) of the YAML text's first line.
};

class FieldReader {
 public:
  explicit FieldReader(Source source) : source_(source) {}

  std::unexpected<Error> FailAtLine(int line, std::string_view path,
                                    std::string_view message) const {
    std::string text = std::string(source_.file_name) + ":" + std::to_string(line) + ": ";
    if (!path.empty()) text += std::string(path) + ": ";
    text += message;
    return Fail(ErrorCode::kInvalidArgument, std::move(text));
  }

  std::unexpected<Error> FailAt(const YAML::Node& node, std::string_view path,
                                std::string_view message) const {
    return FailAtLine(LineOf(node), path, message);
  }

  int LineOf(const YAML::Node& node) const {
    // yaml-cpp marks an empty value where the next token starts; its key's line is the
    // one a reader looks at.
    if (node.IsNull()) {
      for (const auto& [value, line] : empty_value_lines_) {
        if (value.is(node)) return line;
      }
    }
    YAML::Mark mark = node.Mark();
    return mark.is_null() ? source_.first_line : source_.first_line + mark.line;
  }

  // A mapping (or nothing) whose keys are all known and appear once.
  Status CheckMapping(const YAML::Node& node, std::string_view path,
                      std::span<const std::string_view> known) const {
    if (node.IsNull()) return {};
    if (!node.IsMap()) return FailAt(node, path, "expected a mapping, got " + Describe(node));
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return FailAt(key, path, "field names must be plain words");
      const std::string& name = key.Scalar();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        std::string message = "unknown field '" + name + "'";
        std::string_view best;
        size_t best_distance = SIZE_MAX;
        for (std::string_view candidate : known) {
          size_t distance = EditDistance(name, candidate);
          if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
          }
        }
        if (best_distance <= 2 && best_distance < name.size()) {
          message += " (did you mean '" + std::string(best) + "'?)";
        }
        return FailAt(key, path, message);
      }
      if (!seen.insert(name).second) {
        return FailAt(key, path, "field '" + name + "' appears twice");
      }
      if (entry.second.IsNull()) empty_value_lines_.emplace_back(entry.second, LineOf(key));
    }
    return {};
  }

  Result<std::string> String(const YAML::Node& node, std::string_view path) const {
    if (!node.IsScalar()) return FailAt(node, path, "expected text, got " + Describe(node));
    std::string value(Trim(node.Scalar()));
    if (value.empty()) return FailAt(node, path, "must not be empty");
    return value;
  }

  Result<int64_t> PositiveInteger(const YAML::Node& node, std::string_view path,
                                  int64_t max = INT_MAX) const {
    std::string_view text = node.IsScalar() ? Trim(node.Scalar()) : std::string_view();
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!node.IsScalar() || text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        value <= 0) {
      return FailAt(node, path, "expected a positive integer, got " + Describe(node));
    }
    if (value > max) {
      return FailAt(node, path,
                    "must be at most " + std::to_string(max) + ", got " + std::string(text));
    }
    return value;
  }

  // A number in [0, 1] ("0.7").
  Result<double> Fraction(const YAML::Node& node, std::string_view path) const {
    std::string_view text = node.IsScalar() ? Trim(node.Scalar()) : std::string_view();
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!node.IsScalar() || text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        value < 0 || value > 1) {
      return FailAt(node, path, "expected a number from 0 to 1, got " + Describe(node));
    }
    return value;
  }

  Result<bool> Bool(const YAML::Node& node, std::string_view path) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      return FailAt(node, path, "expected true or false, got " + Describe(node));
    }
    return value;
  }

  static std::string Describe(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Null: return "nothing";
      case YAML::NodeType::Scalar: return "\"" + node.Scalar() + "\"";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Undefined: return "nothing";
    }
    return "nothing";
  }

 private:
  Source source_;
  // Empty values seen by CheckMapping, with their keys' lines.
  mutable std::vector<std::pair<YAML::Node, int>> empty_value_lines_;
};

// Reads `field` of mapping `parent` into `out` through `read` when it is present and not null.
template <typename T, typename Read>
Status Optional(const YAML::Node& parent, const char* field, Read read, T& out) {
  const YAML::Node node = parent[field];
  if (!node.IsDefined() || node.IsNull()) return {};
  auto value = read(node);
  if (!value) return std::unexpected(value.error());
  out = static_cast<T>(*value);
  return {};
}

// A YAML list of non-empty texts at `path`; null or absent gives an empty list.
Result<std::vector<std::string>> StringList(const FieldReader& reader, const YAML::Node& node,
                                            const std::string& path) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) {
    return reader.FailAt(node, path, "expected a list, got " + FieldReader::Describe(node));
  }
  for (size_t i = 0; i < node.size(); ++i) {
    auto text = reader.String(node[i], path + "[" + std::to_string(i) + "]");
    if (!text) return std::unexpected(text.error());
    out.push_back(*text);
  }
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

Result<std::vector<verifiers::VerifierSpec>> ParseVerifiers(const FieldReader& reader,
                                                            const YAML::Node& node) {
  if (!node.IsSequence()) {
    return reader.FailAt(
        node, "verifiers",
        "expected a list of {name, command} entries, got " + FieldReader::Describe(node));
  }
  if (node.size() == 0)
    return reader.FailAt(node, "verifiers",
                         "list at least one verifier, or write `auto` (detected per repository)");
  std::vector<verifiers::VerifierSpec> out;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    std::string path = "verifiers[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      return reader.FailAt(
          item, path,
          "expected a mapping with name and command, got " + FieldReader::Describe(item));
    }
    if (auto ok = reader.CheckMapping(item, path, kVerifierFields); !ok) {
      return std::unexpected(ok.error());
    }
    verifiers::VerifierSpec spec;
    for (const char* required : {"name", "command"}) {
      const YAML::Node field = item[required];
      std::string field_path = path + "." + required;
      if (!field.IsDefined())
        return reader.FailAt(item, path, "missing field '" + std::string(required) + "'");
      auto text = reader.String(field, field_path);
      if (!text) return std::unexpected(text.error());
      (std::string_view(required) == "name" ? spec.name : spec.command) = *text;
    }
    if (std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.name == spec.name; })) {
      return reader.FailAt(item["name"], path + ".name",
                           "another verifier is already named '" + spec.name + "'");
    }
    int64_t timeout = spec.timeout.count();
    if (auto ok = Optional(
            item, "timeout",
            [&](const YAML::Node& n) { return reader.PositiveInteger(n, path + ".timeout"); },
            timeout);
        !ok) {
      return std::unexpected(ok.error());
    }
    spec.timeout = std::chrono::seconds(timeout);
    if (const YAML::Node flag = item["require_test_evidence"]; flag.IsDefined()) {
      auto value = reader.Bool(flag, path + ".require_test_evidence");
      if (!value) return std::unexpected(value.error());
      spec.require_test_evidence = *value;
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Status ParseLimits(const FieldReader& reader, const YAML::Node& node, MigrationSpec& spec) {
  if (auto ok = reader.CheckMapping(node, "limits", kLimitFields); !ok) return ok;
  if (node.IsNull()) return {};
  auto integer = [&](const char* field, int64_t max) {
    return [&reader, field, max](const YAML::Node& n) {
      return reader.PositiveInteger(n, std::string("limits.") + field, max);
    };
  };
  agent::AgentLimits& limits = spec.limits;
  for (auto ok :
       {Optional(node, "max_turns", integer("max_turns", INT_MAX), limits.max_turns),
        Optional(node, "max_tokens", integer("max_tokens", INT64_MAX), limits.max_tokens),
        Optional(node, "max_wall_seconds", integer("max_wall_seconds", INT_MAX),
                 limits.max_wall_seconds),
        Optional(node, "max_consecutive_errors", integer("max_consecutive_errors", INT_MAX),
                 limits.max_consecutive_errors),
        Optional(node, "command_timeout_seconds", integer("command_timeout_seconds", INT_MAX),
                 limits.command_timeout_seconds),
        Optional(node, "max_output_tokens", integer("max_output_tokens", INT_MAX),
                 limits.max_output_tokens),
        Optional(
            node, "repo_map_tokens",
            [&reader](const YAML::Node& n) -> Result<int64_t> {
              if (n.IsScalar() && Trim(n.Scalar()) == "0") return 0;  // No repo map.
              return reader.PositiveInteger(n, "limits.repo_map_tokens", 100000);
            },
            limits.repo_map_tokens),
        Optional(node, "context_window_tokens", integer("context_window_tokens", INT64_MAX),
                 limits.context_window_tokens),
        Optional(node, "max_tool_output_tokens", integer("max_tool_output_tokens", INT_MAX),
                 limits.max_tool_output_tokens),
        Optional(
            node, "context_management",
            [&reader](const YAML::Node& n) { return reader.Bool(n, "limits.context_management"); },
            limits.context_management),
        Optional(node, "max_attempts", integer("max_attempts", 100), spec.max_attempts)}) {
    if (!ok) return ok;
  }
  if (limits.context_window_tokens <= limits.max_output_tokens) {
    const YAML::Node window = node["context_window_tokens"];
    return reader.FailAt(window.IsDefined() ? window : node, "limits.context_window_tokens",
                         "must be larger than limits.max_output_tokens (" +
                             std::to_string(limits.max_output_tokens) + "), got " +
                             std::to_string(limits.context_window_tokens));
  }
  return {};
}

Status ParseSections(const FieldReader& reader, const YAML::Node& root, MigrationSpec& spec) {
  const YAML::Node baseline = root["baseline"];
  if (baseline.IsDefined()) {
    if (auto ok = reader.CheckMapping(baseline, "baseline", kBaselineFields); !ok) return ok;
    const YAML::Node on_red = baseline.IsMap() ? baseline["on_red"] : YAML::Node();
    if (on_red.IsDefined() && !on_red.IsNull()) {
      auto text = reader.String(on_red, "baseline.on_red");
      if (!text) return std::unexpected(text.error());
      if (*text == "skip") {
        spec.on_red_baseline = OnRedBaseline::kSkip;
      } else if (*text == "no_new_failures") {
        spec.on_red_baseline = OnRedBaseline::kNoNewFailures;
      } else {
        return reader.FailAt(on_red, "baseline.on_red",
                             "expected skip or no_new_failures, got \"" + *text + "\"");
      }
    }
  }

  const YAML::Node policy = root["policy"];
  if (policy.IsDefined()) {
    if (auto ok = reader.CheckMapping(policy, "policy", kPolicyFields); !ok) return ok;
    if (policy.IsMap()) {
      for (auto [field, target] :
           {std::pair{"max_files_changed", &spec.policy.max_files_changed},
            std::pair{"max_lines_changed", &spec.policy.max_lines_changed}}) {
        std::string path = std::string("policy.") + field;
        auto ok = Optional(
            policy, field, [&](const YAML::Node& n) { return reader.PositiveInteger(n, path); },
            *target);
        if (!ok) return ok;
      }
      for (auto [field, target] :
           {std::pair{"allow_deleted_tests", &spec.policy.allow_deleted_tests},
            std::pair{"allow_skipped_tests", &spec.policy.allow_skipped_tests},
            std::pair{"allow_external_symlinks", &spec.policy.allow_external_symlinks},
            std::pair{"allow_binary_files", &spec.policy.allow_binary_files}}) {
        std::string path = std::string("policy.") + field;
        auto flag = [&](const YAML::Node& n) { return reader.Bool(n, path); };
        if (auto ok = Optional(policy, field, flag, *target); !ok) return ok;
      }
      if (auto ok = Optional(
              policy, "max_file_bytes",
              [&](const YAML::Node& n) {
                return reader.PositiveInteger(n, "policy.max_file_bytes", int64_t{1} << 40);
              },
              spec.policy.max_file_bytes);
          !ok) {
        return ok;
      }
      bool flag_invisible = spec.policy.flag_invisible_characters;
      bool flag_verification = !spec.policy.refuse_verification_changes;
      bool flag_weakened = !spec.policy.refuse_weakened_tests;
      for (auto [field, flag] : {std::pair{"invisible_characters", &flag_invisible},
                                 std::pair{"verification_changes", &flag_verification},
                                 std::pair{"weakened_tests", &flag_weakened}}) {
        const YAML::Node node = policy[field];
        if (!node.IsDefined() || node.IsNull()) continue;
        std::string path = std::string("policy.") + field;
        auto text = reader.String(node, path);
        if (!text) return std::unexpected(text.error());
        if (*text != "refuse" && *text != "flag") {
          return reader.FailAt(node, path, "expected refuse or flag, got \"" + *text + "\"");
        }
        *flag = *text == "flag";
      }
      spec.policy.flag_invisible_characters = flag_invisible;
      spec.policy.refuse_verification_changes = !flag_verification;
      spec.policy.refuse_weakened_tests = !flag_weakened;
      for (auto [field, target] :
           {std::pair{"allowed_paths", &spec.policy.allowed_paths},
            std::pair{"forbidden_paths", &spec.policy.forbidden_paths},
            std::pair{"must_be_gone_except", &spec.policy.must_be_gone_except},
            std::pair{"allow_control_files", &spec.policy.allow_control_files},
            std::pair{"allow_verification_files", &spec.policy.allow_verification_files}}) {
        std::string path = std::string("policy.") + field;
        auto globs = StringList(reader, policy[field], path);
        if (!globs) return std::unexpected(globs.error());
        for (size_t i = 0; i < globs->size(); ++i) {
          if (auto ok = verifiers::CheckGlob((*globs)[i]); !ok) {
            return reader.FailAt(policy[field][i], path + "[" + std::to_string(i) + "]",
                                 ok.error().message);
          }
        }
        *target = std::move(*globs);
      }
      for (auto [field, target] : {std::pair{"must_be_gone", &spec.policy.must_be_gone},
                                   std::pair{"must_appear", &spec.policy.must_appear}}) {
        std::string path = std::string("policy.") + field;
        auto patterns = StringList(reader, policy[field], path);
        if (!patterns) return std::unexpected(patterns.error());
        for (size_t i = 0; i < patterns->size(); ++i) {
          // Patterns are matched line by line.
          if ((*patterns)[i].find('\n') != std::string::npos) {
            return reader.FailAt(policy[field][i], path + "[" + std::to_string(i) + "]",
                                 "must be a single line");
          }
        }
        *target = std::move(*patterns);
      }
      const auto& gone = spec.policy.must_be_gone;
      const auto& appear = spec.policy.must_appear;
      for (size_t i = 0; i < appear.size(); ++i) {
        for (const std::string& pattern : gone) {
          if (appear[i].find(pattern) == std::string::npos) continue;
          return reader.FailAt(policy["must_appear"][i],
                               "policy.must_appear[" + std::to_string(i) + "]",
                               "\"" + appear[i] + "\" contains the must_be_gone pattern \"" +
                                   pattern + "\": no added line could satisfy both");
        }
      }
    }
  }

  const YAML::Node pr = root["pr"];
  if (pr.IsDefined()) {
    if (auto ok = reader.CheckMapping(pr, "pr", kPrFields); !ok) return ok;
    if (pr.IsMap()) {
      auto text = [&](const char* field) {
        return [&reader, field](const YAML::Node& n) {
          return reader.String(n, std::string("pr.") + field);
        };
      };
      if (auto ok = Optional(pr, "title", text("title"), spec.pr.title); !ok) return ok;
      if (auto ok = Optional(pr, "branch", text("branch"), spec.pr.branch); !ok) return ok;
      if (pr["branch"].IsDefined() && !pr["branch"].IsNull() && !IsValidBranch(spec.pr.branch)) {
        return reader.FailAt(pr["branch"], "pr.branch",
                             "\"" + spec.pr.branch + "\" is not a valid git branch name");
      }
      auto flag = [&](const YAML::Node& n) { return reader.Bool(n, "pr.draft"); };
      if (auto ok = Optional(pr, "draft", flag, spec.pr.draft); !ok) return ok;
      const YAML::Node labels = pr["labels"];
      if (labels.IsDefined() && !labels.IsNull()) {
        if (!labels.IsSequence()) {
          return reader.FailAt(labels, "pr.labels",
                               "expected a list of labels, got " + FieldReader::Describe(labels));
        }
        for (size_t i = 0; i < labels.size(); ++i) {
          auto label = reader.String(labels[i], "pr.labels[" + std::to_string(i) + "]");
          if (!label) return std::unexpected(label.error());
          spec.pr.labels.push_back(*label);
        }
      }
    }
  }

  const YAML::Node judge = root["judge"];
  if (judge.IsDefined() && !judge.IsNull()) {
    if (judge.IsScalar()) {
      auto enabled = reader.Bool(judge, "judge");
      if (!enabled) return std::unexpected(enabled.error());
      spec.judge.enabled = *enabled;
    } else {
      if (auto ok = reader.CheckMapping(judge, "judge", kJudgeFields); !ok) return ok;
      auto flag = [&](const YAML::Node& n) { return reader.Bool(n, "judge.enabled"); };
      if (auto ok = Optional(judge, "enabled", flag, spec.judge.enabled); !ok) return ok;
    }
  }

  const YAML::Node rollout = root["rollout"];
  if (rollout.IsDefined()) {
    if (auto ok = reader.CheckMapping(rollout, "rollout", kRolloutFields); !ok) return ok;
    if (rollout.IsMap()) {
      auto count = [&](const YAML::Node& n) { return reader.PositiveInteger(n, "rollout.canary"); };
      if (auto ok = Optional(rollout, "canary", count, spec.rollout.canary); !ok) return ok;
      auto rate = [&](const YAML::Node& n) { return reader.Fraction(n, "rollout.min_success"); };
      if (auto ok = Optional(rollout, "min_success", rate, spec.rollout.min_success); !ok) {
        return ok;
      }
      if (rollout["min_success"].IsDefined() && !rollout["canary"].IsDefined()) {
        return reader.FailAt(rollout["min_success"], "rollout.min_success",
                             "needs rollout.canary (how many targets go first)");
      }
    }
  }

  const YAML::Node forge = root["forge"];
  if (forge.IsDefined() && !forge.IsNull()) {
    if (auto ok = reader.CheckMapping(forge, "forge", kForgeFields); !ok) return ok;
    auto text = [&](const char* field) {
      return [&reader, field](const YAML::Node& n) {
        return reader.String(n, std::string("forge.") + field);
      };
    };
    std::string kind = "local";
    if (auto ok = Optional(forge, "kind", text("kind"), kind); !ok) return ok;
    auto parsed = ParseForgeKind(kind);
    if (!parsed) return reader.FailAt(forge["kind"], "forge.kind", parsed.error().message);
    spec.forge.kind = *parsed;
    if (auto ok = Optional(forge, "base_url", text("base_url"), spec.forge.base_url); !ok) {
      return ok;
    }
    const auto& url = spec.forge.base_url;
    if (!url.empty() && !url.starts_with("https://") && !url.starts_with("http://")) {
      return reader.FailAt(forge["base_url"], "forge.base_url",
                           "\"" + url + "\" is not an http(s) URL");
    }
    if (auto ok = Optional(forge, "token_env", text("token_env"), spec.forge.token_env); !ok) {
      return ok;
    }
    const auto& name = spec.forge.token_env;
    bool valid_name = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name)
      valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!name.empty() && !valid_name) {
      return reader.FailAt(forge["token_env"], "forge.token_env",
                           "\"" + name + "\" is not an environment variable name");
    }
    std::string push_to = "upstream";
    if (auto ok = Optional(forge, "push_to", text("push_to"), push_to); !ok) return ok;
    if (push_to != "upstream" && push_to != "fork") {
      return reader.FailAt(forge["push_to"], "forge.push_to",
                           "\"" + push_to + "\" is neither upstream nor fork");
    }
    spec.forge.push_to_fork = push_to == "fork";
    if (auto ok = Optional(forge, "fork_owner", text("fork_owner"), spec.forge.fork_owner); !ok) {
      return ok;
    }
    const auto& owner = spec.forge.fork_owner;
    if (!owner.empty() && !spec.forge.push_to_fork) {
      return reader.FailAt(forge["fork_owner"], "forge.fork_owner", "needs forge.push_to: fork");
    }
    bool valid_owner = !owner.starts_with('/') && !owner.ends_with('/');
    for (char c : owner) {
      valid_owner = valid_owner && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                    c == '_' || c == '.' || c == '/');
    }
    if (!valid_owner) {
      return reader.FailAt(forge["fork_owner"], "forge.fork_owner",
                           "\"" + owner + "\" is not a user, organisation or namespace name");
    }
  }

  const YAML::Node sandbox = root["sandbox"];
  if (sandbox.IsDefined()) {
    if (auto ok = reader.CheckMapping(sandbox, "sandbox", kSandboxFields); !ok) return ok;
    if (sandbox.IsMap()) {
      for (auto [field, out] : {std::pair{"allow_hosts", &spec.sandbox.allow_hosts},
                                std::pair{"setup_hosts", &spec.sandbox.setup_hosts}}) {
        std::string list_path = std::string("sandbox.") + field;
        auto hosts = StringList(reader, sandbox[field], list_path);
        if (!hosts) return std::unexpected(hosts.error());
        for (size_t i = 0; i < hosts->size(); ++i) {
          const std::string& host = (*hosts)[i];
          std::string path = list_path + "[" + std::to_string(i) + "]";
          if (sandbox::IsIpLiteral(host)) {
            return reader.FailAt(
                sandbox[field][i], path,
                "\"" + host + "\" is an IP address; only host names can be allowed");
          }
          if (!IsHostPattern(host)) {
            return reader.FailAt(sandbox[field][i], path,
                                 "\"" + host +
                                     "\" is not a host name (no scheme, port or path; \"*.\" may "
                                     "start it)");
          }
        }
        *out = *hosts;
      }
      auto paths = StringList(reader, sandbox["read_only_paths"], "sandbox.read_only_paths");
      if (!paths) return std::unexpected(paths.error());
      for (size_t i = 0; i < paths->size(); ++i) {
        std::filesystem::path path((*paths)[i]);
        if (!path.is_absolute()) {
          return reader.FailAt(sandbox["read_only_paths"][i],
                               "sandbox.read_only_paths[" + std::to_string(i) + "]",
                               "must be an absolute path");
        }
        spec.sandbox.read_only_paths.push_back(path.lexically_normal());
      }
      for (auto [field, target] : {std::pair{"memory_mb", &spec.sandbox.memory_mb},
                                   std::pair{"max_processes", &spec.sandbox.max_processes},
                                   std::pair{"disk_mb", &spec.sandbox.disk_mb}}) {
        std::string path = std::string("sandbox.") + field;
        auto ok = Optional(
            sandbox, field, [&](const YAML::Node& n) { return reader.PositiveInteger(n, path); },
            *target);
        if (!ok) return ok;
      }
    }
  }

  const YAML::Node author = root["author"];
  if (author.IsDefined()) {
    if (auto ok = reader.CheckMapping(author, "author", kAuthorFields); !ok) return ok;
    if (author.IsMap()) {
      auto text = [&](const char* field) {
        return [&reader, field](const YAML::Node& n) {
          return reader.String(n, std::string("author.") + field);
        };
      };
      if (auto ok = Optional(author, "name", text("name"), spec.author.name); !ok) return ok;
      if (auto ok = Optional(author, "email", text("email"), spec.author.email); !ok) return ok;
    }
  }
  return {};
}

Result<MigrationSpec> ParseFrontMatter(const FieldReader& reader, const YAML::Node& root) {
  if (root.IsNull()) {
    return reader.FailAtLine(2, "", "the front matter is empty (required: id, title)");
  }
  if (!root.IsMap()) {
    return reader.FailAt(
        root, "",
        "the front matter must be a mapping of fields, got " + FieldReader::Describe(root));
  }
  if (auto ok = reader.CheckMapping(root, "", kTopFields); !ok) return std::unexpected(ok.error());
  for (const char* required : {"id", "title"}) {
    if (!root[required].IsDefined()) {
      return reader.FailAt(root, "", "missing required field '" + std::string(required) + "'");
    }
  }

  MigrationSpec spec;
  auto id = reader.String(root["id"], "id");
  if (!id) return std::unexpected(id.error());
  if (!IsValidId(*id)) {
    return reader.FailAt(root["id"], "id",
                         "\"" + *id +
                             "\" is not a valid id (lower-case letters, digits, '.', '_' and "
                             "'-', starting with a letter or digit)");
  }
  spec.id = *id;
  auto title = reader.String(root["title"], "title");
  if (!title) return std::unexpected(title.error());
  spec.title = *title;
  // Absent or `auto`: each repository's checks are detected from its files (verifiers/detect.h).
  const YAML::Node verifier_node = root["verifiers"];
  bool detect = !verifier_node.IsDefined() ||
                (verifier_node.IsScalar() && Trim(verifier_node.Scalar()) == "auto");
  if (!detect) {
    auto verifier_specs = ParseVerifiers(reader, verifier_node);
    if (!verifier_specs) return std::unexpected(verifier_specs.error());
    spec.verifiers = std::move(*verifier_specs);
  }
  // Absent or `auto`: the dependency set-up is detected per repository; `[]`: none.
  if (const YAML::Node setup = root["setup"];
      setup.IsDefined() && !(setup.IsScalar() && Trim(setup.Scalar()) == "auto")) {
    auto commands = StringList(reader, setup, "setup");
    if (!commands) return std::unexpected(commands.error());
    for (size_t i = 0; i < commands->size(); ++i) {
      if (Trim((*commands)[i]).empty()) {
        return reader.FailAt(setup[i], "setup[" + std::to_string(i) + "]", "must not be empty");
      }
    }
    spec.setup = std::move(*commands);
  }
  const YAML::Node limits = root["limits"];
  if (limits.IsDefined()) {
    if (auto ok = ParseLimits(reader, limits, spec); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = ParseSections(reader, root, spec); !ok) return std::unexpected(ok.error());
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
  auto fail = [&](int line, std::string_view message) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(file_name) + ":" + std::to_string(line) + ": " + std::string(message));
  };
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  // Splits off the front matter: the first line is "---", and the next "---" (or "...")
  // line closes it.
  auto line_end = [&](size_t from) {
    size_t nl = text.find('\n', from);
    return nl == std::string_view::npos ? text.size() : nl;
  };
  auto line_at = [&](size_t from) {
    std::string_view line = text.substr(from, line_end(from) - from);
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
  };
  std::string_view first = line_at(0);
  while (!first.empty() && (first.back() == ' ' || first.back() == '\t')) first.remove_suffix(1);
  if (first != "---") {
    return fail(1,
                "expected YAML front matter: the file must start with a line \"---\", then "
                "the fields, then another \"---\" line, then the instructions");
  }
  size_t yaml_begin = std::min(line_end(0) + 1, text.size());
  size_t pos = yaml_begin;
  int line_number = 2;
  std::optional<size_t> yaml_end;
  size_t body_begin = text.size();
  int body_line = 0;
  while (pos < text.size()) {
    std::string_view line = line_at(pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line == "---" || line == "...") {
      yaml_end = pos;
      body_begin = std::min(line_end(pos) + 1, text.size());
      body_line = line_number + 1;
      break;
    }
    pos = line_end(pos) + 1;
    ++line_number;
  }
  if (!yaml_end) {
    return fail(1, "the front matter is not closed: no \"---\" line after the first one");
  }

  FieldReader reader(Source{file_name, 2});
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text.substr(yaml_begin, *yaml_end - yaml_begin)));
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 2 : 2 + e.mark.line;
    return fail(line, "invalid YAML: " + e.msg);
  }

  Result<MigrationSpec> spec;
  try {
    spec = ParseFrontMatter(reader, root);
  } catch (const std::exception& e) {
    return fail(2, std::string("invalid front matter: ") + e.what());
  }
  if (!spec) return spec;

  std::string_view body = text.substr(body_begin);
  size_t content = body.find_first_not_of(" \t\r\n");
  if (content == std::string_view::npos) {
    return fail(body_line, "the instructions are empty: write them below the front matter");
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
