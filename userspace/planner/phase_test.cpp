// SPDX-License-Identifier: GPL-2.0
#include "planner/phase.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace dmtier::planner;

namespace {

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t n)
{
	std::vector<std::uint64_t> v(n);
	std::iota(v.begin(), v.end(), first);
	return v;
}

} // namespace

TEST(PhaseTracker, StableSetIsOnePhase)
{
	PhaseTracker t;
	auto c = t.observe(0, range(0, 10));
	EXPECT_TRUE(c.changed);
	EXPECT_FALSE(c.known);
	// The set's margins fluctuate: still the same phase.
	for (int r = 1; r < 50; r++) {
		auto a = range(r % 3, 10);
		EXPECT_FALSE(t.observe(r * 500.0, a).changed) << r;
	}
	EXPECT_EQ(t.phases(), 1u);
	EXPECT_FALSE(t.next());
}

TEST(PhaseTracker, TooFewActiveIsNoInformation)
{
	PhaseTracker t;
	t.observe(0, range(0, 10));
	EXPECT_FALSE(t.observe(500, {}).changed);
	EXPECT_FALSE(t.observe(1000, {77}).changed);
	EXPECT_EQ(t.current(), 0);
}

TEST(PhaseTracker, LearnsACycleAndForecastsTheNextPhase)
{
	PhaseTracker t;
	const std::vector<std::uint64_t> first{0, 40, 80};
	double now = 0;
	std::int64_t ids[3] = {-1, -1, -1};
	for (int cycle = 0; cycle < 4; cycle++)
		for (int p = 0; p < 3; p++) {
			for (int r = 0; r < 10; r++, now += 500) {
				auto a = range(first[p], 12);
				// The round of the change holds the end of the last phase.
				if (r == 0 && now > 0)
					a.push_back(first[(p + 2) % 3] + 11);
				auto c = t.observe(now, a);
				if (r == 0) {
					EXPECT_TRUE(c.changed);
					EXPECT_EQ(c.known, cycle > 0) << cycle << " " << p;
					if (cycle == 0)
						ids[p] = c.to;
					else
						EXPECT_EQ(c.to, ids[p]);
				} else {
					EXPECT_FALSE(c.changed);
				}
			}
		}
	EXPECT_EQ(t.phases(), 3u);
	// In the last phase (the third set): the first set comes next, in
	// about 10 rounds.
	auto f = t.next();
	ASSERT_TRUE(f);
	EXPECT_EQ(f->phase, ids[0]);
	EXPECT_NEAR(f->at_ms - t.started_ms(), 5000, 1);
	EXPECT_EQ(t.members(ids[0]), range(0, 12));
	// Forecast from the second time each succession was seen: the
	// changes into B and C of the third cycle and all of the fourth's.
	EXPECT_EQ(t.changes, 12u);
	EXPECT_EQ(t.forecasts_right, 5u);
	EXPECT_EQ(t.forecasts, t.forecasts_right);
}

TEST(PhaseTracker, NoForecastWithoutARepeatedSuccessor)
{
	PhaseTracker t;
	double now = 0;
	// Never the same set twice: nothing to forecast.
	for (int p = 0; p < 8; p++)
		for (int r = 0; r < 5; r++, now += 500)
			t.observe(now, range(p * 16, 12));
	EXPECT_EQ(t.phases(), 8u);
	EXPECT_FALSE(t.next());
	// A -> B once, then A again: one succession is not enough.
	PhaseTracker u;
	now = 0;
	for (auto first : {0, 40, 0})
		for (int r = 0; r < 5; r++, now += 500)
			u.observe(now, range(first, 12));
	EXPECT_FALSE(u.next());
}

TEST(PhaseTracker, AGrowingPhaseIsNotANewOne)
{
	PhaseTracker t;
	t.observe(0, range(0, 12));
	// The change is seen with 3 of the new set's 12 extents, then all.
	auto c = t.observe(500, range(50, 3));
	EXPECT_TRUE(c.changed);
	EXPECT_FALSE(t.observe(1000, range(50, 12)).changed);
	EXPECT_FALSE(t.observe(1500, range(50, 12)).changed);
	EXPECT_EQ(t.phases(), 2u);
}

TEST(PhaseTracker, ForgetsTheLeastRecentPhase)
{
	PhaseConfig c;
	c.max_phases = 4;
	PhaseTracker t(c);
	double now = 0;
	for (int p = 0; p < 10; p++)
		for (int r = 0; r < 3; r++, now += 500)
			t.observe(now, range(p * 20, 8));
	EXPECT_EQ(t.phases(), 4u);
	EXPECT_TRUE(t.members(0).empty());
}

TEST(PhaseTracker, SaveLoadKeepsTheLearntCycle)
{
	PhaseTracker t;
	// A -> B -> A -> B ...: B is forecast after A.
	for (int r = 0; r < 40; r++)
		t.observe(r * 500.0, (r / 5) % 2 ? range(100, 10) : range(0, 10));
	ASSERT_TRUE(t.next());
	dmtier::predictor::PayloadWriter w;
	t.save(&w);
	auto b = w.take();
	PhaseTracker u;
	dmtier::predictor::PayloadReader r(b);
	ASSERT_TRUE(u.load(&r));
	EXPECT_TRUE(r.at_end());
	EXPECT_EQ(u.phases(), t.phases());
	EXPECT_EQ(u.current(), t.current());
	EXPECT_EQ(u.members(u.current()), t.members(t.current()));
	ASSERT_TRUE(u.next());
	EXPECT_EQ(u.next()->phase, t.next()->phase);
	EXPECT_EQ(u.changes, t.changes);
	// Truncated: refused, and nothing half-loaded.
	for (std::size_t cut : {std::size_t(0), std::size_t(20), b.size() / 2, b.size() - 1}) {
		std::vector<char> part(b.begin(), b.begin() + std::ptrdiff_t(cut));
		dmtier::predictor::PayloadReader pr(part);
		PhaseTracker x;
		EXPECT_FALSE(x.load(&pr)) << cut;
		EXPECT_EQ(x.phases(), 0u);
		EXPECT_EQ(x.current(), -1);
	}
}
