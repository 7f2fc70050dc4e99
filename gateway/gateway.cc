#include "gateway/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <thread>
#include <utility>
#include <vector>

#include "agent/context.h"
#include "llm/http_model_client.h"
#include "llm/protocol.h"
#include "llm/provider.h"
#include "llm/stream.h"
#include "core/fs.h"
#include "core/http_server.h"
#include "core/http_status.h"
#include "core/json.h"
#include "core/redact.h"
#include "gateway/cassette.h"

namespace drover::fleet {
namespace {

constexpr size_t kLogTextChars = 300;

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string Truncate(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit)) + "...";
}

std::string UtcNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) %
                1000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(millis.count()));
  return out;
}

// Errors the gateway itself produces, in a shape both providers' clients read.
HttpResponse GatewayError(int status, std::string_view kind, const std::string& message) {
  HttpResponse response;
  response.status = status;
  response.headers["content-type"] = "application/json";
  response.headers["x-drover-error"] = std::string(kind);
  response.body = Dump({{"type", "error"}, {"error", {{"type", kind}, {"message", message}}}});
  return response;
}

HttpResponse JsonResponse(std::string body) {
  HttpResponse response;
  response.status = 200;
  response.headers["content-type"] = "application/json";
  response.body = std::move(body);
  return response;
}

// A reply in the protocol the agent spoke: a JSON body, or server-sent events when the agent
// asked for a stream.
HttpResponse ReplyResponse(agent::Provider provider, const std::string& model,
                           const agent::ModelReply& reply, bool stream) {
  HttpResponse response;
  response.status = 200;
  if (stream) {
    response.headers["content-type"] = "text/event-stream";
    response.headers["cache-control"] = "no-cache";
    response.body = agent::EncodeStream(provider, model, reply);
  } else {
    response.headers["content-type"] = "application/json";
    response.body = Dump(agent::EncodeResponse(provider, model, reply));
  }
  return response;
}

int64_t EstimateTokens(size_t bytes) { return std::max<int64_t>(1, static_cast<int64_t>(bytes / 4)); }

size_t ReplyBytes(const agent::ModelReply& reply) {
  size_t bytes = reply.text.size();
  for (const auto& call : reply.tool_calls) bytes += call.name.size() + call.arguments.size();
  return bytes;
}

Json UsageJson(const agent::Usage& usage) {
  return {{"input_tokens", usage.input_tokens},
          {"output_tokens", usage.output_tokens},
          {"cached_input_tokens", usage.cached_input_tokens}};
}

Json RequestSummary(const agent::ModelRequest& request) {
  Json summary = {{"model", request.model}, {"messages", request.messages.size()}};
  if (!request.messages.empty()) {
    summary["last_message"] = Truncate(request.messages.back().text, kLogTextChars);
  }
  return summary;
}

Json ReplySummary(const agent::ModelReply& reply) {
  Json calls = Json::array();
  for (const auto& call : reply.tool_calls) {
    calls.push_back({{"name", call.name}, {"arguments", Truncate(call.arguments, kLogTextChars)}});
  }
  return {{"text", Truncate(reply.text, kLogTextChars)},
          {"tool_calls", std::move(calls)},
          {"stop_reason", reply.stop_reason}};
}

// Everything the agent receives passes here: a key the upstream echoed (in a reply, an error
// body, a stream's error event, or a message of the gateway's own that quotes one) is masked
// in every form the redactor knows, in the body and in the header values.
HttpResponse MaskResponse(const Redactor& redactor, HttpResponse response) {
  response.body = redactor.Redact(response.body);
  for (auto& [name, value] : response.headers) value = redactor.Redact(value);
  return response;
}

// An upstream reply with the run's keys masked, before it is metered, recorded or served.
agent::ModelReply MaskReply(const Redactor& redactor, agent::ModelReply reply) {
  reply.text = redactor.Redact(reply.text);
  for (auto& call : reply.tool_calls) {
    call.name = redactor.Redact(call.name);
    call.arguments = redactor.Redact(call.arguments);
  }
  return reply;
}

}  // namespace

std::string StepToText(const agent::ModelReply& reply) {
  Cassette one;
  CassetteExchange exchange;
  exchange.reply = reply;
  exchange.has_usage = true;
  one.exchanges.push_back(std::move(exchange));
  return CassetteToJson(one).dump();
}

