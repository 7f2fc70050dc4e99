// Model protocol costs per provider: encoding a long conversation's request (what every turn
// pays), and decoding a streamed reply fed in small network-sized pieces.
// Usage: stream_bench [MESSAGES]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "llm/protocol.h"
#include "llm/stream.h"

using drover::agent::EncodeRequest;
using drover::agent::EncodeStream;
using drover::agent::Message;
using drover::agent::ModelReply;
using drover::agent::ModelRequest;
using drover::agent::Provider;
using drover::agent::ProviderName;
using drover::agent::Role;
using drover::agent::StreamDecoder;

namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

ModelRequest Conversation(int messages) {
  ModelRequest request;
  request.model = "bench-model";
  request.messages.push_back({Role::kSystem, std::string(8000, 's'), {}, "", false});
  for (int i = 0; i < messages; ++i) {
    std::string id = "call_" + std::to_string(i);
    Message assistant{Role::kAssistant, "Reading the next file.", {}, "", false};
    assistant.tool_calls.push_back({id, "read_file", R"({"path":"src/file.py","start":1})"});
    request.messages.push_back(assistant);
    Message result{Role::kTool, std::string(3000, 'x'), {}, id, false};
    result.cache_breakpoint = i + 1 == messages;
    request.messages.push_back(result);
  }
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  const int messages = argc > 1 ? std::atoi(argv[1]) : 100;
  ModelRequest request = Conversation(messages);
  ModelReply reply;
  reply.text = std::string(20000, 't');
  reply.tool_calls.push_back({"call_x", "edit", std::string(20000, 'a')});
  reply.usage = {100000, 2000, 90000};
  constexpr int kRounds = 20;
  constexpr size_t kPiece = 1400;  // About one TCP segment.
  std::printf("%-18s %12s %14s %12s %14s\n", "provider", "request KB", "encode ms", "stream KB",
              "decode MB/s");
  for (Provider provider :
       {Provider::kOpenAiChat, Provider::kOpenAiResponses, Provider::kAnthropic}) {
    size_t request_bytes = 0;
    auto start = Clock::now();
    for (int i = 0; i < kRounds; ++i) request_bytes = EncodeRequest(provider, request).dump().size();
    const double encode_ms = MillisSince(start) / kRounds;
    const std::string stream = EncodeStream(provider, "bench-model", reply);
    start = Clock::now();
    for (int i = 0; i < kRounds; ++i) {
      StreamDecoder decoder(provider);
      for (size_t at = 0; at < stream.size(); at += kPiece) {
        if (!decoder.Feed(std::string_view(stream).substr(at, kPiece))) return 1;
      }
      if (!decoder.Finish()) return 1;
    }
    const double decode_ms = MillisSince(start) / kRounds;
    std::printf("%-18s %12.1f %14.2f %12.1f %14.1f\n", std::string(ProviderName(provider)).c_str(),
                static_cast<double>(request_bytes) / 1024, encode_ms,
                static_cast<double>(stream.size()) / 1024,
                static_cast<double>(stream.size()) / (1 << 20) / (decode_ms / 1000));
  }
  return 0;
}
