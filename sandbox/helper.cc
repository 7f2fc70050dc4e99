#include "sandbox/helper.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/fs.h"
#include "sandbox/cgroup.h"
#include "sandbox/egress_proxy.h"

namespace drover::sandbox {
namespace {

// The sandboxed uid/gid: unprivileged inside, mapped to the caller's ids outside (to
// kSandboxHostId when the caller is root).
constexpr int kInsideId = 1000;

// How far above a cgroup's process limit the sandbox's RLIMIT_NPROC is set.
constexpr uint64_t kProcessBackstop = 64;

// Landlock's ruleset attribute grew over ABI versions; the kernel takes the size we pass.
struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
constexpr uint64_t kLandlockTruncate = 1ULL << 14;  // ABI 3.
constexpr uint64_t kLandlockIoctlDev = 1ULL << 15;  // ABI 5.
constexpr uint64_t kLandlockNetBind = 1ULL << 0;    // ABI 4.
constexpr uint64_t kLandlockNetConnect = 1ULL << 1;
constexpr uint64_t kLandlockScopeAbstractUnix = 1ULL << 0;  // ABI 6.
constexpr uint64_t kLandlockScopeSignal = 1ULL << 1;
constexpr int kLandlockRuleNetPort = 2;  // ABI 4.
struct LandlockNetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};

// Top-level directories of the host shown read-only in every sandbox.
constexpr const char* kSystemDirs[] = {"/usr", "/bin",   "/sbin",   "/lib",
                                       "/lib32", "/lib64", "/libx32", "/etc"};

// True when `path` is `dir` or lies below it (both absolute and lexically normal).
bool IsWithin(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto rel = path.lexically_normal().lexically_relative(dir.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

// A listed read-only path that a broader mount already shows needs (and allows) no bind.
bool AlreadyVisible(const std::filesystem::path& path, const SandboxPolicy& policy) {
  for (const char* dir : kSystemDirs) {
    if (IsWithin(path, dir)) return true;
  }
  return IsWithin(path, policy.workspace);
}

std::unexpected<Error> SysFail(const std::string& step) {
  return Fail(ErrorCode::kPermissionDenied, step + ": " + std::strerror(errno));
}

Status WriteProcFile(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return SysFail(std::string("open ") + path);
  ssize_t n = write(fd, text.data(), text.size());
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return SysFail(std::string("write ") + path);
  return {};
}

Status MakeDirs(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "mkdir " + dir.string() + ": " + ec.message());
  return {};
}

// Binds `source` (a path in the view being built) onto `target`, creating the mount point,
// then applies `attrs` to the whole subtree.
Status Bind(const std::filesystem::path& source, const std::filesystem::path& target,
            uint64_t attrs) {
  struct stat st;
  if (lstat(source.c_str(), &st) != 0) return SysFail("stat " + source.string());
  if (S_ISLNK(st.st_mode)) return Fail(ErrorCode::kPermissionDenied, "symlink: " + source.string());
  if (S_ISDIR(st.st_mode)) {
    if (auto made = MakeDirs(target); !made) return made;
  } else {
    if (auto made = MakeDirs(target.parent_path()); !made) return made;
    int fd = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return SysFail("create " + target.string());
    close(fd);
  }
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return SysFail("bind " + source.string());
  }
  mount_attr attr{};
  attr.attr_set = attrs;
  if (mount_setattr(AT_FDCWD, target.c_str(), AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    return SysFail("mount_setattr " + target.string());
  }
  return {};
}

std::filesystem::path Under(const std::filesystem::path& root, const std::filesystem::path& abs) {
  return root / abs.relative_path();
}

constexpr uint64_t kRo = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
constexpr uint64_t kRw = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

// A host tree shown in the sandbox at its own path: a detached copy (open_tree) with its mount
// attributes already set, attached under the new root with move_mount. Copies are made with
// the caller's own rights: as root before root is given up (so that /root/... sources work
// and writable ones get their idmapping), otherwise in the new namespaces.
struct Tree {
  std::filesystem::path path;
  int fd = -1;
  bool directory = false;
  bool counted = false;  // Writable host disk: counted against disk_bytes.
};

// Everything the helper shows of the host, opened before the new root is built.
struct HostView {
  std::vector<std::pair<std::string, std::filesystem::path>> links;  // /bin -> usr/bin, ...
  std::vector<Tree> system;  // kSystemDirs that are directories.
  std::vector<Tree> others;  // read-only paths, sockets, workspace, writable paths, in order.

  HostView() = default;
  HostView(const HostView&) = delete;
  HostView& operator=(const HostView&) = delete;
  HostView(HostView&&) = default;
  HostView& operator=(HostView&&) = default;
  ~HostView() { Close(); }
  void Close() {
    for (auto* list : {&system, &others}) {
      for (auto& tree : *list) {
        if (tree.fd >= 0) close(tree.fd);
        tree.fd = -1;
      }
    }
  }
};

// The idmapping namespace's only process: it holds the namespace until the helper has opened
// it, then exits. It shares the helper's memory (CLONE_VM: no page tables copied), so it does
// nothing but wait on the pipe.
int HoldNamespace(void* pipe_fds) {
  const int* fds = static_cast<const int*>(pipe_fds);
  close(fds[1]);  // Its own copy of the write end would keep the pipe open.
  char byte;
  (void)!read(fds[0], &byte, 1);
  return 0;
}

// A user namespace whose root is `host_id` (uid and gid), for idmapped mounts: what root owns
// on disk shows as host_id through them, and what host_id creates there is stored as root.
// Made by a short-lived child, as the helper must stay in the initial one.
Result<int> MakeIdmapNamespace(uint32_t host_id) {
  int hold[2];
  if (pipe2(hold, O_CLOEXEC) != 0) return SysFail("pipe");
  alignas(16) static char stack[16 * 1024];
  pid_t child =
      clone(HoldNamespace, stack + sizeof(stack), CLONE_NEWUSER | CLONE_VM | SIGCHLD, hold);
  if (child < 0) {
    close(hold[0]);
    close(hold[1]);
    return SysFail("clone idmap user namespace");
  }
  std::string proc = "/proc/" + std::to_string(child) + "/";
  std::string map = "0 " + std::to_string(host_id) + " 1";
  Result<int> result = Fail(ErrorCode::kPermissionDenied, "idmap user namespace: not made");
  Status mapped = WriteProcFile((proc + "uid_map").c_str(), map);
  if (mapped) mapped = WriteProcFile((proc + "gid_map").c_str(), map);
  if (!mapped) {
    result = Fail(mapped.error());
  } else {
    int fd = open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC);
    result = fd >= 0 ? Result<int>(fd) : SysFail("open idmap user namespace");
  }
  close(hold[1]);
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  close(hold[0]);
  return result;
}

// A detached copy of the tree at `source` with `attrs`, and an idmapping through `userns_fd`
// when it is not -1. Refuses a symlink.
Result<Tree> OpenTree(const std::filesystem::path& source, uint64_t attrs, int userns_fd) {
  struct stat st;
  if (lstat(source.c_str(), &st) != 0) return SysFail("stat " + source.string());
  if (S_ISLNK(st.st_mode)) return Fail(ErrorCode::kPermissionDenied, "symlink: " + source.string());
  Tree tree{source, -1, S_ISDIR(st.st_mode)};
  tree.fd = open_tree(AT_FDCWD, source.c_str(),
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
  if (tree.fd < 0) return SysFail("open_tree " + source.string());
  mount_attr attr{};
  attr.attr_set = attrs;
  // A copy of a shared mount joins its peer group: what the sandbox mounts on it (the hidden
  // paths) would show on the host.
  attr.propagation = MS_PRIVATE;
  if (userns_fd >= 0) {
    attr.attr_set |= MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns_fd);
  }
  if (mount_setattr(tree.fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    int error = errno;
    close(tree.fd);
    errno = error;
    if (userns_fd >= 0 && (error == EINVAL || error == EOPNOTSUPP || error == EPERM)) {
      std::string what = error == EPERM ? "may not be mounted idmapped here"
                                        : "does not support idmapped mounts";
      return Fail(ErrorCode::kPermissionDenied,
                  "the filesystem holding " + source.string() + " " + what + " (" +
                      std::strerror(error) +
                      "), which a sandbox started as root needs for every writable path; put "
                      "the state directory and the temporary directory on ext4, xfs, btrfs or "
                      "tmpfs, or run drover as an unprivileged user");
    }
    return SysFail("mount_setattr " + source.string());
  }
  return tree;
}

// Opens every tree the policy shows. `userns_fd`: the idmapping for writable trees (root
// callers), or -1.
Result<HostView> OpenHostView(const SandboxPolicy& policy, int userns_fd) {
  HostView view;
  for (const char* dir : kSystemDirs) {
    struct stat st;
    if (lstat(dir, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(dir, ec);
      if (ec) return Fail(ErrorCode::kIo, "readlink " + std::string(dir) + ": " + ec.message());
      view.links.emplace_back(dir, target);
      continue;
    }
    // Host files show as nobody's here, as for an unprivileged caller: no idmapping.
    auto tree = OpenTree(dir, kRo, -1);
    if (!tree) return Fail(tree.error());
    view.system.push_back(*tree);
  }
  auto add = [&](const std::filesystem::path& path, uint64_t attrs, bool idmapped,
                 bool counted) -> Status {
    auto tree = OpenTree(path, attrs, idmapped ? userns_fd : -1);
    if (!tree) return Fail(tree.error());
    tree->counted = counted && tree->directory;
    view.others.push_back(*tree);
    return {};
  };
  for (const auto& path : policy.read_only_paths) {
    if (AlreadyVisible(path, policy)) continue;
    if (auto added = add(path, kRo, false, false); !added) return Fail(added.error());
  }
  auto sockets = policy.sockets;
  if (!policy.proxy_socket.empty()) sockets.push_back(policy.proxy_socket);
  // connect() needs write permission on the socket's inode, which root owns.
  for (const auto& path : sockets) {
    if (auto added = add(path, kRw, true, false); !added) return Fail(added.error());
  }
  if (auto added = add(policy.workspace, kRw, true, true); !added) return Fail(added.error());
  for (const auto& path : policy.writable_paths) {
    if (auto added = add(path, kRw, true, true); !added) return Fail(added.error());
  }
  return view;
}

Status Attach(const Tree& tree, const std::filesystem::path& root) {
  auto target = Under(root, tree.path);
  if (tree.directory) {
    if (auto made = MakeDirs(target); !made) return made;
  } else {
    if (auto made = MakeDirs(target.parent_path()); !made) return made;
    int fd = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return SysFail("create " + target.string());
    close(fd);
  }
  if (move_mount(tree.fd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return SysFail("move_mount " + tree.path.string());
  }
  return {};
}

// Lays an empty read-only file or directory over each listed path that exists in the new
// root (links are left alone: a mount would land on whatever they point to).
Status HidePaths(const SandboxPolicy& policy, const std::filesystem::path& root) {
  bool made = false;
  for (const auto& path : policy.hidden_paths) {
    auto target = Under(root, path);
    struct stat st;
    if (lstat(target.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
    if (!made) {
      // On the scratch root, which the finished sandbox never sees; read-only, so that each
      // bind of them is read-only too (a bind takes its source mount's flags).
      if (mkdir("/hidden", 0755) != 0) return SysFail("mkdir hidden");
      if (mount("tmpfs", "/hidden", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") != 0) {
        return SysFail("mount hidden");
      }
      int fd = open("/hidden/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
      if (fd < 0 || mkdir("/hidden/dir", 0555) != 0) return SysFail("create hidden");
      close(fd);
      mount_attr attr{};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (mount_setattr(AT_FDCWD, "/hidden", 0, &attr, sizeof(attr)) != 0) {
        return SysFail("read-only hidden");
      }
      made = true;
    }
    const char* empty = S_ISDIR(st.st_mode) ? "/hidden/dir" : "/hidden/file";
    if (mount(empty, target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return SysFail("hide " + path.string());
    }
  }
  return {};
}

Status BuildRoot(const SandboxPolicy& policy, HostView& view) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return SysFail("make / private");
  // A scratch tmpfs over /tmp becomes the root for a moment, so the host's /dev stays
  // reachable under /oldroot while the new view is built.
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    return SysFail("mount scratch tmpfs");
  }
  if (chdir("/tmp") != 0) return SysFail("chdir scratch");
  if (mkdir("oldroot", 0755) != 0 || mkdir("newroot", 0755) != 0) return SysFail("mkdir scratch");
  if (syscall(SYS_pivot_root, ".", "oldroot") != 0) return SysFail("pivot_root scratch");
  if (chdir("/") != 0) return SysFail("chdir /");
  if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
    return SysFail("mount root tmpfs");
  }
  const std::filesystem::path old_root = "/oldroot";
  const std::filesystem::path root = "/newroot";
  for (const auto& [dir, target] : view.links) {
    if (symlink(target.c_str(), Under(root, dir).c_str()) != 0) return SysFail("symlink " + dir);
  }
  for (const auto& tree : view.system) {
    if (auto attached = Attach(tree, root); !attached) return attached;
  }
  if (auto made = MakeDirs(root / "tmp"); !made) return made;
  std::string tmp_options = "mode=1777";
  if (policy.tmp_bytes > 0) tmp_options += ",size=" + std::to_string(policy.tmp_bytes);
  if (mount("tmpfs", (root / "tmp").c_str(), "tmpfs", MS_NOSUID | MS_NODEV, tmp_options.c_str()) !=
      0) {
    return SysFail("mount /tmp");
  }
  if (auto made = MakeDirs(root / "dev"); !made) return made;
  if (mount("tmpfs", (root / "dev").c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") != 0) {
    return SysFail("mount /dev");
  }
  for (const char* dev : {"null", "zero", "full", "random", "urandom"}) {
    if (auto bound =
            Bind(old_root / "dev" / dev, root / "dev" / dev, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        !bound) {
      return bound;
    }
  }
  (void)symlink("/proc/self/fd", (root / "dev/fd").c_str());
  (void)symlink("/proc/self/fd/0", (root / "dev/stdin").c_str());
  (void)symlink("/proc/self/fd/1", (root / "dev/stdout").c_str());
  (void)symlink("/proc/self/fd/2", (root / "dev/stderr").c_str());
  (void)mkdir((root / "dev/shm").c_str(), 01777);
  for (const auto& tree : view.others) {
    if (auto attached = Attach(tree, root); !attached) return attached;
  }
  view.Close();
  auto workspace = Under(root, policy.workspace);
  for (const auto& sub : policy.read_only_subpaths) {
    auto source = workspace / sub;
    struct stat st;
    if (lstat(source.c_str(), &st) != 0) continue;  // Absent: nothing to protect.
    if (auto bound = Bind(source, source, kRo); !bound) return bound;
  }
  if (auto hidden = HidePaths(policy, root); !hidden) return hidden;
  if (auto made = MakeDirs(root / "proc"); !made) return made;
  if (mount("proc", (root / "proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) !=
      0) {
    return SysFail("mount /proc");
  }
  if (chdir(root.c_str()) != 0) return SysFail("chdir new root");
  if (syscall(SYS_pivot_root, ".", ".") != 0) return SysFail("pivot_root");
  if (umount2(".", MNT_DETACH) != 0) return SysFail("detach old root");
  if (chdir("/") != 0) return SysFail("chdir /");
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof(attr)) != 0) return SysFail("read-only /");
  if (mount_setattr(AT_FDCWD, "/dev", 0, &attr, sizeof(attr)) != 0)
    return SysFail("read-only /dev");
  return {};
}

void LoopbackUp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &request) == 0) {
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    (void)ioctl(fd, SIOCSIFFLAGS, &request);
  }
  close(fd);
}

Status SetLimits(const SandboxPolicy& policy) {
  auto set = [](int resource, uint64_t value) -> Status {
    if (value == 0) return {};
    rlimit limit{value, value};
    if (setrlimit(resource, &limit) != 0) return SysFail("setrlimit");
    return {};
  };
  if (auto s = set(RLIMIT_CPU, policy.cpu_seconds); !s) return s;
  if (auto s = set(RLIMIT_FSIZE, policy.file_size_bytes); !s) return s;
  if (auto s = set(RLIMIT_NOFILE, policy.open_files); !s) return s;
  if (auto s = set(RLIMIT_AS, policy.address_space_bytes); !s) return s;
  // Counted per user namespace (kernel 5.14+), so this bounds the sandbox's own processes: the
  // fallback where no cgroup enforces max_processes. Above a cgroup's limit it is a backstop
  // only, so that the cgroup, whose refusals the runner reports, refuses first.
  uint64_t processes = policy.max_processes;
  if (processes != 0 && !policy.cgroups.empty()) processes += kProcessBackstop;
  if (auto s = set(RLIMIT_NPROC, processes); !s) return s;
  rlimit no_core{0, 0};
  (void)setrlimit(RLIMIT_CORE, &no_core);
  return {};
}

Status DropCapabilities() {
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return SysFail("drop bounding set");
  }
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0) return SysFail("capset");
  return {};
}

Status ApplyLandlock(const SandboxPolicy& policy) {
  int abi = LandlockAbi();
  if (abi <= 0) return {};  // Unavailable: the namespaces and seccomp still hold.
  constexpr uint64_t kRead =
      LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  uint64_t all = (1ULL << 13) - 1;
  if (abi >= 2) all |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) all |= kLandlockTruncate;
  if (abi >= 5) all |= kLandlockIoctlDev;
  LandlockRulesetAttr attr{all, 0, 0};
  size_t size = sizeof(uint64_t);
  if (abi >= 4) {
    size = 2 * sizeof(uint64_t);
    attr.handled_access_net = kLandlockNetBind | kLandlockNetConnect;
  }
  if (abi >= 6) {
    size = sizeof(attr);
    attr.scoped = kLandlockScopeAbstractUnix | kLandlockScopeSignal;
  }
  int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0));
  if (ruleset < 0) return SysFail("landlock_create_ruleset");
  auto allow = [&](const std::filesystem::path& path, uint64_t access) -> Status {
    int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) return SysFail("landlock open " + path.string());
    landlock_path_beneath_attr rule{access & all, fd};
    long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    close(fd);
    if (rc != 0) return SysFail("landlock_add_rule " + path.string());
    return {};
  };
  Status status = allow("/", kRead);
  if (status) status = allow(policy.workspace, all);
  for (const auto& path : policy.writable_paths) {
    if (status) status = allow(path, all);
  }
  if (status && abi >= 4 && !policy.proxy_socket.empty()) {
    // The relay to the egress proxy is the only TCP port the command may connect to.
    LandlockNetPortAttr port{kLandlockNetConnect, policy.proxy_port};
    if (syscall(SYS_landlock_add_rule, ruleset, kLandlockRuleNetPort, &port, 0) != 0) {
      status = SysFail("landlock_add_rule proxy port");
    }
  }
  if (status) status = allow("/tmp", all);
  if (status) {
    status = allow("/dev",
                   kRead | LANDLOCK_ACCESS_FS_WRITE_FILE | kLandlockTruncate | kLandlockIoctlDev);
  }
  // Listed sockets need no rule: connect() to a pathname socket is not a Landlock access.
  if (status && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    status = SysFail("landlock_restrict_self");
  }
  close(ruleset);
  return status;
}

