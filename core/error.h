// Error values and Result<T>: expected failures travel as values, never as exceptions.
// Thread-safe: plain value types.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace drover {

enum class ErrorCode {
  kInvalidArgument,   // Bad input from a user file or a caller; names what is wrong.
  kNotFound,          // A file, repository, tool or record that does not exist.
  kIo,                // Local filesystem or process failure.
  kParse,             // Malformed data (JSON, YAML, HTTP, model reply).
  kPermissionDenied,  // A path or action outside what policy allows.
  kTimeout,           // A deadline passed (network, process, wall clock).
  kUnavailable,       // A peer could not be reached or answered 5xx; worth retrying.
  kRateLimited,       // 429 or equivalent; `retry_after` may carry the server's delay.
  kBudgetExhausted,   // Turns, tokens, cost or time limit reached.
  kProtocol,          // A peer answered, but not in the protocol we speak (4xx, bad shape).
  kCancelled,         // Stopped on request.
  kInternal,          // A bug in drover.
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // Delay a server asked for before the next try (Retry-After), if any.
  std::optional<std::chrono::milliseconds> retry_after;

  // "timeout: connect to gateway failed" style text for logs and reasons.
  std::string ToString() const;
};

std::string_view ErrorCodeName(ErrorCode code);

// True when trying the same operation again later may succeed. Classified once, here.
bool IsRetryable(ErrorCode code);
inline bool IsRetryable(const Error& error) { return IsRetryable(error.code); }

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message), std::nullopt});
}
inline std::unexpected<Error> Fail(Error error) { return std::unexpected<Error>(std::move(error)); }

// Prefixes context onto an error's message: "reading spec.md: <message>".
inline Error WithContext(Error error, std::string_view context) {
  error.message = std::string(context) + ": " + error.message;
  return error;
}

}  // namespace drover