Json UpstreamRequestBody(const UpstreamConfig& upstream, const agent::ModelRequest& request,
                         int max_output_tokens, bool stream) {
  agent::ModelRequest sent;
  sent.model = upstream.model.empty() ? request.model : upstream.model;
  sent.messages = request.messages;
  sent.tools = request.tools;
  sent.stream = stream;
  sent.max_output_tokens = request.max_output_tokens;
  if (max_output_tokens > 0 &&
      (sent.max_output_tokens <= 0 || sent.max_output_tokens > max_output_tokens)) {
    sent.max_output_tokens = max_output_tokens;
  }
  if (sent.max_output_tokens <= 0) {
    sent.max_output_tokens = agent::ModelRequest{}.max_output_tokens;
  }
  Json body = agent::EncodeRequest(upstream.provider, sent);
  agent::AddStatelessFields(upstream.provider, body);
  return body;
}

struct Gateway::RunMeter {
  Price price;
  std::mutex mutex;  // Guards the fields below.
  int64_t spent_tokens = 0;
  double spent_cost = 0;
  int64_t reserved_tokens = 0;
  double reserved_cost = 0;
  std::string refusal;  // The last refusal for the run's budget; empty before any.
};

struct Gateway::Job {
  JobConfig config;
  RunMeter* run = nullptr;  // The gateway's; outlives the job.
  std::optional<Cassette> cassette;
  Redactor redactor;
  std::unique_ptr<HttpServer> server;
  // Held over each model request, so that a job has one in flight and its budget is checked
  // against settled usage; a concurrent request waits here.
  std::mutex model_mutex;

  std::mutex mutex;  // Guards the fields below.
  size_t next_exchange = 0;
  int next_upstream = 0;  // Numbers upstream exchanges for find_step/record_step.
  size_t upstream_index = 0;  // Into GatewayOptions::upstreams: the model this job is on.
  JobUsage usage;
  Cassette recording;
  // Capacity waits: how many of the job's requests wait now, since when, and the time before.
  int waiting = 0;
  std::chrono::steady_clock::time_point waiting_since;
  std::chrono::steady_clock::duration waited{0};
  // The job's last answered request and who answered it, for PromptPrefix.
  std::optional<agent::ModelRequest> previous_request;
  std::string previous_served_by;

  // How much of `request`, encoded for `provider`, repeats the job's previous answered request
  // when the same model (`served_by`) answered that one: what a provider's prefix cache could
  // serve. Remembers `request` for the next call. {"bytes": N, "repeated_bytes": M}.
  Json PromptPrefix(agent::Provider provider, const std::string& served_by,
                    const agent::ModelRequest& request) {
    std::optional<agent::ModelRequest> before;
    {
      std::lock_guard lock(mutex);
      if (previous_served_by == served_by) before = std::move(previous_request);
      previous_request = request;
      previous_served_by = served_by;
    }
    agent::PrefixShare share =
        agent::SharedPrefix(provider, before ? *before : agent::ModelRequest{}, request);
    return {{"bytes", share.total_bytes}, {"repeated_bytes", before ? share.shared_bytes : 0}};
  }

  // Records one exchange, when the job has a log. `entry` gets the common fields.
  void Log(Json entry) {
    if (!config.exchange_log) return;
    entry["time"] = UtcNow();
    entry["job"] = config.job_id;
    std::string line = redactor.Redact(Dump(entry)) + "\n";
    std::lock_guard lock(mutex);
    if (auto appended = AppendFile(*config.exchange_log, line); !appended) {
      spdlog::warn("gateway: job {}: exchange log: {}", config.job_id, appended.error().message);
    }
  }

  // Adds a reply's tokens to the job's usage and to the run's.
  void Meter(const agent::Usage& reply_usage) {
    {
      std::lock_guard lock(mutex);
      usage.input_tokens += reply_usage.input_tokens;
      usage.output_tokens += reply_usage.output_tokens;
      usage.cached_input_tokens += reply_usage.cached_input_tokens;
    }
    std::lock_guard lock(run->mutex);
    run->spent_tokens += reply_usage.input_tokens + reply_usage.output_tokens;
    run->spent_cost += Cost(run->price, reply_usage.input_tokens, reply_usage.cached_input_tokens,
                            reply_usage.output_tokens);
  }

