#include "prompts/prompts.h"

#include <algorithm>
#include <set>

#include "core/fs.h"
#include "core/json.h"

namespace drover::prompts {
namespace {

std::filesystem::path& OverrideDir() {
  static std::filesystem::path dir;
  return dir;
}

bool IsNameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

void SetOverrideDir(const std::filesystem::path& dir) { OverrideDir() = dir; }

Result<std::string> RenderText(std::string_view text, const Variables& vars,
                               std::string_view name_for_errors) {
  std::string out;
  std::set<std::string> used;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    size_t close = text.find("}}", open + 2);
    std::string_view name =
        close == std::string_view::npos ? "" : text.substr(open + 2, close - open - 2);
    bool valid = !name.empty() && std::all_of(name.begin(), name.end(), IsNameChar);
    if (!valid) {
      // Not a placeholder (e.g. literal braces in an example); keep it as text.
      out.append("{{");
      pos = open + 2;
      continue;
    }
    auto it = vars.find(std::string(name));
    if (it == vars.end()) {
      return Fail(ErrorCode::kInvalidArgument, "template " + std::string(name_for_errors) +
                                                   ": no value for {{" + std::string(name) + "}}");
    }
    out.append(it->second);
    used.insert(it->first);
    pos = close + 2;
  }
  for (const auto& [name, value] : vars) {
    if (!used.contains(name)) {
      return Fail(ErrorCode::kInvalidArgument, "template " + std::string(name_for_errors) +
                                                   ": variable '" + name + "' is never used");
    }
  }
  return out;
}

Result<std::string> TemplateText(std::string_view name) {
  std::string key(name);
  if (!OverrideDir().empty()) {
    auto text = ReadFile(OverrideDir() / key);
    if (text) return text;
    if (text.error().code != ErrorCode::kNotFound) return Fail(text.error());
  }
  const auto& embedded = EmbeddedTemplates();
  auto it = embedded.find(key);
  if (it == embedded.end()) {
    return Fail(ErrorCode::kNotFound, "no prompt template named '" + key + "'");
  }
  return it->second;
}

Result<std::string> Render(std::string_view name, const Variables& vars) {
  auto text = TemplateText(name);
  if (!text) return Fail(text.error());
  return RenderText(*text, vars, name);
}

Result<std::string> RenderEntry(std::string_view name, std::string_view key,
                                const Variables& vars) {
  auto text = TemplateText(name);
  if (!text) return Fail(text.error());
  auto json = ParseJson(*text, std::string(name));
  if (!json) return Fail(json.error());
  std::string label = std::string(name) + ":" + std::string(key);
  if (!json->is_object()) {
    return Fail(ErrorCode::kParse, "template " + std::string(name) + " is not a JSON object");
  }
  auto entry = json->find(key);
  if (entry == json->end()) return Fail(ErrorCode::kNotFound, "template " + label + " is missing");
  if (!entry->is_string()) {
    return Fail(ErrorCode::kParse, "template " + label + " is not a string");
  }
  return RenderText(entry->get_ref<const std::string&>(), vars, label);
}

}  // namespace drover::prompts
