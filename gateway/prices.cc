#include "gateway/prices.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "core/fs.h"

namespace drover::fleet {
namespace {

std::unexpected<Error> FailAt(const std::string& file, const YAML::Node& node,
                              const std::string& field, const std::string& message) {
  int line = node.Mark().is_null() ? 1 : node.Mark().line + 1;
  return Fail(ErrorCode::kInvalidArgument,
              file + ":" + std::to_string(line) + ": " + field + ": " + message);
}

Result<double> ReadPrice(const std::string& file, const YAML::Node& node,
                         const std::string& field) {
  double value = -1;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !(value >= 0)) {
    return FailAt(file, node, field, "expected a price in USD per million tokens (>= 0)");
  }
  return value;
}

}  // namespace

std::optional<Price> PriceTable::Find(const std::string& model) const {
  if (auto it = models.find(model); it != models.end()) return it->second;
  size_t colon = model.find(':');
  if (colon == std::string::npos) return std::nullopt;
  if (auto it = models.find(model.substr(colon + 1)); it != models.end()) return it->second;
  return std::nullopt;
}

Result<PriceTable> ParsePriceTable(const std::string& text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kParse,
                file_name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  PriceTable table;
  if (root.IsNull()) return table;
  if (!root.IsMap()) return FailAt(file_name, root, "(top)", "expected model: {input, output}");
  for (const auto& entry : root) {
    std::string model = entry.first.Scalar();
    const YAML::Node& fields = entry.second;
    if (!fields.IsMap()) return FailAt(file_name, fields, model, "expected {input, output}");
    Price price;
    bool has_input = false, has_output = false, has_cached = false;
    for (const auto& field : fields) {
      std::string name = field.first.Scalar();
      std::string path = model + "." + name;
      auto value = ReadPrice(file_name, field.second, path);
      if (!value) return Fail(value.error());
      if (name == "input") {
        price.input = *value;
        has_input = true;
      } else if (name == "cached_input") {
        price.cached_input = *value;
        has_cached = true;
      } else if (name == "output") {
        price.output = *value;
        has_output = true;
      } else {
        return FailAt(file_name, field.first, path,
                      "unknown field (input, cached_input and output are known)");
      }
    }
    if (!has_input || !has_output) {
      return FailAt(file_name, fields, model, "needs both input and output prices");
    }
    if (!has_cached) price.cached_input = price.input;
    if (!table.models.emplace(model, price).second) {
      return FailAt(file_name, entry.first, model, "given twice");
    }
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
