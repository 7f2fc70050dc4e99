// The exit codes of the drover binary: a typed, documented set (also in the README).
#pragma once

namespace drover::cli {

enum class ExitCode : int {
  kOk = 0,             // Done; every job published, skipped or not applicable (not all skipped).
  kJobsFailed = 1,     // The run finished, and at least one job failed (see the summary).
  kUsage = 2,          // Bad command-line arguments.
  kInvalidInput = 3,   // A migration spec, repos file or model setting is invalid; nothing ran.
  kEnvironment = 4,    // drover could not work here (state dir, sockets, binaries).
  kAgentFailed = 5,    // `drover agent` only: the agent's attempt ended failed (result written).
  kPaused = 6,         // The run paused itself (a canary wave below its bar); the rest waits
                       // for `drover resume RUN` and `drover run --run-id RUN`.
  kAllSkipped = 7,     // The run finished and every target was skipped (red baselines, opt-outs,
                       // a spent budget, a cancel): nothing was tried; see the reasons.
};

inline int ToInt(ExitCode code) { return static_cast<int>(code); }

}  // namespace drover::cli
