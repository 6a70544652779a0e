// SPDX-License-Identifier: GPL-2.0
#include "planner/cost.h"

#include <gtest/gtest.h>

using namespace dmtier::planner;

namespace {

std::vector<TierCost> tiers()
{
	return {{"nvme", "nvme", 0.20, 100, 500000}, {"ssd", "ssd", 0.08, 200, 50000}, {"hdd", "hdd", 0.02, 5000, 200}};
}

PoolPlanner planner()
{
	PoolPlanner p("tank");
	PoolInfo info;
	info.extent_sectors = 2048 * 1024; // 1 GiB extents: round numbers
	info.tiers = {{0, 0, 100}, {1, 0, 100}, {2, 0, 100}};
	p.update_pool(info);
	dmtier::nl::VolumeInfo v;
	v.volume = 7;
	v.tiering_enabled = true;
	p.update_volume(v, 0);
	dmtier::nl::HeatReport h;
	h.volume = 7;
	// 10 hot extents on nvme, 40 cold ones on nvme, 5 on hdd.
	for (std::uint64_t i = 0; i < 50; i++) {
		dm_tier_heat_entry e{};
		e.extent = i;
		e.tier = 0;
		e.reads = i < 10 ? 100 : 0;
		h.heat.push_back(e);
	}
	for (std::uint64_t i = 50; i < 55; i++) {
		dm_tier_heat_entry e{};
		e.extent = i;
		e.tier = 2;
		h.heat.push_back(e);
	}
	p.on_heat(h, 0);
	return p;
}

} // namespace

TEST(Cost, PerVolumeAndPool)
{
	PoolPlanner p = planner();
	CostReport r = cost_report(p, tiers(), {{7, "vm7"}}, 0);
	ASSERT_EQ(r.volumes.size(), 1u);
	const auto &v = r.volumes[0];
	EXPECT_EQ(v.name, "vm7");
	EXPECT_EQ(v.bytes[0], 50ULL << 30);
	EXPECT_EQ(v.bytes[1], 0u);
	EXPECT_EQ(v.bytes[2], 5ULL << 30);
	double gb = double(1ULL << 30) / 1e9;
	EXPECT_NEAR(v.monthly, 50 * gb * 0.20 + 5 * gb * 0.02, 1e-9);
	EXPECT_NEAR(r.monthly, v.monthly, 1e-12);
	EXPECT_NEAR(r.capacity_monthly, 100 * gb * (0.20 + 0.08 + 0.02), 1e-9);
	// All the heat is on nvme.
	EXPECT_NEAR(v.read_latency_us, 100, 1e-9);
}

TEST(Cost, SuggestsDemotingColdData)
{
	PoolPlanner p = planner();
	CostReport r = cost_report(p, tiers(), {}, 0);
	ASSERT_EQ(r.suggestions.size(), 1u);
	const auto &s = r.suggestions[0];
	EXPECT_EQ(s.volume, 7u);
	EXPECT_EQ(s.from_tier, 0u);
	EXPECT_EQ(s.to_tier, 1u);
	EXPECT_EQ(s.extents, 40u);
	double gb = double(1ULL << 30) / 1e9;
	EXPECT_NEAR(s.saves_monthly, 40 * gb * 0.12, 1e-9);
	// Cold data carries no heat: latency unchanged.
	EXPECT_NEAR(s.latency_change, 0, 1e-12);
	EXPECT_EQ(s.text, "demote 40 GiB cold on vol-7 from nvme: saves $5.15/month, predicted read latency +0%");
	// The hdd tier has nothing cheaper below: no suggestion for it.
	for (const auto &x : r.suggestions)
		EXPECT_NE(x.from_tier, 2u);
}

TEST(Cost, LatencyChangeWeighsHeat)
{
	PoolPlanner p = planner();
	// Make the cold set lukewarm-but-cold (heat 1 = demote threshold).
	dmtier::nl::HeatReport h;
	h.volume = 7;
	for (std::uint64_t i = 10; i < 50; i++) {
		dm_tier_heat_entry e{};
		e.extent = i;
		e.tier = 0;
		e.reads = 1;
		h.heat.push_back(e);
	}
	p.on_heat(h, 0);
	CostReport r = cost_report(p, tiers(), {}, 0);
	ASSERT_EQ(r.suggestions.size(), 1u);
	// heat: 10 x 100 at 100 us, 40 x 1 moving from 100 to 200 us.
	double before = 100, after = (1000 * 100 + 40 * 200) / 1040.0;
	EXPECT_NEAR(r.suggestions[0].latency_change, after / before - 1, 1e-9);
	EXPECT_GT(r.suggestions[0].latency_change, 0.03);
}

TEST(Cost, FormatBytes)
{
	EXPECT_EQ(format_bytes(40ULL << 30), "40 GiB");
	EXPECT_EQ(format_bytes(3ULL << 29), "1.5 GiB");
	EXPECT_EQ(format_bytes(640ULL << 20), "640 MiB");
}
