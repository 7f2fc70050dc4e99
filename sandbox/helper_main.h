// The sandbox helper's process entry, shared by `drover __sandbox` and the small
// `drover-sandbox` executable. Not thread-safe: call it first thing in main (see helper.h).
#pragma once

#include <string_view>

namespace drover::sandbox {

// Exit codes of the helper itself; the same numbers as drover's usage and environment codes.
inline constexpr int kHelperUsageExit = 2;
inline constexpr int kHelperSetUpFailedExit = 4;

// Runs `POLICY -- CMD ARGS...` given as argv[1..argc) (argv[0] is not read) and returns what
// main should return: the command's exit status, or kHelperUsageExit / kHelperSetUpFailedExit
// with a message on stderr prefixed by `name`. A command killed by a signal is re-raised here.
int SandboxHelperMain(std::string_view name, int argc, char** argv);

}  // namespace drover::sandbox