  // Runs `wait` (a wait for shared capacity) counted in the job's capacity wait.
  template <typename F>
  auto Waiting(F&& wait) {
    {
      std::lock_guard lock(mutex);
      if (waiting++ == 0) waiting_since = std::chrono::steady_clock::now();
    }
    struct Done {
      Job& job;
      ~Done() {
        std::lock_guard lock(job.mutex);
        if (--job.waiting == 0) job.waited += std::chrono::steady_clock::now() - job.waiting_since;
      }
    } done{*this};
    return wait();
  }

  std::chrono::milliseconds Waited() {
    std::lock_guard lock(mutex);
    auto total = waited;
    if (waiting > 0) total += std::chrono::steady_clock::now() - waiting_since;
    return std::chrono::duration_cast<std::chrono::milliseconds>(total);
  }
};

Gateway::Gateway(GatewayOptions options)
    : options_(std::move(options)), run_meter_(std::make_unique<RunMeter>()) {
  run_meter_->price = options_.run_price;
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds delay) { std::this_thread::sleep_for(delay); };
  }
}

Gateway::~Gateway() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, job] : jobs_) ids.push_back(id);
  }
  for (const auto& id : ids) (void)CloseJob(id);
}

Status Gateway::OpenJob(const JobConfig& config) {
  if (config.job_id.empty()) return Fail(ErrorCode::kInvalidArgument, "gateway: empty job id");
  std::string what = "gateway: job " + config.job_id;
  std::lock_guard lock(mutex_);
  if (jobs_.contains(config.job_id)) {
    return Fail(ErrorCode::kInvalidArgument, what + " is already open");
  }
  auto job = std::make_shared<Job>();
  job->config = config;
  job->run = run_meter_.get();
  if (config.cassette) {
    auto cassette = LoadCassette(*config.cassette);
    if (!cassette) return Fail(WithContext(cassette.error(), what));
    // Replayed replies are held and served like upstream ones, so the same cap applies.
    for (size_t i = 0; i < cassette->exchanges.size(); ++i) {
      const CassetteExchange& exchange = cassette->exchanges[i];
      size_t bytes = 0;
      if (exchange.reply) bytes = ReplyBytes(*exchange.reply);
      if (exchange.failure) {
        bytes = exchange.failure->body.size();
        for (const auto& [name, value] : exchange.failure->headers) {
          bytes += name.size() + value.size();
        }
      }
      if (bytes > options_.max_reply_bytes) {
        return Fail(ErrorCode::kInvalidArgument,
                    what + ": cassette " + config.cassette->string() + ": exchange " +
                        std::to_string(i) + ": a reply of " + std::to_string(bytes) +
                        " bytes, larger than the gateway's limit of " +
                        std::to_string(options_.max_reply_bytes) + " bytes; refused");
      }
    }
    job->cassette = *std::move(cassette);
  } else if (options_.upstreams.empty()) {
    return Fail(ErrorCode::kInvalidArgument, what + ": no cassette to replay and no upstream model");
  } else if (options_.http == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, what + ": upstream configured without an HTTP client");
  }
  std::vector<std::string> keys = options_.secrets;
  for (const auto& upstream : options_.upstreams) keys.push_back(upstream.api_key);
  job->redactor = Redactor(keys);
  if (config.exchange_log && config.exchange_log->has_parent_path()) {
    if (auto made = CreateDirectories(config.exchange_log->parent_path()); !made) {
      return Fail(WithContext(made.error(), what));
    }
  }
  Job* raw = job.get();
  job->server = std::make_unique<HttpServer>([this, raw](const HttpRequest& request) {
    return MaskResponse(raw->redactor, Handle(*raw, request));
  });
  if (auto listening = job->server->ListenUnix(config.socket_path); !listening) {
    return Fail(WithContext(listening.error(), what));
  }
  closed_usage_.erase(config.job_id);
  jobs_.emplace(config.job_id, std::move(job));
  return {};
}

JobUsage Gateway::Usage(std::string_view job_id) const {
  std::lock_guard lock(mutex_);
  if (auto it = jobs_.find(job_id); it != jobs_.end()) {
    std::lock_guard job_lock(it->second->mutex);
    return it->second->usage;
  }
  if (auto it = closed_usage_.find(job_id); it != closed_usage_.end()) return it->second;
  return JobUsage{};
}

