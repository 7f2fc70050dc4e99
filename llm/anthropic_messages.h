// The Anthropic Messages API (/v1/messages): requests with cache breakpoints and replies both
// ways, and its event stream. Thread-safe: a constant of pure functions.
#pragma once

#include "llm/provider.h"

namespace drover::agent {

extern const ProtocolCodec kAnthropicMessagesCodec;

}  // namespace drover::agent
