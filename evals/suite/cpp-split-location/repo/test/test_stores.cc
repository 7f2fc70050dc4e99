#include <cstdio>
#include <stdexcept>
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
  auto parsed = ParseStores("Harbour,Hamburg/DE,120000\nCanal,Utrecht/NL,5000\n\nAlster,Hamburg/DE,1\n");
  Check(parsed.size() == 3, "three stores");
  Check(Label(parsed[1]) == "Canal (Utrecht, NL)", "label");
  auto revenue = RevenueByCountry(parsed);
  Check(revenue.size() == 2 && revenue["DE"] == 120001 && revenue["NL"] == 5000, "revenue by country");
  Check(Rejects("Harbour,Hamburg/de,1"), "a lower-case country is rejected");
  Check(Rejects("Harbour,Hamburg/DE"), "a missing revenue is rejected");
  return failures == 0 ? 0 : 1;
}
