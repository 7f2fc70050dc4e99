#include "agent/workspace.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <regex>
#include <system_error>
#include <utility>

namespace drover::agent {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxReadBytes = 16 << 20;
constexpr size_t kMaxSearchFileBytes = 1 << 20;
constexpr size_t kBinaryProbeBytes = 8192;
// std::regex recurses per character; very long lines (minified files) could exhaust the stack.
constexpr size_t kMaxSearchLineBytes = 2000;
constexpr size_t kMaxHitTextBytes = 200;
constexpr size_t kMaxSearchFiles = 20000;

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string Quote(std::string_view path) {
  return "'" + std::string(path) + "'";
}

std::string ErrnoText(int err) {
  return std::strerror(err);
}

Error Denied(std::string message) {
  return Error{ErrorCode::kPermissionDenied, std::move(message), std::nullopt};
}

Error FromErrno(int err, std::string_view shown, std::string_view doing) {
  switch (err) {
    case ENOENT: return Error{ErrorCode::kNotFound, "no such file: " + Quote(shown), std::nullopt};
    case EXDEV:
    case ELOOP:
      return Denied(Quote(shown) + " goes through a symlink that leads outside the workspace");
    case EISDIR:
      return Error{ErrorCode::kInvalidArgument, Quote(shown) + " is a directory", std::nullopt};
    case ENOTDIR:
      return Error{ErrorCode::kInvalidArgument,
                   "a parent of " + Quote(shown) + " is a file, not a directory", std::nullopt};
    case EACCES:
    case EPERM: return Denied(std::string(doing) + " " + Quote(shown) + ": " + ErrnoText(err));
    default:
      return Error{ErrorCode::kIo, std::string(doing) + " " + Quote(shown) + ": " + ErrnoText(err),
                   std::nullopt};
  }
}

bool Within(const fs::path& path, const fs::path& root) {
  auto [root_end, path_it] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

// Opens `rel` beneath `dir_fd` so that neither `..` nor any symlink (even one swapped in
// concurrently) can leave it. -1 with errno set on failure; ENOSYS when the kernel lacks it.
int OpenBeneath(int dir_fd, const std::string& rel, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir_fd, rel.c_str(), &how, sizeof(how)));
}

Result<std::string> ReadBeneath(const fs::path& root, const std::string& rel, size_t max_bytes) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.ok()) return Fail(FromErrno(errno, root.string(), "opening workspace"));
  int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: never hang on a FIFO.
  UniqueFd fd(OpenBeneath(root_fd.get(), rel, flags));
  if (!fd.ok() && errno == ENOSYS) {
    // Older kernels: the confinement checks already ran; a concurrent symlink swap between
    // them and this open is the remaining window.
    std::error_code ec;
    fs::path real = fs::canonical(root / rel, ec);
    if (ec) return Fail(FromErrno(ec.value(), rel, "reading"));
    if (!Within(real, root)) return Fail(FromErrno(EXDEV, rel, "reading"));
    fd = UniqueFd(::open(real.c_str(), flags | O_CLOEXEC));
  }
  if (!fd.ok()) return Fail(FromErrno(errno, rel, "reading"));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail(FromErrno(errno, rel, "reading"));
  if (S_ISDIR(st.st_mode)) return Fail(FromErrno(EISDIR, rel, "reading"));
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument, Quote(rel) + " is not a regular file");
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    return Fail(ErrorCode::kInvalidArgument, Quote(rel) + " is too large (" +
                                                 std::to_string(st.st_size) + " bytes, limit " +
                                                 std::to_string(max_bytes) + ")");
  }
  std::string content;
  content.resize(static_cast<size_t>(st.st_size));
  size_t have = 0;
  while (true) {
    if (have == content.size()) content.resize(have + 4096);  // The file may have grown.
    ssize_t n = ::read(fd.get(), content.data() + have, content.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(FromErrno(errno, rel, "reading"));
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
    if (have > max_bytes) {
      return Fail(ErrorCode::kInvalidArgument, Quote(rel) + " is too large");
    }
  }
  content.resize(have);
  return content;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kIo, ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

std::vector<std::string> SplitPath(std::string_view rel) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    if (slash > start) parts.emplace_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// One `[...]` class at the start of `glob`; returns its length (0 if not a valid class).
size_t MatchClass(std::string_view glob, char c, bool& matched) {
  size_t i = 1;
  bool negate = i < glob.size() && (glob[i] == '!' || glob[i] == '^');
  if (negate) ++i;
  bool any = false;
  bool first = true;
  while (i < glob.size() && (glob[i] != ']' || first)) {
    first = false;
    char lo = glob[i];
    char hi = lo;
    if (i + 2 < glob.size() && glob[i + 1] == '-' && glob[i + 2] != ']') {
      hi = glob[i + 2];
      i += 2;
    }
    if (lo <= c && c <= hi) any = true;
    ++i;
  }
  if (i >= glob.size()) return 0;
  matched = any != negate;
  return i + 1;
}

bool IsDirectory(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(path, ec));
}

}  // namespace

