#include "core/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace drover {
namespace {

constexpr std::string_view kMask = "[REDACTED]";

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// Masks the token that follows each occurrence of `prefix` (prefix kept when keep_prefix).
void MaskAfter(std::string& text, std::string_view prefix, bool keep_prefix, size_t min_len) {
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    size_t start = pos + prefix.size();
    size_t end = start;
    while (end < text.size() && IsTokenChar(text[end])) ++end;
    if (end - start >= min_len) {
      size_t from = keep_prefix ? start : pos;
      text.replace(from, end - from, kMask);
      pos = from + kMask.size();
    } else {
      pos = start;
    }
  }
}

}  // namespace

Redactor::Redactor(std::vector<std::string> secrets) {
  for (auto& s : secrets) {
    if (s.size() >= 8) secrets_.push_back(std::move(s));
  }
  // Longest first so a secret containing another is masked whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Redact(std::string_view input) const {
  std::string text(input);
  for (const auto& secret : secrets_) {
    size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  static constexpr std::array<std::string_view, 4> kTokenPrefixes = {"sk-", "ghp_", "gho_",
                                                                     "glpat-"};
  for (auto prefix : kTokenPrefixes) MaskAfter(text, prefix, /*keep_prefix=*/false, 16);
  static constexpr std::array<std::string_view, 4> kHeaderPrefixes = {
      "Bearer ", "bearer ", "x-api-key: ", "X-Api-Key: "};
  for (auto prefix : kHeaderPrefixes) MaskAfter(text, prefix, /*keep_prefix=*/true, 8);
  return text;
}

}  // namespace drover
