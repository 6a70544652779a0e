// SPDX-License-Identifier: GPL-2.0
#include "planner/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>

#include "planner/fake_kernel.h"
#include "predictor/selector.h"
#include "predictor/trainer.h"

using namespace dmtier::planner;
using dmtier::nl::HeatReport;
using dmtier::nl::MigrationDoneReport;
using dmtier::nl::ProfileReport;
using dmtier::nl::TransitionsReport;

namespace {

PoolInfo pool3(std::uint64_t t0_total, std::uint64_t t0_used, std::uint64_t t1_total = 1000,
	       std::uint64_t t1_used = 0, std::uint64_t t2_total = 10000, std::uint64_t t2_used = 0)
{
	PoolInfo p;
	p.pool = "tank";
	p.nr_tiers = 3;
	p.extent_sectors = 2048; // 1 MiB
	p.tiers = {{0, t0_used, t0_total}, {1, t1_used, t1_total}, {2, t2_used, t2_total}};
	return p;
}

VolumeInfo volinfo(std::uint32_t id, std::string policy = "balanced", std::string model = "stride")
{
	VolumeInfo v;
	v.volume = id;
	v.tiering_enabled = true;
	v.policy_name = std::move(policy);
	v.model = std::move(model);
	return v;
}

dm_tier_heat_entry he(std::uint64_t extent, std::uint8_t tier, std::uint8_t reads, std::uint8_t flags = 0)
{
	dm_tier_heat_entry e{};
	e.extent = extent;
	e.tier = tier;
	e.reads = reads;
	e.flags = flags;
	return e;
}

HeatReport heat(std::uint32_t vol, std::vector<dm_tier_heat_entry> h)
{
	HeatReport r;
	r.pool = "tank";
	r.volume = vol;
	r.heat = std::move(h);
	return r;
}

std::set<std::uint64_t> extents_of(const std::vector<dm_tier_extent_cmd> &c, std::uint32_t tier = 99)
{
	std::set<std::uint64_t> s;
	for (const auto &x : c)
		if (tier == 99 || x.tier == tier)
			s.insert(x.extent);
	return s;
}

// Heat reports of n consecutive kernel epochs: the planner promotes an
// extent only once it was hot in promote_reports (2) consecutive reports.
std::uint32_t g_epoch = 100;
void report(PoolPlanner &p, std::uint32_t vol, const std::vector<dm_tier_heat_entry> &h, double now_ms,
	    std::uint32_t n = 2)
{
	for (std::uint32_t i = 0; i < n; i++) {
		HeatReport r = heat(vol, h);
		r.epoch = ++g_epoch;
		p.on_heat(r, now_ms);
	}
}

PlannerConfig cfg()
{
	PlannerConfig c;
	c.model_override = "none";
	c.hint_extents = 0; // most tests look at migrations only
	return c;
}

} // namespace

TEST(Planner, PromotesHotNotLukewarmOrCold)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(100, 10));
	p.update_volume(volinfo(1), 0);
	report(p, 1, {he(5, 2, 20), he(6, 2, 3), he(7, 2, 0), he(8, 1, 9)}, 0);
	Plan pl = p.plan(0);
	EXPECT_EQ(extents_of(pl.migrate), (std::set<std::uint64_t>{5, 8}));
	for (const auto &c : pl.migrate)
		EXPECT_EQ(c.tier, 0u);
	EXPECT_EQ(pl.promotions, 2u);
	EXPECT_EQ(pl.demotions, 0u);
}

TEST(Planner, BudgetTakesHottestFirst)
{
	PlannerConfig c = cfg();
	c.budget_per_round = 10;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(1000, 0));
	p.update_volume(volinfo(1), 0);
	std::vector<dm_tier_heat_entry> h;
	for (int i = 0; i < 100; i++)
		h.push_back(he(i, 2, std::uint8_t(10 + i)));
	report(p, 1, h, 0);
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.migrate.size(), 10u);
	for (const auto &m : pl.migrate)
		EXPECT_GE(m.extent, 90u) << "extent " << m.extent << " is not among the 10 hottest";
	// The next round continues with the next hottest.
	pl = p.plan(0);
	ASSERT_EQ(pl.migrate.size(), 10u);
	for (const auto &m : pl.migrate)
		EXPECT_TRUE(m.extent >= 80 && m.extent < 90) << m.extent;
}

TEST(Planner, RespectsTierCapacityAndFillTarget)
{
	PoolPlanner p("tank", cfg());
	// Tier 0: 100 extents, fill target 90, 87 used -> 3 free below target.
	p.update_pool(pool3(100, 87));
	p.update_volume(volinfo(1), 0);
	std::vector<dm_tier_heat_entry> h;
	for (int i = 0; i < 20; i++)
		h.push_back(he(i, 2, 50));
	report(p, 1, h, 0);
	Plan pl = p.plan(0);
	EXPECT_EQ(extents_of(pl.migrate, 0).size(), 3u);
	// The rest go to tier 1, the next fastest with room.
	EXPECT_EQ(extents_of(pl.migrate, 1).size(), 17u);
}

TEST(Planner, SwapsOnlyWhenHotterByMargin)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(10, 9)); // tier 0 at its fill target
	p.update_volume(volinfo(1), 0);
	// Tier 0 extents with heat 3 (not hot, not cold); candidates on tier 2.
	std::vector<dm_tier_heat_entry> h;
	for (int i = 0; i < 9; i++)
		h.push_back(he(100 + i, 0, 3));
	h.push_back(he(1, 2, 8));  // 8 = 3 x 2 + 2, not above: no swap, tier 1 instead
	h.push_back(he(2, 2, 30)); // swaps with a tier-0 extent
	report(p, 1, h, 0);
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.migrate.size(), 3u);
	EXPECT_EQ(extents_of(pl.migrate, 0), (std::set<std::uint64_t>{2}));
	auto down = extents_of(pl.migrate, 1);
	ASSERT_EQ(down.size(), 2u);
	EXPECT_TRUE(down.count(1));
	EXPECT_GE(*down.rbegin(), 100u);
	EXPECT_EQ(pl.promotions, 2u);
	EXPECT_EQ(pl.demotions, 1u);
}

