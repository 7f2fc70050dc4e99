#include "tests/testing/model_server.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>

#include "llm/protocol.h"
#include "llm/provider.h"
#include "llm/stream.h"
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

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (rest == 2) n |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Percent(std::string_view bytes) {
  std::string out;
  char buf[4];
  for (unsigned char c : bytes) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The credential a request carried, in the header its provider uses.
std::string CredentialOf(const HttpRequest& request) {
  if (auto it = request.headers.find("x-api-key"); it != request.headers.end()) return it->second;
  if (auto it = request.headers.find("authorization"); it != request.headers.end()) {
    std::string_view value = it->second;
    if (value.starts_with("Bearer ")) value.remove_prefix(7);
    return std::string(value);
  }
  return "";
}

void Substitute(std::string& text, std::string_view placeholder, const std::string& value) {
  size_t pos = 0;
  while ((pos = text.find(placeholder, pos)) != std::string::npos) {
    text.replace(pos, placeholder.size(), value);
    pos += value.size();
  }
}

void Echo(std::string& text, const std::string& credential) {
  if (text.find("{credential") == std::string::npos) return;
  std::string json = Json(credential).dump();
  Substitute(text, "{credential_json}", json.substr(1, json.size() - 2));
  Substitute(text, "{credential_percent}", Percent(credential));
  Substitute(text, "{credential_base64}", Base64(credential));
  Substitute(text, "{credential}", credential);
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
  const agent::ProviderTraits* served = agent::ProviderForPath(path);
  if (served == nullptr) return TextResponse(404, "scripted model server: no endpoint " + path);
  const agent::Provider provider = served->provider;
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
  const std::string credential = CredentialOf(request);
  if (auto* response = std::get_if<HttpResponse>(&step.answer)) {
    Echo(response->body, credential);
    return *response;
  }
  auto& reply = std::get<agent::ModelReply>(step.answer);
  Echo(reply.text, credential);
  for (auto& call : reply.tool_calls) Echo(call.arguments, credential);
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
