// Log setup: spdlog to stderr and, optionally, to a file per run. Library code logs through
// spdlog's default logger and never prints. Call SetUpLogging once, from main, before threads.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "core/redact.h"

namespace drover {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
Result<LogLevel> ParseLogLevel(std::string_view name);

// stderr at `stderr_level`; `file` (when given) at debug.
Status SetUpLogging(LogLevel stderr_level, const std::optional<std::filesystem::path>& file);
// Adds a file sink to the current default logger (e.g. once the run directory exists).
Status AddLogFile(const std::filesystem::path& file);
// Every sink SetUpLogging and AddLogFile made masks each line through `redactor` from now on
// (replacing the previous one). Thread-safe.
void SetLogRedactor(Redactor redactor);

}  // namespace drover
