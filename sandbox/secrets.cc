#include "sandbox/secrets.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <system_error>

namespace drover::sandbox {
namespace {

using Kind = HiddenPathRule::Kind;

constexpr std::string_view kNpmAuth = "_auth|_password|username|token|keyfile|certfile";

constexpr HiddenPathRule kRules[] = {
    // The host's own secrets, hidden whatever their mode (most are not world-readable, and
    // the scan of a configuration directory hides those anyway).
    {"shadow", "etc", Kind::kFile, "", "/etc/shadow", "root:$y$j9T$...:19000::::::\n"},
    {"shadow-", "etc", Kind::kFile, "", "/etc/shadow-", ""},
    {"gshadow", "etc", Kind::kFile, "", "/etc/gshadow", ""},
    {"gshadow-", "etc", Kind::kFile, "", "/etc/gshadow-", ""},
    {"ssh_host_*_key", "ssh", Kind::kFile, "", "/etc/ssh/ssh_host_ed25519_key", ""},
    {"private", "ssl", Kind::kDirectory, "", "/etc/ssl/private", ""},
    {"sudoers", "etc", Kind::kFile, "", "/etc/sudoers", ""},
    {"sudoers.d", "etc", Kind::kDirectory, "", "/etc/sudoers.d", ""},
    {"opasswd", "security", Kind::kFile, "", "/etc/security/opasswd", ""},
    // Credentials that tools keep in their homes, wherever a bound tree holds them.
    {"credentials", "", Kind::kFile, "", "~/.cargo/credentials", ""},  // cargo, aws, gem
    {"credentials.toml", "", Kind::kFile, "", "~/.cargo/credentials.toml", ""},
    {"config.toml", "", Kind::kFile, "token", "~/.cargo/config.toml",
     "[registries.internal]\ntoken = \"cio_abc\"\n"},
    {"config", ".cargo", Kind::kFile, "token", "~/.cargo/config", "[registry]\ntoken = \"x\"\n"},
    // npm's settings files also carry what npm needs to work (cafile, registry, prefix):
    // hidden when they hold any of npm's credential keys.
    {"npmrc", "", Kind::kFile, kNpmAuth, "~/.nvm/versions/node/v20.11.0/etc/npmrc",
     "//registry.npmjs.org/:_authToken=npm_abc\n"},
    {".npmrc", "", Kind::kFile, kNpmAuth, "~/.npmrc", "_auth=dXNlcjpwYXNz\n"},
    {".yarnrc.yml", "", Kind::kFile, "npmauthtoken|npmauthident|npmpassword", "~/.yarnrc.yml",
     "npmAuthToken: abc\n"},
    {".yarnrc", "", Kind::kFile, "_auth|password", "~/.yarnrc", "_authToken abc\n"},
    {".pypirc", "", Kind::kFile, "", "~/.pypirc", ""},
    {"pip.conf", "", Kind::kFile, "@|password|token", "~/.config/pip/pip.conf",
     "[global]\nindex-url = https://user:secret@pypi.example/simple\n"},
    {"pip.ini", "", Kind::kFile, "@|password|token", "~/pip/pip.ini", "password = x\n"},
    {".netrc", "", Kind::kFile, "", "~/.netrc", ""},
    {"_netrc", "", Kind::kFile, "", "~/_netrc", ""},
    {"hosts.yml", "gh", Kind::kFile, "", "~/.config/gh/hosts.yml", ""},
    {"hub", ".config", Kind::kFile, "", "~/.config/hub", ""},
    {".docker", "", Kind::kDirectory, "", "~/.docker", ""},
    {"config.json", ".docker", Kind::kFile, "", "~/.docker/config.json", ""},
    {".dockercfg", "", Kind::kFile, "", "~/.dockercfg", ""},
    {".git-credentials", "", Kind::kFile, "", "~/.git-credentials", ""},
    {"git-credentials", "", Kind::kFile, "", "~/.config/git/git-credentials", ""},
    {".aws", "", Kind::kDirectory, "", "~/.aws", ""},
    {".azure", "", Kind::kDirectory, "", "~/.azure", ""},
    {"credentials.db", "", Kind::kFile, "", "~/.config/gcloud/credentials.db", ""},
    {"access_tokens.db", "", Kind::kFile, "", "~/.config/gcloud/access_tokens.db", ""},
    {"application_default_credentials.json", "", Kind::kFile, "",
     "~/.config/gcloud/application_default_credentials.json", ""},
    {"legacy_credentials", "", Kind::kDirectory, "", "~/.config/gcloud/legacy_credentials", ""},
    {"settings.xml", ".m2", Kind::kFile, "", "~/.m2/settings.xml", ""},
    {"settings-security.xml", "", Kind::kFile, "", "~/.m2/settings-security.xml", ""},
    {"gradle.properties", "", Kind::kFile, "", "~/.gradle/gradle.properties", ""},
    {".pgpass", "", Kind::kFile, "", "~/.pgpass", ""},
    {".kube", "", Kind::kDirectory, "", "~/.kube", ""},
    {"kubeconfig", "", Kind::kFile, "", "/opt/cluster/kubeconfig", ""},
    {".ssh", "", Kind::kDirectory, "", "~/.ssh", ""},
    {"id_rsa", "", Kind::kFile, "", "/opt/deploy/id_rsa", ""},
    {"id_dsa", "", Kind::kFile, "", "/opt/deploy/id_dsa", ""},
    {"id_ecdsa", "", Kind::kFile, "", "/opt/deploy/id_ecdsa", ""},
    {"id_ecdsa_sk", "", Kind::kFile, "", "/opt/deploy/id_ecdsa_sk", ""},
    {"id_ed25519", "", Kind::kFile, "", "/opt/deploy/id_ed25519", ""},
    {"id_ed25519_sk", "", Kind::kFile, "", "/opt/deploy/id_ed25519_sk", ""},
    {".gnupg", "", Kind::kDirectory, "", "~/.gnupg", ""},
    {".password-store", "", Kind::kDirectory, "", "~/.password-store", ""},
    {".vault-token", "", Kind::kFile, "", "~/.vault-token", ""},
    {"credentials.tfrc.json", "", Kind::kFile, "", "~/.terraform.d/credentials.tfrc.json", ""},
    {".terraformrc", "", Kind::kFile, "token", "~/.terraformrc", "credentials \"x\" { token = 1 }"},
    {"auth.json", ".composer", Kind::kFile, "", "~/.composer/auth.json", ""},
    {"auth.json", "composer", Kind::kFile, "", "~/.config/composer/auth.json", ""},
    {"pub-credentials.json", "", Kind::kFile, "", "~/.config/dart/pub-credentials.json", ""},
    {".s3cfg", "", Kind::kFile, "", "~/.s3cfg", ""},
    {".boto", "", Kind::kFile, "", "~/.boto", ""},
    {"NuGet.Config", "", Kind::kFile, "password", "~/.nuget/NuGet/NuGet.Config",
     "<add key=\"ClearTextPassword\" value=\"x\" />"},
};

// Paths that hold no credential and must stay visible (file, with this content).
struct KeptExample {
  std::string_view path;
  std::string_view content;
  bool directory = false;
};
constexpr KeptExample kKept[] = {
    {"/repo/.git/config", "[core]\n"},
    {"~/.pyenv/versions/3.12.1/lib/python3.12/site-packages/google/auth/credentials.py", ""},
    {"~/.pyenv/versions/3.12.1/lib/python3.12/site-packages/botocore/credentials", "", true},
    {"~/.cargo/bin/cargo", ""},
    {"~/.cargo/config.toml", "[source.crates-io]\nreplace-with = \"vendored\"\n"},
    {"~/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.0/Cargo.toml", ""},
    {"~/.config/pip/pip.conf", "[global]\nindex-url = https://pypi.example/simple\n"},
    {"~/.yarnrc.yml", "nodeLinker: node-modules\n"},
    {"/usr/etc/npmrc", "cafile=/etc/ssl/certs/ca-certificates.crt\n"},
    {"~/.npmrc", "registry=https://npm.example/\n"},
    {"/etc/passwd", ""},
    {"/etc/ssh/ssh_host_ed25519_key.pub", ""},
    {"/etc/ssl/certs", "", true},
    {"~/.ssh/id_ed25519.pub", ""},
    {"~/.rustup/settings.toml", "default_toolchain = \"stable\"\n"},
};

// Where a rule's content markers are looked for.
constexpr size_t kContentPrefix = 64 * 1024;
// Directories deeper than this below a scanned root are hidden whole rather than scanned.
constexpr int kMaxScanDepth = 128;

constexpr std::string_view kHostConfigDirs[] = {"/etc", "/usr/etc", "/usr/local/etc"};

bool GlobMatches(std::string_view pattern, std::string_view name) {
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), FNM_PERIOD) == 0;
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool ContainsIgnoringCase(std::string_view text, std::string_view word) {
  if (word.empty()) return false;
  auto it = std::search(text.begin(), text.end(), word.begin(), word.end(),
                        [](char a, char b) { return Lower(a) == Lower(b); });
  return it != text.end();
}

// The first bytes of the regular file `name` in `dir_fd`; empty when it is not one.
std::string ReadPrefix(int dir_fd, const char* name) {
  int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    text.resize(kContentPrefix);
    ssize_t n = read(fd, text.data(), text.size());
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  close(fd);
  return text;
}

bool WorldReadable(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return (st.st_mode & (S_IROTH | S_IXOTH)) == (S_IROTH | S_IXOTH);
  return (st.st_mode & S_IROTH) != 0;
}

// One walk of a tree. Cheap per entry (a scan of a toolchain root meets some 10^5): no
// stat unless the type or the mode is needed, paths built only for what is hidden or entered.
class Scan {
 public:
  Scan(bool host_config, std::vector<std::filesystem::path>& hidden)
      : host_config_(host_config), hidden_(hidden) {}

