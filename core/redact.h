// Removes secrets from text before it reaches a transcript or a log.
// Thread-safe after construction (const methods only).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace drover {

class Redactor {
 public:
  Redactor() = default;
  // Each non-empty value of at least 8 characters is replaced wherever it appears.
  explicit Redactor(std::vector<std::string> secrets);

  // Replaces known secret values, and anything shaped like a credential ("sk-...",
  // "Bearer ...", "x-api-key: ...", "ghp_..."), with "[REDACTED]".
  std::string Redact(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;
};

}  // namespace drover
