// The sentences the agent's loop and tools say to the model, from the prompts template
// agent_messages.json (so that they are reviewed and overridden as text, like the prompts).
// Thread-safe after start-up, as the prompts module is.
#pragma once

#include <string>
#include <string_view>

#include "prompts/prompts.h"

namespace drover::agent {

inline constexpr std::string_view kMessagesTemplate = "agent_messages.json";

// Entry `key` rendered with `vars`. A broken override of the template yields its error's
// message instead, so that the model and the transcript show what is wrong.
std::string ModelMessage(std::string_view key, const prompts::Variables& vars = {});

}  // namespace drover::agent
