#include "llm/provider.h"

#include <array>
#include <cstddef>

#include "llm/anthropic_messages.h"
#include "llm/openai_chat.h"
#include "llm/openai_responses.h"

namespace drover::agent {
namespace {

// Indexed by the Provider enumerators, in their order (checked below).
constexpr std::array kProviders = {
    ProviderTraits{
        .provider = Provider::kOpenAiChat,
        .name = "openai",
        .request_path = "/v1/chat/completions",
        .base_path = "/v1",
        .endpoint = "/chat/completions",
        .default_base_url = "https://api.openai.com/v1",
        .env_prefix = "OPENAI",
        .auth_header = "authorization",
        .auth_scheme = "Bearer ",
        .version_header = "",
        .version = "",
        .stateless_fields = R"({"n":1,"store":false})",
        .codec = &kOpenAiChatCodec,
    },
    ProviderTraits{
        .provider = Provider::kOpenAiResponses,
        .name = "openai-responses",
        .request_path = "/v1/responses",
        .base_path = "/v1",
        .endpoint = "/responses",
        .default_base_url = "https://api.openai.com/v1",
        .env_prefix = "OPENAI",
        .auth_header = "authorization",
        .auth_scheme = "Bearer ",
        .version_header = "",
        .version = "",
        .stateless_fields = R"({"store":false})",
        .codec = &kOpenAiResponsesCodec,
    },
    ProviderTraits{
        .provider = Provider::kAnthropic,
        .name = "anthropic",
        .request_path = "/v1/messages",
        .base_path = "",
        .endpoint = "/v1/messages",
        .default_base_url = "https://api.anthropic.com",
        .env_prefix = "ANTHROPIC",
        .auth_header = "x-api-key",
        .auth_scheme = "",
        .version_header = "anthropic-version",
        .version = "2023-06-01",
        // Messages has one answer per request and stores nothing.
        .stateless_fields = "{}",
        .codec = &kAnthropicMessagesCodec,
    },
};

constexpr bool RowsInEnumOrder() {
  for (size_t i = 0; i < kProviders.size(); ++i) {
    if (static_cast<size_t>(kProviders[i].provider) != i) return false;
  }
  return true;
}
static_assert(RowsInEnumOrder(), "kProviders must list every Provider in enum order");

}  // namespace

const ProviderTraits& TraitsOf(Provider provider) {
  return kProviders[static_cast<size_t>(provider)];
}

std::span<const ProviderTraits> AllProviderTraits() { return kProviders; }

const ProviderTraits* ProviderForPath(std::string_view path) {
  for (const ProviderTraits& traits : kProviders) {
    if (path == traits.request_path || path == traits.endpoint) return &traits;
  }
  return nullptr;
}

void AddCredentialHeaders(Provider provider, std::string_view api_key, HttpHeaders& headers) {
  const ProviderTraits& traits = TraitsOf(provider);
  if (!api_key.empty()) {
    headers[std::string(traits.auth_header)] = std::string(traits.auth_scheme) + std::string(api_key);
  }
  if (!traits.version_header.empty()) {
    headers[std::string(traits.version_header)] = std::string(traits.version);
  }
}

void AddStatelessFields(Provider provider, Json& body) {
  body.update(Json::parse(TraitsOf(provider).stateless_fields));
}

std::string_view ProviderName(Provider provider) { return TraitsOf(provider).name; }

Result<Provider> ParseProvider(std::string_view name) {
  std::string names;
  for (const ProviderTraits& traits : kProviders) {
    if (name == traits.name) return traits.provider;
    names += (names.empty() ? "" : ", ") + std::string(traits.name);
  }
  return Fail(ErrorCode::kInvalidArgument,
              "provider '" + std::string(name) + "' is not one of: " + names);
}

}  // namespace drover::agent