TEST(Planner, HysteresisAndResidency)
{
	PlannerConfig c = cfg();
	c.residency_rounds = 3;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1, "cost-optimized"), 0);
	// Heat 2: inside the dead band (demote 1 < 2 < promote 4): stays.
	p.on_heat(heat(1, {he(1, 1, 2), he(2, 2, 2)}), 0);
	EXPECT_TRUE(p.plan(0).migrate.empty());

	// A hot extent is promoted ...
	report(p, 1, {he(3, 2, 40)}, 0);
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.migrate.size(), 1u);
	MigrationDoneReport done;
	done.migrations.push_back({3, 1, 2, 0, DM_TIER_MIG_OK});
	p.on_migrations(done);
	EXPECT_EQ(p.volume(1)->extents[3].tier, 0);
	// ... then turns cold (no access for 10 half-lives; cost-optimized
	// demotes cold extents), but stays for the residency rounds.
	const double later = 10 * c.half_life_ms;
	p.on_heat(heat(1, {he(3, 0, 0), he(1, 1, 2), he(2, 2, 2)}), later);
	EXPECT_TRUE(p.plan(later).migrate.empty()); // round 3 (moved in 2)
	EXPECT_TRUE(p.plan(later).migrate.empty()); // round 4
	pl = p.plan(later);			    // round 5: 3 rounds later
	ASSERT_EQ(pl.migrate.size(), 1u);
	EXPECT_EQ(pl.migrate[0].extent, 3u);
	EXPECT_EQ(pl.migrate[0].tier, 1u);
}

TEST(Planner, BalancedKeepsColdDataWithoutPressureButShedsUnderPressure)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(10, 5));
	p.update_volume(volinfo(1), 0);
	p.on_heat(heat(1, {he(1, 0, 0), he(2, 0, 0), he(3, 0, 5)}), 0);
	EXPECT_TRUE(p.plan(0).migrate.empty());
	// Tier 0 over its fill target (10 used of 10, target 9): the coldest
	// goes down until at the target, the hot one stays.
	p.update_pool(pool3(10, 10));
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.migrate.size(), 1u);
	EXPECT_TRUE(pl.migrate[0].extent == 1 || pl.migrate[0].extent == 2);
	EXPECT_EQ(pl.migrate[0].tier, 1u);
}

TEST(Planner, HeatDecaysWithTime)
{
	PlannerConfig c = cfg();
	c.half_life_ms = 1000;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	p.on_heat(heat(1, {he(1, 2, 8)}), 0);
	// 8 halves to 2 after two half-lives (2 s): no longer hot.
	EXPECT_TRUE(p.plan(2000).migrate.empty());
	// A report with a lower kernel count does not forget our memory: 8
	// decayed over one half-life (4) beats the kernel's 1 ...
	report(p, 1, {he(2, 2, 8)}, 2000);
	report(p, 1, {he(2, 2, 1)}, 3000, 1);
	EXPECT_NEAR(p.volume(1)->extents[2].heat, 4.0, 1e-9);
	// ... but a promotion needs current evidence: the kernel's count fell
	// below promote_heat in the latest epoch.
	EXPECT_TRUE(p.plan(3000).migrate.empty());
	report(p, 1, {he(2, 2, 5)}, 3000);
	Plan pl = p.plan(3000);
	ASSERT_EQ(pl.migrate.size(), 1u);
	EXPECT_EQ(pl.migrate[0].extent, 2u);
}

TEST(Planner, SkipsPinnedMigratingAndDisabledVolumes)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	auto off = volinfo(2);
	off.tiering_enabled = false;
	p.update_volume(off, 0);
	p.on_heat(heat(1, {he(1, 2, 50, DM_TIER_HEAT_PINNED), he(2, 2, 50, DM_TIER_HEAT_MIGRATING)}), 0);
	p.on_heat(heat(2, {he(3, 2, 50)}), 0);
	EXPECT_TRUE(p.plan(0).migrate.empty());
}

TEST(Planner, PrefetchQueueOrderedByPredictedTime)
{
	PlannerConfig c = cfg();
	c.model_override = "stride";
	c.prefetch_depth = 2;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	std::vector<dm_tier_heat_entry> h;
	for (int i = 0; i < 40; i++)
		h.push_back(he(i, 2, 0));
	p.load_heat(1, h, 0);
	TransitionsReport t;
	t.pool = "tank";
	t.volume = 1;
	for (int i = 10; i <= 14; i++)
		t.transitions.push_back({std::uint64_t(i) * 1000000, std::uint64_t(i), 4096, DM_TIER_TR_MAPPED, 2, 0});
	p.on_transitions(t, 0);
	const auto q = p.volume(1)->ordered_queue();
	ASSERT_GE(q.size(), 2u);
	EXPECT_EQ(q[0].extent, 15u);
	EXPECT_EQ(q[1].extent, 16u);
	for (std::size_t i = 1; i < q.size(); i++)
		EXPECT_LE(q[i - 1].expected_ms, q[i].expected_ms);
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.prefetch.size(), 2u); // depth 2
	EXPECT_EQ(pl.prefetch[0].extent, 15u);
	EXPECT_EQ(pl.prefetch[1].extent, 16u);
	EXPECT_EQ(pl.prefetch[0].tier, 0u);
	EXPECT_GE(pl.prefetch[0].deadline_ms, c.prefetch_deadline_min_ms);
	EXPECT_EQ(p.volume(1)->prefetch.issued, 2u);
	// Issued entries leave the queue; an extent already on tier 0 is never
	// queued.
	for (const auto &[x, e] : p.volume(1)->queue)
		EXPECT_TRUE(x != 15 && x != 16);
}

