#include "agent/context.h"

#include <cstdio>
#include <map>
#include <set>

#include "agent/task.h"
#include "agent/tools.h"
#include "tests/testing/testing.h"

namespace drover::agent {
namespace {

// "line 0000\n" ... : `count` lines of 10 bytes.
std::string NumberedLines(int count) {
  std::string text;
  char buf[32];
  for (int i = 0; i < count; ++i) {
    std::snprintf(buf, sizeof(buf), "line %04d\n", i);
    text += buf;
  }
  return text;
}

// Builds conversations turn by turn, with call ids "c1", "c2", ...
class Conversation {
 public:
  Conversation() {
    messages.push_back({Role::kSystem, "You are a coding agent.", {}, "", false});
    messages.push_back({Role::kUser, "Task: rename compute_total to compute_sum.", {}, "", false});
  }

  // One turn: an assistant message with one call, and its result.
  void Turn(const std::string& tool, const Json& args, std::string result, bool is_error = false) {
    std::string id = "c" + std::to_string(++calls_);
    messages.push_back({Role::kAssistant, "", {{id, tool, args.dump()}}, "", false});
    messages.push_back({Role::kTool, std::move(result), {}, id, is_error});
  }

  std::vector<Message> messages;

 private:
  int calls_ = 0;
};

// Every tool result answers a call of the same list, and every call has its result.
void ExpectPairsIntact(const std::vector<Message>& messages) {
  std::set<std::string> calls;
  std::set<std::string> results;
  for (const auto& m : messages) {
    for (const auto& call : m.tool_calls) calls.insert(call.id);
    if (m.role == Role::kTool) results.insert(m.tool_call_id);
  }
  EXPECT_EQ(calls, results);
}

bool SameMessages(const std::vector<Message>& a, const std::vector<Message>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].role != b[i].role || a[i].text != b[i].text ||
        a[i].tool_call_id != b[i].tool_call_id ||
        a[i].tool_calls.size() != b[i].tool_calls.size()) {
      return false;
    }
  }
  return true;
}

TEST(ContextTest, EstimateIsBytesOverFourCountingToolCalls) {
  EXPECT_EQ(EstimateTokens(size_t{4003}), 1000);
  std::vector<Message> messages = {
      {Role::kUser, std::string(400, 'a'), {}, "", false},
      {Role::kAssistant, "", {{"id12", "read_file", std::string(91, 'x')}}, "", false}};
  EXPECT_EQ(MessageBytes(messages[1]), 4u + 9u + 91u);
  EXPECT_EQ(EstimateTokens(messages), (400 + 104) / 4);
}

TEST(ContextTest, ShortToolOutputIsUnchanged) {
  std::string text = NumberedLines(40);  // 400 bytes.
  EXPECT_EQ(TruncateToolOutput(text, 100), text);
}

TEST(ContextTest, TruncationKeepsWholeHeadAndTailLinesAndCountsTheCut) {
  std::string text = NumberedLines(1000);  // 10000 bytes.
  // 400 bytes of budget: 200 for the note, 100 each for head and tail, 10 lines each.
  std::string out = TruncateToolOutput(text, 100);
  std::string expected = text.substr(0, 100) +
                         "[... 980 lines (9800 bytes) cut here; see them with read_file "
                         "start_line/end_line, search, or a narrower command ...]\n" +
                         text.substr(9900);
  EXPECT_EQ(out, expected);
  EXPECT_LE(out.size(), 400u);
  EXPECT_EQ(out.rfind("line 0000\n", 0), 0u);
  EXPECT_TRUE(out.ends_with("line 0999\n"));
}

TEST(ContextTest, TruncationCutsInsideALineOnlyWhenItMust) {
  std::string one_line(1000, 'x');
  std::string out = TruncateToolOutput(one_line, 100);
  EXPECT_EQ(out, std::string(100, 'x') + "\n[... 1 line (800 bytes) cut here; see them with " +
                     "read_file start_line/end_line, search, or a narrower command ...]\n" +
                     std::string(100, 'x'));
  // Three-byte characters: neither cut splits one.
  std::string euros;
  for (int i = 0; i < 400; ++i) euros += "\xE2\x82\xAC";
  std::string cut = TruncateToolOutput(euros, 100);
  std::string head = cut.substr(0, cut.find('\n'));
  std::string tail = cut.substr(cut.rfind('\n') + 1);
  EXPECT_EQ(head.size(), 99u);  // 33 characters.
  EXPECT_EQ(tail.size(), 99u);  // 33 characters, starting at byte 1101.
  EXPECT_EQ(head, euros.substr(0, 99));
  EXPECT_EQ(tail, euros.substr(1101));
  EXPECT_NE(cut.find("(1002 bytes)"), std::string::npos) << cut;
}

