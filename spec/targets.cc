#include "spec/targets.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "core/fs.h"
#include "core/strings.h"

namespace drover::fleet {
namespace {

constexpr std::string_view kSchemes[] = {"file", "http", "https", "ssh", "git"};

// A '#' starts a comment at the start of a line or after whitespace, so "a#b" stays a path.
std::string_view StripComment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return line.substr(0, i);
    }
  }
  return line;
}

// "user@host:org/repo.git": a colon before any slash, and not a path.
bool IsScpLike(std::string_view location) {
  size_t colon = location.find(':');
  size_t slash = location.find('/');
  return colon != std::string_view::npos && colon > 0 &&
         (slash == std::string_view::npos || colon < slash) && location.front() != '/';
}

std::string DisplayName(std::string_view location) {
  while (location.size() > 1 && location.back() == '/') location.remove_suffix(1);
  size_t cut = location.find_last_of("/:");
  std::string_view last = cut == std::string_view::npos ? location : location.substr(cut + 1);
  if (last.ends_with(".git")) last.remove_suffix(4);
  std::string name;
  for (char c : last) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    name += safe ? c : '-';
  }
  if (name.find_first_not_of('.') == std::string::npos) return "";
  return name;
}

}  // namespace

Result<std::vector<Target>> LoadTargets(const std::filesystem::path& repos_file) {
  auto text = ReadFile(repos_file);
  if (!text) return std::unexpected(text.error());
  std::error_code ec;
  std::filesystem::path base = std::filesystem::absolute(repos_file, ec).parent_path();
  if (ec) return Fail(ErrorCode::kIo, "resolving " + repos_file.string() + ": " + ec.message());
  return ParseTargets(*text, base, repos_file.string());
}

Result<std::vector<Target>> ParseTargets(std::string_view text, const std::filesystem::path& base,
                                         std::string_view file_name) {
  std::vector<Target> targets;
  std::map<std::string, int> line_of_location;
  std::set<std::string> names;
  std::string_view rest = text;
  for (int line_number = 1; !rest.empty(); ++line_number) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    std::string_view entry = Trim(StripComment(line));
    if (entry.empty()) continue;

    auto fail = [&](const std::string& message) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string(file_name) + ":" + std::to_string(line_number) + ": " + message);
    };
    Target target;
    target.line = line_number;
    size_t scheme_end = entry.find("://");
    // A path is the whole line and may hold spaces; a URL never does, so text after one is
    // a mistake worth naming (a branch, a second URL).
    bool remote = scheme_end != std::string_view::npos || IsScpLike(entry);
    if (remote && entry.find_first_of(" \t") != std::string_view::npos) {
      return fail("expected one git URL or path per line, got \"" + std::string(entry) + "\"");
    }
    if (scheme_end != std::string_view::npos) {
      std::string_view scheme = entry.substr(0, scheme_end);
      if (std::find(std::begin(kSchemes), std::end(kSchemes), scheme) == std::end(kSchemes)) {
        return fail("unsupported URL scheme \"" + std::string(scheme) +
                    "\" (use https, ssh, git, file or a path)");
      }
      target.location = entry;
      target.is_local = scheme == "file";
    } else if (IsScpLike(entry)) {
      target.location = entry;
    } else {
      std::filesystem::path path(entry);
      if (path.is_relative()) path = base / path;
      std::string normal = path.lexically_normal().string();
      while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
      target.location = normal;
      target.is_local = true;
    }

    auto [previous, inserted] = line_of_location.emplace(target.location, line_number);
    if (!inserted) {
      return fail("\"" + target.location + "\" is already a target (line " +
                  std::to_string(previous->second) + ")");
    }
    std::string name = DisplayName(target.location);
    if (name.empty())
      return fail("cannot derive a repository name from \"" + target.location + "\"");
    target.name = name;
    for (int suffix = 2; names.contains(target.name); ++suffix) {
      target.name = name + "-" + std::to_string(suffix);
    }
    names.insert(target.name);
    targets.push_back(std::move(target));
  }
  return targets;
}

}  // namespace drover::fleet