TEST(Planner, PrefetchRespectsBudgetAndExpiry)
{
	PlannerConfig c = cfg();
	c.model_override = "stride";
	c.prefetch_depth = 8;
	c.budget_per_round = 3;
	c.prefetch_ttl_ms = 1000;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	std::vector<dm_tier_heat_entry> h;
	for (int i = 0; i < 40; i++)
		h.push_back(he(i, 2, 0));
	p.load_heat(1, h, 0);
	TransitionsReport t;
	t.volume = 1;
	for (int i = 0; i < 4; i++)
		t.transitions.push_back({std::uint64_t(i) * 1000, std::uint64_t(i), 4096, DM_TIER_TR_MAPPED, 2, 0});
	p.on_transitions(t, 0);
	EXPECT_EQ(p.plan(0).prefetch.size(), 3u);
	// What is left expires.
	EXPECT_FALSE(p.volume(1)->queue.empty());
	EXPECT_TRUE(p.plan(5000).prefetch.empty());
	EXPECT_TRUE(p.volume(1)->queue.empty());
}

TEST(Planner, PrefetchDepthFollowsHitRatio)
{
	PlannerConfig c = cfg();
	c.prefetch_depth = 4;
	c.prefetch_threshold = 0.1;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	ProfileReport pr;
	pr.volume = 1;
	p.on_profile(pr, 0);
	pr.profile.prefetch_hits = 9;
	pr.profile.prefetch_misses = 1;
	p.on_profile(pr, 1000);
	p.plan(1000);
	EXPECT_EQ(p.volume(1)->prefetch.depth, 8u);
	EXPECT_LT(p.volume(1)->prefetch.threshold, 0.1);
	// Too few new samples: unchanged.
	pr.profile.prefetch_misses = 3;
	p.on_profile(pr, 2000);
	p.plan(2000);
	EXPECT_EQ(p.volume(1)->prefetch.depth, 8u);
	// Mostly misses: depth halves, threshold rises.
	double before = p.volume(1)->prefetch.threshold;
	pr.profile.prefetch_hits = 10;
	pr.profile.prefetch_misses = 20;
	p.on_profile(pr, 3000);
	p.plan(3000);
	EXPECT_EQ(p.volume(1)->prefetch.depth, 4u);
	EXPECT_GT(p.volume(1)->prefetch.threshold, before);
	EXPECT_NEAR(p.volume(1)->prefetch.hit_ratio(), 10.0 / 30.0, 1e-9);
	// Depth stays within its bounds.
	for (int i = 0; i < 10; i++) {
		pr.profile.prefetch_misses += 100;
		p.on_profile(pr, 4000 + i);
		p.plan(4000 + i);
	}
	EXPECT_EQ(p.volume(1)->prefetch.depth, c.prefetch_depth_min);
	EXPECT_LE(p.volume(1)->prefetch.threshold, c.prefetch_threshold_max);
}

TEST(Planner, AllocationHintsPastWriteFrontier)
{
	PlannerConfig c = cfg();
	c.hint_extents = 16;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1, "cost-optimized"), 100);
	p.update_volume(volinfo(2, "performance-optimized"), 20);
	p.update_volume(volinfo(3), 100);
	TransitionsReport t;
	t.volume = 1;
	for (int i = 0; i < 10; i++)
		t.transitions.push_back({std::uint64_t(i), std::uint64_t(i), 131072, DM_TIER_TR_WRITE, 0, 0});
	p.on_transitions(t, 0);
	// Volume 3 (balanced) is read back: its new data should start fast.
	ProfileReport pr;
	pr.volume = 3;
	p.on_profile(pr, 0);
	pr.profile.reads = 900;
	pr.profile.writes = 100;
	p.on_profile(pr, 1000);
	// Volumes 1 and 2 get no hint: the kernel allocates by their policy
	// (the slowest tier, tier 0) anyway.
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.hints.size(), 1u);
	EXPECT_EQ(pl.hints[0].volume, 3u);
	EXPECT_EQ(pl.hints[0].extent, 0u);
	EXPECT_EQ(pl.hints[0].end, 16u);
	EXPECT_EQ(pl.hints[0].tier, 0u);
	// Unchanged: not sent again, unless asked to (re-registration).
	EXPECT_TRUE(p.plan(0).hints.empty());
	p.resend_hints();
	EXPECT_EQ(p.plan(0).hints.size(), 1u);
	// A full tier 0: the performance volume's hint moves to the next tier
	// (the kernel would fill tier 0 to the last extent); volume 3's choice
	// becomes the middle tier, its policy's: its hint is cleared.
	p.update_pool(pool3(100, 95));
	pl = p.plan(0);
	ASSERT_EQ(pl.hints.size(), 2u);
	EXPECT_EQ(pl.hints[0].volume, 2u);
	EXPECT_EQ(pl.hints[0].tier, 1u);
	EXPECT_EQ(pl.hints[1].volume, 3u);
	EXPECT_EQ(pl.hints[1].tier, DM_TIER_TIER_NONE);
	EXPECT_EQ(pl.hints[1].extent, 0u);
	EXPECT_EQ(pl.hints[1].end, 16u);
	// Volume 3 turns cost-optimized: nothing of ours to clear.
	p.update_volume(volinfo(3, "cost-optimized"), 100);
	for (const auto &h : p.plan(0).hints)
		EXPECT_NE(h.volume, 3u);
	// The frontier never passes the volume's end.
	t.transitions.clear();
	t.volume = 2;
	t.transitions.push_back({0, 19, 4096, DM_TIER_TR_WRITE, 0, 0});
	p.on_transitions(t, 0);
	for (const auto &h : p.plan(0).hints)
		EXPECT_NE(h.volume, 2u);
}

