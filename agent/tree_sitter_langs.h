// The languages the repo map parses with tree-sitter: which file names belong to which grammar,
// and the extraction of definitions and referenced names from one file's text.
// Thread-safe: the language table and its compiled queries are immutable once built; every
// call to Extract uses its own parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace drover::agent {

struct SymbolDef {
  std::string name;       // The bare name ("load"; for "Store::load" also "load").
  std::string kind;       // "function", "method", "class", "struct", "interface", "type",
                          // "enum", "field", "constant", "variable", "module", "macro".
  int line = 0;           // 1-based line of the name.
  std::string signature;  // That line, trimmed and cut to a readable length.
};

struct NameRefs {
  std::string name;
  std::vector<int> lines;  // 1-based, ascending, no duplicates.
};

struct Extracted {
  std::vector<SymbolDef> definitions;  // By line, then name.
  std::vector<NameRefs> references;    // By name: identifiers and words inside string literals.
};

// The grammar for a file name ("python", "go", ...), or "" when none is compiled in for it.
std::string_view LanguageForPath(std::string_view path);

// The languages whose grammars this build has (the build skips those npm could not fetch).
std::vector<std::string> GrammarLanguages();

// Parses `text` with the grammar of `language`. kInvalidArgument for an unknown language;
// kTimeout when the parser gives up on pathological input; kInternal when a query of ours
// does not compile against the grammar.
Result<Extracted> ExtractWithGrammar(std::string_view language, std::string_view text);

// For files without a grammar: every word ([A-Za-z_][A-Za-z0-9_]*) and every dotted or
// hyphenated compound of words ("events.v2", "playlist-events") with its lines.
std::vector<NameRefs> ExtractWords(std::string_view text);

// The trimmed `line` (1-based) of `text`, cut to kMaxSignatureBytes.
std::string LineText(std::string_view text, int line);
// The same for the line that holds byte `offset`.
std::string LineAt(std::string_view text, size_t offset);
inline constexpr size_t kMaxSignatureBytes = 160;

}  // namespace drover::agent
