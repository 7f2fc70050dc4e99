// Dates of the invoices export.
#pragma once

#include <string>

namespace invoices {

struct Date {
  int year = 0;
  int month = 0;  // 1-12
  int day = 0;    // 1-31
};

// Parses an invoices date (ISO 8601, "2026-11-23"). Throws std::invalid_argument naming the
// value.
Date ParseDate(const std::string& text);

// "2026-11".
std::string MonthKey(const Date& date);

// Days from `from` to `to`, negative when `to` is earlier.
long DaysBetween(const Date& from, const Date& to);

}  // namespace invoices
