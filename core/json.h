// The JSON value type used across drover (nlohmann/json), plus a non-throwing parse.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace drover {

using Json = nlohmann::json;

// Parses `text`; on failure returns kParse naming `what` and the byte offset.
Result<Json> ParseJson(std::string_view text, std::string_view what);

}  // namespace drover