JobUsage Gateway::TotalUsage() const {
  JobUsage total;
  auto add = [&total](const JobUsage& usage) {
    total.input_tokens += usage.input_tokens;
    total.output_tokens += usage.output_tokens;
    total.cached_input_tokens += usage.cached_input_tokens;
    total.requests += usage.requests;
    total.turns += usage.turns;
    total.upstream_retries += usage.upstream_retries;
    total.replayed += usage.replayed;
    total.resumed += usage.resumed;
    total.fallbacks += usage.fallbacks;
    total.run_budget_refusals += usage.run_budget_refusals;
  };
  std::lock_guard lock(mutex_);
  for (const auto& [id, job] : jobs_) {
    std::lock_guard job_lock(job->mutex);
    add(job->usage);
  }
  for (const auto& [id, usage] : closed_usage_) add(usage);
  return total;
}

std::chrono::milliseconds Gateway::CapacityWait(std::string_view job_id) const {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return std::chrono::milliseconds(0);
    job = it->second;
  }
  return job->Waited();
}

std::optional<std::string> Gateway::ReserveRun(int64_t prompt_tokens, int job_max_output_tokens,
                                               agent::ModelRequest& request,
                                               Reservation& reservation) {
  const bool tokens = options_.run_max_tokens > 0;
  const bool cost = options_.run_max_cost_usd > 0;
  if (!tokens && !cost) return std::nullopt;
  // The output the request is sent with (UpstreamRequestBody's rule), then capped below.
  int64_t output = request.max_output_tokens;
  if (job_max_output_tokens > 0 && (output <= 0 || output > job_max_output_tokens)) {
    output = job_max_output_tokens;
  }
  if (output <= 0) output = agent::ModelRequest{}.max_output_tokens;
  const Price& price = run_meter_->price;
  std::lock_guard lock(run_meter_->mutex);
  RunMeter& run = *run_meter_;
  if (tokens) {
    int64_t left = options_.run_max_tokens - run.spent_tokens - run.reserved_tokens - prompt_tokens;
    if (left <= 0) {
      run.refusal = "the run's token budget is spent at the gateway (" +
                    std::to_string(run.spent_tokens) + " used and " +
                    std::to_string(run.reserved_tokens) + " reserved by requests in flight, of " +
                    std::to_string(options_.run_max_tokens) +
                    " tokens; this request's prompt is about " + std::to_string(prompt_tokens) +
                    ")";
      return run.refusal;
    }
    output = std::min(output, left);
  }
  if (cost) {
    double left = options_.run_max_cost_usd - run.spent_cost - run.reserved_cost -
                  Cost(price, prompt_tokens, 0, 0);
    int64_t affordable = output;
    if (price.output > 0) {
      affordable = left > 0 ? static_cast<int64_t>(left * 1e6 / price.output) : 0;
    } else if (left <= 0) {
      affordable = 0;
    }
    if (affordable < 1) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "the run's cost budget is spent at the gateway ($%.4f used and $%.4f reserved "
                    "by requests in flight, of $%.4f",
                    run.spent_cost, run.reserved_cost, options_.run_max_cost_usd);
      run.refusal = std::string(text) + "; this request's prompt is about " +
                    std::to_string(prompt_tokens) + " tokens)";
      return run.refusal;
    }
    output = std::min(output, affordable);
  }
  request.max_output_tokens = static_cast<int>(std::min<int64_t>(output, INT32_MAX));
  reservation.tokens = prompt_tokens + output;
  reservation.cost = Cost(price, prompt_tokens, 0, output);
  run.reserved_tokens += reservation.tokens;
  run.reserved_cost += reservation.cost;
  return std::nullopt;
}

std::optional<std::string> Gateway::RunBudgetRefusal() const {
  std::lock_guard lock(run_meter_->mutex);
  if (run_meter_->refusal.empty()) return std::nullopt;
  return run_meter_->refusal;
}

void Gateway::ReleaseRun(const Reservation& reservation) {
  if (reservation.tokens == 0 && reservation.cost == 0) return;
  std::lock_guard lock(run_meter_->mutex);
  run_meter_->reserved_tokens -= reservation.tokens;
  run_meter_->reserved_cost -= reservation.cost;
}

