#include "agent/messages.h"

namespace drover::agent {

std::string ModelMessage(std::string_view key, const prompts::Variables& vars) {
  auto text = prompts::RenderEntry(kMessagesTemplate, key, vars);
  return text ? std::move(*text) : text.error().message;
}

}  // namespace drover::agent
