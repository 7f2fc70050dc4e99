// The sandbox's escape suite: each attack runs inside `drover __sandbox` and must fail, while
// a legitimate build in the same kind of sandbox works. Run alone with --gtest_filter='*Escape*'.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sandbox/isolated_runner.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
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
    std::filesystem::permissions(home_ / "toolchain/bin/tool", std::filesystem::perms::owner_all);
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

}  // namespace
}  // namespace drover::sandbox