Status ApplySeccomp() {
  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
  if (filter == nullptr) return Fail(ErrorCode::kPermissionDenied, "seccomp_init failed");
  int rc = 0;
  auto deny = [&](int syscall_number) {
    if (rc == 0) rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), syscall_number, 0);
  };
  for (int number : {SCMP_SYS(ptrace),
                     SCMP_SYS(mount),
                     SCMP_SYS(umount2),
                     SCMP_SYS(pivot_root),
                     SCMP_SYS(kexec_load),
                     SCMP_SYS(kexec_file_load),
                     SCMP_SYS(bpf),
                     SCMP_SYS(perf_event_open),
                     SCMP_SYS(keyctl),
                     SCMP_SYS(add_key),
                     SCMP_SYS(request_key),
                     SCMP_SYS(unshare),
                     SCMP_SYS(setns),
                     SCMP_SYS(io_uring_setup),
                     SCMP_SYS(io_uring_enter),
                     SCMP_SYS(io_uring_register),
                     SCMP_SYS(open_tree),
                     SCMP_SYS(move_mount),
                     SCMP_SYS(fsopen),
                     SCMP_SYS(fsmount),
                     SCMP_SYS(fspick),
                     SCMP_SYS(mount_setattr),
                     SCMP_SYS(process_vm_writev),
                     SCMP_SYS(userfaultfd)}) {
    deny(number);
  }
  // clone3 passes its flags in memory seccomp cannot read: make libc fall back to clone.
  if (rc == 0) rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  for (uint64_t flag : std::initializer_list<uint64_t>{CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID,
                                                       CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
                                                       CLONE_NEWCGROUP, CLONE_NEWTIME}) {
    if (rc == 0) {
      rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    }
  }
  // The ioctl number is an int: mask the high bits so TIOCSTI | (1 << 32) cannot slip by.
  for (uint64_t request : {static_cast<uint64_t>(TIOCSTI), static_cast<uint64_t>(TIOCLINUX)}) {
    if (rc == 0) {
      rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFULL, request));
    }
  }
  if (rc == 0) rc = seccomp_load(filter);
  seccomp_release(filter);
  if (rc != 0) {
    errno = -rc;
    return SysFail("seccomp");
  }
  return {};
}