bool MatchGlob(std::string_view glob, std::string_view path) {
  while (!glob.empty()) {
    if (glob.starts_with("**")) {
      std::string_view rest = glob.substr(2);
      if (rest.starts_with('/')) {
        rest.remove_prefix(1);
        if (MatchGlob(rest, path)) return true;
        for (size_t i = 0; i < path.size(); ++i) {
          if (path[i] == '/' && MatchGlob(rest, path.substr(i + 1))) return true;
        }
        return false;
      }
      for (size_t i = 0; i <= path.size(); ++i) {
        if (MatchGlob(rest, path.substr(i))) return true;
      }
      return false;
    }
    char g = glob[0];
    if (g == '*') {
      std::string_view rest = glob.substr(1);
      for (size_t i = 0; i <= path.size(); ++i) {
        if (MatchGlob(rest, path.substr(i))) return true;
        if (i < path.size() && path[i] == '/') break;
      }
      return false;
    }
    if (path.empty()) return false;
    if (g == '?') {
      if (path[0] == '/') return false;
      glob.remove_prefix(1);
    } else if (g == '[') {
      bool matched = false;
      size_t length = MatchClass(glob, path[0], matched);
      if (length == 0) {
        if (path[0] != '[') return false;  // Unterminated: a literal '['.
        glob.remove_prefix(1);
      } else {
        if (!matched || path[0] == '/') return false;
        glob.remove_prefix(length);
      }
    } else {
      if (g == '\\' && glob.size() > 1) glob.remove_prefix(1);
      if (glob[0] != path[0]) return false;
      glob.remove_prefix(1);
    }
    path.remove_prefix(1);
  }
  return path.empty();
}

void IgnoreRules::Add(std::string_view gitignore_text, std::string_view base) {
  size_t start = 0;
  while (start < gitignore_text.size()) {
    size_t end = gitignore_text.find('\n', start);
    if (end == std::string_view::npos) end = gitignore_text.size();
    std::string_view line = gitignore_text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    rule.base = std::string(base);
    if (line[0] == '!') {
      rule.negated = true;
      line.remove_prefix(1);
    } else if (line.starts_with("\\!") || line.starts_with("\\#")) {
      line.remove_prefix(1);
    }
    while (line.ends_with('/')) {
      rule.dir_only = true;
      line.remove_suffix(1);
    }
    if (line.starts_with('/')) {
      rule.anchored = true;
      line.remove_prefix(1);
    } else if (line.find('/') != std::string_view::npos) {
      rule.anchored = true;
    }
    if (line.empty()) continue;
    rule.glob = std::string(line);
    rules_.push_back(std::move(rule));
  }
}

bool IgnoreRules::Ignored(std::string_view path, bool is_dir) const {
  bool ignored = false;
  for (const Rule& rule : rules_) {
    if (rule.dir_only && !is_dir) continue;
    std::string_view rel = path;
    if (!rule.base.empty()) {
      if (!rel.starts_with(rule.base) || rel.size() <= rule.base.size() ||
          rel[rule.base.size()] != '/') {
        continue;
      }
      rel.remove_prefix(rule.base.size() + 1);
    }
    bool match = rule.anchored ? MatchGlob(rule.glob, rel) : MatchGlob(rule.glob, BaseName(rel));
    if (match) ignored = !rule.negated;
  }
  return ignored;
}

Workspace::Workspace(const fs::path& root) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  root_ok_ = !ec && fs::is_directory(root_, ec);
  if (!root_ok_) root_ = fs::absolute(root, ec).lexically_normal();
}

