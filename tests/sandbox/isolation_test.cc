// The sandbox's escape suite: each attack runs inside `drover __sandbox` and must fail, while
// a legitimate build in the same kind of sandbox works. Run alone with --gtest_filter='*Escape*'.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sandbox/cgroup.h"
#include "sandbox/egress_proxy.h"
#include "sandbox/isolated_runner.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "sandbox/secrets.h"
#include "sandbox/toolchains.h"
#include "tests/testing/testing.h"

namespace drover::sandbox {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::TempDir;
using drover::testing::WriteTestFile;

class SandboxEscape : public ::testing::Test {
 protected:
  SandboxEscape() {
    std::filesystem::create_directories(workspace_);
    WriteTestFile(home_, ".ssh/id_rsa", "PLANTED-SECRET-KEY\n");
    WriteTestFile(home_, "toolchain/bin/tool", "#!/bin/sh\necho toolchain-ok\n");
    // World-readable, as installers leave toolchains: a root runner's sandbox owns nothing.
    std::filesystem::permissions(
        home_ / "toolchain/bin/tool",
        std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
            std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
            std::filesystem::perms::others_exec);
    WriteTestFile(outside_, "keep.txt", "original\n");
    policy_.workspace = workspace_;
    policy_.read_only_paths = {home_ / "toolchain"};
    policy_.read_only_subpaths = {".git"};
  }

  ProcessResult Sh(const std::string& script,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto runner = MakeIsolatedProcessRunner(policy_, DROVER_BINARY);
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.cwd = workspace_;
    spec.env = {{"PATH", "/usr/bin:/bin"}, {"OUT", outside_.string()}, {"HOMEDIR", home_.string()}};
    spec.timeout = timeout;
    auto result = runner->Run(spec);
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    return result ? *result : ProcessResult{};
  }

  TempDir root_;
  std::filesystem::path workspace_ = root_ / "ws";
  std::filesystem::path home_ = root_ / "home";
  std::filesystem::path outside_ = root_ / "outside";
  SandboxPolicy policy_;
};

TEST(SandboxPolicyJson, RoundTripsAndRejectsEscapingSubpaths) {
  SandboxPolicy policy;
  policy.workspace = "/w";
  policy.read_only_paths = {"/opt/tool"};
  policy.read_only_subpaths = {".git"};
  policy.sockets = {"/run/gw.sock"};
  policy.writable_paths = {"/attempt"};
  policy.proxy_socket = "/run/proxy.sock";
  policy.cgroups = {"/sys/fs/cgroup/unified/x"};
  policy.memory_bytes = 1 << 28;
  policy.cpu_seconds = 7;
  policy.address_space_bytes = 1 << 30;
  auto back = SandboxPolicyFromJson(ToJson(policy));
  ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back), ToJson(policy));
  auto json = ToJson(policy);
  json["read_only_subpaths"] = {"../x"};
  EXPECT_FALSE(SandboxPolicyFromJson(json).has_value());
  json = ToJson(policy);
  json["workspace"] = "relative";
  EXPECT_FALSE(SandboxPolicyFromJson(json).has_value());
}

// The suite must not pass vacuously: on this machine and in CI every layer is available.
TEST_F(SandboxEscape, EscapeProbeReportsFullIsolation) {
  auto probe = ProbeSandbox(DROVER_BINARY, workspace_);
  EXPECT_EQ(probe.level, "full") << probe.error;
  EXPECT_TRUE(probe.user_ns && probe.mount_ns && probe.pid_ns && probe.net_ns && probe.seccomp);
  EXPECT_GE(probe.landlock_abi, 1);
}

