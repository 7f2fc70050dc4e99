#include "spec/repo_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <span>
#include <utility>

#include "core/fs.h"
#include "core/strings.h"

namespace drover::fleet {
namespace {

constexpr size_t kMaxRepoConfigBytes = 64 * 1024;

constexpr std::string_view kTopFields[] = {"opt_out", "reason", "verifiers", "disable_verifiers"};
constexpr std::string_view kVerifierFields[] = {"name", "command", "timeout",
                                                "require_test_evidence"};

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return "\"" + node.Scalar() + "\"";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

std::string Join(std::span<const std::string_view> words) {
  std::string out;
  for (std::string_view word : words) out += (out.empty() ? "" : ", ") + std::string(word);
  return out;
}

// Errors that name the file, the line and the field. yaml-cpp marks an empty value where the
// next token starts, so for those the key's line (the one a reader looks at) is passed in.
class Reader {
 public:
  explicit Reader(std::string_view file_name) : file_name_(file_name) {}

  std::unexpected<Error> FailAt(int line, std::string_view path, std::string_view message) const {
    std::string text = file_name_ + ":" + std::to_string(line) + ": ";
    if (!path.empty()) text += std::string(path) + ": ";
    text += message;
    return Fail(ErrorCode::kInvalidArgument, std::move(text));
  }

  static int LineOf(const YAML::Node& node) {
    YAML::Mark mark = node.Mark();
    return mark.is_null() ? 1 : mark.line + 1;
  }

  // A mapping whose keys are all known and appear once.
  Status CheckMapping(const YAML::Node& node, int line, std::string_view path,
                      std::span<const std::string_view> known) const {
    if (!node.IsMap()) return FailAt(line, path, "expected a mapping, got " + Describe(node));
    std::vector<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) return FailAt(LineOf(key), path, "field names must be plain words");
      const std::string& name = key.Scalar();
      std::string where = path.empty() ? name : std::string(path) + "." + name;
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return FailAt(LineOf(key), where, "unknown field (known: " + Join(known) + ")");
      }
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return FailAt(LineOf(key), where, "appears twice");
      }
      seen.push_back(name);
    }
    return {};
  }

  // The line of `parent[field]`'s key.
  static int KeyLine(const YAML::Node& parent, std::string_view field) {
    for (const auto& entry : parent) {
      if (entry.first.IsScalar() && entry.first.Scalar() == field) return LineOf(entry.first);
    }
    return LineOf(parent);
  }

  Result<std::string> String(const YAML::Node& node, int line, std::string_view path) const {
    if (!node.IsScalar()) return FailAt(line, path, "expected text, got " + Describe(node));
    std::string value(Trim(node.Scalar()));
    if (value.empty()) return FailAt(line, path, "must not be empty");
    return value;
  }

 private:
  std::string file_name_;
};

Result<verifiers::VerifierSpec> ParseVerifier(const Reader& reader, const YAML::Node& item,
                                              const std::string& path) {
  int line = Reader::LineOf(item);
  if (!item.IsMap()) {
    return reader.FailAt(line, path,
                         "expected a mapping with name and command, got " + Describe(item));
  }
  if (auto ok = reader.CheckMapping(item, line, path, kVerifierFields); !ok) {
    return std::unexpected(ok.error());
  }
  verifiers::VerifierSpec spec;
  for (auto [field, out] : {std::pair{"name", &spec.name}, std::pair{"command", &spec.command}}) {
    const YAML::Node value = item[field];
    if (!value.IsDefined()) {
      return reader.FailAt(line, path, "missing field '" + std::string(field) + "'");
    }
    auto text = reader.String(value, Reader::KeyLine(item, field), path + "." + field);
    if (!text) return std::unexpected(text.error());
    *out = std::move(*text);
  }
  const YAML::Node timeout = item["timeout"];
  if (timeout.IsDefined()) {
    std::string_view text = timeout.IsScalar() ? Trim(timeout.Scalar()) : std::string_view();
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || seconds <= 0 ||
        seconds > INT_MAX) {
      return reader.FailAt(Reader::KeyLine(item, "timeout"), path + ".timeout",
                           "expected a positive number of seconds, got " + Describe(timeout));
    }
    spec.timeout = std::chrono::seconds(seconds);
  }
  if (const YAML::Node flag = item["require_test_evidence"]; flag.IsDefined()) {
    bool value = false;
    if (!flag.IsScalar() || !YAML::convert<bool>::decode(flag, value)) {
      return reader.FailAt(Reader::KeyLine(item, "require_test_evidence"),
                           path + ".require_test_evidence",
                           "expected true or false, got " + Describe(flag));
    }
    spec.require_test_evidence = value;
  }
  return spec;
}

