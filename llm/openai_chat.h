// The OpenAI Chat Completions protocol (/v1/chat/completions), also spoken by most
// OpenAI-compatible servers: requests and replies both ways, and the chunk stream.
// Thread-safe: a constant of pure functions.
#pragma once

#include "llm/provider.h"

namespace drover::agent {

extern const ProtocolCodec kOpenAiChatCodec;

}  // namespace drover::agent
