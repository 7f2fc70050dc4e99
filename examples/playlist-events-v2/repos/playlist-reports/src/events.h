#pragma once
#include <string>

// Rows of the playlist_events dataset.
inline constexpr const char* kPlaylistEventsPath = "warehouse://playlist_events/v1";

struct PlaylistEvent {
  std::string user_id;
  std::string playlist_id;
  std::string action;
};
