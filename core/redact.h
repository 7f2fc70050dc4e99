// Removes secrets from text before it reaches a transcript, a log, a report or the agent.
// Thread-safe after construction (const methods only).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

class Redactor {
 public:
  Redactor() = default;
  // Each secret is masked in every form text can carry it in: as is, JSON-escaped,
  // percent-encoded (either hex case) and base64 (standard and URL-safe alphabets, at any
  // alignment inside a longer encoded run). Secrets shorter than 8 characters are masked only
  // as whole words (not inside a longer run of letters and digits), and only as is; secrets
  // shorter than 4 characters are ignored: masking them would garble ordinary text.
  explicit Redactor(std::vector<std::string> secrets);

  // Replaces known secret values, and anything shaped like a credential ("sk-...",
  // "Bearer ...", "x-api-key: ...", "ghp_..."), with "[REDACTED]".
  std::string Redact(std::string_view text) const;

  // Whether `text` carries a known secret in any of the forms above (credential shapes alone
  // do not count).
  bool Contains(std::string_view text) const;

  bool empty() const { return needles_.empty(); }

 private:
  struct Needle {
    std::string text;
    bool whole_word = false;
  };
  // The position of the first match of `needle` in `text` at or after `from`, or npos.
  static size_t Find(std::string_view text, const Needle& needle, size_t from);
  std::vector<Needle> needles_;  // Longest first, so a form containing another is masked whole.
};

// The values of `env` that are credentials by their name: *_API_KEY, *_TOKEN, *_SECRET*,
// *PASSWORD*, *_ACCESS_KEY*, as ReadCredential reads them. What a process masks before it has
// parsed its configuration.
std::vector<std::string> SecretsFromEnvironment(const std::map<std::string, std::string>& env);

// The one reader of a credential (API key, token) drover takes from its environment: the
// variable's value with its trailing whitespace (spaces, tabs, CR, LF) removed, as a value
// set from a secret file read as it is ends in a newline that no header or URL may carry.
// Leading whitespace and inner bytes are kept. "" when the variable is unset or blank.
std::string ReadCredential(const std::map<std::string, std::string>& env, std::string_view name);

}  // namespace drover
