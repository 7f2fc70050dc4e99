#include "llm/sse.h"

#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

// A stream with every feature the format allows: comments, named and unnamed events,
// multi-line data, a field without a space, id and retry fields, CRLF and bare CR endings.
constexpr std::string_view kStream =
    ": keep-alive comment\r\n"
    "retry: 3000\r\n"
    "\r\n"
    "event: message_start\r\n"
    "id: 7\r\n"
    "data: {\"a\":1}\r\n"
    "\r\n"
    "data: first line\n"
    "data:second line\n"
    "data\n"
    "\n"
    "event: ping\rdata: {}\r\r"
    ":only a comment\n\n"
    "data: [DONE]\n\n";

std::vector<SseEvent> ParseInPieces(std::string_view text, size_t split_a, size_t split_b) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (std::string_view piece :
       {text.substr(0, split_a), text.substr(split_a, split_b - split_a), text.substr(split_b)}) {
    for (auto& event : parser.Feed(piece)) events.push_back(std::move(event));
  }
  for (auto& event : parser.Finish()) events.push_back(std::move(event));
  return events;
}

void ExpectStreamEvents(const std::vector<SseEvent>& events) {
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].event, "message_start");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[1].event, "");
  EXPECT_EQ(events[1].data, "first line\nsecond line\n");
  EXPECT_EQ(events[2].event, "ping");
  EXPECT_EQ(events[2].data, "{}");
  EXPECT_EQ(events[3].data, "[DONE]");
}

TEST(Sse, ParsesEveryFeature) { ExpectStreamEvents(ParseInPieces(kStream, 0, 0)); }

TEST(Sse, ChunkBoundariesAnywhere) {
  for (size_t a = 0; a <= kStream.size(); ++a) {
    for (size_t b = a; b <= kStream.size(); b += 7) {
      SCOPED_TRACE("split at " + std::to_string(a) + " and " + std::to_string(b));
      ExpectStreamEvents(ParseInPieces(kStream, a, b));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Sse, ByteAtATime) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (char c : kStream) {
    for (auto& event : parser.Feed(std::string_view(&c, 1))) events.push_back(std::move(event));
  }
  ExpectStreamEvents(events);
}

TEST(Sse, FinishDispatchesAnUnterminatedEvent) {
  SseParser parser;
  EXPECT_TRUE(parser.Feed("event: done\ndata: {\"x\":1}").empty());
  auto events = parser.Finish();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "done");
  EXPECT_EQ(events[0].data, "{\"x\":1}");
  EXPECT_TRUE(parser.Finish().empty());
}

TEST(Sse, EventWithoutDataIsNotDispatched) {
  SseParser parser;
  EXPECT_TRUE(parser.Feed("event: lonely\n\n").empty());
  auto events = parser.Feed("data: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "");  // The name does not leak into the next event.
}

TEST(Sse, FormatRoundTrips) {
  SseEvent event{"response.completed", "line one\nline two"};
  std::string text = FormatSseEvent(event);
  EXPECT_EQ(text, "event: response.completed\ndata: line one\ndata: line two\n\n");
  SseParser parser;
  auto events = parser.Feed(text + FormatSseEvent(SseEvent{"", "[DONE]"}));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, event.event);
  EXPECT_EQ(events[0].data, event.data);
  EXPECT_EQ(events[1].data, "[DONE]");
}

}  // namespace
}  // namespace drover::agent
