// SPDX-License-Identifier: GPL-2.0
#include "tier-sim/sim.h"

#include <gtest/gtest.h>

namespace dmtier::tiersim {
namespace {

constexpr std::uint64_t kExtent = 1 << 20;

trace::Trace make_trace(const std::vector<std::int64_t> &extents, std::uint64_t gap_ns = 1000000)
{
	trace::Trace t;
	t.volumes = {""};
	for (std::size_t i = 0; i < extents.size(); ++i) {
		trace::Record r;
		r.time_ns = i * gap_ns;
		r.offset = static_cast<std::uint64_t>(extents[i]) * kExtent;
		r.length = 4096;
		r.op = trace::Op::read;
		t.records.push_back(r);
	}
	return t;
}

SimResult run(const trace::Trace &t, const std::string &policy, double fraction = 0.1,
	      double budget = 0.1)
{
	SimConfig cfg;
	cfg.extent_size = kExtent;
	cfg.policy = policy;
	cfg.tier0_fraction = fraction;
	cfg.budget_per_access = budget;
	auto r = simulate(t, cfg);
	EXPECT_TRUE(r.ok()) << policy << ": " << (r.ok() ? "" : r.error());
	return r.ok() ? *r : SimResult{};
}

std::vector<std::int64_t> loop(std::int64_t size, std::size_t n, std::int64_t base = 0)
{
	std::vector<std::int64_t> v;
	for (std::size_t i = 0; i < n; ++i)
		v.push_back(base + static_cast<std::int64_t>(i % size));
	return v;
}

std::vector<std::int64_t> random_extents(std::size_t n, std::int64_t range, std::uint64_t seed)
{
	std::vector<std::int64_t> v;
	for (std::size_t i = 0; i < n; ++i) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		v.push_back(static_cast<std::int64_t>((seed >> 33) % range));
	}
	return v;
}

TEST(TierSim, HotSetThatFitsIsServedFromTier0)
{
	// 1000 cold extents touched once, then a hot set of 50 reused heavily.
	auto v = loop(1000, 1000, 10000);
	auto hot = random_extents(20000, 50, 5);
	v.insert(v.end(), hot.begin(), hot.end());
	for (const char *p : {"lru", "smq", "fallback", "oracle"}) {
		SimResult r = run(make_trace(v), p);
		EXPECT_EQ(r.tier0_extents, 105u) << p;
		EXPECT_GT(r.hit_ratio, 0.85) << p;
		EXPECT_EQ(r.bytes_migrated, (r.promotions + r.demotions) * kExtent) << p;
	}
}

TEST(TierSim, OracleBoundsEveryPolicy)
{
	auto v = random_extents(30000, 400, 9);
	auto seq = loop(2000, 6000, 5000);
	v.insert(v.end(), seq.begin(), seq.end());
	auto t = make_trace(v);
	double oracle = run(t, "oracle").hit_ratio;
	for (const char *p : {"lru", "smq", "fallback", "stride", "markov", "leap", "mithril", "auto"})
		EXPECT_LE(run(t, p).hit_ratio, oracle + 1e-9) << p;
}

TEST(TierSim, StridePrefetchCatchesAScanLruCannot)
{
	// 50 ms apart: migrations (about 7 ms each, promotion plus demotion) fit.
	auto t = make_trace(loop(100000, 20000), 50000000);
	// A budget of one promotion per access: enough to prefetch a scan.
	SimResult lru = run(t, "lru", 0.1, 1.0);
	SimResult stride = run(t, "stride", 0.1, 1.0);
	EXPECT_LT(lru.hit_ratio, 0.01);
	EXPECT_GT(stride.hit_ratio, 0.9);
	EXPECT_GT(stride.prefetch_precision, 0.9);
	EXPECT_GT(stride.prefetch_coverage, 0.9);
	EXPECT_EQ(stride.predictions, 20000u);
}

TEST(TierSim, AutoMatchesTheBestBaselineWhereOneIsClearlyBest)
{
	// A loop over 300 random extents, 10x the fast tier: LRU always misses,
	// stride and leap find no delta, Markov learns the cycle in one lap.
	// The selector, starting on none, must end on Markov and come within
	// 0.005 of its hit ratio: 45 transitions of 9,000 (it takes about 5;
	// the old windowed selector could not switch before the 736th).
	auto cycle = random_extents(300, 1 << 20, 9);
	std::vector<std::int64_t> v;
	for (int lap = 0; lap < 30; ++lap)
		v.insert(v.end(), cycle.begin(), cycle.end());
	auto t = make_trace(v, 50000000);
	SimResult lru = run(t, "lru", 0.1, 1.0);
	SimResult markov = run(t, "markov", 0.1, 1.0);
	SimResult stride = run(t, "stride", 0.1, 1.0);
	SimResult automatic = run(t, "auto", 0.1, 1.0);
	EXPECT_LT(lru.hit_ratio, 0.01);
	EXPECT_LT(stride.hit_ratio, 0.01);
	EXPECT_GT(markov.hit_ratio, 0.9);
	EXPECT_EQ(automatic.selector_choice, "markov:1");
	EXPECT_NEAR(automatic.hit_ratio, markov.hit_ratio, 0.005)
		<< "auto " << automatic.hit_ratio << ", markov " << markov.hit_ratio;
}

TEST(TierSim, BudgetLimitsPrefetch)
{
	auto t = make_trace(loop(100000, 20000), 50000000);
	SimResult r = run(t, "stride", 0.1, 0.1);
	EXPECT_NEAR(r.hit_ratio, 0.1, 0.02);
	EXPECT_LE(r.promotions, 2000u + static_cast<std::uint64_t>(SimConfig{}.budget_burst));
}

TEST(TierSim, LatePrefetchIsCountedAndServedSlow)
{
	// Accesses 1 us apart: a 1 MiB migration at 200 MB/s takes ~5 ms, so
	// every prefetch arrives late.
	auto t = make_trace(loop(100000, 2000), 1000);
	SimResult r = run(t, "stride", 0.1, 1.0);
	EXPECT_GT(r.prefetch_lateness, 0.9);
	EXPECT_LT(r.hit_ratio, 0.1);
}

TEST(TierSim, NoBudgetMeansNoMigration)
{
	auto t = make_trace(random_extents(5000, 100, 3));
	SimResult r = run(t, "lru", 0.1, 0.0);
	// The initial burst allowance only.
	EXPECT_LE(r.promotions, static_cast<std::uint64_t>(SimConfig{}.budget_burst));
	EXPECT_GT(r.budget_denied, 0u);
}

TEST(TierSim, LatencyReflectsTheTierServing)
{
	auto t = make_trace(loop(5, 20000));
	SimResult r = run(t, "lru", 1.0);
	// Almost everything hits tier 0: about its 100 us latency.
	EXPECT_LT(r.mean_latency_us, 150);
	EXPECT_GT(r.mean_latency_us, 99);
	EXPECT_LT(r.p99_latency_us, 1000);
}

TEST(TierSim, FallbackRespectsWatermarks)
{
	// A shifting hot set larger than tier 0: the fallback fills tier 0 only
	// up to the high watermark and swaps cooled extents out for hot ones.
	std::vector<std::int64_t> v;
	for (int phase = 0; phase < 6; ++phase) {
		auto hot = random_extents(10000, 120, phase + 1);
		for (auto &e : hot)
			e += phase * 1000;
		v.insert(v.end(), hot.begin(), hot.end());
	}
	SimResult r = run(make_trace(v), "fallback", 0.1);
	EXPECT_GT(r.demotions, 0u);
	EXPECT_GT(r.hit_ratio, 0.25);
	EXPECT_LE(static_cast<double>(r.promotions - r.demotions), 0.9 * r.tier0_extents);
}

TEST(TierSim, FallbackLeavesAColdExtentAlone)
{
	// Extents touched fewer than the promote threshold (4) times per round
	// never move; hot ones do.
	std::vector<std::int64_t> v;
	for (int i = 0; i < 3000; ++i) {
		v.push_back(i % 3);        // hot: about 333 accesses per round each
		v.push_back(100 + i);      // cold: once each
	}
	SimResult r = run(make_trace(v, 500000), "fallback", 0.5);
	EXPECT_EQ(r.promotions, 3u);
	// 3 s of trace: the hot half hits from the first round with heat (1 s).
	EXPECT_NEAR(r.hit_ratio, 0.5 * 2 / 3, 0.02);
}

TEST(TierSim, PaceOverridesTimestamps)
{
	// Timestamps 1 us apart would make every prefetch late; paced at 20
	// records/s the same trace prefetches in time.
	auto t = make_trace(loop(100000, 2000), 1000);
	SimConfig cfg;
	cfg.extent_size = kExtent;
	cfg.policy = "stride";
	cfg.budget_per_access = 1.0;
	cfg.pace = 20;
	auto r = simulate(t, cfg);
	ASSERT_TRUE(r.ok());
	EXPECT_GT(r->hit_ratio, 0.9);
	EXPECT_LT(r->prefetch_lateness, 0.05);
}

TEST(TierSim, CostPerGbMonthMixesTierPrices)
{
	auto t = make_trace(loop(100, 1000));
	SimResult r = run(t, "lru", 0.1);
	EXPECT_NEAR(r.cost_per_gb_month, 0.1 * 0.15 + 0.9 * 0.03, 1e-9);
}

TEST(TierSim, UnknownPolicyIsAnError)
{
	SimConfig cfg;
	cfg.policy = "belady-ish";
	auto r = simulate(make_trace({1, 2, 3}), cfg);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("belady-ish"), std::string::npos);
}