// Runs in pid 1 of the new namespaces; returns only on failure.
Status SetUpAndExec(const SandboxPolicy& policy, HostView& view,
                    const std::vector<std::string>& argv, const std::string& cwd) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return SysFail("pdeathsig");
  if (auto built = BuildRoot(policy, view); !built) return built;
  (void)sethostname("drover-sandbox", 14);
  LoopbackUp();
  // The relay's port is bound before Landlock forbids binding, and served after the
  // capabilities are gone, by a child that is then no more privileged than the command.
  int relay_fd = -1;
  if (!policy.proxy_socket.empty()) {
    auto listening = ListenLoopback(policy.proxy_port);
    if (!listening) return Fail(listening.error());
    relay_fd = *listening;
  }
  if (chdir(cwd.c_str()) != 0 && chdir(policy.workspace.c_str()) != 0)
    return SysFail("chdir workspace");
  if (auto limited = SetLimits(policy); !limited) return limited;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return SysFail("no_new_privs");
  if (auto landlocked = ApplyLandlock(policy); !landlocked) return landlocked;
  if (auto dropped = DropCapabilities(); !dropped) return dropped;
  if (relay_fd >= 0) {
    pid_t relay = fork();
    if (relay < 0) return SysFail("fork relay");
    if (relay == 0) ServeRelay(relay_fd, policy.proxy_socket);
    close(relay_fd);
    std::string proxy = "http://127.0.0.1:" + std::to_string(policy.proxy_port);
    for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
      setenv(name, proxy.c_str(), 1);
    }
    setenv("NO_PROXY", "localhost,127.0.0.1,::1", 1);
    setenv("no_proxy", "localhost,127.0.0.1,::1", 1);
  }
  (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  if (auto filtered = ApplySeccomp(); !filtered) return filtered;
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  return Fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
              "exec " + argv[0] + ": " + std::strerror(errno));
}

