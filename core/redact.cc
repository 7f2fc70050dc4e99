#include "core/redact.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace drover {
namespace {

constexpr std::string_view kMask = "[REDACTED]";
constexpr size_t kMinWholeWord = 4;  // Shorter secrets are not masked at all.
constexpr size_t kMinAnywhere = 8;   // Shorter secrets are masked only as whole words.

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
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

// As a JSON string literal's content carries it; `escape_slash` also writes "/" as "\/".
std::string JsonEscaped(std::string_view secret, bool escape_slash) {
  std::string out;
  for (unsigned char c : secret) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '/': out += escape_slash ? "\\/" : "/"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

// Percent-encoding of everything but RFC 3986's unreserved characters.
std::string PercentEncoded(std::string_view secret, bool lower_hex) {
  const char* hex = lower_hex ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : secret) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Base64(std::string_view bytes, bool url_safe) {
  static constexpr std::string_view kStandard =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr std::string_view kUrl =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string_view alphabet = url_safe ? kUrl : kStandard;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += alphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += alphabet[(bits << (6 - count)) & 63];
  return out;
}

// The base64 characters that depend on `secret` alone when it starts `offset` bytes (0-2)
// into an encoded run: whatever precedes or follows it, an encoding of it contains these.
std::string Base64Core(std::string_view secret, size_t offset, bool url_safe) {
  std::string padded(offset, '\0');
  padded += secret;
  std::string encoded = Base64(padded, url_safe);
  size_t first = (8 * offset + 5) / 6;               // First character after the prefix.
  size_t last = (8 * (offset + secret.size())) / 6;  // One past the last whole character.
  if (last <= first || last > encoded.size()) return "";
  return encoded.substr(first, last - first);
}

}  // namespace

Redactor::Redactor(std::vector<std::string> secrets) {
  auto add = [this](std::string text, bool whole_word) {
    if (text.empty()) return;
    for (const auto& needle : needles_) {
      if (needle.text == text) return;
    }
    needles_.push_back({std::move(text), whole_word});
  };
  for (const auto& secret : secrets) {
    if (secret.size() < kMinWholeWord) continue;
    if (secret.size() < kMinAnywhere) {
      add(secret, /*whole_word=*/true);
      continue;
    }
    add(secret, false);
    add(JsonEscaped(secret, false), false);
    add(JsonEscaped(secret, true), false);
    add(PercentEncoded(secret, false), false);
    add(PercentEncoded(secret, true), false);
    for (bool url_safe : {false, true}) {
      for (size_t offset = 0; offset < 3; ++offset) {
        std::string core = Base64Core(secret, offset, url_safe);
        // A core shorter than the secret's own minimum would match by chance.
        if (core.size() >= kMinAnywhere) add(std::move(core), false);
      }
    }
  }
  std::sort(needles_.begin(), needles_.end(),
            [](const Needle& a, const Needle& b) { return a.text.size() > b.text.size(); });
}

size_t Redactor::Find(std::string_view text, const Needle& needle, size_t from) {
  size_t pos = from;
  while ((pos = text.find(needle.text, pos)) != std::string_view::npos) {
    if (!needle.whole_word) return pos;
    size_t end = pos + needle.text.size();
    bool starts = pos == 0 || !IsWordChar(text[pos - 1]);
    bool ends = end == text.size() || !IsWordChar(text[end]);
    if (starts && ends) return pos;
    ++pos;
  }
  return std::string_view::npos;
}

std::string Redactor::Redact(std::string_view input) const {
  std::string text(input);
  for (const auto& needle : needles_) {
    size_t pos = 0;
    while ((pos = Find(text, needle, pos)) != std::string::npos) {
      text.replace(pos, needle.text.size(), kMask);
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

bool Redactor::Contains(std::string_view text) const {
  return std::any_of(needles_.begin(), needles_.end(), [&](const Needle& needle) {
    return Find(text, needle, 0) != std::string_view::npos;
  });
}

std::vector<std::string> SecretsFromEnvironment(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env) {
    bool secret = name.ends_with("_API_KEY") || name.ends_with("_TOKEN") ||
                  name.find("_SECRET") != std::string::npos ||
                  name.find("PASSWORD") != std::string::npos ||
                  name.find("_ACCESS_KEY") != std::string::npos;
    if (!secret) continue;
    if (std::string credential = ReadCredential(env, name); !credential.empty()) {
      out.push_back(std::move(credential));
    }
  }
  return out;
}

std::string ReadCredential(const std::map<std::string, std::string>& env, std::string_view name) {
  auto it = env.find(std::string(name));
  if (it == env.end()) return "";
  std::string_view value = it->second;
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' ||
                            value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  return std::string(value);
}

}  // namespace drover