Status Gateway::CloseJob(std::string_view job_id) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
      return Fail(ErrorCode::kNotFound, "gateway: no open job " + std::string(job_id));
    }
    job = std::move(it->second);
    jobs_.erase(it);
  }
  // Waits for requests in flight, so the usage and recording below are final.
  job->server->Stop();
  std::error_code ignored;
  std::filesystem::remove(job->config.socket_path, ignored);
  JobUsage usage;
  Cassette recording;
  {
    std::lock_guard job_lock(job->mutex);
    usage = job->usage;
    recording = std::move(job->recording);
  }
  {
    std::lock_guard lock(mutex_);
    closed_usage_[job->config.job_id] = usage;
  }
  if (!options_.record_dir || job->cassette) return {};
  if (auto made = CreateDirectories(*options_.record_dir); !made) return made;
  return SaveCassette(*options_.record_dir / (job->config.repository + ".json"), recording);
}

HttpResponse Gateway::HandleBuildSlot(Job& job, std::string_view path,
                                      const HttpRequest& request) {
  if (options_.build_slots == nullptr) {
    return GatewayError(404, "not_found", "this gateway has no build slots");
  }
  if (request.method != "POST") {
    return GatewayError(405, "method_not_allowed", "build-slot endpoints take POST");
  }
  const std::string& owner = job.config.job_id;
  if (path == "/drover/build-slot/acquire") {
    // One slot per job: a job that asked for more would starve the others.
    if (options_.build_slots->HeldBy(owner) > 0) {
      return GatewayError(409, "build_slot_held",
                          "job " + owner + " already holds a build slot; release it first");
    }
    LeaseLimits limits;
    limits.one_per_owner = true;
    limits.max_hold = job.config.build_slot_max_hold;
    auto lease = job.Waiting(
        [&] { return options_.build_slots->Acquire(owner, std::chrono::seconds(30), limits); });
    return JsonResponse(Dump({{"lease", lease ? Json(*lease) : Json(nullptr)}}));
  }
  if (path == "/drover/build-slot/release") {
    auto body = ParseJson(request.body, "release request");
    if (!body || !body->is_object() || !(*body)["lease"].is_number_integer()) {
      return GatewayError(400, "invalid_request", "release takes {\"lease\": ID}");
    }
    bool released = options_.build_slots->Release((*body)["lease"].get<int64_t>(), owner);
    return JsonResponse(Dump({{"released", released}}));
  }
  return GatewayError(404, "not_found", "no build-slot endpoint at " + std::string(path));
}

HttpResponse Gateway::Handle(Job& job, const HttpRequest& http_request) {
  std::string path = http_request.url.substr(0, http_request.url.find('?'));
  if (path.starts_with("/drover/build-slot/")) return HandleBuildSlot(job, path, http_request);
  if (path == "/drover/capacity-wait") {
    return JsonResponse(Dump({{"waited_ms", job.Waited().count()}}));
  }
  const agent::ProviderTraits* served = agent::ProviderForPath(path);
  if (served == nullptr) {
    std::string paths;
    const auto rows = agent::AllProviderTraits();
    for (size_t i = 0; i < rows.size(); ++i) {
      paths += i == 0 ? "" : (i + 1 == rows.size() ? " or " : ", ");
      paths += rows[i].request_path;
    }
    return GatewayError(404, "not_found", "no model endpoint at " + path + " (use " + paths + ")");
  }
  const agent::Provider provider = served->provider;
  if (http_request.method != "POST") {
    return GatewayError(405, "method_not_allowed", "model endpoints take POST");
  }
  std::unique_lock in_flight(job.model_mutex);
  const std::string source = job.cassette ? "replay" : "upstream";
  auto request = agent::DecodeRequest(provider, http_request.body);
  std::optional<std::string> refusal;
  Reservation reservation;
  {
    std::lock_guard lock(job.mutex);
    ++job.usage.requests;
    int64_t used = job.usage.input_tokens + job.usage.output_tokens;
    int64_t prompt = EstimateTokens(http_request.body.size());
    if (job.config.max_turns > 0 && job.usage.turns >= job.config.max_turns) {
      refusal = "turn limit reached at the gateway: job " + job.config.job_id + " has sent its " +
                std::to_string(job.config.max_turns) + " model requests";
    } else if (job.config.max_tokens > 0 && used >= job.config.max_tokens) {
      refusal = "token budget reached at the gateway: job " + job.config.job_id + " has used " +
                std::to_string(used) + " of its " + std::to_string(job.config.max_tokens) +
                " tokens";
    } else if (job.config.max_tokens > 0 && used + prompt >= job.config.max_tokens) {
      refusal = "token budget reached at the gateway: job " + job.config.job_id + " has used " +
                std::to_string(used) + " of its " + std::to_string(job.config.max_tokens) +
                " tokens and this request's prompt is about " + std::to_string(prompt);
    } else if (request) {
      if (job.config.max_tokens > 0) {
        // The worst case is reserved: the reply may not be longer than what is left.
        int64_t left = job.config.max_tokens - used - prompt;
        if (request->max_output_tokens <= 0 || request->max_output_tokens > left) {
          request->max_output_tokens = static_cast<int>(std::min<int64_t>(left, INT32_MAX));
        }
      }
      refusal = ReserveRun(prompt, job.config.max_output_tokens, *request, reservation);
      if (refusal) {
        ++job.usage.run_budget_refusals;
      } else {
        ++job.usage.turns;
      }
    }
  }
  if (refusal) {
    job.Log({{"provider", agent::ProviderName(provider)},
             {"source", source},
             {"error", {{"status", 403}, {"kind", "budget_exhausted"}, {"message", *refusal}}}});
    return GatewayError(403, "budget_exhausted", *refusal);
  }
  if (!request) {
    job.Log({{"provider", agent::ProviderName(provider)},
             {"source", source},
             {"error", {{"status", 400}, {"kind", "bad_request"},
                        {"message", request.error().message}}}});
    return GatewayError(400, "bad_request", request.error().message);
  }
  HttpResponse response = job.cassette ? Replay(job, provider, *request, http_request)
                                        : Forward(job, provider, *request);
  // The reply's usage is metered by now: the reservation gives way to it.
  ReleaseRun(reservation);
  return response;
}