// A writable host tree the disk limit counts: the copy opened before the helper gave up its
// rights (its own path may be out of reach now, e.g. under a 0700 /root), and its filesystem.
struct CountedTree {
  int fd;
  dev_t device;
};

// Bytes on disk of everything below the directory `root_fd` (all kinds of entries, links not
// followed, other filesystems not entered), walked through directory descriptors so that
// neither path length nor the parent's permissions get in the way; the helper's capabilities
// in the sandbox's user namespace let it read what the sandbox made unreadable. `complete`
// turns false when a directory could not be read.
uint64_t TreeBytes(int root_fd, dev_t device, bool& complete) {
  uint64_t total = 0;
  std::vector<DIR*> stack;
  auto push = [&](int parent_fd, const char* name) {
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR* dir = fd >= 0 ? fdopendir(fd) : nullptr;
    if (dir == nullptr) {
      if (fd >= 0) close(fd);
      if (errno != ENOENT) complete = false;  // Gone since it was listed is fine.
      return;
    }
    stack.push_back(dir);
  };
  push(root_fd, ".");
  while (!stack.empty()) {
    DIR* dir = stack.back();
    errno = 0;
    dirent* entry = readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) complete = false;
      closedir(dir);
      stack.pop_back();
      continue;
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_dev != device) continue;
    total += static_cast<uint64_t>(st.st_blocks) * 512;
    if (S_ISDIR(st.st_mode)) push(dirfd(dir), entry->d_name);
  }
  return total;
}

