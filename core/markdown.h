// Text written by a model or found in a repository, made inert for places a forge renders:
// a pull request's body (Markdown) and a commit message (plain text with linked references).
// Inert means: it pings nobody (no live @mentions), closes nothing on merge (no live closing
// keyword before an issue reference, URL or tracker key), runs no GitLab quick action, hides
// nothing (no raw HTML, so no comments; bidirectional and zero-width characters shown as
// their code points), loads nothing (no images, no link reference definitions, no entity
// tricks), and cannot change the structure of the text around it (its fences are closed and
// its tables disabled). It stays readable: paragraphs, lists, emphasis, inline code and fenced
// code keep their rendering, and a neutralised mention or reference is shown in code.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace drover {

// A block of untrusted text as a Markdown blockquote, each line starting with ">", so that a
// heading or list in it stays visibly inside the quote. At most `max_bytes` of `text` are
// kept (cut at a line, saying how much was left out). An empty text gives "> (empty)".
std::string InertMarkdownQuote(std::string_view text, size_t max_bytes);

// One line of untrusted text for a list item or a table cell: newlines become spaces, and
// the same neutralisation applies (pipes escaped, so a cell cannot split).
std::string InertMarkdownInline(std::string_view text);

// `text` verbatim as one inline code span, safe in a table cell: a backtick run longer than
// any inside it, newlines as spaces, pipes escaped. Empty text gives "` `".
std::string MarkdownCodeSpan(std::string_view text);

// Untrusted text for a commit message: mentions, issue references and closing keywords put
// in backticks, trailer-shaped lines ("Co-authored-by: ...") defused, control characters
// dropped, invisible characters shown as code points, at most `max_bytes` kept.
std::string InertCommitText(std::string_view text, size_t max_bytes);

// Whether the code point renders as nothing or reorders the text around it: zero-width
// spaces and joiners, bidirectional controls, word joiners, the byte-order mark,
// interlinear annotations and the tag block. The list the functions above show as [U+XXXX].
bool IsInvisibleCodePoint(uint32_t cp);

// Decodes the UTF-8 sequence at text[i] into `cp`; its length, or 0 when it is malformed
// (overlong, surrogate, beyond U+10FFFF, truncated).
size_t DecodeUtf8At(std::string_view text, size_t i, uint32_t& cp);

}  // namespace drover
