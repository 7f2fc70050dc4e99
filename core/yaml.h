// The one reader of every YAML file drover reads: YAML text (or a Markdown file's front matter)
// into JSON values that remember where each node came from, and a strict field reader over them
// whose every error reads `file:line: field.path: message`. yaml-cpp stays inside yaml.cc.
// Thread-safe: a parsed YamlDocument is immutable; YamlNodes are views into one.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/json.h"

namespace drover {

// A YAML document as JSON, in the document's key order. Every scalar is a string holding the
// text as written (quoted or not: `5`, `"5"` and `yes` are all text; the field reader decides
// what a field's text means); `~`, `null` and an empty value are null.
using YamlJson = nlohmann::ordered_json;

struct YamlMark {
  int line = 0;    // 1-based, counted from the file's first line.
  int column = 0;  // 0-based, in bytes.
};

class YamlNode;

// A parsed document and the source marks of its nodes, keyed by JSON pointer.
class YamlDocument {
 public:
  const std::string& file_name() const { return file_name_; }
  const YamlJson& json() const { return root_; }
  // The root node. REQUIRES: the document outlives the node and everything read through it.
  YamlNode Root() const;

 private:
  friend class YamlNode;
  friend class YamlBuilder;
  struct Marks {
    YamlMark node;                // Where the node starts.
    std::optional<YamlMark> key;  // A mapping value's key.
  };
  std::string file_name_;
  YamlJson root_;
  int first_line_ = 1;
  std::unordered_map<std::string, Marks> marks_;
};

// Parses `text`, whose first line is line `first_line` of `file_name`. Aliases are expanded;
// only the first document is read. Errors, all naming `file_name:line:`: kParse for malformed
// YAML ("invalid YAML: ..."), a key given twice ("<path>: appears twice"), a key that is not
// a scalar, nesting deeper than 256 or more than 200,000 nodes (aliases can multiply a small
// text; CI files come from untrusted repositories).
Result<YamlDocument> ParseYaml(std::string_view text, std::string_view file_name,
                               int first_line = 1);

// `value` as block-style YAML that ParseYaml reads back to the same value, without a final
// newline. Numbers and booleans are written as their JSON text (and so read back as text).
std::string WriteYaml(const YamlJson& value);

// A Markdown file that opens with YAML between two `---` lines (the closing one may be
// `...`); a UTF-8 byte order mark, CRLF line ends and trailing blanks on the fences are allowed.
struct FrontMatter {
  std::string_view yaml;  // The text between the fences (views into the caller's text).
  int yaml_line = 2;      // File line of `yaml`'s first line.
  std::string_view body;  // Everything after the closing fence's line.
  int body_line = 0;      // File line of `body`'s first line.
  size_t yaml_begin = 0;  // Byte offsets of `yaml` and `body` in the text as passed in.
  size_t body_begin = 0;
};

// Splits `text`. kInvalidArgument at `file_name:1:` when the first line is not `---` or no
// fence closes it.
Result<FrontMatter> SplitFrontMatter(std::string_view text, std::string_view file_name);

// One node of a YamlDocument with its field path ("verifiers[0].name"; empty for the root),
// for reading a format field by field. Strict reads fail with kInvalidArgument at the node's
// line: a mapping value's key line, else where the node starts (an empty list item: its dash).
class YamlNode {
 public:
  const YamlJson& json() const { return *value_; }
  const std::string& path() const { return path_; }
  const std::string& file_name() const { return doc_->file_name_; }
  int line() const;
  YamlMark mark() const;  // Where the node itself starts (a block scalar: at its `|` or `>`).

  bool IsNull() const { return value_->is_null(); }
  bool IsMap() const { return value_->is_object(); }
  bool IsList() const { return value_->is_array(); }
  bool IsText() const { return value_->is_string(); }
  // The scalar's text as written; empty for a node that is not text.
  const std::string& Text() const;
  // "nothing", "\"text\"", "a list" or "a mapping", for "expected X, got <this>".
  std::string Describe() const;

  // The value of `key` when this is a mapping that has it (null values included), else nullopt.
  std::optional<YamlNode> Find(std::string_view key) const;
  // As Find, but nullopt for a null value too: for optional fields, where `key:` means unset.
  std::optional<YamlNode> Get(std::string_view key) const;
  // A list's items, and a mapping's keys with their values, in document order; empty for
  // anything else.
  std::vector<YamlNode> Items() const;
  std::vector<std::pair<std::string, YamlNode>> Members() const;

  // `file:line: path: message` (no `path: ` at the root).
  std::unexpected<Error> Fail(std::string_view message) const;
  // `file:line: path.key: message` at this node's line: a problem with a field it lacks.
  std::unexpected<Error> FailField(std::string_view key, std::string_view message) const;

  // Null, or a mapping whose keys are all in `known`; an unknown key fails at its own line as
  // "<path.key>: unknown field (known: a, b, c)", plus "; did you mean 'b'?" for a near miss.
  Status CheckFields(std::span<const std::string_view> known) const;
  // The value of `key` (null allowed), or "<path>: missing field 'key'" at this node's line.
  Result<YamlNode> Require(std::string_view key) const;

  // Non-empty text, trimmed: "expected text, got a list", "must not be empty".
  Result<std::string> ReadText() const;
  // true/false, yes/no, on/off, y/n in lower, upper or title case: "expected true or false".
  Result<bool> ReadBool() const;
  // A decimal integer in [min, max]: "expected a positive integer, got \"ten\"" (or `expected`
  // in place of the type's words), "must be at most 100, got 500".
  Result<int64_t> ReadInteger(int64_t min = 1, int64_t max = std::numeric_limits<int64_t>::max(),
                              std::string_view expected = "") const;
  // A finite number in [min, max]: "expected a number from 0 to 1, got \"70%\"".
  Result<double> ReadNumber(double min, double max = std::numeric_limits<double>::infinity(),
                            std::string_view expected = "") const;
  // One of `choices`: "expected skip or no_new_failures, got \"ignore\"".
  Result<std::string> ReadChoice(std::span<const std::string_view> choices) const;
  // Null (an empty list) or a list of non-empty texts, each read as ReadText.
  Result<std::vector<std::string>> ReadTextList() const;

 private:
  friend class YamlDocument;
  YamlNode(const YamlDocument* doc, const YamlJson* value, std::string pointer, std::string path)
      : doc_(doc), value_(value), pointer_(std::move(pointer)), path_(std::move(path)) {}
  YamlNode Member(const std::string& key, const YamlJson& value) const;
  YamlNode Item(size_t index, const YamlJson& value) const;
  std::unexpected<Error> FailAtLine(int line, std::string_view path,
                                    std::string_view message) const;

  const YamlDocument* doc_;
  const YamlJson* value_;
  std::string pointer_;  // JSON pointer into doc_->json(), the key of doc_->marks_.
  std::string path_;
};

}  // namespace drover
