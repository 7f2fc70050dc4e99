#include "sandbox/process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/testing/testing.h"

namespace drover::sandbox {
namespace {

using drover::testing::TempDir;

ProcessSpec Shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.timeout = std::chrono::seconds(20);
  return spec;
}

TEST(ProcessRunner, CapturesOutputAndExitCode) {
  auto runner = MakeLocalProcessRunner();
  auto result = runner->Run(Shell("echo out; echo err >&2; exit 3"));
  ASSERT_OK(result);
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_FALSE(result->ok());
  EXPECT_NE(result->output.find("out\n"), std::string::npos);
  EXPECT_NE(result->output.find("err\n"), std::string::npos);
  EXPECT_EQ(result->Describe(), "exit 3");
}

TEST(ProcessRunner, ChildSeesOnlyTheGivenEnvironment) {
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("env");
  spec.env["ONLY_THIS"] = "yes";
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_NE(result->output.find("ONLY_THIS=yes"), std::string::npos);
  // HOME and everything else of the test process's environment are absent.
  EXPECT_EQ(result->output.find("HOME="), std::string::npos) << result->output;
}

TEST(ProcessRunner, BaseEnvironmentDropsCredentials) {
  auto env = BaseEnvironment({{"PATH", "/bin"},
                              {"OPENAI_API_KEY", "sk-secret-secret-secret"},
                              {"GITHUB_TOKEN", "x"},
                              {"LANG", "C.UTF-8"}});
  EXPECT_EQ(env.size(), 2u);
  EXPECT_EQ(env["PATH"], "/bin");
  EXPECT_FALSE(env.contains("OPENAI_API_KEY"));
}

TEST(ProcessRunner, InheritedDescriptorsAreClosed) {
  TempDir dir;
  drover::testing::WriteTestFile(dir.path(), "secret.txt", "top secret");
  // Opened without O_CLOEXEC, as a careless library would.
  int fd = ::open((dir.path() / "secret.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 3);
  auto runner = MakeLocalProcessRunner();
  auto result = runner->Run(Shell("cat /proc/self/fd/" + std::to_string(fd) + " 2>&1; true"));
  ::close(fd);
  ASSERT_OK(result);
  EXPECT_EQ(result->output.find("top secret"), std::string::npos) << result->output;
}

TEST(ProcessRunner, TimeoutKillsTheWholeGroup) {
  TempDir dir;
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("(sleep 3; touch survivor) & sleep 30");
  spec.cwd = dir.path();
  spec.timeout = std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_TRUE(result->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "survivor"));
}

// Time the command spent waiting for capacity moves its deadline: a command that outlives
// its timeout by less than the extension finishes, and one that outlives both is still killed.
TEST(ProcessRunner, TimeoutExtensionMovesTheDeadline) {
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("sleep 1; echo done");
  spec.timeout = std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  // Grows while the command runs, as a wait measured elsewhere does.
  spec.timeout_extension = [started] {
    auto elapsed = std::chrono::steady_clock::now() - started;
    return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
  };
  auto extended = runner->Run(spec);
  ASSERT_OK(extended);
  EXPECT_FALSE(extended->timed_out);
  EXPECT_EQ(extended->output, "done\n");

  ProcessSpec bounded = Shell("sleep 30");
  bounded.timeout = std::chrono::milliseconds(300);
  bounded.timeout_extension = [] { return std::chrono::milliseconds(500); };
  auto begun = std::chrono::steady_clock::now();
  auto killed = runner->Run(bounded);
  ASSERT_OK(killed);
  EXPECT_TRUE(killed->timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - begun, std::chrono::milliseconds(800));
  EXPECT_LT(std::chrono::steady_clock::now() - begun, std::chrono::seconds(5));
}

// The agent's commands run in their own process groups inside the agent's session; when the
// agent is killed, they must go too.
TEST(ProcessRunner, TimeoutKillsNestedGroupsOfTheSession) {
  TempDir dir;
  auto runner = MakeLocalProcessRunner();
  // A background job in a process group of its own, as a nested runner makes.
  ProcessSpec spec = Shell(
      "python3 -c 'import os, time; os.setpgid(0, 0); time.sleep(2); open(\"survivor\", \"w\")' & "
      "sleep 30");
  spec.cwd = dir.path();
  spec.timeout = std::chrono::milliseconds(300);
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_TRUE(result->timed_out);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "survivor"));
}

TEST(ProcessRunner, BackgroundChildDoesNotHoldTheRunOpen) {
  TempDir dir;
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("(sleep 2; touch survivor) & echo started");
  spec.cwd = dir.path();
  auto started = std::chrono::steady_clock::now();
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_TRUE(result->ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "survivor"));
}

TEST(ProcessRunner, KeepsHeadAndTailOfLongOutput) {
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("echo FIRST; seq 1 100000; echo LAST");
  spec.max_output_bytes = 1000;
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_LT(result->output.size(), 1200u);
  EXPECT_EQ(result->output.rfind("FIRST", 0), 0u);
  EXPECT_NE(result->output.find("LAST"), std::string::npos);
  EXPECT_NE(result->output.find("bytes of output omitted"), std::string::npos);
  EXPECT_GT(result->output_bytes, 500000u);
}