TEST(Planner, RetieringPrioritisesSurprisedVolume)
{
	PlannerConfig c = cfg();
	c.budget_per_round = 4;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(1000, 0));
	p.update_volume(volinfo(1), 0);
	p.update_volume(volinfo(2), 0);
	// Volume 1 was known hot (forecast right), volume 2's hot set is new.
	std::vector<dm_tier_heat_entry> h1, h2;
	for (int i = 0; i < 16; i++)
		h1.push_back(he(i, 2, 200));
	for (int i = 0; i < 8; i++)
		h2.push_back(he(i, 2, 20));
	// Volume 1's first report was a surprise too: re-tiered while its
	// extents gather evidence (two rounds), 4 of them promoted.
	report(p, 1, h1, 0, 1);
	EXPECT_EQ(p.plan(0).retier_volumes, 1u);
	report(p, 1, h1, 0, 1);
	EXPECT_EQ(p.plan(0).migrate.size(), 4u);
	// Now expected: no surprise.  Volume 2's first report is one: it is
	// re-tiered, but its extents are not promoted on one report.
	std::uint32_t e = ++g_epoch;
	HeatReport r1 = heat(1, h1), r2 = heat(2, h2);
	r1.epoch = r2.epoch = e;
	p.on_heat(r1, 0);
	p.on_heat(r2, 0);
	Plan pl = p.plan(0);
	EXPECT_EQ(pl.retier_volumes, 1u);
	EXPECT_EQ(p.volume(2)->retier_events, 1u);
	for (const auto &m : pl.migrate)
		EXPECT_EQ(m.volume, 1u);
	// The next epoch: volume 2 has the evidence and still comes first,
	// despite volume 1 being hotter.
	r1.epoch = r2.epoch = ++g_epoch;
	p.on_heat(r1, 0);
	p.on_heat(r2, 0);
	pl = p.plan(0);
	EXPECT_EQ(pl.retier_volumes, 1u);
	EXPECT_EQ(p.volume(2)->retier_events, 1u);
	ASSERT_EQ(pl.migrate.size(), 4u);
	for (const auto &m : pl.migrate)
		EXPECT_EQ(m.volume, 2u);
}

TEST(Planner, RunRoundSendsBatchesAndRecoversFromFailure)
{
	PoolPlanner p("tank", cfg());
	FakeKernel k;
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	report(p, 1, {he(1, 2, 50), he(2, 2, 50)}, 0);
	k.fail_errno = 16;
	Plan pl = p.run_round(k, 0);
	EXPECT_FALSE(pl.error.empty());
	EXPECT_EQ(p.rejected, 2u);
	EXPECT_TRUE(k.sent.empty());
	// Nothing was queued: the next round asks again.
	k.fail_errno = 0;
	pl = p.run_round(k, 0);
	EXPECT_TRUE(pl.error.empty());
	EXPECT_EQ(k.count(Command::migrate), 2u);
	EXPECT_EQ(p.migrations_sent, 2u);
	// Sent moves are not planned again while pending.
	p.run_round(k, 0);
	EXPECT_EQ(k.count(Command::migrate), 2u);
}

TEST(Planner, TransitionsTrackFastTierHitsAndPredictorAccuracy)
{
	PlannerConfig c = cfg();
	c.model_override = "stride";
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	TransitionsReport t;
	t.volume = 1;
	for (int i = 0; i < 20; i++)
		t.transitions.push_back(
			{std::uint64_t(i), std::uint64_t(i), 4096, DM_TIER_TR_MAPPED, std::uint8_t(i < 5 ? 0 : 2), 0});
	p.on_transitions(t, 0);
	EXPECT_EQ(p.fast_accesses, 20u);
	EXPECT_EQ(p.fast_hits, 5u);
	auto *v = p.volume(1);
	EXPECT_GT(v->pred_checked, 10u);
	EXPECT_GE(double(v->pred_correct) / double(v->pred_checked), 0.8);
	EXPECT_EQ(v->extents[3].tier, 0);
	EXPECT_EQ(v->extents[7].tier, 2);
}

TEST(Planner, ShortVolumesFollowThePoolsLearntChoice)
{
	PlannerConfig c = cfg();
	c.model_override = "auto";
	c.lstm_background = false;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100000, 0));
	EXPECT_EQ(p.selector_pool(), nullptr);
	// Ten volumes scan sequentially: stride is what works in this pool.
	for (std::uint32_t vol = 1; vol <= 10; vol++) {
		p.update_volume(volinfo(vol), 0);
		TransitionsReport t;
		t.volume = vol;
		for (int i = 0; i < 200; i++)
			t.transitions.push_back({std::uint64_t(i) * 1000, std::uint64_t(vol * 1000 + i), 4096,
						 DM_TIER_TR_MAPPED, 2, 0});
		p.on_transitions(t, 0);
	}
	ASSERT_NE(p.selector_pool(), nullptr);
	EXPECT_EQ(p.selector_pool()->leader(), "stride");
	// A new volume with two transitions (no evidence of its own) starts on
	// the pool's choice, not on "none".
	p.update_volume(volinfo(20), 0);
	TransitionsReport t;
	t.volume = 20;
	t.transitions.push_back({0, 50000, 4096, DM_TIER_TR_MAPPED, 2, 0});
	t.transitions.push_back({1000, 50007, 4096, DM_TIER_TR_MAPPED, 2, 0});
	p.on_transitions(t, 0);
	auto *sel = dynamic_cast<dmtier::predictor::ModelSelector *>(p.volume(20)->predictor.get());
	ASSERT_NE(sel, nullptr);
	EXPECT_EQ(sel->active(), "stride");
	// Another pool's planner has its own evidence.
	PoolPlanner q("other", c);
	q.update_pool(pool3(100000, 0));
	q.update_volume(volinfo(20), 0);
	q.on_transitions(t, 0);
	auto *lone = dynamic_cast<dmtier::predictor::ModelSelector *>(q.volume(20)->predictor.get());
	ASSERT_NE(lone, nullptr);
	EXPECT_EQ(lone->active(), "none");
}

