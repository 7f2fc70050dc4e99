// Context-window management for the agent loop: token estimates, head/tail truncation of tool
// output, elision of old observations, and compaction of the middle of a conversation into a
// deterministic digest (no model call). Everything is a pure function of its inputs except
// ContextWindow, which holds one conversation. Thread-safety: free functions are pure; a
// ContextWindow is used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/model.h"

namespace drover::agent {

// The one token estimate of the agent: bytes / 4, the rule the gateway meters by when a
// provider reports no usage.
int64_t EstimateTokens(size_t bytes);
// Bytes of a message as the estimate counts them: its text, and each tool call's id, name and
// arguments.
size_t MessageBytes(const Message& message);
// EstimateTokens of the summed MessageBytes.
int64_t EstimateTokens(const std::vector<Message>& messages);

// `text` unchanged when it fits in `max_tokens` (EstimateTokens); otherwise its first and last
// lines (about half of the room each, cut inside a line only when one line alone is too long)
// around a one-line note saying how many lines and bytes were cut and how to see them. The
// result never exceeds max_tokens * 4 bytes and stays valid UTF-8 when `text` is.
// REQUIRES: max_tokens > 0.
std::string TruncateToolOutput(std::string_view text, int64_t max_tokens);

// True for a tool result already replaced by an elision stub.
bool IsElided(const Message& message);

// Replaces the text of older tool results by one-line stubs naming the tool, the gist of its
// arguments and the size ("[elided: read_file src/x.py, 3.2 KB; call read_file again if
// needed]"), newest results first kept until `keep_tokens` of results are kept. Never elided:
// the latest verifier report (a verify result or a refused finish), results under 512 bytes,
// results already elided. Messages are never removed, so a call keeps its result. Returns how
// many results it elided; a second call with the same budget elides none.
int ElideOldObservations(std::vector<Message>& messages, int64_t keep_tokens);

// True for the digest message Compact writes.
bool IsDigest(const Message& message);

// The conversation with its middle replaced by one user message, a digest of what happened
// there (files read, files changed with their edit counts, searches, commands with their exit
// status, the latest verifier report in full when it was in the middle). Kept intact: every
// message up to and including the first user message (system prompt, task), and the most
// recent whole turns (an assistant message with all the messages after it up to the next
// assistant message, so a tool call is never parted from its result) while they fit in
// `keep_recent_tokens`, at least the last turn. Returns `history` unchanged when there is no
// middle to replace, or when the middle is one digest already (Compact of a Compact).
// `history` should be the whole conversation: a digest describes only what it replaces.
std::vector<Message> Compact(const std::vector<Message>& history, int64_t keep_recent_tokens);

// What ContextWindow::Manage did, for the transcript.
struct ContextAction {
  enum class Kind { kElide, kCompact };
  Kind kind = Kind::kElide;
  int64_t tokens_before = 0;
  int64_t tokens_after = 0;
  size_t messages_before = 0;
  size_t messages_after = 0;
  int elided = 0;  // Tool results replaced by stubs.
};

std::string_view ContextActionName(ContextAction::Kind kind);  // "elide" / "compact"

// One conversation: the whole history, and the view sent to the model. The view only grows
// between management steps, so consecutive requests share their whole previous request as a
// prefix and providers can serve it from their cache. Steps are rare by construction:
// elision when the view passes 60% of the room and has grown by a tenth of it since the last
// step (keeping a fifth of the room of recent results), compaction when it passes 80% (to the
// task, a digest and recent turns worth 30% of the room).
class ContextWindow {
 public:
  // `room_tokens`: what the messages may take, that is the model's window less the tool
  // schemas and the reply. `managed` false: the view is the history, never elided or compacted.
  ContextWindow(int64_t room_tokens, bool managed);

  void Add(Message message);
  // Before each model call: elides or compacts when a threshold is passed, else nothing.
  std::optional<ContextAction> Manage();
  // The messages to send: the view, with cache breakpoints on the first user message (the end
  // of the part that never changes) and on the last message.
  std::vector<Message> Request() const;

  const std::vector<Message>& history() const { return history_; }
  const std::vector<Message>& view() const { return view_; }

 private:
  int64_t room_tokens_;
  bool managed_;
  std::vector<Message> history_;
  std::vector<Message> view_;
  int64_t tokens_after_last_step_ = 0;
};

// How much of a request repeats the request before it, in a provider's encoding: the part a
// provider's prefix cache could serve. Cache breakpoints are ignored (providers key the cache
// on content, not on where the breakpoints sit).
struct PrefixShare {
  size_t shared_bytes = 0;  // Encoded tools, system and leading messages equal to `previous`'s.
  size_t total_bytes = 0;   // Encoded tools, system and messages of `next`.
  bool extends = false;     // All of `previous` is repeated: no prefix break.
};
PrefixShare SharedPrefix(Provider provider, const ModelRequest& previous, const ModelRequest& next);

}  // namespace drover::agent