TEST_F(SandboxEscape, EscapeLegitimateBuildWorks) {
  WriteTestFile(workspace_, "hello.c",
                "#include <stdio.h>\nint main(void) { puts(\"built-and-ran\"); return 0; }\n");
  auto result = Sh(
      "cc -o hello hello.c && ./hello && python3 -c 'print(6 * 7)' && echo data > out.txt && "
      "mkdir -p sub && mv out.txt sub/ && \"$HOMEDIR/toolchain/bin/tool\" && echo tmp > /tmp/t && "
      "cat /tmp/t");
  EXPECT_TRUE(result.ok()) << result.Describe() << "\n" << result.output;
  EXPECT_NE(result.output.find("built-and-ran"), std::string::npos);
  EXPECT_NE(result.output.find("42"), std::string::npos);
  EXPECT_NE(result.output.find("toolchain-ok"), std::string::npos);
  EXPECT_EQ(ReadTestFile(workspace_ / "sub/out.txt"), "data\n");
}

TEST_F(SandboxEscape, EscapeWriteOutsideWorkspace) {
  WriteTestFile(workspace_, "mine.txt", "mine\n");
  auto result =
      Sh("echo x > \"$OUT/abs.txt\"; echo x > ../dotdot.txt; echo x > \"$OUT/keep.txt\"; "
         "ln -s \"$OUT\" link; echo x > link/via-symlink.txt; "
         "ln \"$OUT/keep.txt\" hard.txt && echo x >> hard.txt; "
         "mv mine.txt ../renamed.txt; mv mine.txt \"$OUT/renamed.txt\"; "
         "echo x > /usr/planted; echo x > /etc/planted; echo x > /planted; true");
  EXPECT_EQ(ReadTestFile(outside_ / "keep.txt"), "original\n");
  for (const char* name : {"abs.txt", "via-symlink.txt", "renamed.txt"}) {
    EXPECT_FALSE(std::filesystem::exists(outside_ / name)) << name;
  }
  EXPECT_FALSE(std::filesystem::exists(root_ / "dotdot.txt"));
  EXPECT_FALSE(std::filesystem::exists(root_ / "renamed.txt"));
  EXPECT_FALSE(std::filesystem::exists("/usr/planted"));
  EXPECT_FALSE(std::filesystem::exists("/etc/planted"));
}

