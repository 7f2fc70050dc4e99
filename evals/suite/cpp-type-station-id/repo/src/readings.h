// Temperature readings from the readings export ("station_id,celsius" lines, no header).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace readings {

struct Reading {
  std::string station;  // "ST042"
  double celsius = 0;
};

// Parses the export; blank lines are skipped. Throws std::invalid_argument naming the line.
std::vector<Reading> ParseReadings(const std::string& text);

// The mean temperature per station.
std::map<std::string, double> MeanByStation(const std::vector<Reading>& readings);

// How a station is printed on the dashboards: "ST042".
std::string StationLabel(const std::string& station);

}  // namespace readings
