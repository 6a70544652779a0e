// SPDX-License-Identifier: GPL-2.0
#include "top.h"

#include <gtest/gtest.h>

using namespace dmtier::tierctl;

namespace {

PoolSample pool(uint64_t done, uint64_t moved, uint64_t reads, uint64_t rbytes, uint64_t hits, uint64_t misses)
{
	PoolSample p;
	p.name = "tank";
	auto st = dmtier::dm::parse_pool_status("2 10/100 5/10 20/40 1 rw - - fallback " + std::to_string(done) +
						 " 1 2 1 0 " + std::to_string(moved) + " -");
	EXPECT_TRUE(st.ok()) << st.error();
	p.status = *st;
	VolSample v;
	v.id = 3;
	v.device = "vm3";
	v.profile.reads = reads;
	v.profile.writes = reads / 2;
	v.profile.read_bytes = rbytes;
	v.profile.prefetch_hits = hits;
	v.profile.prefetch_misses = misses;
	v.profile.queued = 2;
	v.profile.migrating = 1;
	v.mapped = {5, 15};
	v.heat_total = 40;
	v.heat_fast = 30;
	p.volumes.push_back(v);
	return p;
}

} // namespace

TEST(Top, ParsesProfile)
{
	auto p = parse_profile("reads=12 writes=3 read_bytes=49152 write_bytes=12288 sequential=7 "
			       "size_hist=1,2,3,4,5,6,7,8 prefetch_hits=4 prefetch_misses=1 queued=2 migrating=1\n");
	ASSERT_TRUE(p.ok()) << p.error();
	EXPECT_EQ(p->reads, 12u);
	EXPECT_EQ(p->writes, 3u);
	EXPECT_EQ(p->read_bytes, 49152u);
	EXPECT_EQ(p->write_bytes, 12288u);
	EXPECT_EQ(p->sequential, 7u);
	EXPECT_EQ(p->prefetch_hits, 4u);
	EXPECT_EQ(p->prefetch_misses, 1u);
	EXPECT_EQ(p->queued, 2u);
	EXPECT_EQ(p->migrating, 1u);
	EXPECT_FALSE(parse_profile("").ok());
	EXPECT_FALSE(parse_profile("reads=x writes=1 read_bytes=1 write_bytes=1").ok());
	EXPECT_FALSE(parse_profile("tiering_enabled").ok());
	EXPECT_TRUE(parse_profile("reads=1 writes=1 read_bytes=1 write_bytes=1 future_key=9").ok());
}

TEST(Top, RatesOverTheInterval)
{
	Sample a{10.0, {pool(100, 0, 1000, 1 << 20, 2, 2)}};
	Sample b{12.0, {pool(110, 4 << 20, 1400, 5 << 20, 5, 3)}};
	auto rows = top_rows(a, b);
	ASSERT_EQ(rows.size(), 1u);
	EXPECT_DOUBLE_EQ(rows[0].migrations_per_s, 5);
	EXPECT_DOUBLE_EQ(rows[0].moved_mbps, 2);
	ASSERT_EQ(rows[0].volumes.size(), 1u);
	const VolRow &v = rows[0].volumes[0];
	EXPECT_DOUBLE_EQ(v.read_iops, 200);
	EXPECT_DOUBLE_EQ(v.write_iops, 100);
	EXPECT_DOUBLE_EQ(v.read_mbps, 2);
	EXPECT_DOUBLE_EQ(v.prefetch_hit, 0.75);
	EXPECT_DOUBLE_EQ(v.fast_hit, 0.75);
	ASSERT_EQ(v.mix.size(), 2u);
	EXPECT_DOUBLE_EQ(v.mix[0], 0.25);
	EXPECT_EQ(v.mapped, 20u);
	EXPECT_EQ(v.queued, 2u);
}

TEST(Top, NewVolumesAndResetCountersHaveNoRate)
{
	Sample a{0, {}};
	Sample b{1, {pool(5, 0, 100, 0, 0, 0)}};
	auto rows = top_rows(a, b);
	EXPECT_DOUBLE_EQ(rows[0].volumes[0].read_iops, 0);
	EXPECT_DOUBLE_EQ(rows[0].volumes[0].prefetch_hit, -1);
	Sample c{2, {pool(1, 0, 10, 0, 0, 0)}};	// counters went back (pool reactivated)
	auto r2 = top_rows(b, c);
	EXPECT_DOUBLE_EQ(r2[0].volumes[0].read_iops, 0);
	EXPECT_DOUBLE_EQ(r2[0].migrations_per_s, 0);
}

TEST(Top, Render)
{
	Sample a{10.0, {pool(100, 0, 1000, 0, 0, 0)}};
	Sample b{11.0, {pool(100, 0, 1250, 0, 0, 0)}};
	std::string s = render_top(top_rows(a, b), 1.0, 120);
	EXPECT_NE(s.find("pool tank: rw, policy fallback, 1 volumes active"), std::string::npos) << s;
	EXPECT_NE(s.find(" 0: 5/10 (50%) 1: 20/40 (50%)"), std::string::npos) << s;
	EXPECT_NE(s.find("VOLUME"), std::string::npos);
	EXPECT_NE(s.find("3 vm3"), std::string::npos) << s;
	EXPECT_NE(s.find("     250 "), std::string::npos) << s;
	EXPECT_NE(s.find("25/75"), std::string::npos) << s;
	EXPECT_NE(s.find(" 75%"), std::string::npos) << s;
	EXPECT_EQ(s.find('\033'), std::string::npos);
	EXPECT_NE(render_top({}, 1, 80).find("no active dm-tier pool"), std::string::npos);
}

TEST(Top, Json)
{
	Sample a{10.0, {pool(100, 0, 1000, 0, 0, 0)}};
	Sample b{11.0, {pool(100, 0, 1250, 0, 0, 0)}};
	auto j = top_json(top_rows(a, b), 1.0);
	EXPECT_EQ(j["pools"][0]["pool"], "tank");
	EXPECT_EQ(j["pools"][0]["volumes"][0]["read_iops"], 250.0);
	EXPECT_TRUE(j["pools"][0]["volumes"][0]["prefetch_hit_ratio"].is_null());
	EXPECT_EQ(j["pools"][0]["volumes"][0]["fast_tier_hit_ratio"], 0.75);
	EXPECT_EQ(j["pools"][0]["tiers"][1]["total_extents"], 40);
}