TEST_F(SandboxEscape, EscapeReadPlantedHomeAndHostDirectories) {
  auto result = Sh(
      "cat \"$HOMEDIR/.ssh/id_rsa\"; ls -a \"$HOMEDIR\"; ls -d /root /home /run /var/run \"$OUT\"; "
      "echo done");
  EXPECT_EQ(result.output.find("PLANTED-SECRET-KEY"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("\n.ssh\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\ntoolchain\n"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("done"), std::string::npos);
  for (const char* hidden : {"/root", "/home", "/run", "/var/run"}) {
    EXPECT_NE(result.output.find(std::string("cannot access '") + hidden + "'"), std::string::npos)
        << hidden << "\n"
        << result.output;
  }
}

// What a sandbox shows of the host, one fact per line: a root runner's sandbox and an
// unprivileged runner's must print the same.
constexpr const char* kHostViewScript =
    "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); "
    "echo passwd=$(stat -c %u:%g /etc/passwd); "
    "echo shadow-bytes=$(cat /etc/shadow /etc/gshadow /etc/shadow- /etc/gshadow- 2>/dev/null | "
    "wc -c); "
    "echo ssl-private=$(ls -A /etc/ssl/private 2>/dev/null | wc -l); "
    "echo sudoers-bytes=$(cat /etc/sudoers 2>/dev/null | wc -c); "
    "test -r /root && echo root=readable || echo root=unreadable; "
    "echo mine=$(stat -c %u:%g mine.txt); "
    "echo more >> mine.txt && echo wrote=yes; "
    "echo made > made.txt && echo made=$(stat -c %u:%g made.txt)";

constexpr const char* kExpectedHostView =
    "uid=1000 gid=1000 groups=1000\n"
    "passwd=65534:65534\n"
    "shadow-bytes=0\n"
    "ssl-private=0\n"
    "sudoers-bytes=0\n"
    "root=unreadable\n"
    "mine=1000:1000\n"
    "wrote=yes\n"
    "made=1000:1000\n";

// With the runner as root, the sandbox's user must not be the owner of root's files: /etc is
// shown, but its secrets are neither readable nor there, and what the sandbox creates in the
// workspace belongs to the runner on the host, as the rest of the workspace does.
TEST_F(SandboxEscape, EscapeRootOwnedHostFilesAreNotTheSandboxs) {
  if (getuid() != 0) GTEST_SKIP() << "a root runner's sandbox needs root";
  WriteTestFile(workspace_, "mine.txt", "mine\n");
  auto result = Sh(kHostViewScript);
  EXPECT_TRUE(result.ok()) << result.Describe() << "\n" << result.output;
  EXPECT_EQ(result.output, kExpectedHostView);
  struct stat made {};
  ASSERT_EQ(stat((workspace_ / "made.txt").c_str(), &made), 0);
  EXPECT_EQ(made.st_uid, 0u);
  EXPECT_EQ(made.st_gid, 0u);
  EXPECT_EQ(ReadTestFile(workspace_ / "mine.txt"), "mine\nmore\n");
}

// The same probe through the helper started as an unprivileged user (its workspace its own)
// shows exactly what the root runner's sandbox shows.
TEST_F(SandboxEscape, EscapeRootAndUnprivilegedRunnersSeeTheSameHost) {
  if (getuid() != 0) GTEST_SKIP() << "starting the helper as another user needs root";
  constexpr int kUser = 60999;  // An id no account on a test machine has.
  WriteTestFile(workspace_, "mine.txt", "mine\n");
  auto as_root = Sh(kHostViewScript);
  EXPECT_EQ(as_root.output, kExpectedHostView);

  std::filesystem::path unprivileged = root_ / "unprivileged";
  WriteTestFile(unprivileged, "mine.txt", "mine\n");
  ASSERT_EQ(chown(unprivileged.c_str(), kUser, kUser), 0);
  ASSERT_EQ(chown((unprivileged / "mine.txt").c_str(), kUser, kUser), 0);
  std::filesystem::permissions(root_.path(), std::filesystem::perms::owner_all |
                                                 std::filesystem::perms::others_exec |
                                                 std::filesystem::perms::group_exec);
  SandboxPolicy policy;
  policy.workspace = unprivileged;
  policy.hidden_paths = HiddenPaths({});
  auto helper = std::filesystem::path(DROVER_BINARY).parent_path() / "drover-sandbox";
  std::vector<std::string> helper_argv = {helper.string()};
  if (access(helper.c_str(), X_OK) != 0) helper_argv = {DROVER_BINARY, "__sandbox"};
  ProcessSpec spec;
  spec.argv = {"setpriv", "--reuid=" + std::to_string(kUser), "--regid=" + std::to_string(kUser),
               "--clear-groups"};
  spec.argv.insert(spec.argv.end(), helper_argv.begin(), helper_argv.end());
  spec.argv.insert(spec.argv.end(),
                   {ToJson(policy).dump(), "--", "/bin/sh", "-c", kHostViewScript});
  spec.cwd = unprivileged;
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  auto as_user = MakeLocalProcessRunner()->Run(spec);
  ASSERT_OK(as_user);
  EXPECT_TRUE(as_user->ok()) << as_user->Describe() << "\n" << as_user->output;
  EXPECT_EQ(as_user->output, as_root.output);
  struct stat made {};
  ASSERT_EQ(stat((unprivileged / "made.txt").c_str(), &made), 0);
  EXPECT_EQ(made.st_uid, static_cast<uid_t>(kUser));
}

// A root runner's sandbox needs idmapped mounts for everything it writes; on a filesystem
// without them (ramfs here; NFS and some FUSE filesystems elsewhere) the probe and the helper
// refuse, saying why, rather than fall back to a sandbox that owns root's files.
TEST_F(SandboxEscape, EscapeFilesystemWithoutIdmappedMountsFailsClosed) {
  if (getuid() != 0) GTEST_SKIP() << "only a root runner's sandbox needs idmapped mounts";
  auto ramfs = root_ / "ramfs";
  std::filesystem::create_directories(ramfs);
  std::string drover = DROVER_BINARY;
  std::string script = "mount -t ramfs none '" + ramfs.string() + "' && TMPDIR='" + ramfs.string() +
                       "' '" + drover + "' sandbox --probe; echo probe=$?; '" + drover +
                       "' sandbox --writable '" + ramfs.string() + "' -- true; echo run=$?";
  ProcessSpec spec;
  spec.argv = {"unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script};
  spec.env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}};
  auto ran = MakeLocalProcessRunner()->Run(spec);
  ASSERT_OK(ran);
  EXPECT_NE(ran->output.find("level: none: "), std::string::npos) << ran->output;
  EXPECT_NE(ran->output.find("does not support idmapped mounts"), std::string::npos) << ran->output;
  EXPECT_NE(ran->output.find("probe=4"), std::string::npos) << ran->output;
  EXPECT_NE(ran->output.find("run=4"), std::string::npos) << ran->output;
}

// Credentials that tools keep inside their roots (cargo's credentials.toml, nvm's global
// npmrc) and inside a spec's read-only path are not readable, while the tools still run.
TEST_F(SandboxEscape, EscapeToolchainCredentialsAreHidden) {
  auto home = root_ / "home";
  auto tool = [&](const std::filesystem::path& path, const std::string& says) {
    WriteTestFile(home, path.string(), "#!/bin/sh\necho " + says + "\n");
    std::filesystem::permissions(home / path, std::filesystem::perms::owner_all |
                                                  std::filesystem::perms::others_read |
                                                  std::filesystem::perms::others_exec);
  };
  tool(".cargo/bin/cargo", "cargo-runs");
  WriteTestFile(home, ".cargo/credentials.toml", "[registry]\ntoken = \"PLANTED-CARGO-TOKEN\"\n");
  WriteTestFile(home, ".cargo/registry/cache/index/serde-1.0.0.crate", "crate\n");
  tool(".nvm/versions/node/v20.11.0/bin/node", "node-runs");
  WriteTestFile(home, ".nvm/versions/node/v20.11.0/etc/npmrc",
                "//registry.npmjs.org/:_authToken=PLANTED-NPM-TOKEN\n");
  WriteTestFile(root_.path(), "sdk/lib/tool.jar", "jar\n");
  WriteTestFile(root_.path(), "sdk/.netrc", "machine example.com password PLANTED-NETRC\n");
  WriteTestFile(root_.path(), "sdk/conf/.pypirc", "[pypi]\npassword = PLANTED-PYPIRC\n");
  std::string path = (home / ".cargo/bin").string() + ":" +
                     (home / ".nvm/versions/node/v20.11.0/bin").string() + ":/usr/bin:/bin";
  auto toolchains = FindToolchains({{"HOME", home.string()}, {"PATH", path}});
  policy_.read_only_paths = toolchains.read_only_paths;
  policy_.read_only_paths.push_back(root_ / "sdk");
  auto runner = MakeIsolatedProcessRunner(policy_, DROVER_BINARY);
  ProcessSpec spec;
  spec.argv = {
      "/bin/sh", "-c",
      "cargo; node; cat \"$HOME/.cargo/credentials.toml\"; "
      "cat \"$HOME/.nvm/versions/node/v20.11.0/etc/npmrc\"; "
      "cat \"$SDK/.netrc\" \"$SDK/conf/.pypirc\"; ls \"$HOME/.cargo/registry/cache/index\"; "
      "ls \"$SDK/lib\"; echo done"};
  spec.cwd = workspace_;
  spec.env = {{"PATH", path}, {"HOME", home.string()}, {"SDK", (root_ / "sdk").string()}};
  auto ran = runner->Run(spec);
  ASSERT_OK(ran);
  const std::string& out = ran->output;
  EXPECT_NE(out.find("cargo-runs"), std::string::npos) << out;
  EXPECT_NE(out.find("node-runs"), std::string::npos) << out;
  EXPECT_NE(out.find("serde-1.0.0.crate"), std::string::npos) << out;
  EXPECT_NE(out.find("tool.jar"), std::string::npos) << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  for (const char* planted :
       {"PLANTED-CARGO-TOKEN", "PLANTED-NPM-TOKEN", "PLANTED-NETRC", "PLANTED-PYPIRC"}) {
    EXPECT_EQ(out.find(planted), std::string::npos) << planted << "\n" << out;
  }
}

TEST_F(SandboxEscape, EscapeProcShowsOnlyTheSandbox) {
  // pid 1 is the sandboxed command itself; the runner's processes are not in /proc.
  auto result = Sh("tr '\\0' ' ' < /proc/1/cmdline; echo; ls /proc | grep -c '^[0-9]'");
  EXPECT_TRUE(result.ok()) << result.output;
  EXPECT_NE(result.output.find("/bin/sh -c"), std::string::npos) << result.output;
  auto count_at = result.output.rfind('\n', result.output.size() - 2);
  int processes = std::stoi(result.output.substr(count_at + 1));
  EXPECT_LE(processes, 4) << result.output;
  EXPECT_EQ(Sh("cat /proc/" + std::to_string(getpid()) + "/environ").output.find("PATH="),
            std::string::npos);
}

TEST_F(SandboxEscape, EscapeEnvironmentHasOnlyWhatWasPassed) {
  auto result = Sh("env");
  EXPECT_TRUE(result.ok()) << result.output;
  for (const auto& [name, value] : CurrentEnvironment()) {
    if (name == "PATH" || name == "PWD" || name == "SHLVL" || name == "_") continue;
    EXPECT_EQ(result.output.find(name + "="), std::string::npos) << name;
  }
}

TEST_F(SandboxEscape, EscapeTcpToHostLoopback) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  int port = ntohs(address.sin_port);
  auto result = Sh("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", " +
                   std::to_string(port) + "), timeout=3); print(\"CONNECTED\")'");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.output.find("CONNECTED"), std::string::npos) << result.output;
  EXPECT_LT(accept(listener, nullptr, nullptr), 0);
  close(listener);
}

