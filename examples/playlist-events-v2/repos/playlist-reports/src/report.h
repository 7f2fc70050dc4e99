#pragma once
#include <cstddef>
#include <vector>

#include "events.h"

// Number of distinct listeners in a batch of events.
std::size_t DistinctListeners(const std::vector<PlaylistEvent>& events);
