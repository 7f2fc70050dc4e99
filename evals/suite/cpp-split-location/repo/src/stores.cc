#include "stores.h"

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace stores {
namespace {

std::vector<std::string> Split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, separator)) fields.push_back(field);
  if (!line.empty() && line.back() == separator) fields.push_back("");
  return fields;
}

bool IsCountry(const std::string& code) {
  return code.size() == 2 && std::isupper(static_cast<unsigned char>(code[0])) &&
         std::isupper(static_cast<unsigned char>(code[1]));
}

bool IsNumber(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::vector<Store> ParseStores(const std::string& text) {
  std::vector<Store> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto fields = Split(line, ',');
    auto location = fields.size() == 3 ? Split(fields[1], '/') : std::vector<std::string>{};
    if (location.size() != 2 || location[0].empty() || !IsCountry(location[1]) ||
        !IsNumber(fields[2])) {
      throw std::invalid_argument("malformed stores line: \"" + line + "\"");
    }
    out.push_back({fields[0], location[0], location[1], std::stol(fields[2])});
  }
  return out;
}

std::map<std::string, long> RevenueByCountry(const std::vector<Store>& stores) {
  std::map<std::string, long> totals;
  for (const auto& store : stores) totals[store.country] += store.revenue_cents;
  return totals;
}

std::string Label(const Store& store) {
  return store.name + " (" + store.city + ", " + store.country + ")";
}

}  // namespace stores
