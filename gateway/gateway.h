// The LLM gateway: serves each job's agent on its own Unix socket; adds credentials, enforces
// the job's and the run's budgets, measures each job's waits for capacity, retries the upstream
// (streaming, with a stall watchdog) and falls back to the next model, meters usage, logs
// exchanges, replays/records cassettes.
// Thread-safe: every method may be called from any thread; requests are served concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/model.h"
#include "core/error.h"
#include "core/http.h"
#include "core/json.h"
#include "core/retry.h"
#include "gateway/prices.h"
#include "gateway/slot_pool.h"
#include "gateway/rate_governor.h"

namespace drover::fleet {

struct UpstreamConfig {
  agent::Provider provider = agent::Provider::kOpenAiChat;
  std::string base_url;  // In the provider's convention (agent::UpstreamUrl).
  std::string api_key;   // Empty: no credential header (local servers).
  std::string model;     // Sent upstream in place of the agent's model name; empty: the agent's.
};

struct GatewayOptions {
  // The real models, in order of preference; empty: jobs must replay a cassette. A request
  // that has used up its retries on one with a provider error (5xx, 429, transport, stall)
  // goes to the next, and so does the rest of that job; a 4xx other than 429 does not.
  std::vector<UpstreamConfig> upstreams;
  // Upstream tries per request: transport errors, stalls, 408, 429 and 5xx are tried again.
  // Default 5 tries, backoff 500 ms * 2^k jittered by half, Retry-After honoured; both capped
  // at 30 s.
  RetryPolicy retry{.max_attempts = 5,
                    .base_delay = std::chrono::milliseconds(500),
                    .max_delay = std::chrono::milliseconds(30000),
                    .jitter = 0.5};
  // Ask upstream for server-sent events and assemble the reply. Default true.
  bool stream_upstream = true;
  // An upstream reply (body or stream) larger than this is refused with a 502 naming the cap
  // when it reaches it: the gateway never holds more of one reply than this. A cassette
  // holding a larger reply (text and tool calls, or an injected failure's body and headers)
  // is refused at OpenJob. Default 8 MiB.
  size_t max_reply_bytes = size_t{8} << 20;
  // A streamed upstream call that receives no byte for this long is abandoned and retried
  // like a transport error. Default 90 s.
  std::chrono::seconds stall_timeout{90};
  // When set (upstream mode), each job's replies are saved as <record_dir>/<repository>.json
  // at CloseJob.
  std::optional<std::filesystem::path> record_dir;
  // Waits between upstream tries; default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Borrowed; must outlive the gateway. REQUIRES: set when `upstream` is.
  HttpClient* http = nullptr;
  // Borrowed, optional: every upstream try of every job waits for it, replies count their
  // tokens in it, and a 429 with Retry-After pauses it for all jobs.
  RateGovernor* governor = nullptr;
  // Borrowed, optional: served to each job's agent at POST /drover/build-slot/acquire (waits
  // up to 30 s; replies {"lease": ID} or {"lease": null}, to be asked again) and
  // /drover/build-slot/release ({"lease": ID}), leased under the job's id, one at a time (a
  // job holding one is answered 409) for at most JobConfig::build_slot_max_hold. Absent: 404, and
  // the agent runs its commands without waiting.
  SlotPool* build_slots = nullptr;
  // Masked, with every upstream's api_key, in all the gateway returns to an agent or logs: the
  // run's other credentials (a forge token, credential-named variables of the environment).
  std::vector<std::string> secrets;
  // The run's budgets, shared by every job of this gateway, enforced like each job's own: a
  // model request reserves its worst case (the prompt, estimated from its size, plus the output
  // it is sent with, priced at `run_price` for the cost budget) against what the run has left
  // after what its jobs spent and what their requests in flight reserved; one that cannot fit
  // is refused (403 budget_exhausted naming the run's budget), the others have their output
  // capped to what is left, and each reservation is settled to the reply's usage. Jobs in
  // parallel cannot pass the run's budget by more than the prompt estimates' error.
  int64_t run_max_tokens = 0;    // Input + output tokens; 0 or less: no run-wide limit.
  double run_max_cost_usd = 0;   // US dollars at run_price; 0 or less: no cost budget.
  Price run_price;               // The highest price of the run's models (HighestPrice).
};

struct JobConfig {
  std::string job_id;
  std::string repository;
  // Input + output tokens the job may use; 0 or less: no limit. Enforced here, whatever the
  // agent sends: the job's model requests are served one at a time, and each is refused unless
  // its prompt (estimated from its size) fits in what is left, and is sent upstream with its
  // output capped to the rest, so the job's total cannot pass the limit by more than the
  // estimate's error.
  int64_t max_tokens = 0;
  // Output tokens one upstream call may ask for: a request asking more, or naming none, is
  // sent upstream with this. 0 or less: the agent's own value.
  int max_output_tokens = 0;
  // Model requests the job may send, over all its attempts; 0 or less: no limit. Counted
  // here, so a request sent straight to the socket counts as a turn too.
  int max_turns = 0;
  // The longest the job's agent may hold a build slot it leased on its socket before the slot
  // is taken back (the longest command its limits allow); 0: no bound. It holds at most one.
  std::chrono::seconds build_slot_max_hold{0};
  std::filesystem::path socket_path;
  // Replay this job from the cassette instead of the upstream.
  std::optional<std::filesystem::path> cassette;
  // JSONL, one line per exchange, secrets redacted. Appended to. An answered exchange has
  // "prompt_prefix": {"bytes", "repeated_bytes"}: its tools, system and messages as encoded for
  // the model that answered (agent::SharedPrefix), and how many of those bytes repeat the job's
  // previous answered request to that same model (0 for its first): what the provider's
  // prefix cache could serve.
  std::optional<std::filesystem::path> exchange_log;
  // Resuming a job an interrupted run had started: `find_step(n)` returns the reply (as
  // StepToText wrote it) of the job's n-th upstream exchange (0-based, over its attempts) when
  // one was finished before, and it is served again instead of being paid for twice;
  // `record_step(n, text)` is called after each new one. Both optional; called from the
  // job's connection threads.
  std::function<std::optional<std::string>(int)> find_step;
  std::function<void(int, const std::string&)> record_step;
};

struct JobUsage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cached_input_tokens = 0;
  int requests = 0;          // Model requests the agent sent (refused ones included).
  int turns = 0;             // Model requests admitted under max_turns and max_tokens.
  int upstream_retries = 0;  // Upstream tries beyond the first, over all requests.
  int replayed = 0;          // Cassette exchanges served.
  int resumed = 0;           // Exchanges served again from an interrupted run's record.
  int fallbacks = 0;         // Moves to the next upstream model.
  int run_budget_refusals = 0;  // Requests refused because the run's budget was spent.
  std::string model;         // "provider:model" of the upstream that answered last.
};

