// The sandbox's escape suite: each attack runs inside `drover __sandbox` and must fail, while
// a legitimate build in the same kind of sandbox works. Run alone with --gtest_filter='*Escape*'.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sandbox/egress_proxy.h"
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
  EXPECT_NE(disk.output.find("grew by more than"), std::string::npos) << disk.output;
  uintmax_t used = 0;
  for (const auto& entry : std::filesystem::directory_iterator(workspace_)) {
    if (entry.is_regular_file()) used += entry.file_size();
  }
  EXPECT_LT(used, 1024u << 20) << "the watchdog let the workspace grow to " << used;
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
  // The process-count rlimit backs the cgroup pids limit.
  EXPECT_NE(result.output.find("\n" + std::to_string(policy_.max_processes) + "\n"),
            std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace drover::sandbox
