// Turns raw verifier output into the short report the model sees: recognised diagnostics
// when a parser knows the tool, otherwise error-looking lines and the tail.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "verifiers/diagnostics.h"

namespace drover::verifiers {

// Runs every parser and merges what they recognise (a `make && ctest` log feeds two of
// them); with nothing recognised, parser is "fallback" and `excerpt` holds Distill().
Distilled DistillOutput(std::string_view output);

// Summary line plus one line per diagnostic ("file:line:col: error: message"), errors and
// failures first, within `budget_bytes`; the fallback excerpt when nothing was recognised.
std::string Render(const Distilled& distilled, size_t budget_bytes = 3000);

}  // namespace drover::verifiers