TEST(TierSim, FallbackTakesAModelForItsHeatForecast)
{
	auto t = make_trace(random_extents(3000, 200, 4));
	SimResult r = run(t, "fallback+markov");
	EXPECT_EQ(r.predictions, r.transitions);
	EXPECT_GT(r.hit_ratio, 0.0);
	SimConfig cfg;
	cfg.policy = "fallback+/some/file.model";
	EXPECT_FALSE(simulate(t, cfg).ok());
	cfg.policy = "fallback+nonsense";
	EXPECT_FALSE(simulate(t, cfg).ok());
}

TEST(TierSim, TimelineAndHeatCoverTheRun)
{
	SimResult r = run(make_trace(random_extents(1000, 300, 2)), "lru");
	ASSERT_EQ(r.timeline.size(), 100u);
	EXPECT_EQ(r.timeline.back().accesses, 1000u);
	std::uint64_t total = 0;
	for (const auto &row : r.heat)
		for (auto n : row)
			total += n;
	EXPECT_EQ(total, 1000u);
	EXPECT_EQ(csv_header().find("hit_ratio") != std::string::npos, true);
	EXPECT_NE(csv_row("x", r).find("x,lru,1000,1000"), std::string::npos);
}

} // namespace
} // namespace dmtier::tiersim
