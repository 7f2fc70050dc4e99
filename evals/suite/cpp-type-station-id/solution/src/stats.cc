#include <cstdio>

#include "readings.h"

namespace readings {

std::map<int64_t, double> MeanByStation(const std::vector<Reading>& readings) {
  std::map<int64_t, double> sums;
  std::map<int64_t, int> counts;
  for (const auto& r : readings) {
    sums[r.station] += r.celsius;
    ++counts[r.station];
  }
  for (auto& [station, sum] : sums) sum /= counts[station];
  return sums;
}

std::string StationLabel(int64_t station) {
  char label[32];
  std::snprintf(label, sizeof label, "ST%03lld", static_cast<long long>(station));
  return label;
}

}  // namespace readings
