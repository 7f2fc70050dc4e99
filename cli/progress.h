// How a run shows itself on stderr while it goes: on a terminal, one status line redrawn at
// most four times a second (counts by status, jobs, agents and builds in flight, tokens,
// elapsed time and ETA); elsewhere, one plain line per finished job. Thread-safe: the runner
// calls it from its job threads and its progress thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "fleet/runner.h"

namespace drover::cli {

// The status line for `progress`, at most `width` columns.
std::string FormatProgress(const fleet::RunProgress& progress, size_t width);

class ProgressObserver final : public fleet::RunObserver {
 public:
  // `out` is borrowed (stderr). `live`: redraw one line (a terminal); else plain lines.
  // `quiet` (--json): only the run's log file is set up.
  ProgressObserver(std::FILE* out, bool live, bool quiet);

  void OnRunStarted(const fleet::RunReport& run, size_t targets) override;
  void OnJobFinished(const fleet::JobReport& job) override;
  void OnProgress(const fleet::RunProgress& progress) override;
  void OnRunPaused(const std::string& why) override;
  // Clears the status line, before the run's results are printed.
  void Finish();

 private:
  void ClearLine();  // REQUIRES: mutex_ held.

  std::FILE* out_;
  bool live_;
  bool quiet_;
  std::mutex mutex_;
  size_t total_ = 0;
  size_t done_ = 0;
  bool line_shown_ = false;
  std::string last_line_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace drover::cli
