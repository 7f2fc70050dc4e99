// Server-sent events (the text/event-stream format model providers stream replies in): an
// incremental parser that accepts the body in chunks split anywhere, and the writer.
// Thread-compatible: one parser per stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace drover::agent {

struct SseEvent {
  std::string event;  // The "event:" field; empty when the stream names none.
  std::string data;   // "data:" lines joined with "\n".
};

class SseParser {
 public:
  // Parses the next bytes of the stream and returns the events they complete. Lines may end
  // in LF, CRLF or CR; comments (":...") and the id and retry fields are skipped; an event
  // without data is not dispatched.
  std::vector<SseEvent> Feed(std::string_view bytes);
  // The event left pending when the stream ends without a blank line, if it has data.
  std::vector<SseEvent> Finish();

 private:
  void Line(std::string_view line, std::vector<SseEvent>& out);
  void Dispatch(std::vector<SseEvent>& out);

  std::string line_;
  bool after_cr_ = false;  // The last byte was CR: a following LF belongs to the same break.
  SseEvent pending_;
  bool has_data_ = false;
};

// One event in wire form: "event: NAME\n" (when named), one "data: " line per line of data,
// and the blank line.
std::string FormatSseEvent(const SseEvent& event);

}  // namespace drover::agent
