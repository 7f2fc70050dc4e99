#include "agent/transcript.h"

#include <sstream>

#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

using drover::testing::ReadTestFile;
using drover::testing::TempDir;

std::vector<Json> ReadLines(const std::filesystem::path& path) {
  std::vector<Json> events;
  std::istringstream in(ReadTestFile(path));
  std::string line;
  while (std::getline(in, line)) {
    auto event = ParseJson(line, "transcript line");
    EXPECT_TRUE(event.has_value()) << line;
    if (event) events.push_back(*event);
  }
  return events;
}

TEST(Transcript, WritesOneJsonObjectPerLineAndAppends) {
  TempDir dir;
  auto path = dir / "transcript.jsonl";
  {
    Transcript transcript(path, Redactor());
    ASSERT_OK(transcript.Write("task", {{"title", "Rename"}}));
    ASSERT_OK(transcript.Write("model_request", {{"messages", 2}}));
    // Written at once: a reader sees the line before the next event.
    EXPECT_EQ(ReadLines(path).size(), 2u);
    ASSERT_OK(transcript.Write("tool_result", {{"text", "line1\nline2\n\"quoted\""}}));
    EXPECT_EQ(transcript.events(), 3);
  }
  {
    Transcript again(path, Redactor());
    ASSERT_OK(again.Write("outcome", {{"status", "finished"}}));
  }
  auto events = ReadLines(path);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0]["type"], "task");
  EXPECT_EQ(events[0]["seq"], 1);
  EXPECT_EQ(events[0]["title"], "Rename");
  EXPECT_EQ(events[1]["seq"], 2);
  EXPECT_EQ(events[2]["text"], "line1\nline2\n\"quoted\"");
  EXPECT_EQ(events[3]["type"], "outcome");
  std::string t = events[0]["t"];
  EXPECT_EQ(t.size(), 24u) << t;  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(t.back(), 'Z');
}

TEST(Transcript, RedactsEveryStringAtAnyDepth) {
  TempDir dir;
  auto path = dir / "t.jsonl";
  Transcript transcript(path, Redactor({"hunter2-known-secret"}));
  ASSERT_OK(transcript.Write(
      "model_reply",
      {{"text", "use key sk-abcdefghijklmnopqrstuvwxyz123456 now"},
       {"tool_calls",
        Json::array({{{"arguments",
                       R"({"command":"curl -H 'Authorization: Bearer abcdefghijk12345'"})"}}})},
       {"nested", {{"deep", "password hunter2-known-secret"}}}}));
  std::string text = ReadTestFile(path);
  EXPECT_EQ(text.find("sk-abcdefghijklmnopqrstuvwxyz123456"), std::string::npos) << text;
  EXPECT_EQ(text.find("abcdefghijk12345"), std::string::npos) << text;
  EXPECT_EQ(text.find("hunter2-known-secret"), std::string::npos) << text;
  EXPECT_NE(text.find("[REDACTED]"), std::string::npos);
  EXPECT_EQ(ReadLines(path).size(), 1u);
}

TEST(Transcript, InvalidUtf8StillMakesValidJson) {
  TempDir dir;
  auto path = dir / "t.jsonl";
  Transcript transcript(path, Redactor());
  ASSERT_OK(transcript.Write("tool_result", {{"text", std::string("caf\xE9")}}));
  EXPECT_EQ(ReadLines(path).size(), 1u);
}

TEST(Transcript, UnwritablePathFailsEachWrite) {
  TempDir dir;
  Transcript transcript(dir / "missing" / "t.jsonl", Redactor());
  auto wrote = transcript.Write("task");
  ASSERT_FALSE(wrote.has_value());
  EXPECT_EQ(wrote.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace drover::agent