Result<std::string> Workspace::Confine(std::string_view relative, bool for_write) const {
  if (!root_ok_) {
    return Fail(ErrorCode::kNotFound, "workspace " + root_.string() + " is not a directory");
  }
  if (relative.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "path contains a NUL byte");
  }
  fs::path given{std::string(relative)};
  if (given.is_absolute()) {
    fs::path normal = given.lexically_normal();
    if (!Within(normal, root_)) {
      return Fail(Denied("absolute path " + Quote(relative) +
                         " is outside the workspace; use a path relative to the workspace root"));
    }
    given = normal.lexically_relative(root_);
  }
  std::vector<std::string> parts;
  for (const auto& component : given) {
    std::string part = component.string();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return Fail(Denied("path " + Quote(relative) +
                           " leads outside the workspace; paths must stay inside it"));
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  for (const auto& part : parts) {
    if (part == ".git") {
      return Fail(Denied("path " + Quote(relative) + " is inside .git, which tools may not touch"));
    }
  }
  std::string rel;
  for (const auto& part : parts) rel += (rel.empty() ? "" : "/") + part;

  // Walk the existing prefix: each symlink on the way must stay inside and out of .git.
  fs::path current = root_;
  std::string walked;
  for (const auto& part : parts) {
    current /= part;
    walked += (walked.empty() ? "" : "/") + part;
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) break;
      return Fail(FromErrno(errno, rel, "checking"));
    }
    if (!S_ISLNK(st.st_mode)) continue;
    std::error_code ec;
    fs::path target = fs::weakly_canonical(current, ec);
    if (ec || !Within(target, root_)) {
      return Fail(Denied("path " + Quote(relative) + " goes through symlink " + Quote(walked) +
                         ", which leads outside the workspace"));
    }
    fs::path target_rel = target.lexically_relative(root_);
    for (const auto& component : target_rel) {
      if (component == ".git") {
        return Fail(Denied("path " + Quote(relative) + " goes through symlink " + Quote(walked) +
                           ", which leads into .git"));
      }
    }
    if (for_write) {
      return Fail(Denied("refusing to write through symlink " + Quote(walked) + " (it points to " +
                         Quote(target_rel.string()) + "; use that path)"));
    }
    current = target;
  }
  return rel;
}

Result<fs::path> Workspace::Resolve(std::string_view relative, bool for_write) const {
  auto rel = Confine(relative, for_write);
  if (!rel) return Fail(rel.error());
  if (rel->empty()) {
    if (for_write) return Fail(ErrorCode::kInvalidArgument, "a file path is required");
    return root_;
  }
  return root_ / *rel;
}

Result<std::string> Workspace::ReadText(std::string_view relative) const {
  auto rel = Confine(relative, false);
  if (!rel) return Fail(rel.error());
  if (rel->empty()) return Fail(ErrorCode::kInvalidArgument, "the workspace root is a directory");
  return ReadBeneath(root_, *rel, kMaxReadBytes);
}

bool Workspace::IsFile(std::string_view relative) const {
  auto resolved = Resolve(relative, false);
  if (!resolved) return false;
  std::error_code ec;
  return fs::is_regular_file(*resolved, ec);
}

Status Workspace::WriteText(std::string_view relative, std::string_view content) {
  auto rel = Confine(relative, true);
  if (!rel) return Fail(rel.error());
  if (rel->empty()) return Fail(ErrorCode::kInvalidArgument, "a file path is required");
  std::vector<std::string> parts = SplitPath(*rel);
  std::string name = parts.back();
  parts.pop_back();

  // Descend one component at a time with O_NOFOLLOW, so no symlink is ever followed.
  UniqueFd dir(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) return Fail(FromErrno(errno, root_.string(), "opening workspace"));
  for (const auto& part : parts) {
    int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd next(::openat(dir.get(), part.c_str(), flags));
    if (!next.ok() && errno == ENOENT) {
      if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return Fail(FromErrno(errno, *rel, "creating a directory for"));
      }
      next = UniqueFd(::openat(dir.get(), part.c_str(), flags));
    }
    if (!next.ok()) {
      struct stat st {};
      if (::fstatat(dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return Fail(Denied("refusing to write " + Quote(*rel) + " through a symlink"));
      }
      return Fail(FromErrno(errno, *rel, "writing"));
    }
    dir = std::move(next);
  }

  mode_t mode = 0644;
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Fail(Denied("refusing to write through symlink " + Quote(*rel)));
    }
    if (S_ISDIR(st.st_mode)) return Fail(FromErrno(EISDIR, *rel, "writing"));
    if (!S_ISREG(st.st_mode)) {
      return Fail(ErrorCode::kInvalidArgument, Quote(*rel) + " is not a regular file");
    }
    mode = st.st_mode & 07777;
  } else if (errno != ENOENT) {
    return Fail(FromErrno(errno, *rel, "writing"));
  }

  static std::atomic<unsigned> counter{0};
  std::string temp = ".drover-write-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1)) + ".tmp";
  UniqueFd out(::openat(dir.get(), temp.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.ok()) return Fail(FromErrno(errno, *rel, "writing"));
  Status wrote = WriteAll(out.get(), content);
  if (wrote && ::fchmod(out.get(), mode) != 0) wrote = Fail(ErrorCode::kIo, ErrnoText(errno));
  if (wrote && ::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
    wrote = Fail(ErrorCode::kIo, ErrnoText(errno));
  }
  if (!wrote) {
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return Fail(ErrorCode::kIo, "writing " + Quote(*rel) + ": " + wrote.error().message);
  }
  return {};
}