HttpResponse Gateway::Replay(Job& job, agent::Provider provider, const agent::ModelRequest& request,
                             const HttpRequest& http_request) {
  Json entry = {{"provider", agent::ProviderName(provider)},
                {"source", "replay"},
                {"request", RequestSummary(request)},
                {"attempts", 1}};
  std::string cassette_name = job.config.cassette->string();
  HttpResponse response;
  std::optional<agent::ModelReply> reply;
  {
    std::lock_guard lock(job.mutex);
    const auto& exchanges = job.cassette->exchanges;
    if (job.next_exchange >= exchanges.size()) {
      response = GatewayError(500, "cassette_exhausted",
                              "cassette " + cassette_name + " has no exchange left (all " +
                                  std::to_string(exchanges.size()) + " used)");
    } else {
      size_t index = job.next_exchange;
      const CassetteExchange& exchange = exchanges[index];
      entry["exchange"] = index;
      if (auto mismatch = ExpectationMismatch(exchange, request)) {
        response = GatewayError(500, "cassette_mismatch", "cassette " + cassette_name +
                                                              ": exchange " +
                                                              std::to_string(index) + ": " +
                                                              *mismatch);
      } else {
        ++job.next_exchange;
        ++job.usage.replayed;
        if (exchange.failure) {
          response = *exchange.failure;
        } else {
          reply = *exchange.reply;
          if (!exchange.has_usage) {
            reply->usage.input_tokens = EstimateTokens(http_request.body.size());
            reply->usage.output_tokens = EstimateTokens(ReplyBytes(*reply));
          }
        }
      }
    }
  }
  if (reply) {
    job.Meter(reply->usage);
    response = ReplyResponse(provider, request.model, *reply, request.stream);
    entry["reply"] = ReplySummary(*reply);
    entry["usage"] = UsageJson(reply->usage);
    entry["prompt_prefix"] = job.PromptPrefix(provider, "replay", request);
  } else {
    entry["error"] = {{"status", response.status},
                      {"message", Truncate(agent::ErrorMessageFromBody(response.body),
                                           kLogTextChars)}};
  }
  job.Log(std::move(entry));
  return response;
}

// How one upstream answered a request: a reply, an answer to pass on as is (a 4xx, an
// unreadable reply), or, when neither is set, retries used up with `error`.
struct Gateway::Outcome {
  std::optional<agent::ModelReply> reply;
  std::optional<HttpResponse> final;
  std::string error;
};