TEST(ContextTest, ElisionStubsOlderResultsAndKeepsTheLatestReport) {
  Conversation c;
  c.Turn("verify", Json::object(), "test: FAILED exit 1\n" + std::string(1100, 'o'));
  c.Turn("read_file", {{"path", "src/a.py"}}, std::string(2000, 'a'));
  c.Turn("run", {{"command", "make test"}}, "exit 2 (0.1s)\n" + std::string(2000, 'r'));
  c.Turn("verify", Json::object(), "test: FAILED exit 1\nE   NameError: compute_sum\n");
  c.Turn("read_file", {{"path", "src/b.py"}, {"start_line", 40}}, std::string(2000, 'b'));
  c.Turn("list_files", Json::object(), "src/a.py\nsrc/b.py\n");
  std::vector<Message> original = c.messages;

  std::vector<Message> messages = original;
  // Kept newest first: the listing (18 bytes) and b.py (2000); the latest report is kept
  // outside the budget; run passes the 4000 bytes, so it and everything older is elided.
  EXPECT_EQ(ElideOldObservations(messages, 1000), 3);
  ASSERT_EQ(messages.size(), original.size());
  ExpectPairsIntact(messages);
  EXPECT_EQ(messages[3].text, "[elided: verify, 1.1 KB; call verify again if needed]");
  EXPECT_EQ(messages[5].text,
            "[elided: read_file src/a.py, 2.0 KB; call read_file again if needed]");
  EXPECT_EQ(messages[7].text, "[elided: run `make test`, 2.0 KB; call run again if needed]");
  EXPECT_EQ(messages[9].text, original[9].text);    // The latest verifier report.
  EXPECT_EQ(messages[11].text, original[11].text);  // Recent.
  EXPECT_EQ(messages[13].text, original[13].text);
  for (size_t i : {3u, 5u, 7u}) {
    EXPECT_TRUE(IsElided(messages[i]));
    EXPECT_EQ(messages[i].tool_call_id, original[i].tool_call_id);
  }

  // Idempotent: the same budget elides nothing more.
  std::vector<Message> again = messages;
  EXPECT_EQ(ElideOldObservations(again, 1000), 0);
  EXPECT_TRUE(SameMessages(again, messages));

  // With no budget at all, the latest report and the small listing still stay.
  std::vector<Message> none = original;
  EXPECT_EQ(ElideOldObservations(none, 0), 4);
  EXPECT_EQ(none[9].text, original[9].text);
  EXPECT_EQ(none[13].text, original[13].text);
  EXPECT_EQ(none[11].text,
            "[elided: read_file src/b.py from line 40, 2.0 KB; call read_file again if needed]");
}

TEST(ContextTest, ARefusedFinishCountsAsTheLatestReport) {
  Conversation c;
  c.Turn("verify", Json::object(), "test: passed\n" + std::string(1000, 'p'));
  c.Turn("finish", {{"summary", "done"}},
         "finish refused: the checks failed (test: FAILED)\n" + std::string(1000, 'f'), true);
  std::vector<Message> messages = c.messages;
  EXPECT_EQ(ElideOldObservations(messages, 0), 1);
  EXPECT_TRUE(IsElided(messages[3]));
  EXPECT_FALSE(IsElided(messages[5]));
}

