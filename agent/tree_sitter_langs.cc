#include "agent/tree_sitter_langs.h"

#include <tree_sitter/api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>

#include "core/strings.h"

extern "C" {
const TSLanguage* tree_sitter_python(void);
const TSLanguage* tree_sitter_java(void);
const TSLanguage* tree_sitter_javascript(void);
const TSLanguage* tree_sitter_typescript(void);
const TSLanguage* tree_sitter_tsx(void);
const TSLanguage* tree_sitter_go(void);
const TSLanguage* tree_sitter_rust(void);
const TSLanguage* tree_sitter_c(void);
const TSLanguage* tree_sitter_cpp(void);
}

namespace drover::agent {
namespace {

// Definition queries: each pattern captures the definition as @def.<kind> and its name as
// @name. References need no query: every identifier leaf that is not a definition's name.
constexpr const char* kPythonDefs = R"(
(function_definition name: (_) @name) @def.function
(class_definition name: (_) @name) @def.class
(module (expression_statement (assignment left: (identifier) @name)) @def.variable)
(class_definition body: (block (expression_statement
  (assignment left: (identifier) @name)) @def.field))
)";

constexpr const char* kJavaDefs = R"(
(class_declaration name: (_) @name) @def.class
(interface_declaration name: (_) @name) @def.interface
(enum_declaration name: (_) @name) @def.enum
(record_declaration name: (_) @name) @def.class
(annotation_type_declaration name: (_) @name) @def.interface
(method_declaration name: (_) @name) @def.method
(constructor_declaration name: (_) @name) @def.method
(field_declaration declarator: (variable_declarator name: (_) @name)) @def.field
(constant_declaration declarator: (variable_declarator name: (_) @name)) @def.constant
(enum_constant name: (_) @name) @def.constant
)";

// Shared by JavaScript, TypeScript and TSX; the TypeScript-only node types come after.
#define DROVER_JS_DEFS                                                            \
  "(function_declaration name: (_) @name) @def.function\n"                        \
  "(generator_function_declaration name: (_) @name) @def.function\n"              \
  "(class_declaration name: (_) @name) @def.class\n"                              \
  "(method_definition name: (_) @name) @def.method\n"                             \
  "(variable_declarator name: (identifier) @name value: [(arrow_function) "       \
  "(function_expression)]) @def.function\n"                                       \
  "(program (lexical_declaration (variable_declarator name: (identifier) @name)) " \
  "@def.variable)\n"                                                              \
  "(export_statement (lexical_declaration (variable_declarator name: "            \
  "(identifier) @name)) @def.variable)\n"

constexpr const char* kJavaScriptDefs = DROVER_JS_DEFS
    "(field_definition property: (_) @name) @def.field\n";

constexpr const char* kTypeScriptDefs = DROVER_JS_DEFS
    "(abstract_class_declaration name: (_) @name) @def.class\n"
    "(interface_declaration name: (_) @name) @def.interface\n"
    "(type_alias_declaration name: (_) @name) @def.type\n"
    "(enum_declaration name: (_) @name) @def.enum\n"
    "(public_field_definition name: (_) @name) @def.field\n"
    "(property_signature name: (_) @name) @def.field\n"
    "(method_signature name: (_) @name) @def.method\n"
    "(abstract_method_signature name: (_) @name) @def.method\n"
    "(function_signature name: (_) @name) @def.function\n"
    "(internal_module name: (_) @name) @def.module\n";
#undef DROVER_JS_DEFS

constexpr const char* kGoDefs = R"(
(function_declaration name: (_) @name) @def.function
(method_declaration name: (_) @name) @def.method
(type_spec name: (_) @name) @def.type
(type_alias name: (_) @name) @def.type
(field_declaration name: (_) @name) @def.field
(method_elem name: (_) @name) @def.method
(const_spec name: (_) @name) @def.constant
(source_file (var_declaration (var_spec name: (_) @name) @def.variable))
)";

constexpr const char* kRustDefs = R"(
(function_item name: (_) @name) @def.function
(function_signature_item name: (_) @name) @def.function
(struct_item name: (_) @name) @def.struct
(union_item name: (_) @name) @def.struct
(enum_item name: (_) @name) @def.enum
(enum_variant name: (_) @name) @def.constant
(trait_item name: (_) @name) @def.interface
(type_item name: (_) @name) @def.type
(const_item name: (_) @name) @def.constant
(static_item name: (_) @name) @def.constant
(mod_item name: (_) @name) @def.module
(macro_definition name: (_) @name) @def.macro
(field_declaration name: (_) @name) @def.field
)";

