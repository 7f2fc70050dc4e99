// Temperature readings from the readings export ("station_id,celsius" lines, no header).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace readings {

struct Reading {
  int64_t station = 0;  // 42
  double celsius = 0;
};

// Parses the export; blank lines are skipped. Throws std::invalid_argument naming the line.
std::vector<Reading> ParseReadings(const std::string& text);

// The mean temperature per station.
std::map<int64_t, double> MeanByStation(const std::vector<Reading>& readings);

// How a station is printed on the dashboards: "ST042".
std::string StationLabel(int64_t station);

}  // namespace readings