TEST(Planner, BusyPoolsWorkOnSamples)
{
	PlannerConfig c = cfg();
	c.model_override = ""; // each volume's own
	c.lstm_background = false;
	c.busy_rate = 5000;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(100000, 0));
	p.update_volume(volinfo(1, "balanced", "auto"), 0);
	p.update_volume(volinfo(3, "balanced", "markov"), 0);
	std::uint64_t t_ns = 0, x = 0, y = 0;
	const std::uint64_t cycle[] = {5, 17, 3, 42, 8, 29};
	// Two seconds of report time at rate transitions/s in the pool, in
	// reports of 100: volume 1 random, volume 3 a cycle markov learns.
	auto run = [&](double rate) {
		for (std::uint64_t end = t_ns + 2000000000; t_ns < end;) {
			for (std::uint32_t vol : {1u, 3u}) {
				TransitionsReport t;
				t.volume = vol;
				for (int i = 0; i < 100; i++) {
					t_ns += std::uint64_t(1e9 / rate);
					std::uint64_t e = vol == 1 ? 1000 + x++ * 7919 % 5000 : cycle[y++ % 6];
					t.transitions.push_back({t_ns, e, 4096, DM_TIER_TR_MAPPED, 2, 0});
				}
				p.on_transitions(t, double(t_ns) / 1e6);
			}
		}
	};
	run(1000);
	auto *sel = dynamic_cast<dmtier::predictor::ModelSelector *>(p.volume(1)->predictor.get());
	ASSERT_NE(sel, nullptr);
	EXPECT_NEAR(p.transition_rate(), 1000, 50);
	EXPECT_FALSE(p.busy());
	EXPECT_EQ(p.prediction_stride(), 1u);
	EXPECT_FALSE(sel->sample_all());
	// Not busy: markov's predictions are checked after every transition.
	VolumeState *m = p.volume(3);
	std::uint64_t checked = m->pred_checked, seen = m->transitions;
	run(1000);
	EXPECT_NEAR(double(m->pred_checked - checked), double(m->transitions - seen), 2);

	run(20000);
	EXPECT_NEAR(p.transition_rate(), 20000, 1000);
	EXPECT_TRUE(p.busy());
	EXPECT_EQ(p.prediction_stride(), 4u);
	EXPECT_TRUE(sel->sample_all());
	// Busy: acted on (and checked) for 1 in 4, and still right.
	checked = m->pred_checked;
	std::uint64_t correct = m->pred_correct;
	seen = m->transitions;
	run(20000);
	EXPECT_NEAR(double(m->pred_checked - checked), double(m->transitions - seen) / 4, 4);
	EXPECT_GE(double(m->pred_correct - correct), 0.9 * double(m->pred_checked - checked));
	// A volume that appears under load starts sampled.
	p.update_volume(volinfo(2, "balanced", "auto"), 0);
	TransitionsReport t2;
	t2.volume = 2;
	t2.transitions.push_back({t_ns, 7, 4096, DM_TIER_TR_MAPPED, 2, 0});
	p.on_transitions(t2, double(t_ns) / 1e6);
	auto *sel2 = dynamic_cast<dmtier::predictor::ModelSelector *>(p.volume(2)->predictor.get());
	ASSERT_NE(sel2, nullptr);
	EXPECT_TRUE(sel2->sample_all());
	// Hysteresis: 3,000/s is under the threshold but above half of it.
	run(3000);
	EXPECT_TRUE(p.busy());
	EXPECT_EQ(p.prediction_stride(), 1u);
	run(1000);
	EXPECT_FALSE(p.busy());
	EXPECT_FALSE(sel->sample_all());
	EXPECT_FALSE(sel2->sample_all());
	// 0: never busy.
	c.busy_rate = 0;
	p.set_config(c);
	run(20000);
	EXPECT_FALSE(p.busy());
	EXPECT_EQ(p.prediction_stride(), 1u);
}

namespace {
// Feeds volume vol a repeating cycle of extents (markov's table learns it).
void feed_cycle(PoolPlanner &p, std::uint32_t vol, int n)
{
	TransitionsReport t;
	t.volume = vol;
	const std::uint64_t cycle[] = {5, 17, 3, 42, 8, 29};
	for (int i = 0; i < n; i++)
		t.transitions.push_back({std::uint64_t(i) * 1000, cycle[i % 6], 4096, DM_TIER_TR_MAPPED, 2, 0});
	p.on_transitions(t, 0);
}
} // namespace