#define DROVER_C_DEFS                                                         \
  "(struct_specifier name: (_) @name body: (_)) @def.struct\n"                \
  "(union_specifier name: (_) @name body: (_)) @def.struct\n"                 \
  "(enum_specifier name: (_) @name body: (_)) @def.enum\n"                    \
  "(enumerator name: (_) @name) @def.constant\n"                              \
  "(type_definition declarator: (type_identifier) @name) @def.type\n"         \
  "(field_declaration declarator: (field_identifier) @name) @def.field\n"     \
  "(field_declaration declarator: (pointer_declarator declarator: "           \
  "(field_identifier) @name)) @def.field\n"                                   \
  "(field_declaration declarator: (array_declarator declarator: "             \
  "(field_identifier) @name)) @def.field\n"                                   \
  "(preproc_def name: (_) @name) @def.macro\n"                                \
  "(preproc_function_def name: (_) @name) @def.macro\n"

constexpr const char* kCDefs = DROVER_C_DEFS
    "(function_declarator declarator: (identifier) @name) @def.function\n";

constexpr const char* kCppDefs = DROVER_C_DEFS
    "(function_declarator declarator: [(identifier) (qualified_identifier) (destructor_name) "
    "(operator_name)] @name) @def.function\n"
    "(function_declarator declarator: (field_identifier) @name) @def.method\n"
    "(class_specifier name: (_) @name body: (_)) @def.class\n"
    "(namespace_definition name: (_) @name) @def.module\n"
    "(alias_declaration name: (_) @name) @def.type\n"
    "(concept_definition name: (_) @name) @def.type\n";
#undef DROVER_C_DEFS

struct LanguageSpec {
  const char* name;
  const TSLanguage* (*grammar)();
  const char* definitions;
  std::vector<std::string_view> extensions;
};

// Languages without a compiled grammar keep their row with a null `grammar`.
const std::vector<LanguageSpec>& Specs() {
  static const std::vector<LanguageSpec> kSpecs = {
#ifdef DROVER_TS_PYTHON
      {"python", tree_sitter_python, kPythonDefs, {".py", ".pyi"}},
#endif
#ifdef DROVER_TS_JAVA
      {"java", tree_sitter_java, kJavaDefs, {".java"}},
#endif
#ifdef DROVER_TS_JAVASCRIPT
      {"javascript", tree_sitter_javascript, kJavaScriptDefs, {".js", ".mjs", ".cjs", ".jsx"}},
#endif
#ifdef DROVER_TS_TYPESCRIPT
      {"typescript", tree_sitter_typescript, kTypeScriptDefs, {".ts", ".mts", ".cts"}},
#endif
#ifdef DROVER_TS_TSX
      {"tsx", tree_sitter_tsx, kTypeScriptDefs, {".tsx"}},
#endif
#ifdef DROVER_TS_GO
      {"go", tree_sitter_go, kGoDefs, {".go"}},
#endif
#ifdef DROVER_TS_RUST
      {"rust", tree_sitter_rust, kRustDefs, {".rs"}},
#endif
#ifdef DROVER_TS_C
      {"c", tree_sitter_c, kCDefs, {".c"}},
#endif
#ifdef DROVER_TS_CPP
      {"cpp", tree_sitter_cpp, kCppDefs,
       {".cc", ".cpp", ".cxx", ".c++", ".h", ".hh", ".hpp", ".hxx", ".ipp"}},
#endif
  };
  return kSpecs;
}

struct QueryDeleter {
  void operator()(TSQuery* query) const { ts_query_delete(query); }
};
using QueryPtr = std::unique_ptr<TSQuery, QueryDeleter>;

struct CompiledLanguage {
  const LanguageSpec* spec = nullptr;
  QueryPtr query;                 // Null when the query did not compile (error says why).
  std::string error;
  std::vector<std::string> kinds;  // Per capture id: the kind of a @def.* capture, else "".
  uint32_t name_capture = UINT32_MAX;
};

CompiledLanguage Compile(const LanguageSpec& spec) {
  CompiledLanguage compiled;
  compiled.spec = &spec;
  uint32_t error_offset = 0;
  TSQueryError error_type = TSQueryErrorNone;
  compiled.query.reset(ts_query_new(spec.grammar(), spec.definitions,
                                    static_cast<uint32_t>(std::strlen(spec.definitions)),
                                    &error_offset, &error_type));
  if (!compiled.query) {
    std::string_view rest = std::string_view(spec.definitions).substr(error_offset);
    compiled.error = std::string("definition query of ") + spec.name + " does not compile (error " +
                     std::to_string(static_cast<int>(error_type)) + ") at: " +
                     std::string(rest.substr(0, rest.find('\n')));
    return compiled;
  }
  uint32_t captures = ts_query_capture_count(compiled.query.get());
  compiled.kinds.resize(captures);
  for (uint32_t id = 0; id < captures; ++id) {
    uint32_t length = 0;
    const char* name = ts_query_capture_name_for_id(compiled.query.get(), id, &length);
    std::string_view capture(name, length);
    if (capture == "name") compiled.name_capture = id;
    if (capture.starts_with("def.")) compiled.kinds[id] = std::string(capture.substr(4));
  }
  return compiled;
}