HttpResponse Gateway::Forward(Job& job, agent::Provider provider,
                              const agent::ModelRequest& request) {
  int step = 0;
  size_t first = 0;
  {
    std::lock_guard lock(job.mutex);
    step = job.next_upstream++;
    first = job.upstream_index;
  }
  if (job.config.find_step) {
    if (auto text = job.config.find_step(step)) {
      if (auto recorded = ParseCassette(*text, "resumed step"); recorded &&
                                                                !recorded->exchanges.empty() &&
                                                                recorded->exchanges[0].reply) {
        const agent::ModelReply& reply = *recorded->exchanges[0].reply;
        // Metered again so that budgets behave as in the first run; not sent upstream.
        job.Meter(reply.usage);
        {
          std::lock_guard lock(job.mutex);
          ++job.usage.resumed;
        }
        job.Log({{"provider", agent::ProviderName(provider)},
                 {"source", "resumed"},
                 {"request", RequestSummary(request)},
                 {"reply", ReplySummary(reply)},
                 {"usage", UsageJson(reply.usage)}});
        return ReplyResponse(provider, request.model, reply, request.stream);
      }
    }
  }
  std::string errors;
  for (size_t index = first; index < options_.upstreams.size(); ++index) {
    const UpstreamConfig& upstream = options_.upstreams[index];
    const std::string model = upstream.model.empty() ? request.model : upstream.model;
    Json entry = {{"provider", agent::ProviderName(provider)},
                  {"source", "upstream"},
                  {"model", std::string(agent::ProviderName(upstream.provider)) + ":" + model},
                  {"request", RequestSummary(request)}};
    Outcome outcome = CallUpstream(job, upstream, request, entry);
    if (outcome.final) return *std::move(outcome.final);
    if (outcome.reply) {
      const agent::ModelReply reply = MaskReply(job.redactor, *std::move(outcome.reply));
      job.Meter(reply.usage);
      if (options_.governor != nullptr) {
        options_.governor->AddTokens(reply.usage.input_tokens + reply.usage.output_tokens);
      }
      if (job.config.record_step) job.config.record_step(step, StepToText(reply));
      {
        std::lock_guard lock(job.mutex);
        job.usage.model = entry["model"].get<std::string>();
        if (options_.record_dir) {
          CassetteExchange recorded;
          recorded.reply = reply;
          recorded.has_usage = true;
          job.recording.exchanges.push_back(std::move(recorded));
        }
      }
      entry["reply"] = ReplySummary(reply);
      entry["usage"] = UsageJson(reply.usage);
      entry["prompt_prefix"] =
          job.PromptPrefix(upstream.provider, entry["model"].get<std::string>(), request);
      job.Log(std::move(entry));
      return ReplyResponse(provider, model, reply, request.stream);
    }
    errors += (errors.empty() ? "" : "; then ") + outcome.error;
    const bool next = index + 1 < options_.upstreams.size();
    if (next) {
      // The rest of the job stays on the next model: the failing one is likely to fail again.
      std::lock_guard lock(job.mutex);
      job.upstream_index = std::max(job.upstream_index, index + 1);
      ++job.usage.fallbacks;
      const UpstreamConfig& following = options_.upstreams[index + 1];
      entry["fallback_to"] = std::string(agent::ProviderName(following.provider)) + ":" +
                             (following.model.empty() ? request.model : following.model);
    }
    entry["error"] = {{"status", 502}, {"message", Truncate(outcome.error, kLogTextChars)}};
    job.Log(std::move(entry));
  }
  return GatewayError(502, "upstream_unavailable", errors);
}

