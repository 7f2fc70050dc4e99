// Context management over a long scripted session (searches, reads of large files, edits,
// commands, verifier reports), with management on and off: input tokens sent, the share of
// each request that repeats the previous one (what a provider's prefix cache can serve), the
// prefix breaks, and the largest request. Usage: context_bench [TURNS]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/context.h"
#include "llm/protocol.h"
#include "agent/task.h"
#include "agent/tools.h"
#include "prompts/prompts.h"

using drover::Json;
using namespace drover::agent;

namespace {

// A deterministic stream of numbers (a 64-bit LCG), so every run replays the same session.
class Numbers {
 public:
  uint64_t Next(uint64_t below) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state_ >> 33) % below;
  }

 private:
  uint64_t state_ = 42;
};

std::string Lines(const std::string& file, size_t bytes) {
  std::string text;
  for (int n = 1; text.size() < bytes; ++n) {
    text += std::to_string(n) + "\t    value_" + std::to_string(n) + " = compute(" + file + ", " +
            std::to_string(n * 7) + ")  # keep in sync with the reader\n";
  }
  return text;
}

struct Turn {
  std::string tool;
  Json args;
  std::string result;
};

// The model's turn `i`: a cycle of search, reads, edit, run, verify, read, edit.
Turn ScriptedTurn(int i, Numbers& numbers) {
  std::string file = "src/module_" + std::to_string(numbers.Next(40)) + ".py";
  switch (i % 8) {
    case 0: return {"search", {{"pattern", "user_id"}}, Lines("hits", 4000 + numbers.Next(4000))};
    case 1:
    case 2: return {"read_file", {{"path", file}}, Lines(file, 12000 + numbers.Next(20000))};
    case 4: return {"run", {{"command", "pytest -q"}}, "exit 1 (4.2s)\n" + Lines("log", 16000)};
    case 5:
      return {
          "verify", Json::object(),
          "Verifiers failed: test: FAILED exit 1\n" + Lines("report", 2000 + numbers.Next(4000))};
    case 6: return {"read_file", {{"path", file}}, Lines(file, 8000 + numbers.Next(12000))};
    default: {
      std::string old_text = Lines(file, 300 + numbers.Next(1700));
      return {"edit",
              {{"path", file}, {"search", old_text}, {"replace", old_text + "    # v2\n"}},
              "Edited " + file + "."};
    }
  }
}

struct Figures {
  int requests = 0;
  int64_t input_tokens = 0;     // Sum of every request's estimate (tools included).
  int64_t repeated_tokens = 0;  // The part of each request repeating the previous one.
  int breaks = 0;               // Requests that do not extend the previous one.
  int64_t peak_tokens = 0;
  int over_window = 0;  // Requests that would not fit the window (with the reply).
  int elisions = 0;
  int compactions = 0;
};

Figures Replay(Provider provider, const AgentLimits& limits, int turns) {
  auto system = drover::prompts::Render("agent_system.md", {});
  std::string task = "# Task: Move to playlist_events v2\n\n" + Lines("instructions", 2000) +
                     "\n## Repository map\n\n" + Lines("map", 6000);
  size_t schema_bytes = 0;
  for (const auto& schema : Tools::Schemas()) {
    schema_bytes +=
        schema.name.size() + schema.description.size() + schema.parameters.dump().size();
  }
  ContextWindow window(
      limits.context_window_tokens - limits.max_output_tokens - EstimateTokens(schema_bytes),
      limits.context_management);
  window.Add({Role::kSystem, system ? *system : std::string(), {}, "", false});
  window.Add({Role::kUser, task, {}, "", false});

  Numbers numbers;
  Figures figures;
  ModelRequest previous;
  for (int i = 0; i < turns; ++i) {
    if (auto action = window.Manage()) {
      ++(action->kind == ContextAction::Kind::kCompact ? figures.compactions : figures.elisions);
    }
    ModelRequest request;
    request.model = "bench";
    request.messages = window.Request();
    request.tools = Tools::Schemas();
    request.max_output_tokens = limits.max_output_tokens;
    int64_t tokens = EstimateTokens(EncodeRequest(provider, request).dump().size());
    figures.input_tokens += tokens;
    figures.peak_tokens = std::max(figures.peak_tokens, tokens);
    if (tokens + limits.max_output_tokens > limits.context_window_tokens) ++figures.over_window;
    if (i > 0) {
      PrefixShare share = SharedPrefix(provider, previous, request);
      figures.breaks += share.extends ? 0 : 1;
      figures.repeated_tokens += tokens * static_cast<int64_t>(share.shared_bytes) /
                                 static_cast<int64_t>(std::max<size_t>(share.total_bytes, 1));
    }
    ++figures.requests;
    previous = std::move(request);

    Turn turn = ScriptedTurn(i, numbers);
    std::string id = "call_" + std::to_string(i + 1);
    window.Add({Role::kAssistant, "", {{id, turn.tool, turn.args.dump()}}, "", false});
    std::string result = limits.context_management
                             ? TruncateToolOutput(turn.result, limits.max_tool_output_tokens)
                             : turn.result;
    window.Add({Role::kTool, std::move(result), {}, id, false});
  }
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  int turns = argc > 1 ? std::atoi(argv[1]) : 80;
  std::printf("%d scripted turns; tokens are the gateway's estimate (bytes/4) of each request\n\n",
              turns);
  std::printf("%-8s %-10s %-10s %8s %12s %9s %10s %7s %6s %8s %8s %5s\n", "window", "management",
              "provider", "requests", "input_tokens", "repeated", "uncached", "breaks", "elide",
              "compact", "peak", "over");
  for (int64_t window : {int64_t{128000}, int64_t{32000}}) {
    for (bool managed : {true, false}) {
      for (Provider provider : {Provider::kOpenAiChat, Provider::kAnthropic}) {
        AgentLimits limits;
        limits.context_window_tokens = window;
        limits.context_management = managed;
        Figures f = Replay(provider, limits, turns);
        double repeated = f.input_tokens == 0 ? 0.0 : 100.0 * f.repeated_tokens / f.input_tokens;
        std::printf("%-8lld %-10s %-10s %8d %12lld %8.1f%% %10lld %7d %6d %8d %8lld %5d\n",
                    static_cast<long long>(window), managed ? "on" : "off",
                    std::string(ProviderName(provider)).c_str(), f.requests,
                    static_cast<long long>(f.input_tokens), repeated,
                    static_cast<long long>(f.input_tokens - f.repeated_tokens), f.breaks,
                    f.elisions, f.compactions, static_cast<long long>(f.peak_tokens),
                    f.over_window);
      }
    }
  }
  std::printf(
      "\nrepeated: share of input tokens that repeat the previous request's prefix; uncached: "
      "the rest.\nover: requests that would not fit the window with a reply "
      "(max_output_tokens).\n");
  return 0;
}