// A finished exchange's reply as find_step/record_step carry it (a one-exchange cassette).
std::string StepToText(const agent::ModelReply& reply);

// The body sent to `upstream` for the agent's decoded `request`. It is built, never copied
// from the agent's bytes, from an allowlist: the messages, the tools, the upstream's
// configured model (the agent's when none is configured), the output limit capped at
// `max_output_tokens` (when > 0; also used when the agent named none), `stream`, and the
// fixed fields the gateway owns: "n": 1 and "store": false (Chat Completions), "store":
// false (Responses). Every other field the agent sent (sampling counts, server-side
// storage, metadata, tool choice, unknown fields) is dropped by the decoder and is never
// sent.
Json UpstreamRequestBody(const UpstreamConfig& upstream, const agent::ModelRequest& request,
                         int max_output_tokens, bool stream);

class Gateway {
 public:
  explicit Gateway(GatewayOptions options);
  ~Gateway();  // Closes every open job.
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Loads the job's cassette (if any) and starts serving on its socket.
  // Errors: kInvalidArgument (duplicate id, no cassette and no upstream, bad cassette, a
  // cassette reply above max_reply_bytes naming the file and exchange, bad socket path),
  // kNotFound (cassette file), kIo.
  Status OpenJob(const JobConfig& config);

  // Usage so far; still available after CloseJob. Zeros for an unknown job.
  JobUsage Usage(std::string_view job_id) const;
  // Usage over every job this gateway served, open or closed.
  JobUsage TotalUsage() const;

  // Why the run's budget refused a request (the last such refusal); nullopt before any.
  std::optional<std::string> RunBudgetRefusal() const;

  // How long the job's requests have waited for shared capacity (a build slot, the rate
  // governor), as wall-clock time during which at least one of them waited: parallel waits
  // count once. Also served to the job's agent at GET /drover/capacity-wait
  // ({"waited_ms": N}). Zero for an unknown or closed job.
  std::chrono::milliseconds CapacityWait(std::string_view job_id) const;

  // Stops serving the job, removes its socket and, when recording, writes its cassette.
  // Errors: kNotFound (unknown job), kIo (writing the recording).
  Status CloseJob(std::string_view job_id);

 private:
  struct Job;
  // What the run's requests in flight reserved and what its jobs spent (RunMeter in the .cc).
  struct RunMeter;
  struct Reservation {
    int64_t tokens = 0;
    double cost = 0;
  };

  // Reserves the worst case of `request` (its output capped to what the run has left) against
  // the run's budgets; the refusal's text when it cannot fit.
  std::optional<std::string> ReserveRun(int64_t prompt_tokens, int job_max_output_tokens,
                                        agent::ModelRequest& request, Reservation& reservation);
  void ReleaseRun(const Reservation& reservation);

  HttpResponse Handle(Job& job, const HttpRequest& request);
  HttpResponse HandleBuildSlot(Job& job, std::string_view path, const HttpRequest& request);
  HttpResponse Replay(Job& job, agent::Provider provider, const agent::ModelRequest& request,
                      const HttpRequest& http_request);
  HttpResponse Forward(Job& job, agent::Provider provider, const agent::ModelRequest& request);
  struct Outcome;
  // Tries one upstream with retries; `entry` is the exchange's log entry.
  Outcome CallUpstream(Job& job, const UpstreamConfig& upstream, const agent::ModelRequest& request,
                       Json& entry);

  GatewayOptions options_;
  mutable std::mutex mutex_;  // Guards jobs_ and closed_usage_.
  std::map<std::string, std::shared_ptr<Job>, std::less<>> jobs_;
  std::map<std::string, JobUsage, std::less<>> closed_usage_;
  std::unique_ptr<RunMeter> run_meter_;
};

}  // namespace drover::fleet