// 24 turns: reads, edits, a write, commands, verifies; each result about 1 KB.
Conversation LongSession() {
  Conversation c;
  for (int i = 0; i < 6; ++i) {
    std::string file = "src/f" + std::to_string(i) + ".py";
    c.Turn("read_file", {{"path", file}}, NumberedLines(100));
    c.Turn("edit", {{"path", file}, {"search", "a"}, {"replace", "b"}}, "Edited " + file + ".");
    c.Turn("run", {{"command", "pytest -q tests/test_" + std::to_string(i) + ".py"}},
           "exit " + std::to_string(i % 2) + " (0.4s)\n" + NumberedLines(100));
    c.Turn("verify", Json::object(),
           "test: FAILED exit 1\nreport number " + std::to_string(i) + "\n" + NumberedLines(60));
  }
  c.Turn("edit",
         {{"edits",
           {{{"path", "src/f0.py"}, {"search", "x"}, {"replace", "y"}},
            {{"path", "src/g.py"}, {"search", "x"}, {"replace", "y"}}}}},
         "Edited src/f0.py, src/g.py.");
  c.Turn("write_file", {{"path", "src/new.py"}, {"content", "pass\n"}}, "Wrote src/new.py.");
  c.Turn("edit", {{"path", "src/missing.py"}, {"search", "a"}, {"replace", "b"}},
         "edit failed, no file was changed: not found", true);
  c.Turn("search", {{"pattern", "compute_total"}}, "src/f1.py:3: compute_total()\n");
  return c;
}

TEST(ContextTest, CompactionKeepsTaskDigestAndRecentTurns) {
  std::vector<Message> history = LongSession().messages;
  // 800 bytes hold the last four turns (about 400 bytes) but not the verify turn before them.
  std::vector<Message> out = Compact(history, 200);
  ASSERT_EQ(out.size(), 2u + 1u + 8u);
  EXPECT_EQ(out[0].text, history[0].text);
  EXPECT_EQ(out[1].text, history[1].text);
  ASSERT_TRUE(IsDigest(out[2]));
  EXPECT_EQ(out[2].role, Role::kUser);
  for (size_t i = 3; i < out.size(); ++i) {
    EXPECT_EQ(out[i].text, history[history.size() - 8 + (i - 3)].text);
  }
  EXPECT_EQ(out[3].role, Role::kAssistant);
  ExpectPairsIntact(out);

  const std::string& digest = out[2].text;
  EXPECT_NE(digest.find("48 earlier messages"), std::string::npos) << digest;
  EXPECT_NE(digest.find("Files read: src/f0.py, src/f1.py, src/f2.py, src/f3.py, src/f4.py, "
                        "src/f5.py\n"),
            std::string::npos)
      << digest;
  EXPECT_NE(digest.find("Files changed: src/f0.py (1 edit), src/f1.py (1 edit)"), std::string::npos)
      << digest;
  EXPECT_NE(digest.find("- `pytest -q tests/test_3.py`: exit 1\n"), std::string::npos) << digest;
  EXPECT_NE(digest.find("- `pytest -q tests/test_4.py`: exit 0\n"), std::string::npos) << digest;
  // The latest report was in the middle: the digest carries all of it.
  EXPECT_NE(digest.find("Latest verifier report:\ntest: FAILED exit 1\nreport number 5\n" +
                        NumberedLines(60)),
            std::string::npos)
      << digest;
  EXPECT_EQ(digest.find("report number 4"), std::string::npos);

  // Deterministic, and a second compaction with the same budget changes nothing.
  EXPECT_EQ(digest.find("Searches:"), std::string::npos);  // The search is a recent turn.

  EXPECT_TRUE(SameMessages(Compact(history, 200), out));
  EXPECT_TRUE(SameMessages(Compact(out, 200), out));
}

TEST(ContextTest, CompactionCountsEditsAndSaysWhereTheReportIs) {
  // Keep only the very last turn (a verify): the edits and the search are in the digest.
  Conversation c = LongSession();
  c.Turn("verify", Json::object(), "test: passed\n");
  std::vector<Message> out = Compact(c.messages, 1);
  ASSERT_EQ(out.size(), 2u + 1u + 2u);
  const std::string& digest = out[2].text;
  EXPECT_NE(digest.find("src/f0.py (2 edits), src/f1.py (1 edit)"), std::string::npos) << digest;
  EXPECT_NE(digest.find("src/g.py (1 edit), src/new.py (1 write)\n"), std::string::npos) << digest;
  EXPECT_EQ(digest.find("missing.py"), std::string::npos) << digest;  // The edit failed.
  EXPECT_NE(digest.find("Searches: `compute_total`\n"), std::string::npos) << digest;
  // The latest report is among the recent turns: it stays there, and the digest says so.
  EXPECT_EQ(out.back().text, "test: passed\n");
  EXPECT_NE(digest.find("The latest verifier report is in the turns below."), std::string::npos);
  EXPECT_EQ(digest.find("report number"), std::string::npos);
}

