#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

#include "plays.h"

static int failures = 0;

static void Check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

int main() {
  const std::string csv = "track_id,account_id,seconds\nt1,a7,30\nt2,a3,12\nt3,a7,5\n";
  try {
    auto plays = plays::PlaysPerListener(csv);
    Check(plays == std::map<std::string, int>{{"a3", 1}, {"a7", 2}},
          "PlaysPerListener reads account_id");
  } catch (const std::exception& e) {
    std::printf("FAIL PlaysPerListener threw: %s\n", e.what());
    ++failures;
  }
  return failures == 0 ? 0 : 1;
}
