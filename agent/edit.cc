#include "agent/edit.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

namespace drover::agent {
namespace {

constexpr size_t kMaxListedLines = 10;
constexpr size_t kMaxScoredLines = 40;
constexpr size_t kMaxHintLines = 30;
constexpr double kMinHintSimilarity = 0.3;

struct Line {
  std::string_view text;  // Without its line end.
  std::string_view eol;   // "\n", "\r\n" or "" (last line without a newline).
};

std::vector<Line> SplitContent(std::string_view content) {
  std::vector<Line> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back({content.substr(start), ""});
      break;
    }
    size_t text_end = end > start && content[end - 1] == '\r' ? end - 1 : end;
    lines.push_back(
        {content.substr(start, text_end - start), content.substr(text_end, end + 1 - text_end)});
    start = end + 1;
  }
  return lines;
}

// Lines of a search or replace text; a final newline does not start another line.
std::vector<std::string> SplitText(std::string_view text) {
  std::vector<std::string> lines;
  for (const Line& line : SplitContent(text)) lines.emplace_back(line.text);
  return lines;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimRight(s);
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view Indent(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && (s[n] == ' ' || s[n] == '\t')) ++n;
  return s.substr(0, n);
}

// Bare LF becomes CRLF; existing CRLF stays.
std::string ToCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

int LineAt(std::string_view content, size_t offset) {
  return 1 + static_cast<int>(std::count(
                 content.begin(), content.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

std::string LineList(const std::vector<int>& lines) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < kMaxListedLines; ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(lines[i]);
  }
  if (lines.size() > kMaxListedLines) out += ", ...";
  return out;
}

std::unexpected<Error> Ambiguous(const std::vector<int>& lines, std::string_view how) {
  return Fail(ErrorCode::kInvalidArgument,
              "search text matches " + std::to_string(lines.size()) + " times" + std::string(how) +
                  " (at lines " + LineList(lines) +
                  "); include more surrounding lines so that it matches exactly once");
}

std::vector<uint16_t> Bigrams(std::string_view line) {
  line = Trim(line);
  std::vector<uint16_t> grams;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    grams.push_back(static_cast<uint16_t>(static_cast<unsigned char>(line[i]) << 8 |
                                          static_cast<unsigned char>(line[i + 1])));
  }
  std::sort(grams.begin(), grams.end());
  return grams;
}

// Dice coefficient over character bigrams of the trimmed lines: 1 identical, 0 nothing shared.
double Similarity(const std::vector<uint16_t>& a, std::string_view a_text,
                  const std::vector<uint16_t>& b, std::string_view b_text) {
  if (a.empty() || b.empty()) return Trim(a_text) == Trim(b_text) ? 1.0 : 0.0;
  size_t shared = 0;
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++shared;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return 2.0 * static_cast<double>(shared) / static_cast<double>(a.size() + b.size());
}

std::string NotFound(const std::vector<Line>& content, const std::vector<std::string>& search) {
  std::string message = "search text not found in the file";
  size_t n = std::min(search.size(), kMaxScoredLines);
  if (content.empty() || n == 0) return message + " (the file is empty)";
  std::vector<std::vector<uint16_t>> content_grams;
  content_grams.reserve(content.size());
  for (const Line& line : content) content_grams.push_back(Bigrams(line.text));
  std::vector<std::vector<uint16_t>> search_grams;
  for (size_t k = 0; k < n; ++k) search_grams.push_back(Bigrams(search[k]));

  size_t windows = content.size() >= n ? content.size() - n + 1 : 1;
  size_t best = 0;
  double best_score = -1;
  for (size_t i = 0; i < windows; ++i) {
    double score = 0;
    for (size_t k = 0; k < n && i + k < content.size(); ++k) {
      score += Similarity(content_grams[i + k], content[i + k].text, search_grams[k], search[k]);
    }
    score /= static_cast<double>(n);
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  if (best_score < kMinHintSimilarity) {
    return message + "; no similar lines either. Read the file to see its current content";
  }
  size_t end = std::min({best + search.size(), content.size(), best + kMaxHintLines});
  message += ". Closest lines in the file (" + std::to_string(static_cast<int>(best_score * 100)) +
             "% similar):\n";
  for (size_t i = best; i < end; ++i) {
    message += std::to_string(i + 1) + "\t" + std::string(content[i].text) + "\n";
  }
  message += "Copy the search text exactly from the file, without the line numbers";
  return message;
}

enum class LineMatch { kIgnoreTrailingSpace, kIgnoreIndentation };

std::string Reindent(std::string_view line, std::string_view from, std::string_view to) {
  if (Trim(line).empty()) return std::string(line);
  if (to.starts_with(from)) return std::string(to.substr(from.size())) + std::string(line);
  if (from.starts_with(to)) {
    size_t remove = std::min(from.size() - to.size(), Indent(line).size());
    return std::string(line.substr(remove));
  }
  if (line.starts_with(from)) return std::string(to) + std::string(line.substr(from.size()));
  return std::string(line);
}

}  // namespace