TEST(Planner, LearntStateSavedAndLoaded)
{
	char tmpl[] = "/tmp/planner-learnt-XXXXXX";
	ASSERT_NE(mkdtemp(tmpl), nullptr);
	std::string dir = tmpl;
	for (std::string model : {"markov", "auto"}) {
		PlannerConfig c = cfg();
		c.model_override = model;
		c.lstm_background = false;
		PoolPlanner a("tank", c);
		a.set_model_dir(dir);
		a.update_pool(pool3(100, 0));
		a.update_volume(volinfo(1), 0);
		a.update_volume(volinfo(2), 0);
		feed_cycle(a, 1, 600);
		for (int r = 0; r < 40; r++) // volume 2: phases A, B, A, B ...
			a.volume(2)->phases.observe(r * 500.0, std::vector<std::uint64_t>{
				std::uint64_t((r / 5) % 2 * 100), std::uint64_t((r / 5) % 2 * 100 + 1),
				std::uint64_t((r / 5) % 2 * 100 + 2)});
		ASSERT_TRUE(a.volume(2)->phases.next());
		auto n = a.save_learnt();
		ASSERT_TRUE(n.ok()) << n.error();
		EXPECT_EQ(*n, 2u);

		PoolPlanner b("tank", c);
		b.set_model_dir(dir);
		b.update_pool(pool3(100, 0));
		ASSERT_TRUE(b.load_learnt().ok());
		EXPECT_EQ(b.volume(2)->phases.phases(), a.volume(2)->phases.phases());
		ASSERT_TRUE(b.volume(2)->phases.next());
		EXPECT_EQ(b.volume(2)->phases.next()->phase, a.volume(2)->phases.next()->phase);
		b.update_volume(volinfo(1), 0);
		// One transition to 42: the restored table predicts 8 at once.
		TransitionsReport t;
		t.volume = 1;
		t.transitions.push_back({0, 42, 4096, DM_TIER_TR_MAPPED, 2, 0});
		b.on_transitions(t, 0);
		VolumeState *v = b.volume(1);
		EXPECT_TRUE(v->restored) << model;
		std::vector<dmtier::predictor::Prediction> out;
		v->predictor->predict(2, &out);
		ASSERT_FALSE(out.empty()) << model;
		EXPECT_EQ(out[0].extent, 8) << model;
		if (model == "auto") {
			auto *sa = dynamic_cast<dmtier::predictor::ModelSelector *>(a.volume(1)->predictor.get());
			auto *sb = dynamic_cast<dmtier::predictor::ModelSelector *>(v->predictor.get());
			ASSERT_NE(sa, nullptr);
			ASSERT_NE(sb, nullptr);
			EXPECT_EQ(sb->active(), sa->active());
			EXPECT_NE(sb->active(), "none");
		}
		// Saved again before the predictor is built: kept as loaded.
		PoolPlanner d("tank", c);
		d.set_model_dir(dir);
		ASSERT_TRUE(d.load_learnt().ok());
		ASSERT_TRUE(d.save_learnt().ok());
		PoolPlanner e("tank", c);
		e.set_model_dir(dir);
		ASSERT_TRUE(e.load_learnt().ok());
		e.update_volume(volinfo(1), 0);
		e.on_transitions(t, 0);
		EXPECT_TRUE(e.volume(1)->restored);
	}
	std::string cmd = "rm -rf " + dir;
	EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Planner, CorruptOrForeignLearntStateIsAnErrorAndIgnored)
{
	char tmpl[] = "/tmp/planner-learnt-XXXXXX";
	ASSERT_NE(mkdtemp(tmpl), nullptr);
	std::string dir = tmpl;
	PlannerConfig c = cfg();
	c.model_override = "markov";
	PoolPlanner a("tank", c);
	a.set_model_dir(dir);
	a.update_pool(pool3(100, 0));
	a.update_volume(volinfo(1), 0);
	feed_cycle(a, 1, 600);
	ASSERT_TRUE(a.save_learnt().ok());
	std::string path = a.learnt_path();
	std::string good;
	{
		std::ifstream f(path, std::ios::binary);
		good.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
	}
	auto write = [&](const std::string &bytes) {
		std::ofstream f(path, std::ios::binary | std::ios::trunc);
		f.write(bytes.data(), std::streamsize(bytes.size()));
	};
	auto expect_refused = [&](const std::string &why) {
		PoolPlanner b("tank", c);
		b.set_model_dir(dir);
		b.update_pool(pool3(100, 0));
		dmtier::Status s = b.load_learnt();
		EXPECT_FALSE(s.ok()) << why;
		if (!s.ok()) {
			EXPECT_NE(s.error().find(why), std::string::npos) << s.error();
		}
		// Ignored: the volume starts cold and works.
		b.update_volume(volinfo(1), 0);
		feed_cycle(b, 1, 10);
		ASSERT_NE(b.volume(1), nullptr);
		EXPECT_FALSE(b.volume(1)->restored);
	};
	std::string flipped = good;
	flipped[flipped.size() / 2] ^= 0x40;
	write(flipped);
	expect_refused("checksum");
	write(good.substr(0, good.size() - 9));
	expect_refused("truncated");
	write("garbage, not a model file at all\n");
	expect_refused("bad magic");
	// A valid model file of another kind (an LSTM's).
	ASSERT_TRUE(dmtier::predictor::write_model_file(path, {"lstm", {'x'}}).ok());
	expect_refused("not tierd's learnt state");
	// Another pool's learnt state under this pool's name.
	write(good);
	PoolPlanner other("other", c);
	other.set_model_dir(dir);
	std::rename(path.c_str(), other.learnt_path().c_str());
	dmtier::Status s = other.load_learnt();
	EXPECT_FALSE(s.ok());
	EXPECT_NE(s.error().find("'tank'"), std::string::npos) << s.error();
	// No file: nothing to load, not an error.
	PoolPlanner none("none-saved", c);
	none.set_model_dir(dir);
	EXPECT_TRUE(none.load_learnt().ok());
	std::string cmd = "rm -rf " + dir;
	EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Planner, StateRoundTrip)
{
	PlannerConfig c = cfg();
	PoolPlanner a("tank", c);
	a.update_pool(pool3(100, 0));
	a.update_volume(volinfo(1), 0);
	a.on_heat(heat(1, {he(1, 2, 8), he(2, 1, 0)}), 0);
	a.volume(1)->prefetch.depth = 7;
	a.migrations_done = 42;
	auto j = a.to_json(c.half_life_ms); // heat 8 decays to 4 in one half-life
	PoolPlanner b("tank", c);
	ASSERT_TRUE(b.from_json(j, 0).ok());
	ASSERT_NE(b.volume(1), nullptr);
	EXPECT_EQ(b.volume(1)->prefetch.depth, 7u);
	EXPECT_EQ(b.migrations_done, 42u);
	EXPECT_EQ(b.volume(1)->extents[1].tier, 2);
	EXPECT_NEAR(b.volume(1)->extents[1].heat, 4.0, 1e-9);
	// Another pool's state, or garbage, is refused with a reason.
	PoolPlanner other("other", c);
	dmtier::Status s = other.from_json(j, 0);
	EXPECT_FALSE(s.ok());
	EXPECT_NE(s.error().find("tank"), std::string::npos);
	EXPECT_FALSE(b.from_json(nlohmann::json{{"pool", "tank"}, {"volumes", 3}}, 0).ok());
	// A pool of the same name but another geometry: refused.
	PoolPlanner c2("tank", c);
	c2.update_pool(pool3(200, 0));
	dmtier::Status g = c2.from_json(j, 0);
	EXPECT_FALSE(g.ok());
	EXPECT_NE(g.error().find("another pool"), std::string::npos);
	PoolPlanner same("tank", c);
	same.update_pool(pool3(100, 0));
	EXPECT_TRUE(same.from_json(j, 0).ok());
}

