#include "report.h"

#include <set>
#include <string>

std::size_t DistinctListeners(const std::vector<PlaylistEvent>& events) {
  std::set<std::string> listeners;
  for (const auto& event : events) listeners.insert(event.user_id);
  return listeners.size();
}
