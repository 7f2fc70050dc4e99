#include <cstdio>
#include <stdexcept>
#include <string>

#include "readings.h"

static int failures = 0;

static void Check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

int main() {
  using namespace readings;
  auto parsed = ParseReadings("42,20.5\n7,-3\n\n42,21.5\n");
  Check(parsed.size() == 3, "three readings");
  Check(parsed[1].station == 7 && parsed[1].celsius == -3, "fields of a reading");
  auto means = MeanByStation(parsed);
  Check(means.size() == 2 && means[42] == 21.0, "mean per station");
  Check(StationLabel(parsed[0].station) == "ST042", "label");
  bool named = false;
  try {
    ParseReadings("42;20.5\n");
  } catch (const std::invalid_argument& e) {
    named = std::string(e.what()).find("42;20.5") != std::string::npos;
  }
  Check(named, "a malformed line is rejected, named");
  return failures == 0 ? 0 : 1;
}