  void Walk(const std::filesystem::path& root) {
    Push(AT_FDCWD, root.c_str(), root);
    while (!stack_.empty()) {
      Level& level = stack_.back();
      dirent* entry = readdir(level.dir);
      if (entry == nullptr) {
        closedir(level.dir);
        stack_.pop_back();
        continue;
      }
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      Visit(level, entry->d_name, entry->d_type);  // May invalidate `level`.
    }
  }

 private:
  struct Level {
    DIR* dir;
    std::filesystem::path path;
    std::string name;  // Of this directory: the `parent` of its entries.
  };

  void Push(int parent_fd, const char* name, const std::filesystem::path& path) {
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;  // Unreadable: so it is for the sandbox, which owns nothing here.
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      close(fd);
      return;
    }
    stack_.push_back({dir, path, path.filename().string()});
  }

  void Visit(Level& level, const char* name, unsigned char type) {
    int dir_fd = dirfd(level.dir);
    struct stat st {};
    if (type == DT_UNKNOWN || (host_config_ && (type == DT_REG || type == DT_DIR))) {
      if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;  // Gone.
      type = S_ISDIR(st.st_mode)   ? DT_DIR
             : S_ISLNK(st.st_mode) ? DT_LNK
             : S_ISREG(st.st_mode) ? DT_REG
                                   : DT_UNKNOWN;
      if (host_config_ && (type == DT_REG || type == DT_DIR) && !WorldReadable(st)) {
        hidden_.push_back(level.path / name);
        return;
      }
    }
    if (type == DT_LNK) {
      const HiddenPathRule* rule = MatchHiddenPath(level.name, name, false);
      if (rule == nullptr) rule = MatchHiddenPath(level.name, name, true);
      if (rule == nullptr) return;
      // A mount on the link would land on its target: hide the target, where it really is on
      // the host and where the link names it (the two differ when a bound tree was reached
      // through a link); the sandbox skips whichever it does not show.
      auto link = level.path / name;
      std::error_code ec;
      auto target = std::filesystem::canonical(link, ec);
      if (ec ||
          !(rule->markers.empty() || HidesContent(*rule, ReadPrefix(AT_FDCWD, target.c_str())))) {
        return;
      }
      hidden_.push_back(target);
      auto named = std::filesystem::read_symlink(link, ec);
      if (!ec) {
        auto lexical = (named.is_absolute() ? named : level.path / named).lexically_normal();
        if (lexical != target) hidden_.push_back(lexical);
      }
      return;
    }
    if (type != DT_DIR && type != DT_REG) return;
    bool directory = type == DT_DIR;
    if (const HiddenPathRule* rule = MatchHiddenPath(level.name, name, directory)) {
      if (rule->markers.empty() || HidesContent(*rule, ReadPrefix(dir_fd, name))) {
        hidden_.push_back(level.path / name);
        return;
      }
    }
    if (!directory) return;
    if (static_cast<int>(stack_.size()) >= kMaxScanDepth) {
      hidden_.push_back(level.path / name);
      return;
    }
    auto path = level.path / name;
    Push(dir_fd, name, path);
  }