Result<Listing> Workspace::List(std::string_view dir, std::string_view glob,
                                size_t max_entries) const {
  auto rel = Confine(dir, false);
  if (!rel) return Fail(rel.error());
  Listing listing;
  fs::path start = rel->empty() ? root_ : root_ / *rel;
  std::error_code ec;
  auto start_status = fs::status(start, ec);
  if (ec || !fs::exists(start_status)) {
    return Fail(ErrorCode::kNotFound, "no such file or directory: " + Quote(dir));
  }
  auto matches = [&](const std::string& path) {
    if (glob.empty()) return true;
    if (glob.find('/') == std::string_view::npos) return MatchGlob(glob, BaseName(path));
    if (MatchGlob(glob, path)) return true;
    return !rel->empty() && path.size() > rel->size() &&
           MatchGlob(glob, std::string_view(path).substr(rel->size() + 1));
  };
  if (!fs::is_directory(start_status)) {
    if (matches(*rel)) listing.paths.push_back(*rel);
    return listing;
  }

  IgnoreRules rules;
  auto add_rules = [&](const std::string& folder) {
    auto text = ReadBeneath(root_, folder.empty() ? ".gitignore" : folder + "/.gitignore",
                            kMaxSearchFileBytes);
    if (text) rules.Add(*text, folder);
  };
  // Rules of the folders above the starting one apply too.
  std::string prefix;
  add_rules(prefix);
  for (const auto& part : SplitPath(*rel)) {
    prefix += (prefix.empty() ? "" : "/") + part;
    add_rules(prefix);
  }

  // Depth-first in name order, so the listing is stable and truncation is predictable.
  std::vector<std::string> pending{*rel};
  while (!pending.empty()) {
    std::string folder = std::move(pending.back());
    pending.pop_back();
    if (folder != *rel) add_rules(folder);
    std::vector<std::pair<std::string, bool>> entries;  // (relative path, is directory)
    fs::directory_iterator it(folder.empty() ? root_ : root_ / folder, ec);
    if (ec) continue;
    for (const auto& entry : it) {
      std::string name = entry.path().filename().string();
      if (name == ".git") continue;
      std::string path = folder.empty() ? name : folder + "/" + name;
      bool is_dir = IsDirectory(entry.path());
      if (rules.Ignored(path, is_dir)) continue;
      entries.emplace_back(std::move(path), is_dir);
    }
    std::sort(entries.begin(), entries.end());
    // Files of this folder first, then its subfolders (pushed in reverse for name order).
    for (const auto& [path, is_dir] : entries) {
      if (is_dir || !matches(path)) continue;
      if (listing.paths.size() >= max_entries) {
        listing.truncated = true;
        return listing;
      }
      listing.paths.push_back(path);
    }
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
      if (e->second) pending.push_back(e->first);
    }
  }
  return listing;
}

Result<SearchResults> Workspace::Search(std::string_view pattern, std::string_view dir,
                                        std::string_view glob, size_t max_hits) const {
  std::regex regex;
  try {
    regex = std::regex(pattern.begin(), pattern.end(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Fail(ErrorCode::kInvalidArgument,
                "invalid regex " + Quote(pattern) + ": " + std::string(e.what()));
  }
  auto files = List(dir, glob, kMaxSearchFiles);
  if (!files) return Fail(files.error());
  SearchResults results;
  for (const auto& path : files->paths) {
    auto content = ReadBeneath(root_, path, kMaxSearchFileBytes);
    if (!content) {
      ++results.skipped_files;
      continue;
    }
    std::string_view text = *content;
    if (text.substr(0, kBinaryProbeBytes).find('\0') != std::string_view::npos) {
      ++results.skipped_files;
      continue;
    }
    int number = 0;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(start, end - start);
      start = end + 1;
      ++number;
      if (line.ends_with('\r')) line.remove_suffix(1);
      std::string_view searched = line.substr(0, kMaxSearchLineBytes);
      bool found = false;
      try {
        found = std::regex_search(searched.begin(), searched.end(), regex);
      } catch (const std::regex_error& e) {
        return Fail(ErrorCode::kInvalidArgument,
                    "regex " + Quote(pattern) + " failed on " + path + ": " + e.what());
      }
      if (!found) continue;
      if (results.hits.size() >= max_hits) {
        results.truncated = true;
        return results;
      }
      std::string shown(line.substr(0, kMaxHitTextBytes));
      if (line.size() > kMaxHitTextBytes) shown += "...";
      results.hits.push_back(SearchHit{path, number, std::move(shown)});
    }
  }
  return results;
}

}  // namespace drover::agent
