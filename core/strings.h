// Small text helpers shared across modules. Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace drover {

// `text` without leading and trailing spaces, tabs, carriage returns and newlines.
std::string_view Trim(std::string_view text);
// ASCII lower case (host names, header names, keywords); other bytes unchanged.
std::string Lower(std::string_view text);

}  // namespace drover
