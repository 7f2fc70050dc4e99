// Figures over the plays CSV export: a header line naming the columns, then one play per line.
#pragma once

#include <map>
#include <string>

namespace plays {

// Seconds listened over all rows. Throws std::runtime_error when a column is missing.
long TotalSeconds(const std::string& csv);

// Plays per listener. Throws std::runtime_error when a column is missing.
std::map<std::string, int> PlaysPerListener(const std::string& csv);

}  // namespace plays
