#include "tests/testing/testing.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace drover::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "drover-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  // Canonical so tests compare against resolved paths (e.g. /tmp behind a symlink).
  path_ = std::filesystem::canonical(made);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteTestFile(const std::filesystem::path& root, const std::string& rel,
                   const std::string& contents) {
  std::filesystem::path path = root / rel;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << contents;
  if (!out) ADD_FAILURE() << "writing " << path;
}

std::string ReadTestFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::optional<std::string> RenderGfm(const std::string& markdown) {
  if (std::system("command -v cmark-gfm >/dev/null 2>&1") != 0) return std::nullopt;
  TempDir dir;
  WriteTestFile(dir.path(), "in.md", markdown);
  return Sh("cmark-gfm --unsafe -e autolink -e table -e strikethrough -e tasklist '" +
            (dir / "in.md").string() + "'");
}

std::string HtmlOutsideCode(const std::string& html) {
  std::string out;
  size_t i = 0;
  while (i < html.size()) {
    size_t open = html.find("<code", i);
    if (open == std::string::npos) break;
    out += html.substr(i, open - i);
    out += ' ';  // A text node ends where the code starts.
    size_t close = html.find("</code>", open);
    if (close == std::string::npos) return out;  // Unbalanced: leave the rest out.
    i = close + 7;
  }
  out += html.substr(std::min(i, html.size()));
  return out;
}

// The text a forge would scan: `html` outside code and links (which it never looks into),
// each tag a space, entities decoded.
namespace {

std::string VisibleText(const std::string& html) {
  std::string outside = HtmlOutsideCode(html);
  for (size_t at = outside.find("<a "); at != std::string::npos; at = outside.find("<a ", at)) {
    size_t end = outside.find("</a>", at);
    outside.erase(at, end == std::string::npos ? std::string::npos : end + 4 - at);
  }
  std::string text;
  bool in_tag = false;
  for (char c : outside) {
    if (c == '<') in_tag = true;
    if (!in_tag) text += c;
    if (c == '>' && in_tag) {
      in_tag = false;
      text += ' ';
    }
  }
  for (auto [entity, plain] :
       {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at)) {
      text.replace(at, std::string_view(entity).size(), plain);
      at += std::string_view(plain).size();
    }
  }
  return text;
}

}  // namespace

// What GitHub and GitLab would act on in rendered text: a mention, an issue reference, a
// closing keyword before something it closes, an image, raw HTML.
std::string LiveForgeMarkup(const std::string& html) {
  static const std::regex kLive(
      "(^|[^A-Za-z0-9_])(@[A-Za-z0-9][A-Za-z0-9_.-]*|([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?#[0-9]+|"
      "GH-[0-9]+)|"
      "(^|[^A-Za-z])(close[sd]?|fix(e[sd])?|resolve[sd]?|implement(s|ed)?):?[ \t\n]+"
      "(#[0-9]|[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#|https?://|[A-Z][A-Z0-9_]+-[0-9])",
      std::regex::icase);
  std::string text = VisibleText(html);
  std::smatch match;
  if (std::regex_search(text, match, kLive)) return match.str();
  for (std::string_view tag : {"<img", "<!--", "<table", "<b>", "<script", "<iframe"}) {
    if (html.find(tag) != std::string::npos) return std::string(tag);
  }
  // A link always shows where it goes: only autolinks, whose text is their address.
  static const std::regex kLink("<a href=\"([^\"]*)\"[^>]*>([^<]*)</a>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kLink);
       it != std::sregex_iterator(); ++it) {
    std::string shown = (*it)[2].str();
    if (!shown.starts_with("http") && !shown.starts_with("www.") &&
        shown.find('@') == std::string::npos) {
      return it->str();
    }
  }
  return "";
}

std::string Sh(const std::string& command) {
  std::string full = "(" + command + ") 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for: " << command;
    return "";
  }
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "command failed: " << command << "\n" << out;
  }
  return out;
}

void InitGitRepo(const std::filesystem::path& dir) {
  Sh("cd '" + dir.string() +
     "' && git init -q -b main . && git add -A && "
     "git -c user.name=Test -c user.email=test@example.com commit -q -m initial");
}

}  // namespace drover::testing