TEST(Planner, LstmModelsSavedAndWarmStarted)
{
	char tmpl[] = "/tmp/planner-test-XXXXXX";
	ASSERT_NE(mkdtemp(tmpl), nullptr);
	std::string dir = tmpl;
	for (std::string model : {"lstm", "auto", "lstm-bg", "auto-bg"}) {
		PlannerConfig c = cfg();
		c.lstm_background = model.size() > 4 && model.substr(model.size() - 3) == "-bg";
		if (c.lstm_background)
			model = model.substr(0, model.size() - 3);
		c.model_override = model;
		PoolPlanner a("tank", c);
		a.set_model_dir(dir);
		a.update_pool(pool3(100, 0));
		a.update_volume(volinfo(1), 0);
		TransitionsReport t;
		t.volume = 1;
		for (int i = 0; i < 300; i++)
			t.transitions.push_back({std::uint64_t(i) * 1000, std::uint64_t(i % 12), 4096, DM_TIER_TR_MAPPED, 2, 0});
		a.on_transitions(t, 0);
		EXPECT_FALSE(a.volume(1)->warm_started);
		if (c.lstm_background) {
			// Let the trainer catch up (it holds a CPU budget).
			for (int i = 0; i < 200; i++) {
				auto *p = a.volume(1)->predictor.get();
				if (auto *sel = dynamic_cast<dmtier::predictor::ModelSelector *>(p))
					p = sel->candidate("lstm");
				auto *b = dynamic_cast<dmtier::predictor::BackgroundLstm *>(p);
				ASSERT_NE(b, nullptr) << "no background LSTM for " << model;
				if (b->trained())
					break;
				usleep(10000);
			}
		}
		auto n = a.save_models();
		ASSERT_TRUE(n.ok()) << n.error();
		EXPECT_EQ(*n, 1u) << model;

		PoolPlanner b("tank", c);
		b.set_model_dir(dir);
		b.update_pool(pool3(100, 0));
		b.update_volume(volinfo(1), 0);
		t.transitions.resize(1);
		b.on_transitions(t, 0);
		EXPECT_TRUE(b.volume(1)->warm_started) << model;
		EXPECT_EQ(b.volume(1)->predictor_name().rfind(model, 0), 0u) << b.volume(1)->predictor_name();
		// Without a file: a cold start.
		PoolPlanner cold("other", c);
		cold.set_model_dir(dir);
		cold.update_pool(pool3(100, 0));
		cold.update_volume(volinfo(1), 0);
		cold.on_transitions(t, 0);
		EXPECT_FALSE(cold.volume(1)->warm_started);
		std::remove(a.model_path(1).c_str());
	}
	rmdir(dir.c_str());
}

TEST(Planner, SwapNeedsRatioAndMargin)
{
	for (auto [cand, swaps] : {std::pair{21, false}, std::pair{23, true}}) {
		PoolPlanner p("tank", cfg());
		p.update_pool(pool3(10, 9, 1000, 1000)); // tier 0 at target, tier 1 full
		p.update_volume(volinfo(1), 0);
		std::vector<dm_tier_heat_entry> h;
		for (int i = 0; i < 9; i++)
			h.push_back(he(100 + i, 0, std::uint8_t(10 + i))); // coldest: 10
		h.push_back(he(1, 2, std::uint8_t(cand)));		    // needs > 10 x 2 + 2
		report(p, 1, h, 0);
		Plan pl = p.plan(0);
		EXPECT_EQ(extents_of(pl.migrate, 0) == std::set<std::uint64_t>{1}, swaps) << cand;
		if (swaps) {
			ASSERT_EQ(pl.migrate.size(), 2u);
			// Tier 1 is full: the victim takes the candidate's place on tier 2.
			EXPECT_EQ(extents_of(pl.migrate, 2), (std::set<std::uint64_t>{100}));
		} else {
			EXPECT_TRUE(pl.migrate.empty()) << cand;
		}
	}
}

