// `drover eval SUITE [--model M] [--attempts K] [--tasks GLOB] [--jobs N] [--record DIR]
//   [--out DIR] [--baseline FILE] [--prices FILE] [--sandbox required|none] [--keep-work]`:
// runs an eval suite through the pipeline of `drover run` and writes results.json, report.md,
// junit.xml;
// `drover eval compare A.json B.json`: which tasks changed, and whether significantly;
// `drover eval verify-tasks SUITE`: every task's checks fail on repo/ and pass with solution/.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "core/error.h"
#include "gateway/prices.h"

namespace drover::cli {

struct EvalFlags {
  std::string suite;
  std::string model;  // Default: $DROVER_MODEL, else replay of each task's cassette.
  int attempts = 1;
  std::string tasks;  // Glob over task ids; empty: all.
  int jobs = 1;
  std::string record;  // Live only: save cassettes here.
  std::string out = "eval-results";
  std::string baseline;  // results.json to compare against; a regression exits 1.
  std::string prices;    // Default: evals/prices.yaml when present.
  std::string sandbox = "required";
  // Keep OUT/work: each run's scratch repository and run directory (job.json,
  // exchanges.jsonl, transcripts) under work/<task>/attempt-K/. Default: removed.
  bool keep_work = false;
  std::string compare_a, compare_b;
};

struct EvalCommands {
  CLI::App* eval = nullptr;
  CLI::App* compare = nullptr;
  CLI::App* verify_tasks = nullptr;
};

// Registers `eval` and its two subcommands on `app`; `flags` must outlive parsing.
EvalCommands AddEvalCommand(CLI::App& app, EvalFlags& flags);

// Exit codes: kOk; kJobsFailed when a task dropped against --baseline, a negative control
// scored a success, compare found a significant drop, or verify-tasks found a broken task;
// kInvalidInput for a bad task.yaml, price table, results file or model setting;
// kEnvironment when the sandbox or the output folder does not work.
int EvalCommand(const EvalCommands& commands, const std::filesystem::path& self,
                const EvalFlags& flags, bool json, const std::map<std::string, std::string>& env);

// The price table: `explicit_file`, else (when empty) evals/prices.yaml here or in the source
// tree, else none. Errors: those of fleet::LoadPriceTable.
Result<std::optional<fleet::PriceTable>> LoadPrices(const std::string& explicit_file);

}  // namespace drover::cli