  bool host_config_;
  std::vector<std::filesystem::path>& hidden_;
  std::vector<Level> stack_;
};

}  // namespace

std::span<const HiddenPathRule> HiddenPathRules() {
  return kRules;
}

std::span<const std::string_view> HostConfigDirs() {
  return kHostConfigDirs;
}

const HiddenPathRule* MatchHiddenPath(std::string_view parent, std::string_view name,
                                      bool directory) {
  for (const auto& rule : kRules) {
    if ((rule.kind == Kind::kDirectory) != directory) continue;
    if (!rule.parent.empty() && rule.parent != parent) continue;
    bool glob = rule.name.find('*') != std::string_view::npos;
    if (glob ? GlobMatches(rule.name, name) : rule.name == name) return &rule;
  }
  return nullptr;
}

bool HidesContent(const HiddenPathRule& rule, std::string_view content) {
  if (rule.markers.empty()) return true;
  std::string_view markers = rule.markers;
  while (!markers.empty()) {
    size_t bar = markers.find('|');
    if (ContainsIgnoringCase(content, markers.substr(0, bar))) return true;
    if (bar == std::string_view::npos) break;
    markers.remove_prefix(bar + 1);
  }
  return false;
}

bool IsHiddenPath(std::string_view path, bool directory, std::string_view content) {
  std::filesystem::path p(path);
  const HiddenPathRule* rule =
      MatchHiddenPath(p.parent_path().filename().string(), p.filename().string(), directory);
  return rule != nullptr && HidesContent(*rule, content);
}

