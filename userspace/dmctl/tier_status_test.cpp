// SPDX-License-Identifier: GPL-2.0
#include "dmctl/tier_status.h"

#include <gtest/gtest.h>

using namespace dmtier::dm;

TEST(PoolStatus, ParsesEveryField)
{
	auto s = parse_pool_status("3 304/4096 41/504 0/504 215/1016 2 rw - out_of_space "
				   "controller 41 1 3 2 5 5373952 evacuating:1:7");
	ASSERT_TRUE(s.ok()) << s.error();
	EXPECT_EQ(s->meta_used, 304u);
	EXPECT_EQ(s->meta_total, 4096u);
	ASSERT_EQ(s->tiers.size(), 3u);
	EXPECT_EQ(s->tiers[2].used, 215u);
	EXPECT_EQ(s->tiers[2].total, 1016u);
	EXPECT_EQ(s->nr_volumes, 2u);
	EXPECT_EQ(s->mode, "rw");
	EXPECT_FALSE(s->needs_check);
	EXPECT_TRUE(s->out_of_space);
	EXPECT_EQ(s->policy, "controller");
	EXPECT_EQ(s->migrations_done, 41u);
	EXPECT_EQ(s->migrations_failed, 1u);
	EXPECT_EQ(s->migrations_queued, 3u);
	EXPECT_EQ(s->migrations_in_flight, 2u);
	EXPECT_EQ(s->migrations_throttled, 5u);
	EXPECT_EQ(s->bytes_moved, 5373952u);
	EXPECT_EQ(s->evacuation, "evacuating:1:7");
}

TEST(PoolStatus, RefusesWhatItDoesNotUnderstand)
{
	EXPECT_FALSE(parse_pool_status("").ok());
	EXPECT_FALSE(parse_pool_status("2 1/2 0/10").ok());
	EXPECT_FALSE(parse_pool_status("9 1/2 0/10 0 rw - - fallback 0 0 0 0 0 0 -").ok());
	EXPECT_FALSE(parse_pool_status("1 1/2 0/10 0 xx - - fallback 0 0 0 0 0 0 -").ok());
	EXPECT_FALSE(parse_pool_status("1 1/2 0-10 0 rw - - fallback 0 0 0 0 0 0 -").ok());
	EXPECT_TRUE(parse_pool_status("1 1/2 0/10 0 ro needs_check - fallback 0 0 0 0 0 0 -").ok());
}

TEST(VolumeStatus, PerTierCounts)
{
	auto v = parse_volume_status("0 161 0");
	ASSERT_TRUE(v.ok());
	EXPECT_EQ(*v, (std::vector<uint64_t>{0, 161, 0}));
	EXPECT_FALSE(parse_volume_status("1 x").ok());
	EXPECT_FALSE(parse_volume_status("").ok());
}

TEST(VolumeTable, PoolAndId)
{
	auto t = parse_volume_table("253:0 7");
	ASSERT_TRUE(t.ok());
	EXPECT_EQ(t->pool_dev, "253:0");
	EXPECT_EQ(t->id, 7u);
	EXPECT_FALSE(parse_volume_table("253:0").ok());
	EXPECT_FALSE(parse_volume_table("253:0 -1").ok());
}