Result<std::string> ApplyEdit(std::string_view content, std::string_view search,
                              std::string_view replace) {
  if (search.empty()) {
    if (content.empty()) return std::string(replace);
    return Fail(ErrorCode::kInvalidArgument,
                "search text is empty; give the exact lines to replace (to add text at the top, "
                "search for the first line and repeat it in replace)");
  }
  if (search == replace) {
    return Fail(ErrorCode::kInvalidArgument, "search and replace are identical; nothing to change");
  }
  size_t first_newline = content.find('\n');
  bool crlf = first_newline != std::string_view::npos && first_newline > 0 &&
              content[first_newline - 1] == '\r';
  std::string search_text = crlf ? ToCrlf(search) : std::string(search);
  std::string replace_text = crlf ? ToCrlf(replace) : std::string(replace);

  std::vector<size_t> found;
  for (size_t pos = content.find(search_text); pos != std::string_view::npos;
       pos = content.find(search_text, pos + 1)) {
    found.push_back(pos);
  }
  if (found.size() == 1) {
    std::string out(content.substr(0, found[0]));
    out += replace_text;
    out += content.substr(found[0] + search_text.size());
    return out;
  }
  if (found.size() > 1) {
    std::vector<int> lines;
    for (size_t pos : found) lines.push_back(LineAt(content, pos));
    return Ambiguous(lines, "");
  }

  std::vector<Line> lines = SplitContent(content);
  std::vector<std::string> wanted = SplitText(search);
  std::string_view eol = crlf ? "\r\n" : "\n";
  size_t n = wanted.size();
  for (LineMatch mode : {LineMatch::kIgnoreTrailingSpace, LineMatch::kIgnoreIndentation}) {
    auto same = [mode](std::string_view a, std::string_view b) {
      return mode == LineMatch::kIgnoreTrailingSpace ? TrimRight(a) == TrimRight(b)
                                                     : Trim(a) == Trim(b);
    };
    std::vector<size_t> windows;
    for (size_t i = 0; n > 0 && i + n <= lines.size(); ++i) {
      bool all = true;
      for (size_t k = 0; k < n && all; ++k) all = same(lines[i + k].text, wanted[k]);
      if (all) windows.push_back(i);
    }
    if (windows.size() > 1) {
      std::vector<int> numbers;
      for (size_t i : windows) numbers.push_back(static_cast<int>(i + 1));
      return Ambiguous(numbers, mode == LineMatch::kIgnoreTrailingSpace
                                    ? " ignoring trailing whitespace"
                                    : " ignoring indentation");
    }
    if (windows.empty()) continue;

    size_t at = windows[0];
    std::vector<std::string> replacement = SplitText(replace);
    if (mode == LineMatch::kIgnoreIndentation) {
      // Each indentation the search used maps to the file's (this also turns spaces into
      // tabs); other replacement lines shift by the first line's difference.
      std::map<std::string_view, std::string_view> indents;
      for (size_t k = 0; k < n; ++k) {
        if (!Trim(wanted[k]).empty())
          indents.emplace(Indent(wanted[k]), Indent(lines[at + k].text));
      }
      size_t k = 0;
      while (k + 1 < n && Trim(wanted[k]).empty()) ++k;
      std::string_view from = Indent(wanted[k]);
      std::string_view to = Indent(lines[at + k].text);
      for (auto& line : replacement) {
        if (Trim(line).empty()) continue;
        auto it = indents.find(Indent(line));
        line = it != indents.end() ? std::string(it->second) + line.substr(it->first.size())
                                   : Reindent(line, from, to);
      }
    }
    bool ends_without_newline = at + n == lines.size() && lines.back().eol.empty();
    std::string out;
    for (size_t i = 0; i < at; ++i) {
      out += lines[i].text;
      out += lines[i].eol;
    }
    for (size_t j = 0; j < replacement.size(); ++j) {
      out += replacement[j];
      if (!(ends_without_newline && j + 1 == replacement.size())) out += eol;
    }
    for (size_t i = at + n; i < lines.size(); ++i) {
      out += lines[i].text;
      out += lines[i].eol;
    }
    return out;
  }
  return Fail(ErrorCode::kInvalidArgument, NotFound(lines, wanted));
}

Status ApplyEdits(Workspace& workspace, const std::vector<FileEdit>& edits) {
  struct Pending {
    std::string path;  // As the model named it, for messages and writing.
    std::string original;
    std::string updated;
  };
  std::map<std::string, Pending> files;  // By resolved path, so "a.py" and "./a.py" are one.
  std::vector<std::string> order;
  for (size_t i = 0; i < edits.size(); ++i) {
    const FileEdit& edit = edits[i];
    std::string context = edits.size() == 1
                              ? edit.path
                              : "edit " + std::to_string(i + 1) + " of " +
                                    std::to_string(edits.size()) + " (" + edit.path + ")";
    auto resolved = workspace.Resolve(edit.path, /*for_write=*/true);
    if (!resolved) return Fail(WithContext(resolved.error(), context));
    std::string key = resolved->string();
    auto it = files.find(key);
    if (it == files.end()) {
      auto text = workspace.ReadText(edit.path);
      if (!text) {
        Error error = text.error();
        if (error.code == ErrorCode::kNotFound)
          error.message += "; use write_file to create a file";
        return Fail(WithContext(std::move(error), context));
      }
      it = files.emplace(key, Pending{edit.path, *text, *text}).first;
      order.push_back(key);
    }
    auto next = ApplyEdit(it->second.updated, edit.search, edit.replace);
    if (!next) return Fail(WithContext(next.error(), context));
    it->second.updated = std::move(*next);
  }
  for (size_t i = 0; i < order.size(); ++i) {
    const Pending& file = files[order[i]];
    if (file.updated == file.original) continue;
    if (auto wrote = workspace.WriteText(file.path, file.updated); !wrote) {
      for (size_t j = 0; j < i; ++j) {
        const Pending& done = files[order[j]];
        (void)workspace.WriteText(done.path, done.original);
      }
      return Fail(WithContext(wrote.error(), "nothing was changed; writing " + file.path));
    }
  }
  return {};
}

}  // namespace drover::agent
