#include <cstdio>
#include <stdexcept>
#include <map>
#include <string>

#include "stores.h"

static int failures = 0;

static void Check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

static bool Rejects(const std::string& line) {
  try {
    stores::ParseStores(line + "\n");
  } catch (const std::invalid_argument& e) {
    return std::string(e.what()).find(line) != std::string::npos;
  }
  return false;
}

int main() {
  using namespace stores;
  try {
    auto parsed = ParseStores("Oder,Frankfurt/Oder,DE,700\nQuay,Lyon,FR,250\nRive,Paris,FR,50\n");
    Check(parsed.size() == 3, "three stores");
    Check(parsed.at(0).city == "Frankfurt/Oder" && parsed.at(0).country == "DE", "city may contain a slash");
    Check(Label(parsed.at(1)) == "Quay (Lyon, FR)", "label");
    Check(RevenueByCountry(parsed) == std::map<std::string, long>{{"DE", 700}, {"FR", 300}}, "revenue by country");
  } catch (const std::exception& e) {
    Check(false, std::string("the new columns parse: ") + e.what());
  }
  Check(Rejects("Harbour,Hamburg/DE,120000"), "the old three-column form is rejected, named");
  Check(Rejects("Harbour,,DE,1"), "an empty city is rejected");
  Check(Rejects("Harbour,Hamburg,Germany,1"), "a long country is rejected");
  Check(Rejects("Harbour,Hamburg,DE,lots"), "a bad revenue is rejected");
  return failures == 0 ? 0 : 1;
}
