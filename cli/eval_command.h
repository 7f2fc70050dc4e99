// `drover eval SUITE [--model M] [--attempts K] [--tasks GLOB] [--jobs N] [--record DIR]
//   [--out DIR] [--baseline FILE] [--prices FILE] [--sandbox required|none] [--keep-work]`:
// runs an eval suite through the pipeline of `drover run` and writes results.json, report.md,
// junit.xml;
// `drover eval compare A.json B.json`: which tasks changed, and whether significantly;
// `drover eval verify-tasks SUITE`: every task's checks fail on repo/ and pass with solution/.
// The command itself is an entry of the table (cli/command.h); `drover run --max-cost` shares
// its price table.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "gateway/prices.h"

namespace drover::cli {

// The price table: `explicit_file`, else (when empty) evals/prices.yaml here or in the source
// tree, else none. Errors: those of fleet::LoadPriceTable.
Result<std::optional<fleet::PriceTable>> LoadPrices(const std::string& explicit_file);

}  // namespace drover::cli