TEST(Planner, PromotesOnlyOnSustainedHeat)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	auto at = [&](std::uint32_t epoch, std::vector<dm_tier_heat_entry> h) {
		HeatReport r = heat(1, std::move(h));
		r.epoch = epoch;
		p.on_heat(r, 0);
	};
	// One hot epoch (a burst: a scan, a fill) moves nothing ...
	at(10, {he(1, 2, 50)});
	EXPECT_TRUE(p.plan(0).migrate.empty());
	// ... nor does another after an epoch without access ...
	at(12, {he(1, 2, 50)});
	EXPECT_TRUE(p.plan(0).migrate.empty());
	// ... two consecutive ones do.
	at(13, {he(1, 2, 50)});
	Plan pl = p.plan(0);
	ASSERT_EQ(pl.migrate.size(), 1u);
	EXPECT_EQ(pl.migrate[0].extent, 1u);
	// Evidence must be current: hot in epochs 20 and 21, then untouched
	// while other extents are reported (epoch 23): not promoted.
	at(20, {he(2, 2, 50)});
	at(21, {he(2, 2, 50)});
	at(23, {he(3, 2, 1)});
	EXPECT_TRUE(p.plan(0).migrate.empty());
}

TEST(Planner, SequentialWritesWeighLess)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	ProfileReport pr;
	pr.volume = 1;
	p.on_profile(pr, 0);
	// A sequential fill: every I/O starts where the previous ended.
	pr.profile.writes = 1000;
	pr.profile.sequential = 1000;
	p.on_profile(pr, 1000);
	EXPECT_NEAR(p.volume(1)->seq_share, 1.0, 1e-9);
	dm_tier_heat_entry w = he(1, 2, 0);
	w.writes = 50;
	report(p, 1, {w}, 1000);
	EXPECT_TRUE(p.plan(1000).migrate.empty());
	// Random writes count in full.
	pr.profile.writes = 2000;
	p.on_profile(pr, 2000);
	EXPECT_NEAR(p.volume(1)->seq_share, 0.0, 1e-9);
	report(p, 1, {w}, 2000);
	Plan pl = p.plan(2000);
	ASSERT_EQ(pl.migrate.size(), 1u);
	EXPECT_EQ(pl.migrate[0].tier, 0u);
}

TEST(Planner, SustainedLeadSwapsWithoutPingPong)
{
	PlannerConfig c = cfg();
	c.swap_sustained_rounds = 5;
	c.residency_rounds = 3;
	PoolPlanner p("tank", c);
	p.update_pool(pool3(10, 9, 1000, 1000)); // tier 0 at target, tier 1 full
	p.update_volume(volinfo(1), 0);
	std::map<std::uint64_t, std::uint8_t> tier;
	for (int i = 0; i < 9; i++)
		tier[100 + i] = 0; // heat 10 .. 18
	tier[1] = 2;		   // heat 15: above 10 + 2, below 10 x 2 + 2
	auto heats = [&] {
		std::vector<dm_tier_heat_entry> h;
		for (auto [x, t] : tier)
			h.push_back(he(x, t, std::uint8_t(x == 1 ? 15 : 10 + (x - 100))));
		return h;
	};
	int swapped_at = -1;
	for (int round = 1; round <= 30; round++) {
		report(p, 1, heats(), 0, 1);
		Plan pl = p.plan(0);
		if (pl.migrate.empty())
			continue;
		ASSERT_EQ(swapped_at, -1) << "a second swap in round " << round;
		swapped_at = round;
		ASSERT_EQ(pl.migrate.size(), 2u);
		EXPECT_EQ(extents_of(pl.migrate, 0), (std::set<std::uint64_t>{1}));
		EXPECT_EQ(extents_of(pl.migrate, 2), (std::set<std::uint64_t>{100}));
		MigrationDoneReport done;
		for (const auto &m : pl.migrate) {
			done.migrations.push_back({m.extent, 1, tier[m.extent], std::uint8_t(m.tier), DM_TIER_MIG_OK});
			tier[m.extent] = std::uint8_t(m.tier);
		}
		p.on_migrations(done);
	}
	// Evidence from round 2 (two reports), then a lead in 5 consecutive
	// rounds; the demoted extent never comes back.
	EXPECT_EQ(swapped_at, 6);
}

TEST(Planner, TransitionsStandInForExtentsMissingFromAReport)
{
	PoolPlanner p("tank", cfg());
	p.update_pool(pool3(100, 0));
	p.update_volume(volinfo(1), 0);
	auto at = [&](std::uint32_t epoch, std::vector<dm_tier_heat_entry> h) {
		HeatReport r = heat(1, std::move(h));
		r.epoch = epoch;
		p.on_heat(r, 0);
	};
	auto accesses = [&](std::uint64_t x, int n) {
		TransitionsReport t;
		t.volume = 1;
		for (int i = 0; i < n; i++) {
			t.transitions.push_back({std::uint64_t(i), x, 4096, DM_TIER_TR_MAPPED, 2, 0});
			t.transitions.push_back({std::uint64_t(i), 99, 4096, DM_TIER_TR_MAPPED, 2, 0});
		}
		p.on_transitions(t, 0);
	};
	// Extent 1 is hot in epoch 10's report, then missing from epoch 11's
	// (accessed again after the epoch turned) but seen in 20 transitions
	// in two transitions reports: two hot epochs in a row.
	at(10, {he(1, 2, 50)});
	accesses(1, 10);
	accesses(1, 10);
	at(11, {he(2, 2, 0)});
	Plan pl = p.plan(0);
	EXPECT_EQ(extents_of(pl.migrate), (std::set<std::uint64_t>{1}));
	// Transitions in one transitions report only: the end of the epoch's
	// accesses, arriving after its heat report, not a new epoch's.
	at(30, {he(4, 2, 50)});
	accesses(4, 20);
	at(31, {he(2, 2, 0)});
	EXPECT_TRUE(p.plan(0).migrate.empty());
	// Without transitions a missing extent went untouched: extent 3 is not
	// promoted.
	at(20, {he(3, 2, 50)});
	at(21, {he(2, 2, 0)});
	at(22, {he(3, 2, 50)});
	EXPECT_TRUE(p.plan(0).migrate.empty());
}