uint64_t TreesBytes(const std::vector<CountedTree>& trees, bool& complete) {
  uint64_t total = 0;
  for (const auto& tree : trees) total += TreeBytes(tree.fd, tree.device, complete);
  return total;
}

// Bytes in use on the filesystem holding `fd`: cheap enough to ask ten times a second.
uint64_t FilesystemUsed(int fd) {
  struct statvfs fs {};
  if (fstatvfs(fd, &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
}

// Waits for pid 1 of the sandbox. With a disk limit, watches the filesystems of the counted
// trees (the workspace and the writable paths) every 100 ms; once they have grown by more than
// the limit, counts the trees themselves (other jobs may share the filesystems) and kills the
// whole sandbox (pid 1 takes its namespace with it) when the trees are past the limit, or
// cannot all be read. Growth found to be someone else's is set aside, never the trees' own.
// A kill is recorded in `status_fd`.
Result<int> WaitWatchingDisk(pid_t child, const SandboxPolicy& policy,
                             const std::vector<CountedTree>& trees, int status_fd) {
  int status = 0;
  if (policy.disk_bytes == 0 || trees.empty()) {
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }
  // Deep trees take a descriptor per level.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
  }
  std::vector<std::pair<int, uint64_t>> filesystems;  // A tree's fd on it, bytes used at start.
  for (const auto& tree : trees) {
    bool seen = false;
    for (const auto& [fd, start] : filesystems) {
      struct stat st;
      seen = seen || (fstat(fd, &st) == 0 && st.st_dev == tree.device);
    }
    if (!seen) filesystems.emplace_back(tree.fd, FilesystemUsed(tree.fd));
  }
  bool complete = true;
  const uint64_t trees_start = TreesBytes(trees, complete);
  uint64_t others = 0;  // Growth of the filesystems found not to be the trees'.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  bool killed = false;
  while (true) {
    pollfd ready{pidfd, POLLIN, 0};
    if (pidfd < 0) {
      usleep(100 * 1000);
    } else if (poll(&ready, 1, 100) < 0 && errno != EINTR) {
      break;
    }
    if (waitpid(child, &status, WNOHANG) == child) break;
    if (killed) continue;
    uint64_t grown = 0;
    for (const auto& [fd, start] : filesystems) {
      uint64_t used = FilesystemUsed(fd);
      grown += used > start ? used - start : 0;
    }
    if (grown <= others || grown - others <= policy.disk_bytes) continue;
    complete = true;
    uint64_t used = TreesBytes(trees, complete);
    uint64_t ours = used > trees_start ? used - trees_start : 0;
    if (ours <= policy.disk_bytes && complete) {
      others = grown > ours ? grown - ours : 0;
      continue;
    }
    unsigned long long limit_mib = policy.disk_bytes >> 20;
    if (complete) {
      std::fprintf(stderr,
                   "drover sandbox: stopped at the disk limit (%llu MiB): the workspace and the "
                   "writable paths grew by %llu MiB\n",
                   limit_mib, static_cast<unsigned long long>(ours >> 20));
    } else {
      std::fprintf(stderr,
                   "drover sandbox: stopped at the disk limit (%llu MiB): the disk grew past it "
                   "and the workspace has directories that cannot be measured\n",
                   limit_mib);
    }
    kill(child, SIGKILL);
    killed = true;
    if (status_fd >= 0) (void)!write(status_fd, "disk_limit\n", 11);
  }
  if (pidfd >= 0) close(pidfd);
  return status;
}

// Gives up root for `id` (uid, gid, no supplementary groups), keeping the process able to
// map its next user namespace: the id change leaves it undumpable, and /proc/self then
// belongs to root.
Status DropToSandboxId(uint32_t id) {
  if (setgroups(0, nullptr) != 0) return SysFail("setgroups");
  if (setresgid(id, id, id) != 0) return SysFail("setresgid");
  if (setresuid(id, id, id) != 0) return SysFail("setresuid");
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return SysFail("dumpable");
  return {};
}

}  // namespace

