// SPDX-License-Identifier: GPL-2.0
#include "tierd/volume_ops.h"

#include <gtest/gtest.h>

#include "tierd/fake_dm.h"

using namespace dmtier::tierd;

TEST(VolumeOps, CreateDiscoverResizeDelete)
{
	FakeDm dm;
	dm.add_pool("tank");
	VolumeOps ops(dm);
	VolumeSpec s;
	s.id = 3;
	s.size = 1 << 30;
	s.policy = "cost-optimized";
	s.tiering_enabled = false;
	auto v = ops.create("tank", s);
	ASSERT_TRUE(v.ok()) << v.error();
	EXPECT_EQ(v->name, "tank-3");
	EXPECT_EQ(dm.devs["tank-3"].table.params, dm.dev_of("tank") + " 3");
	EXPECT_EQ(dm.devs["tank-3"].table.length, (1u << 30) / 512);
	EXPECT_EQ(dm.settings["tank 3 tiering_policy"], "cost-optimized");
	EXPECT_EQ(dm.settings["tank 3 tiering_enabled"], "0");

	auto pools = discover(dm);
	ASSERT_TRUE(pools.ok());
	ASSERT_EQ(pools->size(), 1u);
	EXPECT_EQ((*pools)[0].name, "tank");
	EXPECT_EQ((*pools)[0].extent_sectors, 2048u);
	ASSERT_EQ((*pools)[0].volumes.size(), 1u);
	EXPECT_EQ((*pools)[0].volumes[0].id, 3u);

	VolumeChange c;
	c.size = 2ULL << 30;
	ASSERT_TRUE(ops.change("tank", 3, c).ok());
	EXPECT_EQ(dm.devs["tank-3"].table.length, (2ULL << 30) / 512);
	c.size = 1ULL << 30;
	auto shrink = ops.change("tank", 3, c);
	EXPECT_FALSE(shrink.ok());
	EXPECT_NE(shrink.error().find("shrinking"), std::string::npos);

	dm.devs["tank-3"].open_count = 1;
	auto busy = ops.remove("tank", 3);
	EXPECT_EQ(busy.code(), EBUSY);
	EXPECT_TRUE(dm.devs.count("tank-3"));
	dm.devs["tank-3"].open_count = 0;
	ASSERT_TRUE(ops.remove("tank", 3).ok());
	EXPECT_FALSE(dm.devs.count("tank-3"));
	EXPECT_TRUE(dm.pool_volumes["tank"].empty());
	EXPECT_EQ(ops.remove("tank", 3).code(), ENOENT);
}

TEST(VolumeOps, FailedCreateLeavesNothing)
{
	FakeDm dm;
	dm.add_pool("tank");
	VolumeOps ops(dm);
	VolumeSpec s;
	s.id = 5;
	s.size = 1 << 20;
	s.model = "lstm";
	dm.fail_message = "set_volume";
	auto v = ops.create("tank", s);
	ASSERT_FALSE(v.ok());
	EXPECT_NE(v.error().find("prediction_model"), std::string::npos) << v.error();
	EXPECT_EQ(v.code(), EINVAL); // the kernel refused a setting: the caller's input
	EXPECT_TRUE(dm.pool_volumes["tank"].empty());
	EXPECT_FALSE(dm.devs.count("tank-5"));

	dm.fail_message.clear();
	dm.fail_create = true;
	v = ops.create("tank", s);
	ASSERT_FALSE(v.ok());
	EXPECT_NE(v.error().find("activating tank-5"), std::string::npos) << v.error();
	EXPECT_TRUE(dm.pool_volumes["tank"].empty());
	EXPECT_FALSE(dm.devs.count("tank-5"));
}

TEST(VolumeOps, RefusesBadInputBeforeTouchingAnything)
{
	FakeDm dm;
	dm.add_pool("tank");
	VolumeOps ops(dm);
	VolumeSpec s;
	s.id = 1;
	s.size = 1000; // not a multiple of 512
	EXPECT_EQ(ops.create("tank", s).code(), EINVAL);
	s.size = 4096;
	s.policy = "fastest";
	auto r = ops.create("tank", s);
	EXPECT_NE(r.error().find("tiering_policy 'fastest'"), std::string::npos);
	s.policy.clear();
	s.name = "bad/name";
	EXPECT_EQ(ops.create("tank", s).code(), EINVAL);
	s.name.clear();
	s.id = 9000000;
	EXPECT_EQ(ops.create("tank", s).code(), EINVAL);
	s.id = 1;
	EXPECT_EQ(ops.create("nopool", s).code(), ENOENT);
	for (const auto &l : dm.log)
		EXPECT_EQ(l.find("create_volume"), std::string::npos) << l;
	// An existing id or device name: EEXIST, and the existing one is kept.
	ASSERT_TRUE(ops.create("tank", s).ok());
	EXPECT_EQ(ops.create("tank", s).code(), EEXIST);
	s.id = 2;
	s.name = "tank-1";
	EXPECT_EQ(ops.create("tank", s).code(), EEXIST);
	EXPECT_EQ(dm.pool_volumes["tank"].size(), 1u);
}