// The marker must not depend on how the pipe happened to chunk the output: the last read
// may leave the tail at exactly its limit.
TEST(ProcessRunner, OmissionIsMarkedWhateverTheChunking) {
  auto runner = MakeLocalProcessRunner();
  for (const char* script : {"head -c 200000 /dev/zero | tr '\\0' x", "seq 1 50000",
                             "head -c 200000 /dev/zero | tr '\\0' x; echo END"}) {
    ProcessSpec spec = Shell(script);
    spec.max_output_bytes = 1000;
    auto result = runner->Run(spec);
    ASSERT_OK(result);
    EXPECT_NE(result->output.find("bytes of output omitted"), std::string::npos) << script;
    EXPECT_LT(result->output.size(), 1100u) << script;
  }
}

// A flood of output leaves a log of the first and last parts with the count dropped between,
// and output within the limit is logged whole.
TEST(ProcessRunner, LogFileIsCappedHeadAndTail) {
  TempDir dir;
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("echo FIRST; head -c 50000000 /dev/zero | tr '\\0' x; echo; echo LAST");
  spec.log_file = dir.path() / "flood.log";
  spec.max_log_bytes = 64 * 1024;
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_EQ(result->output_bytes, 6u + 50000000u + 1u + 5u);
  std::string log = drover::testing::ReadTestFile(dir.path() / "flood.log");
  EXPECT_LT(log.size(), 64u * 1024 + 200);
  EXPECT_EQ(log.rfind("FIRST\n", 0), 0u);
  EXPECT_TRUE(log.ends_with("x\nLAST\n")) << log.substr(log.size() - 100);
  const size_t dropped = result->output_bytes - 64 * 1024;
  EXPECT_NE(log.find("[drover: " + std::to_string(dropped) + " bytes dropped here"),
            std::string::npos);

  ProcessSpec small = Shell("seq 1 1000");
  small.log_file = dir.path() / "small.log";
  small.max_log_bytes = 64 * 1024;
  auto ran = runner->Run(small);
  ASSERT_OK(ran);
  EXPECT_EQ(drover::testing::ReadTestFile(dir.path() / "small.log"), ran->output);
}

TEST(ProcessRunner, MissingProgramIsAnError) {
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec;
  spec.argv = {"no-such-program-anywhere"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  auto result = runner->Run(spec);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
}

TEST(ProcessRunner, FeedsStdinAndRunsInCwd) {
  TempDir dir;
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("cat > got.txt; pwd");
  spec.cwd = dir.path();
  spec.stdin_data = "hello";
  auto result = runner->Run(spec);
  ASSERT_OK(result);
  EXPECT_EQ(drover::testing::ReadTestFile(dir.path() / "got.txt"), "hello");
  EXPECT_NE(result->output.find(dir.path().string()), std::string::npos);
}

// As a shell reports them: the command fails, the run does not.
TEST(ProcessRunner, MissingWorkingDirectoryOrUnrunnableProgramIsAFailedCommand) {
  TempDir dir;
  auto runner = MakeLocalProcessRunner();
  ProcessSpec spec = Shell("true");
  spec.cwd = dir.path() / "gone";
  auto no_cwd = runner->Run(spec);
  ASSERT_OK(no_cwd);
  EXPECT_EQ(no_cwd->exit_code, 126);
  EXPECT_NE(no_cwd->output.find("cannot change to the working directory"), std::string::npos);

  drover::testing::WriteTestFile(dir.path(), "not-executable.sh", "echo hi\n");
  ProcessSpec plain;
  plain.argv = {(dir.path() / "not-executable.sh").string()};
  plain.log_file = dir.path() / "log.txt";
  auto refused = runner->Run(plain);
  ASSERT_OK(refused);
  EXPECT_EQ(refused->exit_code, 127);
  EXPECT_NE(refused->output.find("Permission denied"), std::string::npos) << refused->output;
  EXPECT_EQ(drover::testing::ReadTestFile(dir.path() / "log.txt"), refused->output);
}

TEST(ProcessRunner, SignalsTheRunnerIgnoresOrBlocksAreNotPassedOn) {
  // The runner ignores SIGPIPE and may block signals on its threads; its commands get neither.
  auto previous = ::signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigset_t old;
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  auto runner = MakeLocalProcessRunner();
  auto result = runner->Run(Shell("grep -E '^(SigBlk|SigIgn)' /proc/self/status"));
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::signal(SIGPIPE, previous);
  ASSERT_OK(result);
  EXPECT_NE(result->output.find("SigBlk:\t0000000000000000"), std::string::npos) << result->output;
  // SIGPIPE is signal 13: bit 12 of the ignored set.
  EXPECT_EQ(result->output.find("SigIgn:\t0000000000001000"), std::string::npos) << result->output;
}

TEST(ProcessRunner, NoControllingTerminal) {
  auto runner = MakeLocalProcessRunner();
  auto result = runner->Run(Shell("(exec 3</dev/tty) 2>/dev/null && echo HAS_TTY || echo NO_TTY"));
  ASSERT_OK(result);
  EXPECT_NE(result->output.find("NO_TTY"), std::string::npos) << result->output;
}

}  // namespace
}  // namespace drover::sandbox
