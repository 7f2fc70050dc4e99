#include <cctype>
#include <sstream>
#include <stdexcept>

#include "readings.h"

namespace readings {
namespace {

bool AllDigits(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsStation(const std::string& field) {
  return field.size() == 5 && field.compare(0, 2, "ST") == 0 && AllDigits(field.substr(2));
}

// The temperature field as a number; false when it is not one.
bool ParseCelsius(const std::string& field, double& celsius) {
  size_t used = 0;
  try {
    celsius = std::stod(field, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == field.size();
}

}  // namespace

std::vector<Reading> ParseReadings(const std::string& text) {
  std::vector<Reading> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    size_t comma = line.find(',');
    Reading reading;
    if (comma == std::string::npos || !IsStation(line.substr(0, comma)) ||
        !ParseCelsius(line.substr(comma + 1), reading.celsius)) {
      throw std::invalid_argument("malformed readings line: \"" + line + "\"");
    }
    reading.station = line.substr(0, comma);
    out.push_back(reading);
  }
  return out;
}

}  // namespace readings
