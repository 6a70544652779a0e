// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/stats.h"

#include <gtest/gtest.h>

using namespace dmtier::replay;

TEST(ReplayPercentile, NearestRank)
{
	std::vector<std::uint64_t> v;
	for (std::uint64_t i = 1; i <= 1000; ++i)
		v.push_back(i);
	EXPECT_EQ(percentile_sorted(v, 0.50), 500u);
	EXPECT_EQ(percentile_sorted(v, 0.90), 900u);
	EXPECT_EQ(percentile_sorted(v, 0.99), 990u);
	EXPECT_EQ(percentile_sorted(v, 0.999), 999u);
	EXPECT_EQ(percentile_sorted(v, 1.0), 1000u);
	EXPECT_EQ(percentile_sorted(v, 0.0), 1u);
	std::vector<std::uint64_t> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	EXPECT_EQ(percentile_sorted(ten, 0.50), 5u);
	EXPECT_EQ(percentile_sorted(ten, 0.90), 9u);
	EXPECT_EQ(percentile_sorted(ten, 0.99), 10u);
	EXPECT_EQ(percentile_sorted(ten, 0.999), 10u);
	EXPECT_EQ(percentile_sorted({}, 0.5), 0u);
}

TEST(ReplayLatency, SummaryInMicroseconds)
{
	LatencyRecorder r;
	// Added out of order: the summary sorts.
	for (std::uint64_t i = 100; i >= 1; --i)
		r.add(i * 1000);
	auto s = r.summary();
	EXPECT_EQ(s.count, 100u);
	EXPECT_DOUBLE_EQ(*s.mean_us, 50.5);
	EXPECT_DOUBLE_EQ(*s.min_us, 1.0);
	EXPECT_DOUBLE_EQ(*s.max_us, 100.0);
	EXPECT_DOUBLE_EQ(*s.p50_us, 50.0);
	EXPECT_DOUBLE_EQ(*s.p90_us, 90.0);
	EXPECT_DOUBLE_EQ(*s.p99_us, 99.0);
	EXPECT_DOUBLE_EQ(*s.p999_us, 100.0);
}

TEST(ReplayLatency, OneSampleAndNone)
{
	LatencyRecorder one;
	one.add(2500);
	auto s = one.summary();
	EXPECT_EQ(s.count, 1u);
	EXPECT_DOUBLE_EQ(*s.p50_us, 2.5);
	EXPECT_DOUBLE_EQ(*s.p999_us, 2.5);
	EXPECT_DOUBLE_EQ(*s.mean_us, 2.5);
	LatencyRecorder none;
	auto e = none.summary();
	EXPECT_EQ(e.count, 0u);
	EXPECT_FALSE(e.mean_us || e.p50_us || e.p90_us || e.p99_us || e.p999_us || e.min_us || e.max_us);
}