const CompiledLanguage* Find(std::string_view language) {
  static const std::map<std::string, CompiledLanguage, std::less<>> kCompiled = [] {
    std::map<std::string, CompiledLanguage, std::less<>> all;
    for (const auto& spec : Specs()) all.emplace(spec.name, Compile(spec));
    return all;
  }();
  auto it = kCompiled.find(language);
  return it == kCompiled.end() ? nullptr : &it->second;
}

bool IsWordStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsWordChar(char c) { return IsWordStart(c) || (c >= '0' && c <= '9'); }

// Adds the words of `text` (starting on line `line`) to `words` as (name, line) pairs.
void CollectWords(std::string_view text, int line,
                  std::vector<std::pair<std::string_view, int>>& words) {
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (!IsWordChar(c)) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && IsWordChar(text[i])) ++i;
    if (!IsWordStart(text[start])) continue;  // A number.
    words.emplace_back(text.substr(start, i - start), line);
    // A compound: words joined by '.' or '-' ("events.v2", "playlist-events").
    size_t end = i;
    while (end + 1 < text.size() && (text[end] == '.' || text[end] == '-') &&
           IsWordChar(text[end + 1])) {
      size_t next = end + 1;
      while (next < text.size() && IsWordChar(text[next])) ++next;
      end = next;
    }
    if (end > i) words.emplace_back(text.substr(start, end - start), line);
  }
}

std::vector<NameRefs> GroupRefs(std::vector<std::pair<std::string_view, int>>& refs) {
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  std::vector<NameRefs> grouped;
  for (const auto& [name, line] : refs) {
    if (grouped.empty() || grouped.back().name != name) {
      grouped.push_back(NameRefs{std::string(name), {}});
    }
    grouped.back().lines.push_back(line);
  }
  return grouped;
}

// The last component of a qualified name ("Store::load", "a.b") is what callers write.
std::string_view BareName(std::string_view name) {
  size_t cut = name.rfind("::");
  if (cut != std::string_view::npos) name.remove_prefix(cut + 2);
  return name;
}

struct ParserDeleter {
  void operator()(TSParser* parser) const { ts_parser_delete(parser); }
};
struct TreeDeleter {
  void operator()(TSTree* tree) const { ts_tree_delete(tree); }
};
struct CursorDeleter {
  void operator()(TSQueryCursor* cursor) const { ts_query_cursor_delete(cursor); }
};

constexpr uint64_t kParseTimeoutMicros = 5'000'000;
constexpr uint32_t kMaxNameBytes = 256;

}  // namespace

std::string_view LanguageForPath(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "";
  std::string_view extension = name.substr(dot);
  for (const auto& spec : Specs()) {
    for (std::string_view known : spec.extensions) {
      if (extension == known) return spec.name;
    }
  }
  return "";
}

std::vector<std::string> GrammarLanguages() {
  std::vector<std::string> names;
  for (const auto& spec : Specs()) names.emplace_back(spec.name);
  return names;
}

std::string LineText(std::string_view text, int line) {
  size_t start = 0;
  for (int n = 1; n < line && start != std::string_view::npos; ++n) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || start > text.size()) return "";
  return LineAt(text, start);
}

std::string LineAt(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t start = offset == 0 ? 0 : text.rfind('\n', offset - 1);
  start = start == std::string_view::npos || offset == 0 ? 0 : start + 1;
  size_t end = text.find('\n', offset);
  std::string_view trimmed = Trim(text.substr(start, end == std::string_view::npos ? end
                                                                                   : end - start));
  if (trimmed.size() <= kMaxSignatureBytes) return std::string(trimmed);
  size_t cut = kMaxSignatureBytes;
  while (cut > 0 && (static_cast<unsigned char>(trimmed[cut]) & 0xC0) == 0x80) --cut;
  return std::string(trimmed.substr(0, cut)) + " ...";
}

std::vector<NameRefs> ExtractWords(std::string_view text) {
  std::vector<std::pair<std::string_view, int>> words;
  CollectWords(text, 1, words);
  return GroupRefs(words);
}

