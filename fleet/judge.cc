#include "fleet/judge.h"

#include "prompts/prompts.h"

namespace drover::fleet {

Json JudgeVerdict::ToJson() const {
  return Json{{"verdict", approved ? "approve" : "veto"},
              {"reasons", reasons},
              {"usage",
               {{"input_tokens", usage.input_tokens}, {"output_tokens", usage.output_tokens}}}};
}

Result<JudgeVerdict> ParseVerdict(std::string_view text) {
  // Try each '{' in turn: the object may follow words or a code fence.
  for (size_t open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    size_t close = text.rfind('}');
    while (close != std::string_view::npos && close > open) {
      auto json = ParseJson(text.substr(open, close - open + 1), "judge reply");
      if (json && json->is_object() && json->contains("verdict")) {
        const Json& verdict = (*json)["verdict"];
        if (!verdict.is_string() || (verdict != "approve" && verdict != "veto")) {
          return Fail(ErrorCode::kParse, "judge reply: verdict must be \"approve\" or \"veto\"");
        }
        JudgeVerdict out;
        out.approved = verdict == "approve";
        for (const auto& reason : json->value("reasons", Json::array())) {
          if (reason.is_string() && !reason.get<std::string>().empty()) {
            out.reasons.push_back(reason.get<std::string>());
          }
        }
        if (!out.approved && out.reasons.empty()) out.reasons.push_back("(no reason given)");
        return out;
      }
      close = close == 0 ? std::string_view::npos : text.rfind('}', close - 1);
    }
  }
  return Fail(ErrorCode::kParse, "judge reply: no JSON object with a \"verdict\"");
}

Result<JudgeVerdict> RunJudge(agent::ModelClient& model, const JudgeInput& input) {
  std::string diff = input.diff;
  if (diff.size() > input.max_diff_bytes) {
    diff = diff.substr(0, input.max_diff_bytes) + "\n[... the diff goes on: " +
           std::to_string(input.diff.size() - input.max_diff_bytes) + " more bytes ...]\n";
  }
  auto system = prompts::Render("judge_system.md", {});
  if (!system) return Fail(system.error());
  auto task = prompts::Render("judge_task.md", {{"title", input.title},
                                                {"instructions", input.instructions},
                                                {"repository", input.repository},
                                                {"summary", input.summary},
                                                {"diff", diff}});
  if (!task) return Fail(task.error());
  agent::ModelRequest request;
  request.model = input.model;
  request.max_output_tokens = 1024;
  request.messages.push_back({agent::Role::kSystem, *system, {}, ""});
  request.messages.push_back({agent::Role::kUser, *task, {}, ""});
  auto reply = model.Complete(request);
  if (!reply) return Fail(reply.error());
  auto verdict = ParseVerdict(reply->text);
  if (!verdict) return verdict;
  verdict->usage = reply->usage;
  return verdict;
}

}  // namespace drover::fleet
