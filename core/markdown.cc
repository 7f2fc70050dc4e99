#include "core/markdown.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/strings.h"

namespace drover {
namespace {

// Characters that render as nothing or reorder what is around them: zero-width spaces and
// joiners, bidirectional controls, word joiners, invisible separators, the byte-order mark,
// interlinear annotations and the tag block (text hidden in tags).
bool Invisible(uint32_t cp) {
  return cp == 0x00AD || cp == 0x061C || cp == 0x115F || cp == 0x1160 || cp == 0x17B4 ||
         cp == 0x17B5 || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 ||
         cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE007F);
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 when it is malformed
// (overlong, surrogate, beyond U+10FFFF, truncated).
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t& cp) {
  auto byte = static_cast<unsigned char>(text[i]);
  size_t length = byte < 0x80           ? 1
                  : (byte >> 5) == 0x6  ? 2
                  : (byte >> 4) == 0xE  ? 3
                  : (byte >> 3) == 0x1E ? 4
                                        : 0;
  if (length == 0 || i + length > text.size()) return 0;
  static constexpr std::array<uint32_t, 5> kMasks = {0, 0x7F, 0x1F, 0x0F, 0x07};
  static constexpr std::array<uint32_t, 5> kMinimum = {0, 0, 0x80, 0x800, 0x10000};
  cp = byte & kMasks[length];
  for (size_t k = 1; k < length; ++k) {
    auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < kMinimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

// Valid UTF-8 with "\n" line ends; control characters other than tab dropped, malformed bytes
// as U+FFFD, invisible characters as "[U+XXXX]".
std::string Clean(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t length = DecodeUtf8(text, i, cp);
    if (length == 0) {
      AppendUtf8(0xFFFD, out);
      ++i;
      continue;
    }
    i += length;
    if (cp == '\r') {
      out += '\n';
      if (i < text.size() && text[i] == '\n') ++i;
    } else if (cp == '\n' || cp == '\t') {
      out += static_cast<char>(cp);
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      continue;
    } else if (Invisible(cp)) {
      char code[16];
      std::snprintf(code, sizeof code, "[U+%04X]", static_cast<unsigned>(cp));
      out += code;
    } else {
      AppendUtf8(cp, out);
    }
  }
  return out;
}

// At most `max_bytes` of `text`, cut at a line end where one is near, never inside a UTF-8
// sequence; `left_out` gets the number of bytes dropped.
std::string_view Cap(std::string_view text, size_t max_bytes, size_t& left_out) {
  left_out = 0;
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  if (size_t newline = text.rfind('\n', cut);
      newline != std::string_view::npos && newline >= max_bytes / 2) {
    cut = newline;
  }
  left_out = text.size() - cut;
  return text.substr(0, cut);
}

bool IsWord(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsNameChar(char c) {
  return IsWord(c) || c == '.' || c == '-';
}
char LowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool StartsWithNoCase(std::string_view text, size_t i, std::string_view prefix) {
  if (text.size() - i < prefix.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k) {
    if (LowerAscii(text[i + k]) != prefix[k]) return false;
  }
  return true;
}

// "@user", "@org/team": the length at text[i], or 0.
size_t MatchMention(std::string_view text, size_t i) {
  if (text[i] != '@' || i + 1 >= text.size() || !IsWord(text[i + 1])) return 0;
  size_t end = i + 1;
  while (end < text.size() && (IsNameChar(text[end]) || text[end] == '/')) ++end;
  while (end > i + 2 && (text[end - 1] == '.' || text[end - 1] == '/')) --end;
  return end - i;
}

// "#12", "!12", "GH-12", "owner/repo#12", "group/sub/project!12": the length, or 0.
size_t MatchReference(std::string_view text, size_t i) {
  size_t j = i;
  if (StartsWithNoCase(text, i, "gh-")) {
    j = i + 3;
  } else {
    // An optional path of at least two names before the marker.
    size_t names = 0;
    size_t k = i;
    while (true) {
      size_t start = k;
      while (k < text.size() && IsNameChar(text[k])) ++k;
      if (k == start) break;
      ++names;
      if (k < text.size() && text[k] == '/') {
        ++k;
        continue;
      }
      break;
    }
    if (names >= 2 && k < text.size() && (text[k] == '#' || text[k] == '!')) {
      j = k + 1;
    } else if (text[i] == '#' || text[i] == '!') {
      j = i + 1;
    } else {
      return 0;
    }
  }
  size_t digits = j;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  return digits > j ? digits - i : 0;
}

// A tracker key such as "ABC-123".
bool TrackerKeyAt(std::string_view text, size_t i) {
  if (i >= text.size() || !(text[i] >= 'A' && text[i] <= 'Z')) return false;
  size_t k = i + 1;
  while (k < text.size() &&
         ((text[k] >= 'A' && text[k] <= 'Z') || IsDigit(text[k]) || text[k] == '_')) {
    ++k;
  }
  return k + 1 < text.size() && text[k] == '-' && IsDigit(text[k + 1]);
}

// What a forge takes for the object of a closing keyword.
bool ReferenceLikeAt(std::string_view text, size_t i) {
  if (i >= text.size()) return false;
  return text[i] == '#' || text[i] == '!' || MatchReference(text, i) > 0 ||
         StartsWithNoCase(text, i, "http://") || StartsWithNoCase(text, i, "https://") ||
         StartsWithNoCase(text, i, "www.") || TrackerKeyAt(text, i);
}

// GitHub's and GitLab's closing keywords ("Closes", "fixed:", "Implements", ...) followed by
// something they would close: the keyword's length, or 0.
size_t MatchClosingKeyword(std::string_view text, size_t i) {
  static constexpr std::array<std::string_view, 16> kKeywords = {
      "close",     "closes",     "closed",      "closing",     "fix",      "fixes",
      "fixed",     "fixing",     "resolve",     "resolves",    "resolved", "resolving",
      "implement", "implements", "implemented", "implementing"};
  size_t end = i;
  while (end < text.size() &&
         ((text[end] >= 'a' && text[end] <= 'z') || (text[end] >= 'A' && text[end] <= 'Z'))) {
    ++end;
  }
  if (end == i || (end < text.size() && IsWord(text[end]))) return 0;
  std::string word;
  for (size_t k = i; k < end; ++k) word += LowerAscii(text[k]);
  if (std::find(kKeywords.begin(), kKeywords.end(), word) == kKeywords.end()) return 0;
  size_t k = end;
  if (k < text.size() && text[k] == ':') ++k;
  size_t spaces = k;
  while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
  // At the end of a line, what it closes may start the next one.
  if (k == text.size()) return end - i;
  if (k == spaces) return 0;
  for (std::string_view issue : {"issues ", "issue "}) {
    if (StartsWithNoCase(text, k, issue)) {
      k += issue.size();
      while (k < text.size() && text[k] == ' ') ++k;
      break;
    }
  }
  return ReferenceLikeAt(text, k) ? end - i : 0;
}

size_t BacktickRun(std::string_view text, size_t i) {
  size_t end = i;
  while (end < text.size() && text[end] == '`') ++end;
  return end - i;
}

size_t LongestBacktickRun(std::string_view text) {
  size_t longest = 0;
  for (size_t i = 0; i < text.size();) {
    size_t run = BacktickRun(text, i);
    longest = std::max(longest, run);
    i += run > 0 ? run : 1;
  }
  return longest;
}

// Appends `content` as one code span: a fence longer than any backtick run in it, apart from
// a neighbouring backtick so that the two runs cannot merge; in a table cell, pipes escaped.
void AppendCode(std::string_view content, bool table_cell, std::string& out) {
  std::string fence(LongestBacktickRun(content) + 1, '`');
  bool pad = content.front() == '`' || content.back() == '`' ||
             (content.front() == ' ' && content.back() == ' ');
  if (!out.empty() && out.back() == '`') out += ' ';
  out += fence;
  if (pad) out += ' ';
  for (char c : content) {
    if (c == '|' && table_cell) out += '\\';
    out += c;
  }
  if (pad) out += ' ';
  out += fence;
}

// A bare address that a forge would turn into a link ("https://...", "www...."): its length
// up to the next space or "<", as GitHub's autolinks take it, without trailing punctuation.
size_t MatchBareUrl(std::string_view text, size_t i) {
  size_t k = i;
  if (StartsWithNoCase(text, i, "www.")) {
    k = i + 4;
  } else {
    while (k < text.size() &&
           (IsWord(text[k]) || text[k] == '+' || text[k] == '.' || text[k] == '-')) {
      ++k;
    }
    if (k == i || text.substr(k, 3) != "://") return 0;
    k += 3;
  }
  while (k < text.size() && text[k] != ' ' && text[k] != '\t' && text[k] != '<') ++k;
  while (k > i && std::string_view(".,:;!?'\"*_~").find(text[k - 1]) != std::string_view::npos) {
    --k;
  }
  return k - i;
}

// One line of text outside code blocks. In Markdown, the line's own code spans are kept (a
// span closes on the same line, so nothing can stay open into the next) and every other
// backtick is escaped; the characters that start HTML, links, images, entities, tables,
// strikethrough fences, math and headings are escaped.
void AppendInertLine(std::string_view line, bool markdown, bool table_cell, std::string& out) {
  bool leading = true;  // Only spaces so far.
  // Right after code, a forge's scan starts a new text: what follows is at a word start.
  bool after_code = false;
  for (size_t i = 0; i < line.size();) {
    char c = line[i];
    if (markdown && c == '`') {
      size_t run = BacktickRun(line, i);
      size_t close = std::string_view::npos;
      for (size_t k = i + run; k < line.size();) {
        size_t other = BacktickRun(line, k);
        if (other == run) {
          close = k;
          break;
        }
        k += other > 0 ? other : 1;
      }
      if (close != std::string_view::npos) {
        if (!out.empty() && out.back() == '`') out += ' ';
        for (char k : line.substr(i, close + run - i)) {
          if (k == '|' && table_cell) out += '\\';
          out += k;
        }
        i = close + run;
        after_code = true;
      } else {
        for (size_t k = 0; k < run; ++k) out += "\\`";
        i += run;
        after_code = false;
      }
      leading = false;
      continue;
    }
    // "_" counts as a boundary: it may open emphasis, and a new text starts after it.
    bool word_start = i == 0 || !IsWord(line[i - 1]) || line[i - 1] == '_' || after_code;
    after_code = false;
    if (word_start && markdown) {
      // Wrapped whole: a forge's autolink takes the raw text up to a space, escapes and all.
      if (size_t length = MatchBareUrl(line, i); length > 0) {
        AppendCode(line.substr(i, length), table_cell, out);
        i += length;
        leading = false;
        after_code = true;
        continue;
      }
    }
    if (word_start) {
      size_t length = MatchMention(line, i);
      if (length == 0) length = MatchReference(line, i);
      if (length == 0) length = MatchClosingKeyword(line, i);
      if (length > 0) {
        AppendCode(line.substr(i, length), table_cell, out);
        i += length;
        leading = false;
        after_code = true;
        continue;
      }
    }
    if (markdown) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '<': out += "&lt;"; break;
        case '&': out += "&amp;"; break;
        case '[': out += "\\["; break;
        case ']': out += "\\]"; break;
        case '|': out += "\\|"; break;
        case '~': out += "\\~"; break;
        case '$': out += "\\$"; break;
        case '#': out += leading ? "\\#" : "#"; break;
        default: out += c;
      }
    } else {
      out += c;
    }
    if (c != ' ' && c != '\t') leading = false;
    ++i;
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A fence line: up to three spaces, then three or more backticks or tildes. Sets the fence's
// character, length and indent, and the info string's first word.
bool FenceOpen(std::string_view line, char& fence, size_t& length, size_t& indent,
               std::string& info) {
  indent = 0;
  while (indent < line.size() && indent < 4 && line[indent] == ' ') ++indent;
  if (indent > 3 || indent >= line.size() || (line[indent] != '`' && line[indent] != '~')) {
    return false;
  }
  fence = line[indent];
  length = 0;
  while (indent + length < line.size() && line[indent + length] == fence) ++length;
  if (length < 3) return false;
  std::string_view rest = line.substr(indent + length);
  if (fence == '`' && rest.find('`') != std::string_view::npos) return false;
  info.clear();
  size_t k = 0;
  while (k < rest.size() && rest[k] == ' ') ++k;
  for (; k < rest.size() && info.size() < 24; ++k) {
    char c = rest[k];
    if (!(IsWord(c) || c == '+' || c == '-' || c == '.' || c == '#')) break;
    info += c;
  }
  return true;
}

bool FenceClose(std::string_view line, char fence, size_t length) {
  size_t i = 0;
  while (i < line.size() && i < 4 && line[i] == ' ') ++i;
  if (i > 3) return false;
  size_t run = 0;
  while (i + run < line.size() && line[i + run] == fence) ++run;
  if (run < length) return false;
  for (size_t k = i + run; k < line.size(); ++k) {
    if (line[k] != ' ' && line[k] != '\t') return false;
  }
  return true;
}

// A fenced block re-emitted with a backtick fence longer than any run in its content, so that
// nothing in it can close it early, and closed here whether or not its author closed it.
void AppendFence(const std::vector<std::string_view>& content, size_t indent,
                 const std::string& info, std::string& out) {
  size_t longest = 0;
  for (auto line : content) longest = std::max(longest, LongestBacktickRun(line));
  std::string fence(std::max<size_t>(3, longest + 1), '`');
  out += "> " + fence + info + "\n";
  for (auto line : content) {
    size_t strip = 0;
    while (strip < indent && strip < line.size() && line[strip] == ' ') ++strip;
    out += "> ";
    out += line.substr(strip);
    out += '\n';
  }
  out += "> " + fence + "\n";
}

}  // namespace

std::string InertMarkdownQuote(std::string_view text, size_t max_bytes) {
  std::string cleaned = Clean(text);
  size_t left_out = 0;
  std::string_view kept = Cap(cleaned, max_bytes, left_out);
  auto lines = Lines(kept);
  while (!lines.empty() && Trim(lines.back()).empty()) lines.pop_back();
  std::string out;
  if (lines.empty()) out = "> (empty)\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    char fence = 0;
    size_t length = 0;
    size_t indent = 0;
    std::string info;
    if (FenceOpen(lines[i], fence, length, indent, info)) {
      std::vector<std::string_view> content;
      size_t k = i + 1;
      while (k < lines.size() && !FenceClose(lines[k], fence, length))
        content.push_back(lines[k++]);
      AppendFence(content, indent, info, out);
      i = k;  // The closing line, or past the end.
      continue;
    }
    out += '>';
    if (!lines[i].empty()) {
      out += ' ';
      AppendInertLine(lines[i], /*markdown=*/true, /*table_cell=*/false, out);
    }
    out += '\n';
  }
  if (left_out > 0) {
    out += ">\n> *(" + std::to_string(left_out) + " more bytes left out)*\n";
  }
  return out;
}

std::string InertMarkdownInline(std::string_view text) {
  std::string cleaned = Clean(text);
  std::replace(cleaned.begin(), cleaned.end(), '\n', ' ');
  std::string out;
  AppendInertLine(cleaned, /*markdown=*/true, /*table_cell=*/true, out);
  return out;
}

std::string MarkdownCodeSpan(std::string_view text) {
  std::string content = Clean(text);
  std::replace(content.begin(), content.end(), '\n', ' ');
  std::replace(content.begin(), content.end(), '\t', ' ');
  if (content.empty()) return "` `";
  std::string out;
  AppendCode(content, /*table_cell=*/true, out);
  return out;
}

std::string InertCommitText(std::string_view text, size_t max_bytes) {
  std::string cleaned = Clean(text);
  size_t left_out = 0;
  std::string_view kept = Cap(cleaned, max_bytes, left_out);
  std::string out;
  for (auto line : Lines(kept)) {
    // "Co-authored-by: ...", "Signed-off-by: ...": a trailer only where the text is, so that
    // the text cannot name authors or sign-offs for the commit.
    size_t colon = line.find(": ");
    std::string_view key = line.substr(0, colon);
    if (colon != std::string_view::npos && key.size() > 3 &&
        StartsWithNoCase(key, key.size() - 3, "-by") &&
        std::all_of(key.begin(), key.end(), [](char c) { return IsWord(c) || c == '-'; })) {
      AppendCode(key, /*table_cell=*/false, out);
      line.remove_prefix(key.size());
    }
    AppendInertLine(line, /*markdown=*/false, /*table_cell=*/false, out);
    out += '\n';
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (left_out > 0) out += "\n\n(" + std::to_string(left_out) + " more bytes left out)";
  return out;
}

bool IsInvisibleCodePoint(uint32_t cp) {
  return Invisible(cp);
}

size_t DecodeUtf8At(std::string_view text, size_t i, uint32_t& cp) {
  return DecodeUtf8(text, i, cp);
}

}  // namespace drover
