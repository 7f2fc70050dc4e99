#include "readings.h"

namespace readings {

std::map<std::string, double> MeanByStation(const std::vector<Reading>& readings) {
  std::map<std::string, double> sums;
  std::map<std::string, int> counts;
  for (const auto& r : readings) {
    sums[r.station] += r.celsius;
    ++counts[r.station];
  }
  for (auto& [station, sum] : sums) sum /= counts[station];
  return sums;
}

std::string StationLabel(const std::string& station) { return station; }

}  // namespace readings