Result<RepoConfig> ParseDocument(const Reader& reader, const YAML::Node& root) {
  RepoConfig config;
  if (root.IsNull()) return config;
  if (auto ok = reader.CheckMapping(root, Reader::LineOf(root), "", kTopFields); !ok) {
    return std::unexpected(ok.error());
  }

  const YAML::Node opt_out = root["opt_out"];
  if (opt_out.IsDefined()) {
    if (!opt_out.IsScalar() || !YAML::convert<bool>::decode(opt_out, config.opt_out)) {
      return reader.FailAt(Reader::KeyLine(root, "opt_out"), "opt_out",
                           "expected true or false, got " + Describe(opt_out));
    }
  }
  const YAML::Node reason = root["reason"];
  if (reason.IsDefined()) {
    int line = Reader::KeyLine(root, "reason");
    auto text = reader.String(reason, line, "reason");
    if (!text) return std::unexpected(text.error());
    if (!config.opt_out) return reader.FailAt(line, "reason", "only goes with opt_out: true");
    config.reason = std::move(*text);
  }

  const YAML::Node list = root["verifiers"];
  if (list.IsDefined() && !list.IsNull()) {
    if (!list.IsSequence()) {
      return reader.FailAt(Reader::KeyLine(root, "verifiers"), "verifiers",
                           "expected a list of {name, command} entries, got " + Describe(list));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      std::string path = "verifiers[" + std::to_string(i) + "]";
      auto spec = ParseVerifier(reader, list[i], path);
      if (!spec) return std::unexpected(spec.error());
      auto same = [&](const auto& v) { return v.name == spec->name; };
      if (std::any_of(config.verifiers.begin(), config.verifiers.end(), same)) {
        return reader.FailAt(Reader::KeyLine(list[i], "name"), path + ".name",
                             "another verifier is already named '" + spec->name + "'");
      }
      config.verifiers.push_back(std::move(*spec));
    }
  }

  const YAML::Node disabled = root["disable_verifiers"];
  if (disabled.IsDefined() && !disabled.IsNull()) {
    if (!disabled.IsSequence()) {
      return reader.FailAt(Reader::KeyLine(root, "disable_verifiers"), "disable_verifiers",
                           "expected a list of verifier names, got " + Describe(disabled));
    }
    for (size_t i = 0; i < disabled.size(); ++i) {
      auto name = reader.String(disabled[i], Reader::LineOf(disabled[i]),
                                "disable_verifiers[" + std::to_string(i) + "]");
      if (!name) return std::unexpected(name.error());
      config.disable_verifiers.push_back(std::move(*name));
    }
  }
  return config;
}

}  // namespace

Result<RepoConfig> ParseRepoConfig(std::string_view text, std::string_view file_name) {
  Reader reader(file_name);
  // yaml-cpp reports malformed YAML and failed conversions by throwing; they stop here.
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return ParseDocument(reader, root);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return reader.FailAt(line, "", "not valid YAML: " + e.msg);
  }
}

Result<std::optional<RepoConfig>> LoadRepoConfig(const std::filesystem::path& repo_root) {
  auto text = ReadRegularFile(repo_root / kRepoConfigFile, kMaxRepoConfigBytes);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::optional<RepoConfig>();
    return Fail(text.error());
  }
  auto config = ParseRepoConfig(*text, kRepoConfigFile);
  if (!config) return Fail(config.error());
  return std::optional<RepoConfig>(std::move(*config));
}

std::vector<verifiers::VerifierSpec> MergeVerifiers(
    const std::vector<verifiers::VerifierSpec>& spec_verifiers,
    const std::vector<verifiers::DetectedVerifier>& detected,
    const std::optional<RepoConfig>& config) {
  std::vector<verifiers::VerifierSpec> out = spec_verifiers;
  if (out.empty()) {
    for (const auto& d : detected) out.push_back(d.spec);
  }
  if (!config) return out;
  for (const auto& own : config->verifiers) {
    auto it =
        std::find_if(out.begin(), out.end(), [&](const auto& v) { return v.name == own.name; });
    if (it != out.end()) {
      *it = own;
    } else {
      out.push_back(own);
    }
  }
  std::erase_if(out, [&](const verifiers::VerifierSpec& v) {
    const auto& names = config->disable_verifiers;
    return std::find(names.begin(), names.end(), v.name) != names.end();
  });
  return out;
}

Json ToJson(const RepoConfig& config) {
  Json list = Json::array();
  for (const auto& v : config.verifiers) list.push_back(verifiers::ToJson(v));
  return Json{{"opt_out", config.opt_out},
              {"reason", config.reason},
              {"verifiers", list},
              {"disable_verifiers", config.disable_verifiers}};
}

}  // namespace drover::fleet
