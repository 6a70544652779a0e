// SPDX-License-Identifier: GPL-2.0
#include "predictor/baselines.h"

#include <gtest/gtest.h>

#include "predictor/test_streams.h"

namespace dmtier::predictor {
namespace {

using namespace testing;

std::vector<Extent> strided(Extent start, Extent stride, std::size_t n)
{
	std::vector<Extent> v;
	for (std::size_t i = 0; i < n; ++i)
		v.push_back(start + static_cast<Extent>(i) * stride);
	return v;
}

// Two interleaved cycles over unrelated extents: no constant stride.
std::vector<Extent> irregular_cycle(std::size_t n)
{
	return periodic({100, 7, 5000, 42, 913, 7, 260, 31337}, n);
}

TEST(None, PredictsNothing)
{
	NonePredictor p;
	EXPECT_EQ(hit_rate(p, stream_of(strided(0, 1, 100)), 4, 0), 0.0);
}

TEST(Stride, CatchesSequentialAndStrided)
{
	StridePredictor seq, neg;
	EXPECT_GT(hit_rate(seq, stream_of(strided(10, 1, 200)), 1, 10), 0.99);
	EXPECT_GT(hit_rate(neg, stream_of(strided(100000, -7, 200)), 1, 10), 0.99);
	std::vector<Prediction> out;
	neg.predict(3, &out);
	ASSERT_EQ(out.size(), 3u);
	EXPECT_EQ(out[2].extent, 100000 - 7 * 202);
	EXPECT_GT(out[0].probability, out[2].probability);
	EXPECT_GT(out[1].expected_time_ns, out[0].expected_time_ns);
}

TEST(Stride, MissesIrregularCycle)
{
	StridePredictor p;
	EXPECT_LT(hit_rate(p, stream_of(irregular_cycle(400)), 1, 100), 0.05);
}

TEST(Markov, LearnsIrregularCycle)
{
	MarkovPredictor p;
	// 7 is followed by 5000 or 260: top-2 covers both.
	EXPECT_GT(hit_rate(p, stream_of(irregular_cycle(800)), 2, 100), 0.99);
}

TEST(Markov, ProbabilitiesReflectCounts)
{
	MarkovPredictor p;
	auto s = stream_of(periodic({1, 2, 1, 2, 1, 3}, 600));
	for (auto &a : s)
		p.observe(a);
	p.observe({s.back().time_ns + 1, 1, Op::read, 4096});
	std::vector<Prediction> out;
	p.predict(2, &out);
	ASSERT_EQ(out.size(), 2u);
	EXPECT_EQ(out[0].extent, 2);
	EXPECT_EQ(out[1].extent, 3);
	EXPECT_NEAR(out[0].probability, 2.0 / 3, 0.02);
}

TEST(Markov, CannotPredictRandom)
{
	MarkovPredictor p;
	EXPECT_LT(hit_rate(p, stream_of(random_extents(3000, 100000)), 4, 100), 0.01);
}

TEST(Leap, FollowsMajorityTrendThroughNoise)
{
	// Stride 3 with an occasional random jump: the majority delta survives.
	std::vector<Extent> v;
	Extent e = 0;
	auto noise = random_extents(2000, 1000000, 11);
	for (std::size_t i = 0; i < 2000; ++i) {
		e = (i % 10 == 9) ? noise[i] : e + 3;
		v.push_back(e);
	}
	LeapPredictor leap;
	StridePredictor stride;
	double leap_rate = hit_rate(leap, stream_of(v), 1, 50);
	double stride_rate = hit_rate(stride, stream_of(v), 1, 50);
	EXPECT_GT(leap_rate, 0.75);
	EXPECT_GT(leap_rate, stride_rate);
}

TEST(Leap, DepthGrowsOnHits)
{
	LeapPredictor p;
	std::vector<Prediction> out;
	auto s = stream_of(strided(0, 2, 64));
	for (auto &a : s) {
		p.predict(8, &out);
		p.observe(a);
	}
	p.predict(8, &out);
	EXPECT_EQ(out.size(), 8u);
	EXPECT_EQ(out[0].extent, 128);
}

TEST(Mithril, AssociatesExtentsWithinLookahead)
{
	// Pairs (A -> B) recur with unrelated filler between them, so the next
	// access after A is rarely B but B follows within the lookahead.
	std::vector<Extent> v;
	auto filler = random_extents(4000, 1000000, 3);
	for (std::size_t i = 0; i < 1000; ++i) {
		Extent a = 10 + static_cast<Extent>(i % 5) * 2;
		v.push_back(a);
		v.push_back(2000000 + filler[i]);
		v.push_back(a + 1);
		v.push_back(3000000 + filler[i + 1000]);
	}
	MithrilPredictor mithril;
	MarkovPredictor markov;
	std::vector<Prediction> out;
	std::size_t caught = 0, tries = 0;
	for (std::size_t i = 0; i < v.size(); ++i) {
		mithril.observe({i, v[i], Op::read, 4096});
		if (i > 400 && i % 4 == 0) {
			mithril.predict(4, &out);
			++tries;
			for (auto &p : out)
				caught += p.extent == v[i + 2];
		}
	}
	EXPECT_GT(static_cast<double>(caught) / tries, 0.95);
	// First-order Markov sees only the random filler after A.
	EXPECT_LT(hit_rate(markov, stream_of(v), 4, 400), 0.3);
}

TEST(Mithril, NeedsMinimumSupport)
{
	MithrilPredictor p;
	std::vector<Prediction> out;
	p.observe({0, 1, Op::read, 4096});
	p.observe({1, 2, Op::read, 4096});
	p.observe({2, 1, Op::read, 4096});
	p.predict(4, &out);
	EXPECT_TRUE(out.empty()); // 1 -> 2 seen once only
	p.observe({3, 2, Op::read, 4096});
	p.observe({4, 1, Op::read, 4096});
	p.predict(4, &out);
	ASSERT_FALSE(out.empty());
	EXPECT_EQ(out[0].extent, 2);
}

TEST(Oracle, ReadsTheFuture)
{
	auto v = random_extents(500, 1000);
	OraclePredictor p(v);
	EXPECT_EQ(hit_rate(p, stream_of(v), 1, 0), 1.0);
	std::vector<Prediction> out;
	OraclePredictor q({1, 2, 1, 2, 3});
	q.observe({0, 1, Op::read, 0});
	q.predict(3, &out);
	ASSERT_EQ(out.size(), 2u); // distinct and never the current extent
	EXPECT_EQ(out[0].extent, 2);
	EXPECT_EQ(out[1].extent, 3);
}

TEST(SuccessorList, NewcomerDisplacesFadingEntry)
{
	SuccessorList l;
	for (Extent e : {1, 2, 3, 4})
		l.add(e);
	l.add(5); // weakest has count 1: replaced
	EXPECT_NE(std::find(l.extent.begin(), l.extent.end(), 5), l.extent.end());
}

} // namespace
} // namespace dmtier::predictor