// Only the listed socket (the gateway's) is reachable; another host socket is not visible.
TEST_F(SandboxEscape, EscapeOnlyListedUnixSocketIsReachable) {
  auto listen_at = [](const std::filesystem::path& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(fd, 4), 0);
    return fd;
  };
  std::filesystem::create_directories(home_ / "run");
  int gateway = listen_at(home_ / "run/gateway.sock");
  int other = listen_at(home_ / "run/other.sock");
  policy_.sockets = {home_ / "run/gateway.sock"};
  auto connect_to = [](const std::filesystem::path& path) {
    return "python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"" +
           path.string() + "\"); print(\"CONNECTED\")'";
  };
  auto reached = Sh(connect_to(home_ / "run/gateway.sock"));
  EXPECT_TRUE(reached.ok()) << reached.output;
  EXPECT_GE(accept(gateway, nullptr, nullptr), 0);
  auto refused = Sh(connect_to(home_ / "run/other.sock"));
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.output.find("CONNECTED"), std::string::npos) << refused.output;
  EXPECT_LT(accept(other, nullptr, nullptr), 0);
  close(gateway);
  close(other);
}

TEST_F(SandboxEscape, EscapeWriteReadOnlyGit) {
  WriteTestFile(workspace_, ".git/config", "[core]\n");
  auto result =
      Sh("echo '[core] fsmonitor = evil' >> .git/config; mkdir -p .git/hooks; "
         "echo evil > .git/hooks/pre-commit; rm .git/config; mv .git gone; echo ok > other.txt");
  EXPECT_EQ(ReadTestFile(workspace_ / ".git/config"), "[core]\n");
  EXPECT_FALSE(std::filesystem::exists(workspace_ / ".git/hooks"));
  EXPECT_FALSE(std::filesystem::exists(workspace_ / "gone"));
  EXPECT_EQ(ReadTestFile(workspace_ / "other.txt"), "ok\n");
}