TEST(ContextTest, NothingToCompactReturnsTheHistory) {
  Conversation c;
  EXPECT_TRUE(SameMessages(Compact(c.messages, 0), c.messages));
  c.Turn("read_file", {{"path", "a.py"}}, std::string(5000, 'a'));
  EXPECT_TRUE(SameMessages(Compact(c.messages, 0), c.messages));  // The last turn stays.
}

TEST(ContextTest, RequestMarksTheStablePrefixAndTheEnd) {
  ContextWindow window(100000, true);
  Conversation c;
  c.Turn("list_files", Json::object(), "a.py\n");
  for (auto& m : c.messages) window.Add(m);
  std::vector<Message> request = window.Request();
  ASSERT_EQ(request.size(), 4u);
  EXPECT_FALSE(request[0].cache_breakpoint);
  EXPECT_TRUE(request[1].cache_breakpoint);
  EXPECT_FALSE(request[2].cache_breakpoint);
  EXPECT_TRUE(request[3].cache_breakpoint);
  EXPECT_FALSE(window.view()[3].cache_breakpoint);  // Only the request carries them.
}

TEST(ContextTest, UnmanagedWindowNeverChangesTheConversation) {
  ContextWindow window(1000, false);
  Conversation c = LongSession();
  for (auto& m : c.messages) {
    window.Add(m);
    EXPECT_FALSE(window.Manage().has_value());
  }
  EXPECT_TRUE(SameMessages(window.view(), c.messages));
}

TEST(ContextTest, WindowWaitsForGrowthThenCompactsKeepingTheReport) {
  ContextWindow window(1000, true);
  Conversation c;
  std::string report = "test: FAILED exit 1\n" + std::string(2800, 'r');
  c.Turn("verify", Json::object(), report);
  for (auto& m : c.messages) window.Add(m);
  // Over 60% of the room, but the only large result is the latest report: nothing to do.
  EXPECT_FALSE(window.Manage().has_value());
  window.Add({Role::kAssistant, "", {{"c9", "list_files", "{}"}}, "", false});
  window.Add({Role::kTool, "a.py\n", {}, "c9", false});
  EXPECT_FALSE(window.Manage().has_value());
  // A large read passes 80%: the verify turn goes to the digest, with the report in full.
  window.Add({Role::kAssistant, "", {{"c10", "read_file", R"({"path": "a.py"})"}}, "", false});
  window.Add({Role::kTool, std::string(2000, 'a'), {}, "c10", false});
  auto action = window.Manage();
  ASSERT_TRUE(action.has_value());
  EXPECT_EQ(action->kind, ContextAction::Kind::kCompact);
  EXPECT_EQ(action->messages_before, 8u);
  EXPECT_EQ(action->messages_after, 5u);
  EXPECT_LT(action->tokens_after, action->tokens_before);
  ASSERT_TRUE(IsDigest(window.view()[2]));
  EXPECT_TRUE(window.view()[2].text.ends_with("Latest verifier report:\n" + report));
  EXPECT_EQ(window.history().size(), 8u);  // The history keeps everything.
  ExpectPairsIntact(window.view());
}

ModelRequest RequestOf(const ContextWindow& window) {
  ModelRequest request;
  request.model = "m";
  request.messages = window.Request();
  request.tools = Tools::Schemas();
  return request;
}

