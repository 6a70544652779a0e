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

TEST(PoolTable, RoundTripsWithAndWithoutFeatures)
{
	auto t = parse_pool_table("253:0 256 2 7:0 7:1");
	ASSERT_TRUE(t.ok()) << t.error();
	EXPECT_EQ(t->metadata_dev, "253:0");
	EXPECT_EQ(t->extent_sectors, 256u);
	EXPECT_EQ(t->tier_devs, (std::vector<std::string>{"7:0", "7:1"}));
	EXPECT_TRUE(t->features.empty());
	EXPECT_EQ(format_pool_table(*t), "253:0 256 2 7:0 7:1");

	auto f = parse_pool_table("253:0 2048 3 7:0 7:1 7:2 3 no_fallback max_migrations 8");
	ASSERT_TRUE(f.ok()) << f.error();
	EXPECT_EQ(f->tier_devs.size(), 3u);
	EXPECT_EQ(f->features, (std::vector<std::string>{"no_fallback", "max_migrations", "8"}));
	f->tier_devs.push_back("8:16");
	EXPECT_EQ(format_pool_table(*f), "253:0 2048 4 7:0 7:1 7:2 8:16 3 no_fallback max_migrations 8");
}

TEST(PoolTable, RefusesMalformed)
{
	EXPECT_FALSE(parse_pool_table("").ok());
	EXPECT_FALSE(parse_pool_table("253:0 256 0").ok());
	EXPECT_FALSE(parse_pool_table("253:0 256 3 7:0 7:1").ok());	   // too few tiers
	EXPECT_FALSE(parse_pool_table("253:0 256 9 a b c d e f g h i").ok()); // more than 8
	EXPECT_FALSE(parse_pool_table("253:0 256 1 7:0 2 no_fallback").ok());  // feature count
	EXPECT_FALSE(parse_pool_table("253:0 x 1 7:0").ok());
}

TEST(Evacuation, ParsesTheField)
{
	auto n = parse_evacuation("-");
	ASSERT_TRUE(n.ok());
	EXPECT_FALSE(n->active);
	auto e = parse_evacuation("evacuating:2:37");
	ASSERT_TRUE(e.ok()) << e.error();
	EXPECT_TRUE(e->active);
	EXPECT_FALSE(e->done);
	EXPECT_EQ(e->tier, 2u);
	EXPECT_EQ(e->left, 37u);
	auto d = parse_evacuation("evacuated:1:0");
	ASSERT_TRUE(d.ok());
	EXPECT_TRUE(d->done);
	EXPECT_EQ(d->tier, 1u);
	EXPECT_FALSE(parse_evacuation("evacuating:2").ok());
	EXPECT_FALSE(parse_evacuation("moving:1:2").ok());
	EXPECT_FALSE(parse_evacuation("evacuating:x:2").ok());
}