TEST_F(SandboxEscape, EscapeMountUnshareAndPtrace) {
  WriteTestFile(workspace_, "attack.c", R"(#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  int ok = 0;
  if (unshare(CLONE_NEWUSER) == 0) { puts("unshare user succeeded"); ok = 1; }
  if (unshare(CLONE_NEWNS) == 0) { puts("unshare mount succeeded"); ok = 1; }
  if (mount("none", "/tmp", "tmpfs", 0, 0) == 0) { puts("mount succeeded"); ok = 1; }
  if (mount(0, "/", 0, MS_REMOUNT | MS_BIND, 0) == 0) { puts("remount succeeded"); ok = 1; }
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0) { puts("ptrace succeeded"); ok = 1; }
  char c = 'x';
    // On a pipe TIOCSTI fails anyway: EPERM shows the seccomp rule (high bits masked) caught it.
  if (syscall(SYS_ioctl, 0, 0x100000000UL | TIOCSTI, &c) == 0 || errno != EPERM) {
    puts("tiocsti succeeded");
    ok = 1;
  }
  if (syscall(SYS_io_uring_setup, 1, 0) >= 0) { puts("io_uring succeeded"); ok = 1; }
  return ok;
}
)");
  auto result =
      Sh("cc -o attack attack.c && ./attack && unshare -U true 2>/dev/null && echo NESTED");
  EXPECT_TRUE(result.output.find("succeeded") == std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("NESTED"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(workspace_ / "attack")) << result.output;
}

