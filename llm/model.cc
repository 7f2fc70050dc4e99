#include "llm/model.h"

#include <string>

namespace drover::agent {

std::string_view ProviderName(Provider provider) {
  switch (provider) {
    case Provider::kOpenAiChat: return "openai";
    case Provider::kOpenAiResponses: return "openai-responses";
    case Provider::kAnthropic: return "anthropic";
  }
  return "unknown";
}

Result<Provider> ParseProvider(std::string_view name) {
  if (name == "openai") return Provider::kOpenAiChat;
  if (name == "openai-responses") return Provider::kOpenAiResponses;
  if (name == "anthropic") return Provider::kAnthropic;
  return Fail(ErrorCode::kInvalidArgument,
              "provider '" + std::string(name) + "' is not one of: openai, openai-responses, anthropic");
}

}  // namespace drover::agent
