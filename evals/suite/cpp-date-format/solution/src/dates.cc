#include "dates.h"

#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace invoices {
namespace {

bool Digits(const std::string& text, size_t pos, size_t count) {
  for (size_t i = pos; i < pos + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 (H. Hinnant's days_from_civil).
long DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

Date ParseDate(const std::string& text) {
  bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-' && Digits(text, 0, 4) &&
               Digits(text, 5, 2) && Digits(text, 8, 2);
  Date date;
  if (shape) {
    date = {std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2)), std::stoi(text.substr(8, 2))};
  }
  if (!shape || date.month < 1 || date.month > 12 || date.day < 1 ||
      date.day > DaysInMonth(date.year, date.month)) {
    throw std::invalid_argument("malformed invoices date: \"" + text + "\"");
  }
  return date;
}

std::string MonthKey(const Date& date) {
  char key[16];
  std::snprintf(key, sizeof key, "%04d-%02d", date.year, date.month);
  return key;
}

long DaysBetween(const Date& from, const Date& to) {
  return DaysFromCivil(to.year, to.month, to.day) - DaysFromCivil(from.year, from.month, from.day);
}

}  // namespace invoices