Result<Extracted> ExtractWithGrammar(std::string_view language, std::string_view text) {
  const CompiledLanguage* compiled = Find(language);
  if (compiled == nullptr) {
    return Fail(ErrorCode::kInvalidArgument,
                "no tree-sitter grammar for '" + std::string(language) + "' in this build");
  }
  if (!compiled->query) return Fail(ErrorCode::kInternal, compiled->error);
  std::unique_ptr<TSParser, ParserDeleter> parser(ts_parser_new());
  if (!ts_parser_set_language(parser.get(), compiled->spec->grammar())) {
    return Fail(ErrorCode::kInternal, "tree-sitter refused the " + std::string(language) +
                                          " grammar (ABI " +
                                          std::to_string(ts_language_version(
                                              compiled->spec->grammar())) +
                                          ")");
  }
  ts_parser_set_timeout_micros(parser.get(), kParseTimeoutMicros);
  std::unique_ptr<TSTree, TreeDeleter> tree(ts_parser_parse_string(
      parser.get(), nullptr, text.data(), static_cast<uint32_t>(text.size())));
  if (!tree) {
    return Fail(ErrorCode::kTimeout, "tree-sitter gave up parsing after 5s");
  }
  TSNode root = ts_tree_root_node(tree.get());
  auto node_text = [&](TSNode node) {
    uint32_t start = ts_node_start_byte(node);
    uint32_t end = std::min<uint32_t>(ts_node_end_byte(node), static_cast<uint32_t>(text.size()));
    return start < end ? text.substr(start, end - start) : std::string_view();
  };

  Extracted out;
  std::vector<uint32_t> name_starts;  // Definition names are not references.
  std::unique_ptr<TSQueryCursor, CursorDeleter> cursor(ts_query_cursor_new());
  ts_query_cursor_exec(cursor.get(), compiled->query.get(), root);
  TSQueryMatch match;
  while (ts_query_cursor_next_match(cursor.get(), &match)) {
    const TSNode* name = nullptr;
    std::string_view kind;
    for (uint16_t i = 0; i < match.capture_count; ++i) {
      uint32_t id = match.captures[i].index;
      if (id == compiled->name_capture) name = &match.captures[i].node;
      if (!compiled->kinds[id].empty()) kind = compiled->kinds[id];
    }
    if (name == nullptr || kind.empty()) continue;
    std::string_view bare = BareName(node_text(*name));
    if (bare.empty() || bare.size() > kMaxNameBytes) continue;
    int line = static_cast<int>(ts_node_start_point(*name).row) + 1;
    name_starts.push_back(ts_node_start_byte(*name));
    out.definitions.push_back(SymbolDef{std::string(bare), std::string(kind), line,
                                        LineAt(text, ts_node_start_byte(*name))});
  }
  // One definition per name and line; a specific kind wins over "variable" (a constant
  // holding an arrow function is a function).
  std::sort(out.definitions.begin(), out.definitions.end(),
            [](const SymbolDef& a, const SymbolDef& b) {
              bool a_variable = a.kind == "variable";
              bool b_variable = b.kind == "variable";
              return std::tie(a.line, a.name, a_variable, a.kind) <
                     std::tie(b.line, b.name, b_variable, b.kind);
            });
  out.definitions.erase(std::unique(out.definitions.begin(), out.definitions.end(),
                                    [](const SymbolDef& a, const SymbolDef& b) {
                                      return a.line == b.line && a.name == b.name;
                                    }),
                        out.definitions.end());
  std::sort(name_starts.begin(), name_starts.end());

  // References: identifier leaves, and the words inside string literals.
  std::vector<std::pair<std::string_view, int>> refs;
  TSTreeCursor walk = ts_tree_cursor_new(root);
  bool more = true;
  while (more) {
    TSNode node = ts_tree_cursor_current_node(&walk);
    if (ts_node_child_count(node) == 0 && ts_node_is_named(node)) {
      const char* type = ts_node_type(node);
      int line = static_cast<int>(ts_node_start_point(node).row) + 1;
      if (std::strstr(type, "identifier") != nullptr) {
        std::string_view name = node_text(node);
        if (!name.empty() && name.size() <= kMaxNameBytes &&
            !std::binary_search(name_starts.begin(), name_starts.end(),
                                ts_node_start_byte(node))) {
          refs.emplace_back(name, line);
        }
      } else if (std::strstr(type, "string") != nullptr ||
                 std::strstr(type, "fragment") != nullptr) {
        CollectWords(node_text(node), line, refs);
      }
    }
    if (ts_tree_cursor_goto_first_child(&walk)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&walk)) {
      if (!ts_tree_cursor_goto_parent(&walk)) {
        more = false;
        break;
      }
    }
  }
  ts_tree_cursor_delete(&walk);
  out.references = GroupRefs(refs);
  return out;
}

}  // namespace drover::agent
