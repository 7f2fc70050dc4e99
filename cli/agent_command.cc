#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "agent/agent.h"
#include "agent/build_slot_runner.h"
#include "agent/task.h"
#include "agent/transcript.h"
#include "cli/command.h"
#include "cli/exit_code.h"
#include "core/fs.h"
#include "core/http.h"
#include "core/json.h"
#include "core/redact.h"
#include "llm/http_model_client.h"
#include "sandbox/process.h"

namespace drover::cli {
namespace {

struct AgentFlags {
  std::filesystem::path task, transcript, result;
};

// `drover agent`: one attempt in one repository. Started by the runner with a clean
// environment; its only way to the model is the gateway socket named in the task.
int AgentCommand(const std::filesystem::path& task_file,
                 const std::filesystem::path& transcript_file,
                 const std::filesystem::path& result_file) {
  auto text = ReadFile(task_file);
  if (!text) {
    std::fprintf(stderr, "drover agent: %s\n", text.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto json = ParseJson(*text, task_file.string());
  if (!json) {
    std::fprintf(stderr, "drover agent: %s\n", json.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto task = agent::AgentTaskFromJson(*json);
  if (!task) {
    std::fprintf(stderr, "drover agent: %s: %s\n", task_file.c_str(), task.error().message.c_str());
    return ToInt(ExitCode::kInvalidInput);
  }
  auto http = MakeCurlHttpClient();
  agent::HttpModelClientOptions client_options;
  client_options.provider = task->provider;
  client_options.model = task->model;
  client_options.base_url =
      task->provider == agent::Provider::kAnthropic ? "http://gateway" : "http://gateway/v1";
  client_options.unix_socket = task->gateway_socket;
  client_options.timeout = std::chrono::minutes(10);
  agent::HttpModelClient model(client_options, *http);
  auto local = sandbox::MakeLocalProcessRunner();
  agent::BuildSlotProcessRunner processes(*local, *http, task->gateway_socket);
  agent::Transcript transcript(transcript_file, Redactor());
  auto env = sandbox::CurrentEnvironment();
  // The gateway measures the job's waits for build slots and the rate governor; they do not
  // count against the attempt's wall-clock limit.
  auto capacity_wait = [&http, socket = task->gateway_socket]() {
    HttpRequest request;
    request.method = "GET";
    request.url = "http://gateway/drover/capacity-wait";
    request.unix_socket = socket;
    request.timeout = std::chrono::seconds(10);
    auto response = http->Send(request);
    if (!response || response->status != 200) return std::chrono::milliseconds(0);
    auto body = ParseJson(response->body, "capacity-wait reply");
    if (!body || !body->is_object() || !(*body)["waited_ms"].is_number_integer()) {
      return std::chrono::milliseconds(0);
    }
    return std::chrono::milliseconds((*body)["waited_ms"].get<int64_t>());
  };
  agent::Agent loop(*task, model, processes, transcript, env, capacity_wait);
  agent::AgentOutcome outcome = loop.Run();
  if (auto wrote = WriteFileAtomic(result_file, agent::ToJson(outcome).dump(2) + "\n"); !wrote) {
    std::fprintf(stderr, "drover agent: %s\n", wrote.error().message.c_str());
    return ToInt(ExitCode::kEnvironment);
  }
  return ToInt(outcome.status == agent::AgentStatus::kFailed ? ExitCode::kAgentFailed
                                                             : ExitCode::kOk);
}

}  // namespace

CommandRun AddAgentCommand(CLI::App& cmd, Invocation&) {
  auto flags = std::make_shared<AgentFlags>();
  cmd.add_option("--task", flags->task)->required();
  cmd.add_option("--transcript", flags->transcript)->required();
  cmd.add_option("--result", flags->result)->required();
  return [flags](const Invocation&) {
    (void)SetUpLogging(LogLevel::kWarn, std::nullopt);
    return AgentCommand(flags->task, flags->transcript, flags->result);
  };
}

}  // namespace drover::cli
