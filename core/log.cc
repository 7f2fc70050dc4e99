#include "core/log.h"

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string>

namespace drover {
namespace {

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::atomic<std::shared_ptr<const Redactor>>& LogRedactor() {
  static std::atomic<std::shared_ptr<const Redactor>> redactor{std::make_shared<Redactor>()};
  return redactor;
}

// Formats like spdlog's pattern formatter, then masks the whole line: the one point every
// message passes on its way to stderr or a log file.
class RedactingFormatter : public spdlog::formatter {
 public:
  explicit RedactingFormatter(std::string pattern)
      : pattern_(pattern),
        inner_(std::make_unique<spdlog::pattern_formatter>(std::move(pattern))) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t line;
    inner_->format(msg, line);
    std::string masked = LogRedactor().load()->Redact(std::string_view(line.data(), line.size()));
    dest.append(masked.data(), masked.data() + masked.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RedactingFormatter>(pattern_);
  }

 private:
  std::string pattern_;
  std::unique_ptr<spdlog::pattern_formatter> inner_;
};

}  // namespace

void SetLogRedactor(Redactor redactor) {
  LogRedactor().store(std::make_shared<const Redactor>(std::move(redactor)));
}

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return Fail(ErrorCode::kInvalidArgument,
              "log level '" + std::string(name) + "' is not one of debug, info, warn, error");
}

Status SetUpLogging(LogLevel stderr_level, const std::optional<std::filesystem::path>& file) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(ToSpd(stderr_level));
  console->set_formatter(std::make_unique<RedactingFormatter>("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v"));
  auto logger = std::make_shared<spdlog::logger>("drover", console);
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  if (file) return AddLogFile(*file);
  return {};
}

Status AddLogFile(const std::filesystem::path& file) {
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string());
    sink->set_level(spdlog::level::debug);
    sink->set_formatter(std::make_unique<RedactingFormatter>("%Y-%m-%dT%H:%M:%S.%e [%t] %l %v"));
    spdlog::default_logger()->sinks().push_back(sink);
    spdlog::default_logger()->flush_on(spdlog::level::info);
  } catch (const spdlog::spdlog_ex& e) {
    return Fail(ErrorCode::kIo, "opening log file " + file.string() + ": " + e.what());
  }
  return {};
}

}  // namespace drover
