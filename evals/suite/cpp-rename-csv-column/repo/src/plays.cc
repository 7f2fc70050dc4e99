#include "plays.h"

#include <sstream>
#include <stdexcept>
#include <vector>

namespace plays {
namespace {

std::vector<std::string> SplitLine(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  return fields;
}

size_t ColumnIndex(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  throw std::runtime_error("plays export has no column " + name);
}

// The header and the data rows of the export.
std::vector<std::vector<std::string>> Rows(const std::string& csv,
                                           std::vector<std::string>& header) {
  std::stringstream in(csv);
  std::string line;
  std::getline(in, line);
  header = SplitLine(line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(SplitLine(line));
  }
  return rows;
}

}  // namespace

long TotalSeconds(const std::string& csv) {
  std::vector<std::string> header;
  auto rows = Rows(csv, header);
  size_t seconds = ColumnIndex(header, "seconds");
  long total = 0;
  for (const auto& row : rows) total += std::stol(row.at(seconds));
  return total;
}

std::map<std::string, int> PlaysPerListener(const std::string& csv) {
  std::vector<std::string> header;
  auto rows = Rows(csv, header);
  size_t listener = ColumnIndex(header, "user_id");
  std::map<std::string, int> plays;
  for (const auto& row : rows) ++plays[row.at(listener)];
  return plays;
}

}  // namespace plays
