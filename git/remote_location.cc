#include "git/remote_location.h"

#include <cctype>

namespace drover::fleet {

std::optional<RemoteLocation> ParseRemoteLocation(std::string_view location) {
  std::string_view text = location;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string_view host;
  std::string_view rest;
  if (auto scheme = text.find("://"); scheme != std::string_view::npos) {
    std::string_view after = text.substr(scheme + 3);
    size_t slash = after.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    host = after.substr(0, slash);
    rest = after.substr(slash + 1);
    if (auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    if (auto colon = host.find(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  } else if (auto colon = text.find(':'); colon != std::string_view::npos && colon > 0 &&
                                          text.find('/') > colon) {
    host = text.substr(0, colon);
    rest = text.substr(colon + 1);
    if (auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  } else {
    return std::nullopt;
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.ends_with(".git")) rest.remove_suffix(4);
  if (host.empty() || rest.empty() || rest.starts_with('/') ||
      rest.find("//") != std::string_view::npos) {
    return std::nullopt;
  }
  RemoteLocation out{std::string(host), std::string(rest)};
  for (char& c : out.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace drover::fleet
