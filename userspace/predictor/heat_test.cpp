// SPDX-License-Identifier: GPL-2.0
#include "predictor/heat.h"

#include <gtest/gtest.h>

namespace dmtier::predictor {
namespace {

HeatForecast::Config cfg()
{
	HeatForecast::Config c;
	c.half_life = 100;
	c.window = 10;
	c.reference = 1;
	return c;
}

TEST(Heat, SteadyRateIsForecastForTheWindow)
{
	HeatForecast h(cfg());
	// One access every 2 time units for a long time: rate 0.5, so about 5
	// accesses expected in a window of 10.
	for (int t = 0; t < 4000; t += 2)
		h.touch(1, t);
	EXPECT_NEAR(h.expected(1, 3998), 5.0, 0.2);
	EXPECT_NEAR(h.score(1, 3998), 5.0 / 6.0, 0.01);
}

TEST(Heat, DecaysByHalfLife)
{
	HeatForecast h(cfg());
	h.touch(7, 0);
	double now = h.expected(7, 0);
	EXPECT_NEAR(h.expected(7, 100), now / 2, 1e-9);
	EXPECT_NEAR(h.expected(7, 200), now / 4, 1e-9);
	EXPECT_EQ(h.score(8, 0), 0.0);
}

TEST(Heat, ScoreStaysInUnitInterval)
{
	HeatForecast h(cfg());
	for (int i = 0; i < 100000; ++i)
		h.touch(3, 0);
	EXPECT_LT(h.score(3, 0), 1.0);
	EXPECT_GT(h.score(3, 0), 0.99);
}

TEST(Heat, PredictionRaisesAColdExtent)
{
	HeatForecast h(cfg());
	h.touch(1, 0);
	h.forecast({{2, 0.9, 0}}, 0);
	EXPECT_GT(h.score(2, 0), h.score(1, 0));
	h.forecast({{2, 0.9, 0}}, 0);
	EXPECT_LE(h.expected(2, 0), 1.0); // forecast mass is a probability
	auto top = h.hottest(1, 0);
	ASSERT_EQ(top.size(), 1u);
	EXPECT_EQ(top[0].first, 2);
}

TEST(Heat, PruneForgetsCold)
{
	HeatForecast h(cfg());
	h.touch(1, 0);
	h.touch(2, 1000);
	h.prune(1000, 0.01);
	EXPECT_EQ(h.size(), 1u);
	EXPECT_GT(h.score(2, 1000), 0.0);
}

} // namespace
} // namespace dmtier::predictor
