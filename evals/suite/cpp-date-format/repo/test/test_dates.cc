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
  Date issued = ParseDate("23.11.2026");
  Check(issued.year == 2026 && issued.month == 11 && issued.day == 23, "parses a date");
  Check(MonthKey(issued) == "2026-11", "month key");
  Check(DaysBetween(issued, ParseDate("07.12.2026")) == 14, "days between");
  Check(Rejects("31.11.2026"), "an impossible date is rejected");
  Check(Rejects("soon"), "garbage is rejected");
  return failures == 0 ? 0 : 1;
}
