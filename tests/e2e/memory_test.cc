// End-to-end memory bound: a model that sends a 48 MiB reply and a tool command and verifier
// that print a flood, against the built drover binary, with the peak resident size of drover's
// whole process tree sampled from /proc while it runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e.h"
#include "tests/testing/model_server.h"

namespace drover::e2e {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::ScriptedModelServer;

// The resident kilobytes of every process descending from this test's process (drover, its
// sandboxes, agents and commands), summed.
uint64_t DescendantsRssKb() {
  std::map<pid_t, pid_t> parent;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    parent[std::stoi(name)] = ppid;
  }
  std::set<pid_t> tree{::getpid()};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parent) {
      if (tree.contains(ppid) && tree.insert(pid).second) grew = true;
    }
  }
  uint64_t total = 0;
  for (pid_t pid : tree) {
    if (pid == ::getpid()) continue;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (!line.starts_with("VmRSS:")) continue;
      total += std::stoull(line.substr(6));
      break;
    }
  }
  return total;
}

agent::ModelReply ToolReply(const std::string& name, const Json& arguments) {
  agent::ModelReply reply;
  reply.tool_calls.push_back({"call_" + name, name, arguments.dump()});
  reply.usage = {120, 30, 0};
  return reply;
}

TEST(Memory, FloodsOfOutputAndAHugeReplyStayBounded) {
  ScriptedModelServer server;
  // A gibibyte from a tool command, the verifier's flood through the agent's `verify`, then a
  // 48 MiB reply, which the gateway refuses.
  server.AddReply(ToolReply("run", {{"command", "head -c 1G /dev/zero | tr '\\0' x; echo"}}));
  server.AddReply(ToolReply("verify", Json::object()));
  server.AddReply(agent::ModelReply{std::string(size_t{48} << 20, 'z'), {}, {120, 30, 0}, ""});
  Fixture fx;
  // The verifier prints 128 MiB, in the baseline and in the agent's `verify`.
  fx.AddRepo("svc", {{"Makefile", "test:\n\t@head -c 128M /dev/zero | tr '\\0' y; echo\n"},
                     {"README.md", "nothing to migrate\n"}});
  fx.WriteSpec(StandardSpec());

  std::atomic<bool> done = false;
  std::atomic<uint64_t> peak_kb = 0;
  std::thread sampler([&] {
    while (!done) {
      uint64_t kb = DescendantsRssKb();
      if (kb > peak_kb) peak_kb = kb;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto started = std::chrono::steady_clock::now();
  DroverRun run = fx.Run({{"DROVER_MODEL", "openai:test-model"},
                          {"OPENAI_API_KEY", "sk-memory-test"},
                          {"OPENAI_BASE_URL", server.OpenAiBaseUrl()}});
  auto took = std::chrono::steady_clock::now() - started;
  done = true;
  sampler.join();
  std::printf("peak RSS of drover's process tree: %.1f MB (%.1f s)\n",
              static_cast<double>(peak_kb.load()) * 1024 / 1e6,
              std::chrono::duration<double>(took).count());

  // The job ends with a reason that names the refused reply.
  ASSERT_TRUE(run.summary.is_object()) << run.output;
  const Json& job = run.summary["jobs"][0];
  EXPECT_EQ(job["status"], "failed") << job.dump(2);
  EXPECT_NE(job["reason"].get<std::string>().find("larger than 8 MiB"), std::string::npos)
      << job.dump(2);
  // Both floods were run and read to the end.
  ASSERT_GE(server.requests().size(), 3u);
  EXPECT_NE(server.requests()[1].body.find("1073741825 bytes in all"), std::string::npos);

  EXPECT_LT(peak_kb.load() * 1024, uint64_t{200} * 1000 * 1000);
  // Nothing the job kept on disk is a whole copy of a flood.
  bool saw_cut_log = false;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(run.run_dir / "jobs" / "svc")) {
    if (!entry.is_regular_file()) continue;
    EXPECT_LT(entry.file_size(), uint64_t{4} << 20) << entry.path();
    if (entry.path().extension() == ".log" && entry.file_size() < (uint64_t{4} << 20)) {
      saw_cut_log |= ReadTestFile(entry.path()).find("bytes dropped") != std::string::npos;
    }
  }
  EXPECT_TRUE(saw_cut_log);
}

}  // namespace
}  // namespace drover::e2e
