'use strict';
// Timelines built from rows of the app_events dataset.

/** Events in the order they happened (a new array). */
function chronological(events) {
  return [...events].sort((a, b) => a.occurred_at - b.occurred_at);
}

/** { type: count } over the events. */
function countByType(events) {
  const counts = {};
  for (const event of events) counts[event.type] = (counts[event.type] || 0) + 1;
  return counts;
}

/** The event types in the order they happened, e.g. for a funnel. */
function journey(events) {
  return chronological(events).map((event) => event.type);
}

module.exports = { chronological, countByType, journey };
