#include "evals/stats.h"

#include <gtest/gtest.h>

namespace drover::evals {
namespace {

TEST(WilsonTest, MatchesPublishedIntervals) {
  Interval half = Wilson(5, 10);
  EXPECT_NEAR(half.low, 0.2366, 1e-4);
  EXPECT_NEAR(half.high, 0.7634, 1e-4);
  Interval none = Wilson(0, 10);
  EXPECT_DOUBLE_EQ(none.low, 0);
  EXPECT_NEAR(none.high, 0.2775, 1e-4);
  Interval all = Wilson(10, 10);
  EXPECT_NEAR(all.low, 0.7225, 1e-4);
  EXPECT_DOUBLE_EQ(all.high, 1);
}

TEST(WilsonTest, NoTrialsIsTheWholeRange) {
  Interval empty = Wilson(0, 0);
  EXPECT_DOUBLE_EQ(empty.low, 0);
  EXPECT_DOUBLE_EQ(empty.high, 1);
}

TEST(PassAtKTest, UnbiasedEstimator) {
  EXPECT_NEAR(PassAtK(10, 3, 1), 0.3, 1e-12);
  EXPECT_NEAR(PassAtK(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);  // 1 - C(7,5)/C(10,5)
  EXPECT_DOUBLE_EQ(PassAtK(5, 0, 3), 0);
  EXPECT_DOUBLE_EQ(PassAtK(5, 3, 3), 1);  // Only two failures: any three runs hold a success.
  EXPECT_DOUBLE_EQ(PassAtK(3, 1, 3), 1);
  EXPECT_DOUBLE_EQ(PassAtK(0, 0, 1), 0);
  EXPECT_NEAR(PassAtK(4, 1, 10), 1, 1e-12);  // k is capped at the runs there are.
}

TEST(SignTestTest, ExactBinomialTails) {
  EXPECT_DOUBLE_EQ(SignTestP(0, 0), 1);
  EXPECT_NEAR(SignTestP(0, 5), 0.0625, 1e-12);
  EXPECT_NEAR(SignTestP(6, 0), 0.03125, 1e-12);
  EXPECT_NEAR(SignTestP(1, 9), 2.0 * 11 / 1024, 1e-12);
  EXPECT_NEAR(SignTestP(2, 10), 2.0 * (1 + 12 + 66) / 4096, 1e-12);  // McNemar b=2, c=10
  EXPECT_DOUBLE_EQ(SignTestP(3, 3), 1);
  EXPECT_DOUBLE_EQ(SignTestP(4, 5), SignTestP(5, 4));
}

}  // namespace
}  // namespace drover::evals
