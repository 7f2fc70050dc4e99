#include <cstdio>
#include <stdexcept>
#include <string>

#include "dates.h"

static int failures = 0;

static void Check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

static bool Rejects(const std::string& text) {
  try {
    invoices::ParseDate(text);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what()).find(text) != std::string::npos;
  }
  return false;
}

int main() {
  using namespace invoices;
  try {
    Date leap = ParseDate("2028-02-29");
    Check(leap.year == 2028 && leap.month == 2 && leap.day == 29, "parses an ISO date");
    Check(MonthKey(leap) == "2028-02", "month key");
    Check(DaysBetween(ParseDate("2027-12-31"), ParseDate("2028-03-01")) == 61, "days between");
  } catch (const std::exception& e) {
    Check(false, std::string("ISO dates parse: ") + e.what());
  }
  Check(Rejects("23.11.2026"), "the old format is rejected, named");
  Check(Rejects("2026-02-30"), "an impossible date is rejected");
  Check(Rejects("2026-1-05"), "a short month is rejected");
  return failures == 0 ? 0 : 1;
}
