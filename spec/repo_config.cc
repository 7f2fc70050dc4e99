#include "spec/repo_config.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include "core/fs.h"
#include "core/yaml.h"

namespace drover::fleet {
namespace {

constexpr size_t kMaxRepoConfigBytes = 64 * 1024;

constexpr std::string_view kTopFields[] = {"opt_out", "reason", "verifiers", "disable_verifiers"};
constexpr std::string_view kVerifierFields[] = {"name", "command", "timeout",
                                                "require_test_evidence"};

Result<verifiers::VerifierSpec> ParseVerifier(const YamlNode& item) {
  if (!item.IsMap()) {
    return item.Fail("expected a mapping with name and command, got " + item.Describe());
  }
  if (auto ok = item.CheckFields(kVerifierFields); !ok) return std::unexpected(ok.error());
  verifiers::VerifierSpec spec;
  for (auto [field, out] : {std::pair{"name", &spec.name}, std::pair{"command", &spec.command}}) {
    auto value = item.Require(field);
    if (!value) return std::unexpected(value.error());
    auto text = value->ReadText();
    if (!text) return std::unexpected(text.error());
    *out = std::move(*text);
  }
  if (auto timeout = item.Find("timeout")) {
    auto seconds = timeout->ReadInteger(1, INT_MAX, "a positive number of seconds");
    if (!seconds) return std::unexpected(seconds.error());
    spec.timeout = std::chrono::seconds(*seconds);
  }
  if (auto flag = item.Find("require_test_evidence")) {
    auto value = flag->ReadBool();
    if (!value) return std::unexpected(value.error());
    spec.require_test_evidence = *value;
  }
  return spec;
}

Result<RepoConfig> ParseDocument(const YamlNode& root) {
  RepoConfig config;
  if (root.IsNull()) return config;
  if (auto ok = root.CheckFields(kTopFields); !ok) return std::unexpected(ok.error());

  if (auto opt_out = root.Find("opt_out")) {
    auto value = opt_out->ReadBool();
    if (!value) return std::unexpected(value.error());
    config.opt_out = *value;
  }
  if (auto reason = root.Find("reason")) {
    auto text = reason->ReadText();
    if (!text) return std::unexpected(text.error());
    if (!config.opt_out) return reason->Fail("only goes with opt_out: true");
    config.reason = std::move(*text);
  }

  if (auto list = root.Get("verifiers")) {
    if (!list->IsList()) {
      return list->Fail("expected a list of {name, command} entries, got " + list->Describe());
    }
    for (const YamlNode& item : list->Items()) {
      auto spec = ParseVerifier(item);
      if (!spec) return std::unexpected(spec.error());
      auto same = [&](const auto& v) { return v.name == spec->name; };
      if (std::any_of(config.verifiers.begin(), config.verifiers.end(), same)) {
        return item.Find("name")->Fail("another verifier is already named '" + spec->name + "'");
      }
      config.verifiers.push_back(std::move(*spec));
    }
  }

  if (auto disabled = root.Get("disable_verifiers")) {
    if (!disabled->IsList()) {
      return disabled->Fail("expected a list of verifier names, got " + disabled->Describe());
    }
    auto names = disabled->ReadTextList();
    if (!names) return std::unexpected(names.error());
    config.disable_verifiers = std::move(*names);
  }
  return config;
}

}  // namespace

Result<RepoConfig> ParseRepoConfig(std::string_view text, std::string_view file_name) {
  auto doc = ParseYaml(text, file_name);
  // Malformed YAML is the file's bad input like any other field error.
  if (!doc) return Fail(ErrorCode::kInvalidArgument, doc.error().message);
  return ParseDocument(doc->Root());
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