// Over a long scripted session, each request repeats the previous one whole, except at the
// few management steps; the system prompt and the task never change; every request fits.
TEST(ContextTest, ConsecutiveRequestsShareTheirPrefixExceptAtManagementSteps) {
  constexpr int64_t kRoom = 10000;
  constexpr int kTurns = 100;
  for (Provider provider : {Provider::kOpenAiChat, Provider::kAnthropic}) {
    ContextWindow window(kRoom, true);
    Conversation c;
    for (auto& m : c.messages) window.Add(m);
    std::optional<ModelRequest> previous;
    int actions = 0;
    int compactions = 0;
    int breaks = 0;
    size_t shared = 0;
    size_t total = 0;
    for (int turn = 0; turn < kTurns; ++turn) {
      if (auto action = window.Manage()) {
        ++actions;
        compactions += action->kind == ContextAction::Kind::kCompact;
        EXPECT_LT(action->tokens_after, action->tokens_before);
      }
      ModelRequest request = RequestOf(window);
      EXPECT_LE(EstimateTokens(request.messages), kRoom * 8 / 10 + 2000) << "turn " << turn;
      EXPECT_EQ(request.messages[0].text, c.messages[0].text);
      EXPECT_EQ(request.messages[1].text, c.messages[1].text);
      if (previous) {
        PrefixShare share = SharedPrefix(provider, *previous, request);
        breaks += share.extends ? 0 : 1;
        shared += share.shared_bytes;
        total += share.total_bytes;
      }
      previous = request;
      // The model's next turn: a read, a run, a verify or a write, with 1-3 KB of result or of
      // content.
      std::string id = "t" + std::to_string(turn);
      std::string file = "src/m" + std::to_string(turn) + ".py";
      std::string tool;
      Json args = Json::object();
      std::string result;
      switch (turn % 4) {
        case 0: tool = "read_file", args = {{"path", file}}, result = NumberedLines(200); break;
        case 1: tool = "run", args = {{"command", "make test"}}, result = NumberedLines(300); break;
        case 2: tool = "verify", result = "test: FAILED\n" + NumberedLines(100); break;
        default:
          tool = "write_file", args = {{"path", file}, {"content", NumberedLines(150)}};
          result = "Wrote " + file + ".";
      }
      window.Add({Role::kAssistant, "", {{id, tool, args.dump()}}, "", false});
      window.Add({Role::kTool, result, {}, id, false});
    }
    EXPECT_EQ(breaks, actions) << ProviderName(provider);
    EXPECT_GE(actions, 3) << ProviderName(provider);
    EXPECT_GE(compactions, 1) << ProviderName(provider);
    EXPECT_LE(actions, kTurns / 4)  // The room holds about 20 turns.
        << ProviderName(provider);
    EXPECT_GT(shared * 10, total * 8) << ProviderName(provider);  // Over 80% repeated.
    ExpectPairsIntact(window.view());
  }
}

TEST(ContextTest, SharedPrefixStopsAtTheFirstDifferentMessage) {
  Conversation c;
  c.Turn("read_file", {{"path", "a.py"}}, "one");
  ModelRequest a;
  a.messages = c.messages;
  ModelRequest b = a;
  b.messages.back().cache_breakpoint = true;  // Breakpoints do not count.
  b.messages.push_back({Role::kUser, "more", {}, "", false});
  PrefixShare share = SharedPrefix(Provider::kOpenAiChat, a, b);
  EXPECT_TRUE(share.extends);
  EXPECT_LT(share.shared_bytes, share.total_bytes);
  ModelRequest changed = a;
  changed.messages.back().text = "two";
  PrefixShare broken = SharedPrefix(Provider::kOpenAiChat, a, changed);
  EXPECT_FALSE(broken.extends);
  EXPECT_EQ(broken.total_bytes, share.shared_bytes);  // As long as `a`, which `b` repeats.
  EXPECT_LT(broken.shared_bytes, broken.total_bytes);
}

TEST(ContextTest, LimitsTravelInTaskJson) {
  AgentTask task;
  task.migration_id = "m";
  task.title = "T";
  task.instructions = "Do it.";
  task.repository = "repo";
  task.workspace = "/tmp/ws";
  task.model = "m-1";
  task.limits.context_window_tokens = 200000;
  task.limits.max_tool_output_tokens = 1500;
  task.limits.context_management = false;
  auto back = AgentTaskFromJson(ToJson(task));
  ASSERT_OK(back);
  EXPECT_EQ(back->limits.context_window_tokens, 200000);
  EXPECT_EQ(back->limits.max_tool_output_tokens, 1500);
  EXPECT_FALSE(back->limits.context_management);
  Json bad = ToJson(task);
  bad["limits"]["context_management"] = "no";
  auto refused = AgentTaskFromJson(bad);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            "field 'task.limits.context_management' must be true or false");
}

}  // namespace
}  // namespace drover::agent
