#include "tests/testing/model_server.h"

#include <gtest/gtest.h>

#include "agent/protocol.h"
#include "agent/stream.h"
#include "core/json.h"

namespace drover::testing {
namespace {

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers["content-type"] = "application/json";
  response.body = Json{{"type", "error"}, {"error", {{"type", "test_server"}, {"message", body}}}}
                      .dump();
  return response;
}

}  // namespace

ScriptedModelServer::ScriptedModelServer()
    : server_([this](const HttpRequest& request) { return Handle(request); }) {
  auto listening = server_.ListenTcp(0);
  if (!listening) ADD_FAILURE() << "scripted model server: " << listening.error().ToString();
}

ScriptedModelServer::~ScriptedModelServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopped_.notify_all();
  server_.Stop();
}

void ScriptedModelServer::AddReply(agent::ModelReply reply, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  script_.push_back(Step{std::move(reply), delay});
}

void ScriptedModelServer::FailModel(std::string model, HttpResponse response) {
  std::lock_guard lock(mutex_);
  failing_models_[std::move(model)] = std::move(response);
}

void ScriptedModelServer::AddStalledReply(agent::ModelReply reply,
                                          std::chrono::milliseconds stall) {
  std::lock_guard lock(mutex_);
  script_.push_back(Step{std::move(reply), std::chrono::milliseconds(0), stall});
}

void ScriptedModelServer::AddResponse(HttpResponse response, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  script_.push_back(Step{std::move(response), delay});
}

std::vector<ScriptedModelServer::Received> ScriptedModelServer::requests() const {
  std::lock_guard lock(mutex_);
  return received_;
}

size_t ScriptedModelServer::pending_steps() const {
  std::lock_guard lock(mutex_);
  return script_.size();
}

std::string ScriptedModelServer::OpenAiBaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/v1";
}

std::string ScriptedModelServer::AnthropicBaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

HttpResponse ScriptedModelServer::Handle(const HttpRequest& request) {
  std::unique_lock lock(mutex_);
  received_.push_back(Received{request.method, request.url, request.headers, request.body, ""});
  std::string path = request.url.substr(0, request.url.find('?'));
  agent::Provider provider = agent::Provider::kOpenAiChat;
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    provider = agent::Provider::kOpenAiChat;
  } else if (path == "/v1/responses" || path == "/responses") {
    provider = agent::Provider::kOpenAiResponses;
  } else if (path == "/v1/messages") {
    provider = agent::Provider::kAnthropic;
  } else {
    return TextResponse(404, "scripted model server: no endpoint " + path);
  }
  auto decoded = agent::DecodeRequest(provider, request.body);
  std::string model = "scripted";
  if (decoded) {
    model = decoded->model;
    received_.back().model = model;
    if (auto failing = failing_models_.find(model); failing != failing_models_.end()) {
      return failing->second;
    }
  }
  if (script_.empty()) {
    return TextResponse(500, "scripted model server: script is empty (request " +
                                 std::to_string(received_.size()) + " to " + path + ")");
  }
  Step step = std::move(script_.front());
  script_.pop_front();
  if (step.delay.count() > 0) {
    stopped_.wait_for(lock, step.delay, [this] { return stopping_; });
  }
  if (auto* response = std::get_if<HttpResponse>(&step.answer)) return *response;
  const auto& reply = std::get<agent::ModelReply>(step.answer);
  HttpResponse response;
  response.status = 200;
  if (decoded && decoded->stream) {
    response.headers["content-type"] = "text/event-stream";
    std::string events = agent::EncodeStream(provider, model, reply);
    response.stream_body = [this, events, stall = step.stall](const HttpBodyWriter& write) {
      StreamEvents(events, stall, write);
    };
    return response;
  }
  if (step.stall.count() > 0) {
    stopped_.wait_for(lock, step.stall, [this] { return stopping_; });
  }
  response.headers["content-type"] = "application/json";
  response.body = agent::EncodeResponse(provider, model, reply).dump();
  return response;
}

void ScriptedModelServer::StreamEvents(const std::string& events,
                                       std::chrono::milliseconds stall,
                                       const HttpBodyWriter& write) {
  size_t start = 0;
  bool first = true;
  while (start < events.size()) {
    size_t end = events.find("\n\n", start);
    end = end == std::string::npos ? events.size() : end + 2;
    if (!write(std::string_view(events).substr(start, end - start))) return;
    start = end;
    if (first && stall.count() > 0) {
      std::unique_lock lock(mutex_);
      if (stopped_.wait_for(lock, stall, [this] { return stopping_; })) return;
    }
    first = false;
  }
}

}  // namespace drover::testing
