#include "gateway/prices.h"

#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace drover::fleet {
namespace {

TEST(PricesTest, ParsesLooksUpAndCosts) {
  auto table = ParsePriceTable(
      "openai:gpt-4.1: {input: 2.0, cached_input: 0.5, output: 8.0}\n"
      "claude-sonnet-4: {input: 3, output: 15}\n",
      "prices.yaml");
  ASSERT_OK(table);
  auto gpt = table->Find("openai:gpt-4.1");
  ASSERT_TRUE(gpt.has_value());
  // 800k uncached at $2, 200k cached at $0.5, 100k out at $8.
  EXPECT_NEAR(Cost(*gpt, 1'000'000, 200'000, 100'000), 1.6 + 0.1 + 0.8, 1e-9);
  auto sonnet = table->Find("anthropic:claude-sonnet-4");  // The bare model name matches.
  ASSERT_TRUE(sonnet.has_value());
  EXPECT_DOUBLE_EQ(sonnet->cached_input, 3);  // Default: the input price.
  EXPECT_FALSE(table->Find("replay").has_value());
}

TEST(PricesTest, ErrorsNameLineAndField) {
  auto unknown = ParsePriceTable("m: {input: 1, output: 2}\nn: {input: 1, outptu: 2}\n", "p.yaml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("p.yaml:2: n.outptu: unknown field"), std::string::npos)
      << unknown.error().message;
  auto negative = ParsePriceTable("m: {input: -1, output: 2}\n", "p.yaml");
  ASSERT_FALSE(negative.has_value());
  EXPECT_NE(negative.error().message.find("p.yaml:1: m.input"), std::string::npos);
  auto nested = ParsePriceTable("m:\n  input: 1\n  output:\n    usd: 2\n", "p.yaml");
  ASSERT_FALSE(nested.has_value());
  EXPECT_EQ(nested.error().message,
            "p.yaml:3: m.output: expected a price in USD per million tokens (>= 0), got a "
            "mapping");
  auto missing = ParsePriceTable("m: {input: 1}\n", "p.yaml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("needs both input and output"), std::string::npos);
}

TEST(PricesTest, HighestPriceOfSeveralModelsNamesTheUnpricedOne) {
  auto table = ParsePriceTable(
      "a: {input: 2, cached_input: 0.5, output: 8}\nb: {input: 3, output: 4}\n", "p.yaml");
  ASSERT_OK(table);
  auto both = HighestPrice(*table, {"a", "b"});
  ASSERT_OK(both);
  EXPECT_DOUBLE_EQ(both->input, 3);
  EXPECT_DOUBLE_EQ(both->cached_input, 3);  // b's cached price defaults to its input price.
  EXPECT_DOUBLE_EQ(both->output, 8);
  auto missing = HighestPrice(*table, {"a", "c"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "the price table has no price for c");
}

}  // namespace
}  // namespace drover::fleet