Gateway::Outcome Gateway::CallUpstream(Job& job, const UpstreamConfig& upstream,
                                       const agent::ModelRequest& request, Json& entry) {
  HttpRequest out;
  out.method = "POST";
  out.url = agent::UpstreamUrl(upstream.provider, upstream.base_url);
  out.headers["content-type"] = "application/json";
  agent::AddCredentialHeaders(upstream.provider, upstream.api_key, out.headers);
  // Always rebuilt from the decoded request (deterministically, so the prompt prefix stays
  // byte-stable across turns): the agent's own fields never reach the upstream.
  const bool stream = options_.stream_upstream;
  out.body = Dump(UpstreamRequestBody(upstream, request, job.config.max_output_tokens, stream));
  if (stream) out.inactivity_timeout = options_.stall_timeout;

  Outcome outcome;
  int attempt = 0;
  while (true) {
    ++attempt;
    entry["attempts"] = attempt;
    agent::StreamDecoder decoder(upstream.provider);
    std::string body;
    bool too_large = false;
    // Every reply arrives in pieces, so that one above the cap is cut off when it gets there
    // instead of being held whole first.
    out.on_body = [&decoder, &body, &too_large, stream,
                   cap = options_.max_reply_bytes](int status, std::string_view chunk) {
      if (body.size() + chunk.size() > cap) {
        too_large = true;
        return false;
      }
      body.append(chunk);
      return !stream || status < 200 || status >= 300 || decoder.Feed(chunk).has_value();
    };
    if (options_.governor != nullptr) job.Waiting([this] { options_.governor->Acquire(); });
    auto response = options_.http->Send(out);
    if (too_large) {
      std::string message = "upstream " + out.url + " sent a reply larger than " +
                            std::to_string(options_.max_reply_bytes >> 20) +
                            " MiB (the gateway's limit); refused";
      entry["error"] = {{"status", 502}, {"message", Truncate(message, kLogTextChars)}};
      job.Log(std::move(entry));
      outcome.final = GatewayError(502, "upstream_reply_too_large", message);
      return outcome;
    }
    // Some compatible servers ignore "stream" and answer with plain JSON.
    bool streamed = false;
    if (response) {
      response->body = std::move(body);
      auto type = response->headers.find("content-type");
      streamed = stream && type != response->headers.end() &&
                 type->second.starts_with("text/event-stream");
    }
    if (!response && response.error().code == ErrorCode::kCancelled) {
      // The decoder stopped the transfer: the stream carried an error event or bad data.
      response = Fail(decoder.Finish().error());
    }
    Result<agent::ModelReply> reply = Fail(ErrorCode::kInternal, "no reply");
    if (response && response->status >= 200 && response->status < 300) {
      reply = streamed ? decoder.Finish()
                       : agent::DecodeResponse(upstream.provider, response->body);
      if (reply) {
        outcome.reply = *std::move(reply);
        return outcome;
      }
      // A cut stream or an overloaded event mid-stream is retried like the equivalent status.
      response = Fail(reply.error());
      if (!IsRetryable(response.error())) {
        std::string message = "upstream " + out.url + " sent a reply drover cannot read: " +
                              reply.error().message;
        entry["error"] = {{"status", 502}, {"message", Truncate(message, kLogTextChars)}};
        job.Log(std::move(entry));
        outcome.final = GatewayError(502, "upstream_bad_reply", message);
        return outcome;
      }
    }
    Error failure;
    if (!response) {
      outcome.error = Truncate(job.redactor.Redact(response.error().ToString()), kLogTextChars);
      failure = response.error();
    } else {
      failure = ErrorFromHttpStatus(response->status, "upstream " + out.url, "");
      if (!IsRetryable(failure)) {
        // The request itself is wrong (4xx): repeating it, or sending it to another model,
        // cannot help. The agent gets the gateway's own error with the status and a bounded,
        // masked excerpt of the provider's message, never the provider's body.
        std::string excerpt = Truncate(
            job.redactor.Redact(agent::ErrorMessageFromBody(response->body)), kLogTextChars);
        entry["error"] = {{"status", response->status}, {"message", excerpt}};
        job.Log(std::move(entry));
        outcome.final = GatewayError(
            response->status, "upstream_rejected",
            "upstream answered HTTP " + std::to_string(response->status) + ": " + excerpt);
        return outcome;
      }
      outcome.error =
          "HTTP " + std::to_string(response->status) + ": " +
          Truncate(job.redactor.Redact(agent::ErrorMessageFromBody(response->body)), kLogTextChars);
      failure.retry_after = ParseRateLimitHeaders(response->headers).retry_after;
      // The provider's limit is everyone's: hold every job, not only this one.
      if (failure.retry_after && response->status == 429 && options_.governor != nullptr) {
        options_.governor->PauseFor(*failure.retry_after);
      }
    }
    auto delay = options_.retry.DelayBefore(attempt, failure, RetryJitterSample());
    if (!delay) break;
    {
      std::lock_guard lock(job.mutex);
      ++job.usage.upstream_retries;
    }
    options_.sleep(*delay);
  }
  outcome.error = "upstream " + out.url + " failed after " + std::to_string(attempt) +
                  (attempt == 1 ? " attempt" : " attempts") + "; last error: " + outcome.error;
  return outcome;
}

}  // namespace drover::fleet
