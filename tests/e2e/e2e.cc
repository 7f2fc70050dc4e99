#include "tests/e2e/e2e.h"

#include <fstream>
#include <sstream>

#include "sandbox/process.h"

namespace drover::e2e {

Fixture::Fixture() {
  std::filesystem::create_directories(dir_.path() / "repos");
  std::filesystem::create_directories(dir_.path() / "cassettes");
}

std::filesystem::path Fixture::AddRepo(const std::string& name,
                                       const std::map<std::string, std::string>& files) {
  std::filesystem::path repo = dir_.path() / "repos" / name;
  for (const auto& [path, contents] : files) drover::testing::WriteTestFile(repo, path, contents);
  drover::testing::InitGitRepo(repo);
  target_lines_.push_back(repo.string());
  return repo;
}

void Fixture::AddTargetLine(const std::string& line) { target_lines_.push_back(line); }

void Fixture::WriteSpec(const std::string& text) {
  drover::testing::WriteTestFile(dir_.path(), "migration.md", text);
}

void Fixture::WriteCassette(const std::string& name, const Json& exchanges) {
  Json cassette{{"drover_cassette", 1}, {"exchanges", exchanges}};
  drover::testing::WriteTestFile(dir_.path() / "cassettes", name + ".json", cassette.dump(2));
}

DroverRun Fixture::Run(const std::map<std::string, std::string>& env,
                       const std::vector<std::string>& extra_args) {
  std::string repos = "# targets of this test\n";
  for (const auto& line : target_lines_) repos += line + "\n";
  drover::testing::WriteTestFile(dir_.path(), "repos.txt", repos);
  std::string run_id = "run" + std::to_string(++runs_);

  sandbox::ProcessSpec spec;
  spec.argv = {DROVER_BINARY,  "run",         spec_path().string(),
               "--repos",      (dir_.path() / "repos.txt").string(),
               "--state-dir",  (dir_.path() / "state").string(),
               "--run-id",     run_id};
  for (const auto& arg : extra_args) spec.argv.push_back(arg);
  spec.cwd = dir_.path();
  spec.env = sandbox::BaseEnvironment(sandbox::CurrentEnvironment());
  spec.env["DROVER_MODEL"] = "replay:" + (dir_.path() / "cassettes").string();
  for (const auto& [k, v] : env) spec.env[k] = v;
  spec.timeout = std::chrono::seconds(300);
  auto runner = sandbox::MakeLocalProcessRunner();
  auto result = runner->Run(spec);
  DroverRun run;
  if (!result) {
    ADD_FAILURE() << result.error().ToString();
    return run;
  }
  run.exit_code = result->timed_out ? -1 : result->exit_code;
  run.output = result->output;
  run.run_dir = dir_.path() / "state" / "runs" / run_id;
  std::ifstream in(run.run_dir / "summary.json");
  if (in) {
    std::stringstream buf;
    buf << in.rdbuf();
    run.summary = Json::parse(buf.str(), nullptr, false);
  }
  return run;
}

std::string StandardSpec(int max_attempts) {
  return "---\n"
         "id: rename-total\n"
         "title: Rename compute_total to compute_sum\n"
         "verifiers:\n"
         "  - name: test\n"
         "    command: make -s test\n"
         "    timeout: 60\n"
         "limits:\n"
         "  max_turns: 12\n"
         "  max_attempts: " +
         std::to_string(max_attempts) +
         "\n"
         "---\n"
         "The function `compute_total` in the `pricing` module is renamed `compute_sum`.\n"
         "Update its definition and every caller.\n";
}

Json Call(const std::string& tool, const Json& arguments, const std::string& text,
          const std::vector<std::string>& expect) {
  Json exchange{{"reply",
                 {{"text", text},
                  {"tool_calls", Json::array({{{"name", tool}, {"arguments", arguments}}})}}}};
  if (!expect.empty()) exchange["expect"] = {{"last_message_contains", expect}};
  return exchange;
}

std::vector<Json> ReadJsonl(const std::filesystem::path& path) {
  std::vector<Json> events;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json event = Json::parse(line, nullptr, false);
    EXPECT_FALSE(event.is_discarded()) << path << ": not JSON: " << line;
    events.push_back(event);
  }
  return events;
}

}  // namespace drover::e2e
