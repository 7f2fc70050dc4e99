#include "gateway/prices.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

#include "core/fs.h"
#include "core/yaml.h"

namespace drover::fleet {
namespace {

constexpr std::string_view kPriceFields[] = {"input", "cached_input", "output"};

}  // namespace

std::optional<Price> PriceTable::Find(const std::string& model) const {
  if (auto it = models.find(model); it != models.end()) return it->second;
  size_t colon = model.find(':');
  if (colon == std::string::npos) return std::nullopt;
  if (auto it = models.find(model.substr(colon + 1)); it != models.end()) return it->second;
  return std::nullopt;
}

Result<PriceTable> ParsePriceTable(const std::string& text, const std::string& file_name) {
  auto doc = ParseYaml(text, file_name);
  if (!doc) return Fail(doc.error());
  YamlNode root = doc->Root();
  PriceTable table;
  if (root.IsNull()) return table;
  if (!root.IsMap()) return root.Fail("expected model: {input, output}, got " + root.Describe());
  for (const auto& [model, fields] : root.Members()) {
    if (!fields.IsMap()) return fields.Fail("expected {input, output}, got " + fields.Describe());
    if (auto ok = fields.CheckFields(kPriceFields); !ok) return Fail(ok.error());
    Price price;
    for (auto [name, target] :
         {std::pair{"input", &price.input}, std::pair{"cached_input", &price.cached_input},
          std::pair{"output", &price.output}}) {
      auto node = fields.Find(name);
      if (!node) continue;
      auto value = node->ReadNumber(0, std::numeric_limits<double>::infinity(),
                                    "a price in USD per million tokens (>= 0)");
      if (!value) return Fail(value.error());
      *target = *value;
    }
    if (!fields.Find("input") || !fields.Find("output")) {
      return fields.Fail("needs both input and output prices");
    }
    if (!fields.Find("cached_input")) price.cached_input = price.input;
    table.models.emplace(model, price);
  }
  return table;
}

Result<PriceTable> LoadPriceTable(const std::filesystem::path& file) {
  auto text = ReadFile(file);
  if (!text) return Fail(text.error());
  return ParsePriceTable(*text, file.string());
}

double Cost(const Price& price, int64_t input_tokens, int64_t cached_input_tokens,
            int64_t output_tokens) {
  int64_t cached = std::min(cached_input_tokens, input_tokens);
  return (static_cast<double>(input_tokens - cached) * price.input +
          static_cast<double>(cached) * price.cached_input +
          static_cast<double>(output_tokens) * price.output) /
         1e6;
}

Result<Price> HighestPrice(const PriceTable& table, const std::vector<std::string>& models) {
  Price highest;
  for (const auto& model : models) {
    auto price = table.Find(model);
    if (!price) {
      return Fail(ErrorCode::kInvalidArgument, "the price table has no price for " + model);
    }
    highest.input = std::max(highest.input, price->input);
    highest.cached_input = std::max(highest.cached_input, price->cached_input);
    highest.output = std::max(highest.output, price->output);
  }
  return highest;
}

}  // namespace drover::fleet