Status CheckHiddenPathRules() {
  for (const auto& rule : kRules) {
    std::filesystem::path p(rule.example);
    bool directory = rule.kind == Kind::kDirectory;
    const HiddenPathRule* found =
        MatchHiddenPath(p.parent_path().filename().string(), p.filename().string(), directory);
    if (found != &rule || !HidesContent(rule, rule.example_content)) {
      return Fail(ErrorCode::kInternal, "hidden path rule '" + std::string(rule.name) +
                                            "' does not hide its example " +
                                            std::string(rule.example));
    }
  }
  for (const auto& kept : kKept) {
    if (IsHiddenPath(kept.path, kept.directory, kept.content)) {
      return Fail(ErrorCode::kInternal,
                  "hidden path rules hide " + std::string(kept.path) + ", which must stay visible");
    }
  }
  return {};
}

std::vector<std::filesystem::path> FindHiddenPaths(const std::filesystem::path& root,
                                                   bool host_config) {
  std::vector<std::filesystem::path> hidden;
  struct stat st;
  if (lstat(root.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return hidden;
  bool directory = S_ISDIR(st.st_mode);
  std::string parent = root.parent_path().filename().string();
  std::string name = root.filename().string();
  if ((host_config && !WorldReadable(st))) return {root};
  if (const HiddenPathRule* rule = MatchHiddenPath(parent, name, directory)) {
    if (rule->markers.empty() || HidesContent(*rule, ReadPrefix(AT_FDCWD, root.c_str()))) {
      return {root};
    }
  }
  if (!directory) return hidden;
  Scan(host_config, hidden).Walk(root);
  return hidden;
}

std::vector<std::filesystem::path> HiddenPaths(
    const std::vector<std::filesystem::path>& read_only_paths) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, bool>, std::vector<std::filesystem::path>> scanned;
  std::vector<std::pair<std::filesystem::path, bool>> roots;
  for (std::string_view dir : kHostConfigDirs) roots.emplace_back(dir, true);
  for (const auto& path : read_only_paths) roots.emplace_back(path.lexically_normal(), false);
  std::vector<std::filesystem::path> hidden;
  for (const auto& [root, host_config] : roots) {
    std::pair<std::string, bool> key{root.string(), host_config};
    std::vector<std::filesystem::path> found;
    bool known = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (auto it = scanned.find(key); it != scanned.end()) {
        found = it->second;
        known = true;
      }
    }
    if (!known) {
      // Scanned outside the lock: two threads may both scan a root once, never wait on it.
      found = FindHiddenPaths(root, host_config);
      std::lock_guard<std::mutex> lock(mutex);
      scanned.emplace(key, found);
    }
    hidden.insert(hidden.end(), found.begin(), found.end());
  }
  std::sort(hidden.begin(), hidden.end());
  hidden.erase(std::unique(hidden.begin(), hidden.end()), hidden.end());
  return hidden;
}

}  // namespace drover::sandbox
