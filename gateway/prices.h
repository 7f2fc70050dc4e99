// The price table: USD per million input, cached input and output tokens for each model, read
// from a YAML file (evals/prices.yaml in the source tree is the project's). The eval harness
// costs its runs with it and `drover run --max-cost` stops starting jobs by it:
//   openai:gpt-4.1: {input: 2.00, cached_input: 0.50, output: 8.00}
// Thread-safe: value types and pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace drover::fleet {

struct Price {
  double input = 0;         // USD per million uncached input tokens.
  double cached_input = 0;  // USD per million cached input tokens; default: `input`.
  double output = 0;        // USD per million output tokens.
};

struct PriceTable {
  std::map<std::string, Price> models;  // "openai:gpt-4.1", or a bare model name.
  // The price of `model` ("provider:name"): the entry of that text, else of the bare name;
  // nullopt when the table has neither.
  std::optional<Price> Find(const std::string& model) const;
};

// Errors: kNotFound, kParse, kInvalidArgument naming file:line:field (unknown field, a
// negative or non-numeric price, a missing input or output price).
Result<PriceTable> ParsePriceTable(const std::string& text, const std::string& file_name);
Result<PriceTable> LoadPriceTable(const std::filesystem::path& file);

// For a budget over several models (fallbacks): the highest of their prices, field by field.
// Errors: kInvalidArgument naming the first model the table has no price for.
Result<Price> HighestPrice(const PriceTable& table, const std::vector<std::string>& models);

// `input_tokens` includes the cached ones, as the gateway counts them.
double Cost(const Price& price, int64_t input_tokens, int64_t cached_input_tokens,
            int64_t output_tokens);

}  // namespace drover::fleet