TEST_F(SandboxEscape, EscapeCapabilitiesAreEmpty) {
  auto result = Sh("grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; id -u");
  EXPECT_TRUE(result.ok()) << result.output;
  EXPECT_NE(result.output.find("CapEff:\t0000000000000000"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("CapBnd:\t0000000000000000"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("\n0\n"), std::string::npos) << result.output;
}

TEST_F(SandboxEscape, EscapeChildOutlivingTheTimeoutIsGone) {
  auto result = Sh("setsid sh -c 'while true; do date +%s%N > beat; sleep 0.05; done' & sleep 1000",
                   std::chrono::milliseconds(1500));
  EXPECT_TRUE(result.timed_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string before = ReadTestFile(workspace_ / "beat");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ReadTestFile(workspace_ / "beat"), before);
}

TEST_F(SandboxEscape, EscapeSignalOrTraceAProcessOutside) {
  pid_t outside = fork();
  ASSERT_GE(outside, 0);
  if (outside == 0) {
    execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  WriteTestFile(workspace_, "trace.c", R"(#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
int main(int argc, char** argv) {
  long pid = strtol(argv[1], 0, 10);
  if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) puts("attach succeeded");
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) puts("seize succeeded");
  return 0;
}
)");
  std::string pid = std::to_string(outside);
  auto result = Sh("cc -o trace trace.c && ./trace " + pid + "; kill -TERM " + pid +
                   " && echo SIGNALLED; kill -KILL " + pid + " && echo KILLED; kill -KILL -1; true");
  EXPECT_EQ(result.output.find("succeeded"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("SIGNALLED"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("KILLED"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(workspace_ / "trace")) << result.output;
  int status = 0;
  EXPECT_EQ(waitpid(outside, &status, WNOHANG), 0) << "the outside process was signalled";
  kill(outside, SIGKILL);
  waitpid(outside, &status, 0);
}

TEST_F(SandboxEscape, EscapeSetuidBinaryGainsNothing) {
  WriteTestFile(root_.path(), "euid.c", R"(#include <stdio.h>
#include <unistd.h>
int main(void) { printf("euid=%d uid=%d\n", (int)geteuid(), (int)getuid()); return 0; }
)");
  drover::testing::Sh("cc -o " + (workspace_ / "euid").string() + " " +
                      (root_ / "euid.c").string());
  // Owned by another user (nobody) when we may chown, by us otherwise; setuid either way.
  (void)chown((workspace_ / "euid").c_str(), 65534, 65534);
  ASSERT_EQ(chmod((workspace_ / "euid").c_str(), 04755), 0);
  auto result = Sh("./euid; grep NoNewPrivs /proc/self/status");
  EXPECT_TRUE(result.ok()) << result.output;
  EXPECT_NE(result.output.find("euid=1000 uid=1000"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("NoNewPrivs:\t1"), std::string::npos) << result.output;
}

TEST_F(SandboxEscape, EscapeFillDiskIsBounded) {
  policy_.disk_bytes = 32 << 20;
  policy_.tmp_bytes = 16 << 20;
  auto tmp = Sh("head -c 67108864 /dev/zero > /tmp/big; ls -l /tmp/big | awk '{print \"TMP=\" $5}'");
  auto size_at = tmp.output.find("TMP=");
  ASSERT_NE(size_at, std::string::npos) << tmp.output;
  EXPECT_LE(std::stoll(tmp.output.substr(size_at + 4)), 16 << 20) << tmp.output;
  EXPECT_NE(tmp.output.find("No space left"), std::string::npos) << tmp.output;

  auto disk = Sh("i=0; while [ $i -lt 2000 ]; do head -c 1048576 /dev/zero > f$i; i=$((i+1)); done",
                 std::chrono::seconds(60));
  EXPECT_FALSE(disk.ok());
  EXPECT_FALSE(disk.timed_out) << disk.output;
  EXPECT_EQ(disk.Describe(), "stopped at the disk limit (32 MiB)") << disk.output;
  EXPECT_NE(disk.output.find("stopped at the disk limit (32 MiB)"), std::string::npos)
      << disk.output;
  uintmax_t used = 0;
  for (const auto& entry : std::filesystem::directory_iterator(workspace_)) {
    if (entry.is_regular_file()) used += entry.file_size();
  }
  EXPECT_LT(used, 1024u << 20) << "the watchdog let the workspace grow to " << used;
}

// The attempt directory (a writable path) lives on the host's disk like the workspace: it
// counts against the same limit.
TEST_F(SandboxEscape, EscapeFillWritablePathIsBounded) {
  std::filesystem::create_directories(root_ / "attempt");
  policy_.writable_paths = {root_ / "attempt"};
  policy_.disk_bytes = 32 << 20;
  auto disk = Sh("i=0; while [ $i -lt 256 ]; do head -c 1048576 /dev/zero > \"" +
                     (root_ / "attempt").string() + "/f$i\"; i=$((i+1)); done; echo WROTE-ALL",
                 std::chrono::seconds(60));
  EXPECT_FALSE(disk.ok());
  EXPECT_EQ(disk.Describe(), "stopped at the disk limit (32 MiB)") << disk.output;
  EXPECT_EQ(disk.output.find("WROTE-ALL"), std::string::npos) << disk.output;
  uintmax_t used = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root_ / "attempt")) {
    if (entry.is_regular_file()) used += entry.file_size();
  }
  EXPECT_LT(used, 128u << 20) << "the watchdog let the attempt directory grow to " << used;
}

// Only the helper can say that the disk limit stopped a command: printing its words is not it.
TEST_F(SandboxEscape, EscapeDiskLimitCannotBeFaked) {
  policy_.disk_bytes = 32 << 20;
  auto faked =
      Sh("echo 'drover sandbox: stopped at the disk limit (32 MiB): the workspace and the writable "
         "paths grew by 40 MiB'; echo disk_limit; exit 3");
  EXPECT_EQ(faked.disk_limit_bytes, 0u);
  EXPECT_EQ(faked.Describe(), "exit 3");
}

TEST_F(SandboxEscape, EscapeWritablePathsAreTheOnlyOthers) {
  std::filesystem::create_directories(root_ / "attempt");
  std::filesystem::create_directories(root_ / "other");
  policy_.writable_paths = {root_ / "attempt"};
  auto result = Sh("echo r > \"" + (root_ / "attempt/result.json").string() + "\"; echo x > \"" +
                   (root_ / "other/x").string() + "\"; true");
  EXPECT_EQ(ReadTestFile(root_ / "attempt/result.json"), "r\n");
  EXPECT_FALSE(std::filesystem::exists(root_ / "other/x"));
}

// The only way out is the proxy: an allowed name is reached through it, a name not on the
// list and an IP literal are refused, and the upstream is not reachable directly.
TEST_F(SandboxEscape, EscapeEgressOnlyThroughTheProxy) {
  int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(upstream, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(upstream, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(upstream, 8), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(upstream, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string port = std::to_string(ntohs(address.sin_port));
  std::thread server([upstream] {
    int client = accept(upstream, nullptr, nullptr);
    if (client < 0) return;
    const char reply[] = "HELLO-FROM-UPSTREAM\n";
    (void)!write(client, reply, sizeof(reply) - 1);
    close(client);
  });
  EgressProxyOptions options;
  options.socket_path = root_ / "egress.sock";
  options.allowed_hosts = {"localhost"};
  options.allow_private_addresses = true;  // The test's upstream lives on 127.0.0.1.
  auto proxy = EgressProxy::Start(options);
  ASSERT_OK(proxy);
  policy_.proxy_socket = options.socket_path;
  WriteTestFile(workspace_, "fetch.py", R"(import os, socket, sys
proxy = os.environ["HTTPS_PROXY"].rsplit(":", 1)
def connect(target):
    s = socket.create_connection(("127.0.0.1", int(proxy[1])), timeout=5)
    s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").replace("\r\n", " | ")
port = sys.argv[1]
print("ALLOWED:", connect("localhost:" + port))
print("UNLISTED:", connect("example.com:443"))
print("LITERAL:", connect("127.0.0.1:" + port))
try:
    socket.create_connection(("127.0.0.1", int(port)), timeout=3)
    print("DIRECT: CONNECTED")
except OSError as e:
    print("DIRECT: refused", e)
)");
  auto result = Sh("python3 fetch.py " + port);
  shutdown(upstream, SHUT_RDWR);
  close(upstream);
  server.join();
  EXPECT_TRUE(result.ok()) << result.output;
  EXPECT_NE(result.output.find("ALLOWED: HTTP/1.1 200"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("HELLO-FROM-UPSTREAM"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("UNLISTED: HTTP/1.1 403"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("LITERAL: HTTP/1.1 403"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("DIRECT: refused"), std::string::npos) << result.output;
  EXPECT_EQ((*proxy)->allowed_count(), 1);
  EXPECT_EQ((*proxy)->refused_count(), 2);
}

TEST_F(SandboxEscape, EscapeNoOutsideAddressResolvesOrAnswers) {
  WriteTestFile(workspace_, "reach.py", R"(import socket
for host in ("example.com", "localhost.localdomain."):
    try:
        print("RESOLVED", host, socket.getaddrinfo(host, 80))
    except OSError as e:
        print("unresolved", host)
for address in (("1.1.1.1", 53), ("8.8.8.8", 443), ("169.254.169.254", 80)):
    try:
        socket.create_connection(address, timeout=2)
        print("REACHED", address)
    except OSError as e:
        print("unreachable", address, e.errno)
)");
  auto result = Sh(
      "python3 reach.py; python3 -c 'import resource; "
      "print(resource.getrlimit(resource.RLIMIT_NPROC)[0])'");
  EXPECT_TRUE(result.ok()) << result.output;
  EXPECT_EQ(result.output.find("RESOLVED example.com"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("REACHED"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("unreachable ('169.254.169.254', 80)"), std::string::npos)
      << result.output;
  // The process-count rlimit backs the cgroup pids limit (a little above it, when there is
  // one, so that the cgroup's refusal is the one reported).
  uint64_t nproc = policy_.max_processes + (DetectCgroups().available ? 64 : 0);
  EXPECT_NE(result.output.find("\n" + std::to_string(nproc) + "\n"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace drover::sandbox
