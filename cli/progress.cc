#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "core/log.h"

namespace drover::cli {
namespace {

// "42s", "3m05s", "1h02m".
std::string Duration(double seconds) {
  long s = std::lround(std::max(0.0, seconds));
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  }
  return text;
}

// "950", "12.3k", "4.5M".
std::string Tokens(int64_t n) {
  char text[32];
  if (n < 1000) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(n));
  } else if (n < 1000000) {
    std::snprintf(text, sizeof text, "%.1fk", static_cast<double>(n) / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.1fM", static_cast<double>(n) / 1e6);
  }
  return text;
}

size_t TerminalWidth(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 160;  // Not a terminal that knows its width: a line long enough for everything.
}

}  // namespace

std::string FormatProgress(const fleet::RunProgress& progress, size_t width) {
  auto count = [&](fleet::JobStatus status) {
    auto it = progress.finished.find(status);
    return it == progress.finished.end() ? size_t{0} : it->second;
  };
  size_t done = 0;
  for (const auto& [status, n] : progress.finished) done += n;
  std::string eta = "ETA -";
  if (progress.jobs_timed > 0 && done < progress.targets) {
    // The jobs left, at the mean duration of those finished here, on every agent slot.
    double mean = progress.job_seconds / static_cast<double>(progress.jobs_timed);
    size_t left = progress.targets - done;
    double lanes = std::min<double>(std::max(1, progress.agent_slots), static_cast<double>(left));
    eta = "ETA " + Duration(std::ceil(static_cast<double>(left) / lanes) * mean);
  }
  char text[512];
  std::snprintf(text, sizeof text,
                "[%zu/%zu] %zu published, %zu failed, %zu skipped, %zu n/a | jobs %d "
                "agents %d/%d builds %d/%d | %s tokens | %s %s",
                done, progress.targets, count(fleet::JobStatus::kPublished),
                count(fleet::JobStatus::kFailed), count(fleet::JobStatus::kSkipped),
                count(fleet::JobStatus::kNotApplicable), progress.jobs_in_flight,
                progress.agents_in_flight, progress.agent_slots, progress.builds_in_flight,
                progress.build_slots, Tokens(progress.tokens).c_str(),
                Duration(progress.elapsed_seconds).c_str(), eta.c_str());
  std::string line = text;
  if (line.size() > width) line.resize(width);
  return line;
}

ProgressObserver::ProgressObserver(std::FILE* out, bool live, bool quiet)
    : out_(out), live_(live), quiet_(quiet) {}

void ProgressObserver::OnRunStarted(const fleet::RunReport& run, size_t targets) {
  if (auto added = AddLogFile(run.run_dir / "run.log"); !added) {
    std::fprintf(out_, "drover: %s\n", added.error().message.c_str());
  }
  std::lock_guard lock(mutex_);
  total_ = targets;
  if (run.continued) {
    // Said whatever the output mode: a re-run that goes on with an earlier run is no surprise.
    std::fprintf(out_,
                 "drover: resuming run %s, which stopped before it finished (same spec and "
                 "targets); its finished repositories are kept. --fresh starts a new run\n",
                 run.run_id.c_str());
  }
  if (quiet_) return;
  std::fprintf(out_, "drover: run %s over %zu repositories, model %s\n", run.run_id.c_str(),
               targets, run.model.c_str());
}

void ProgressObserver::OnJobFinished(const fleet::JobReport& job) {
  std::lock_guard lock(mutex_);
  ++done_;
  // On a terminal the status line counts successes; a failure gets its own line above it.
  if (quiet_ || (live_ && job.status != fleet::JobStatus::kFailed)) return;
  ClearLine();
  std::fprintf(out_, "drover: [%zu/%zu] %s: %s%s%s\n", done_, total_, job.repository.c_str(),
               std::string(fleet::JobStatusName(job.status)).c_str(),
               job.reason.empty() ? "" : ": ", job.reason.c_str());
  if (live_ && !last_line_.empty()) {
    std::fprintf(out_, "%s", last_line_.c_str());
    line_shown_ = true;
  }
  std::fflush(out_);
}

void ProgressObserver::OnProgress(const fleet::RunProgress& progress) {
  if (quiet_ || !live_) return;
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(240)) return;
  last_draw_ = now;
  // One column short of the width: writing the last column would wrap on some terminals.
  last_line_ = FormatProgress(progress, TerminalWidth(out_) - 1);
  std::fprintf(out_, "\r\x1b[2K%s", last_line_.c_str());
  line_shown_ = true;
  std::fflush(out_);
}

void ProgressObserver::OnRunPaused(const std::string& why) {
  std::lock_guard lock(mutex_);
  ClearLine();
  std::fprintf(out_, "drover: %s\n", why.c_str());
  std::fflush(out_);
}

void ProgressObserver::Finish() {
  std::lock_guard lock(mutex_);
  ClearLine();
  std::fflush(out_);
}

void ProgressObserver::ClearLine() {
  if (!line_shown_) return;
  std::fprintf(out_, "\r\x1b[2K");
  line_shown_ = false;
}

}  // namespace drover::cli
