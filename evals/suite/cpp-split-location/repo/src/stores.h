// The stores export: one store per line, no header.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace stores {

struct Store {
  std::string name;
  std::string city;
  std::string country;  // ISO code, "DE"
  long revenue_cents = 0;
};

// Parses the export; blank lines are skipped. Throws std::invalid_argument naming the line.
std::vector<Store> ParseStores(const std::string& text);

// Revenue per country code.
std::map<std::string, long> RevenueByCountry(const std::vector<Store>& stores);

// "Harbour (Hamburg, DE)".
std::string Label(const Store& store);

}  // namespace stores
