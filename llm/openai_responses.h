// The OpenAI Responses API (/v1/responses): requests and replies both ways, and its typed
// event stream. Thread-safe: a constant of pure functions.
#pragma once

#include "llm/provider.h"

namespace drover::agent {

extern const ProtocolCodec kOpenAiResponsesCodec;

}  // namespace drover::agent
