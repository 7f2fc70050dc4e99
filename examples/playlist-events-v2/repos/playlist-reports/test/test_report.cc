#include <cstdio>
#include <string>

#include "report.h"

int main() {
  std::vector<PlaylistEvent> events = {
      {"u1", "p1", "play"}, {"u2", "p1", "play"}, {"u1", "p2", "skip"}};
  std::size_t got = DistinctListeners(events);
  if (got != 2) {
    std::fprintf(stderr, "test_report: expected 2 distinct listeners, got %zu\n", got);
    return 1;
  }
  if (std::string(kPlaylistEventsPath).rfind("warehouse://playlist_events/", 0) != 0) {
    std::fprintf(stderr, "test_report: unexpected dataset path %s\n", kPlaylistEventsPath);
    return 1;
  }
  std::printf("test_report: ok\n");
  return 0;
}
