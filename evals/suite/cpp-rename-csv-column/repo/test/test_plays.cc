#include <cstdio>
#include <stdexcept>

#include "plays.h"

static int failures = 0;

static void Check(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

int main() {
  const std::string csv = "user_id,track_id,seconds\nu1,t1,30\nu2,t1,12\n";
  Check(plays::TotalSeconds(csv) == 42, "TotalSeconds sums the seconds column");
  Check(plays::TotalSeconds("seconds,track_id\n") == 0, "TotalSeconds of no rows");
  bool threw = false;
  try {
    plays::TotalSeconds("track_id\nt1\n");
  } catch (const std::runtime_error&) {
    threw = true;
  }
  Check(threw, "a missing column is an error");
  return failures == 0 ? 0 : 1;
}
