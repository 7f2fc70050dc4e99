// The optional LLM judge: the migration's instructions and the final diff in, a verdict on
// scope and intent out (prompts/templates/judge_*.md). It runs after the checks and the diff
// policy passed; a veto goes back to the agent as feedback for another attempt.
// Thread-safe: free functions; the model client is the caller's.
#pragma once

#include <string>
#include <vector>

#include "llm/model.h"
#include "core/error.h"
#include "core/json.h"

namespace drover::fleet {

struct JudgeInput {
  std::string title;
  std::string instructions;
  std::string repository;
  std::string summary;  // The agent's own summary of its change.
  std::string diff;     // Cut to max_diff_bytes, with a note, when longer.
  std::string model;
  size_t max_diff_bytes = 60000;
};

struct JudgeVerdict {
  bool approved = false;
  std::vector<std::string> reasons;
  agent::Usage usage;
  Json ToJson() const;
};

// Asks the model once. kParse when the reply holds no {"verdict": "approve"|"veto"} object;
// the model client's errors otherwise.
Result<JudgeVerdict> RunJudge(agent::ModelClient& model, const JudgeInput& input);

// Reads the verdict from a reply's text: the first JSON object in it (code fences and words
// around it are tolerated). kParse names what is missing.
Result<JudgeVerdict> ParseVerdict(std::string_view text);

}  // namespace drover::fleet
