#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

#include "readings.h"

static int failures = 0;

static void Check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

static bool Rejects(const std::string& line) {
  try {
    readings::ParseReadings(line + "\n");
  } catch (const std::invalid_argument& e) {
    return std::string(e.what()).find(line) != std::string::npos;
  }
  return false;
}

int main() {
  using namespace readings;
  auto parsed = ParseReadings("42,20.5\n1234,-1.5\n42,22.5\n");
  int64_t first = parsed.at(0).station;
  Check(first == 42, "station parsed as a number");
  std::map<int64_t, double> means = MeanByStation(parsed);
  Check(means == std::map<int64_t, double>{{42, 21.5}, {1234, -1.5}}, "means keyed by number");
  Check(StationLabel(7) == "ST007", "label pads to three digits");
  Check(StationLabel(1234) == "ST1234", "label keeps longer numbers");
  Check(Rejects("ST042,20.5"), "the old form is rejected, named");
  Check(Rejects("-4,20.5"), "a negative station is rejected");
  Check(Rejects(",20.5"), "an empty station is rejected");
  return failures == 0 ? 0 : 1;
}