int LandlockAbi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

Result<SandboxPolicy> LoadPolicyArgument(const std::string& argument) {
  std::string text;
  if (argument.starts_with("{")) {
    text = argument;
  } else if (!argument.empty() && argument.find_first_not_of("0123456789") == std::string::npos) {
    int fd = std::stoi(argument);
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(n));
    close(fd);
    if (n < 0)
      return Fail(ErrorCode::kIo, "reading policy fd: " + std::string(std::strerror(errno)));
  } else {
    auto read = ReadFile(argument);
    if (!read) return Fail(read.error());
    text = *read;
  }
  auto json = ParseJson(text, "sandbox policy");
  if (!json) return Fail(json.error());
  return SandboxPolicyFromJson(*json);
}

Result<int> RunSandboxed(const SandboxPolicy& policy, const std::vector<std::string>& argv) {
  if (argv.empty()) return Fail(ErrorCode::kInvalidArgument, "no command");
  // First, so that everything started from here on counts against the limits.
  if (auto joined = JoinCgroups(policy.cgroups); !joined) return Fail(joined.error());
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  int status_fd = -1;
  if (!policy.status_file.empty()) {
    status_fd = open(policy.status_file.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (status_fd < 0) return SysFail("open " + policy.status_file.string());
  }
  // Root outside must not be root inside (NOTES pitfall 3), nor the owner of root's files: as
  // root, the helper copies the trees it shows with its full rights, then becomes an id that
  // owns nothing and makes the namespaces exactly as an unprivileged caller would.
  const bool as_root = geteuid() == 0;
  uid_t uid = getuid();
  gid_t gid = getgid();
  HostView view;
  if (as_root) {
    auto userns = MakeIdmapNamespace(kSandboxHostId);
    if (!userns) return Fail(userns.error());
    auto opened = OpenHostView(policy, *userns);
    close(*userns);
    if (!opened) return Fail(opened.error());
    view = std::move(*opened);
    if (auto dropped = DropToSandboxId(kSandboxHostId); !dropped) return Fail(dropped.error());
    uid = gid = kSandboxHostId;
  }
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
              CLONE_NEWUTS) != 0) {
    return SysFail("unshare");
  }
  // The capabilities unshare gave us last only until DropCapabilities.
  if (auto s = WriteProcFile("/proc/self/setgroups", "deny"); !s) return Fail(s.error());
  if (auto s = WriteProcFile("/proc/self/uid_map",
                             std::to_string(kInsideId) + " " + std::to_string(uid) + " 1");
      !s) {
    return Fail(s.error());
  }
  if (auto s = WriteProcFile("/proc/self/gid_map",
                             std::to_string(kInsideId) + " " + std::to_string(gid) + " 1");
      !s) {
    return Fail(s.error());
  }
  if (as_root) {
    // Mapped: nothing else of this process needs to be open to other processes of the id.
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  } else {
    auto opened = OpenHostView(policy, -1);
    if (!opened) return Fail(opened.error());
    view = std::move(*opened);
  }
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) return SysFail("pipe");
  pid_t child = fork();
  if (child < 0) return SysFail("fork");
  if (child == 0) {
    close(error_pipe[0]);
    if (status_fd >= 0) close(status_fd);
    auto failed = SetUpAndExec(policy, view, argv, cwd);
    std::string message = failed ? std::string("unexpected return") : failed.error().message;
    (void)!write(error_pipe[1], message.data(), message.size());
    _exit(127);
  }
  close(error_pipe[1]);
  // The counted trees stay open for the watchdog; the rest are the child's now.
  std::vector<CountedTree> counted;
  for (auto& tree : view.others) {
    struct stat st;
    if (tree.counted && fstat(tree.fd, &st) == 0) {
      counted.push_back({tree.fd, st.st_dev});
      tree.fd = -1;
    }
  }
  view.Close();
  std::string message;
  char buffer[512];
  ssize_t n;
  while ((n = read(error_pipe[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    message.append(buffer, static_cast<size_t>(n));
  }
  close(error_pipe[0]);
  Result<int> result;
  if (!message.empty()) {
    int ignored = 0;
    while (waitpid(child, &ignored, 0) < 0 && errno == EINTR) {
    }
    result = Fail(ErrorCode::kPermissionDenied, "sandbox: " + message);
  } else {
    result = WaitWatchingDisk(child, policy, counted, status_fd);
  }
  for (const auto& tree : counted) close(tree.fd);
  if (status_fd >= 0) close(status_fd);
  return result;
}

}  // namespace drover::sandbox
