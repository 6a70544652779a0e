// SPDX-License-Identifier: GPL-2.0
#include "metadata/metadata.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

using namespace dmtier;
using namespace dmtier::md;

namespace {

// A metadata image in a temporary file.
class Image : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/dmtier-md-XXXXXX";
		int fd = mkstemp(tmpl);
		ASSERT_GE(fd, 0);
		path_ = tmpl;
		ASSERT_EQ(ftruncate(fd, 4 << 20), 0);
		close(fd);
	}
	void TearDown() override { std::filesystem::remove(path_); }

	Device open(bool rw = true)
	{
		auto d = Device::open(path_, rw);
		EXPECT_TRUE(d.ok()) << d.error();
		return std::move(d).value();
	}

	// A pool of two tiers (1000 and 3000 extents of 256 sectors) with volume 5.
	Pool make_pool(Device &dev)
	{
		auto p = format(dev, 256, {2048 + 1000 * 256, 2048 + 3000 * 256});
		EXPECT_TRUE(p.ok()) << p.error();
		Pool pool = std::move(p).value();
		pool.records[0].flags = DMT_VOL_IN_USE | DMT_VOL_TIERING_ENABLED;
		pool.records[0].id = 5;
		return pool;
	}

	std::string path_;
};

} // namespace

TEST_F(Image, FormatLoadsCleanAndEmpty)
{
	Device dev = open();
	Pool p = make_pool(dev);
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_TRUE(back.ok()) << back.error();
	EXPECT_TRUE(problems.empty());
	EXPECT_EQ(back->tiers.size(), 2u);
	EXPECT_EQ(back->tiers[0].nr_extents, 1000u);
	EXPECT_EQ(back->tiers[1].nr_extents, 3000u);
	EXPECT_EQ(back->generation, 1u);
	EXPECT_TRUE(check(*back).empty());
}

TEST_F(Image, MappingsRoundTripThroughACommit)
{
	Device dev = open();
	Pool p = make_pool(dev);
	p.tiers[0].rmap[7] = dmt_rmap_pack(5, 42, 0);
	p.tiers[1].rmap[2999] = dmt_rmap_pack(5, 43, 1);
	ASSERT_TRUE(write(dev, p, false).ok());
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_TRUE(back.ok()) << back.error();
	EXPECT_EQ(back->generation, 2u);
	EXPECT_EQ(back->tiers[0].rmap[7], dmt_rmap_pack(5, 42, 0));
	EXPECT_EQ(dmt_rmap_vext(back->tiers[1].rmap[2999]), 43u);
	EXPECT_TRUE(dmt_rmap_pinned(back->tiers[1].rmap[2999]));
	EXPECT_EQ(back->records[0].id, 5u);
	EXPECT_TRUE(check(*back).empty());
}

TEST_F(Image, FindsDoubleMappingsAndUnknownVolumesAndRepairsThem)
{
	Device dev = open();
	Pool p = make_pool(dev);
	p.tiers[0].rmap[1] = dmt_rmap_pack(5, 9, 0);
	p.tiers[1].rmap[4] = dmt_rmap_pack(5, 9, 0);	// same virtual extent again
	p.tiers[1].rmap[5] = dmt_rmap_pack(77, 0, 0);	// no volume 77
	ASSERT_TRUE(write(dev, p, false).ok());
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_TRUE(back.ok());
	auto found = check(*back);
	ASSERT_EQ(found.size(), 2u);
	std::string all = found[0].what + "\n" + found[1].what;
	EXPECT_NE(all.find("volume 77, which does not exist"), std::string::npos) << all;
	EXPECT_NE(all.find("volume 5 extent 9 is mapped twice"), std::string::npos) << all;

	auto done = repair(*back);
	EXPECT_EQ(done.size(), 2u);
	ASSERT_TRUE(write(dev, *back, true).ok());
	problems.clear();
	auto fixed = load(dev, problems);
	ASSERT_TRUE(fixed.ok());
	EXPECT_TRUE(check(*fixed).empty());
	EXPECT_EQ(fixed->tiers[0].rmap[1], dmt_rmap_pack(5, 9, 0)) << "the faster copy is kept";
	EXPECT_EQ(fixed->tiers[1].rmap[4], DMT_RMAP_FREE);
}

TEST_F(Image, TornSlotFallsBackToTheCommittedCopy)
{
	Device dev = open();
	Pool p = make_pool(dev);
	p.tiers[0].rmap[3] = dmt_rmap_pack(5, 1, 0);
	ASSERT_TRUE(write(dev, p, false).ok());		// generation 2
	p.tiers[0].rmap[3] = dmt_rmap_pack(5, 2, 0);
	ASSERT_TRUE(write(dev, p, false).ok());		// generation 3
	// Tear the newest copy of tier 0's first reverse-map block.
	uint64_t slot = p.tiers[0].area_start + p.tiers[0].cur_slot[0];
	std::array<uint8_t, DMT_BLOCK_SIZE> b{};
	ASSERT_TRUE(dev.read(slot, 1, b.data()).ok());
	b[100] ^= 0xff;
	ASSERT_TRUE(dev.write(slot, 1, b.data()).ok());
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_TRUE(back.ok());
	EXPECT_EQ(back->bad_slots, 1u);
	EXPECT_EQ(back->tiers[0].rmap[3], dmt_rmap_pack(5, 1, 0)) << "previous commit's copy";
}

TEST_F(Image, SlotsOfAnUnfinishedCommitAreIgnored)
{
	Device dev = open();
	Pool p = make_pool(dev);
	ASSERT_TRUE(write(dev, p, false).ok());		// generation 2
	Pool crashed = p;
	crashed.tiers[1].rmap[0] = dmt_rmap_pack(5, 0, 0);
	// Write the blocks of generation 3 but not its superblock.
	std::array<uint8_t, DMT_BLOCK_SIZE> b{};
	auto *h = reinterpret_cast<dmt_block_header *>(b.data());
	auto *e = reinterpret_cast<uint64_t *>(b.data() + sizeof(*h));
	e[0] = crashed.tiers[1].rmap[0];
	uint64_t slot = p.tiers[1].area_start + !p.tiers[1].cur_slot[0];
	h->type = DMT_BT_RMAP;
	h->generation = 3;
	h->blocknr = slot;
	h->csum = block_csum(b.data(), b.size());
	ASSERT_TRUE(dev.write(slot, 1, b.data()).ok());
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_TRUE(back.ok());
	EXPECT_EQ(back->stale_slots, 1u);
	EXPECT_EQ(back->tiers[1].rmap[0], DMT_RMAP_FREE);
}

TEST_F(Image, BothSuperblocksBadIsAnError)
{
	Device dev = open();
	make_pool(dev);
	std::array<uint8_t, DMT_BLOCK_SIZE> b{};
	for (int s = 0; s < 2; s++) {
		ASSERT_TRUE(dev.read(s, 1, b.data()).ok());
		b[64] ^= 1;
		ASSERT_TRUE(dev.write(s, 1, b.data()).ok());
	}
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_FALSE(back.ok());
	EXPECT_NE(back.error().find("superblock"), std::string::npos) << back.error();
}

TEST_F(Image, BlankDeviceIsNotAPool)
{
	Device dev = open(false);
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_FALSE(back.ok());
	EXPECT_NE(back.error().find("blank"), std::string::npos);
}

TEST_F(Image, LostBlockIsReportedAndRepairable)
{
	Device dev = open();
	Pool p = make_pool(dev);
	ASSERT_TRUE(write(dev, p, false).ok());
	std::array<uint8_t, DMT_BLOCK_SIZE> junk;
	junk.fill(0x5a);
	ASSERT_TRUE(dev.write(p.tiers[0].area_start, 1, junk.data()).ok());
	ASSERT_TRUE(dev.write(p.tiers[0].area_start + 1, 1, junk.data()).ok());
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	ASSERT_TRUE(back.ok());
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_NE(problems[0].what.find("no valid copy"), std::string::npos);
	ASSERT_TRUE(write(dev, *back, true).ok());
	problems.clear();
	ASSERT_TRUE(load(dev, problems).ok());
	EXPECT_TRUE(problems.empty());
}

// Found by fuzzing (tests/fuzz, docs/reliability.md): regression tests.
namespace {

// Rewrites the current superblock of @dev with @change applied (checksum
// fixed), as a corruption the checksum does not catch would.
template <typename F>
void patch_superblock(Device &dev, const Pool &p, F change)
{
	std::array<uint8_t, DMT_BLOCK_SIZE> b{};
	ASSERT_TRUE(dev.read(p.sb_slot, 1, b.data()).ok());
	auto *sb = reinterpret_cast<dmt_superblock *>(b.data());
	change(*sb);
	sb->csum = block_csum(b.data(), b.size());
	ASSERT_TRUE(dev.write(p.sb_slot, 1, b.data()).ok());
}

std::string load_error(const Device &dev)
{
	std::vector<Problem> problems;
	auto back = load(dev, problems);
	return back.ok() ? "" : back.error();
}

} // namespace

TEST_F(Image, TierAreaPastTheDeviceIsRefused)
{
	// Only the last tier's end was checked: tier 0 could claim 2^40
	// extents, and load() tried to allocate 8 TiB for its reverse map.
	Device dev = open();
	Pool p = make_pool(dev);
	patch_superblock(dev, p, [](dmt_superblock &sb) {
		sb.tiers[0].nr_extents = 1ULL << 40;
		sb.tiers[0].area_blocks = ((1ULL << 40) + DMT_RMAP_PER_BLOCK - 1) / DMT_RMAP_PER_BLOCK;
	});
	EXPECT_NE(load_error(dev).find("tier 0's reverse map (blocks 296+"), std::string::npos) << load_error(dev);
	EXPECT_NE(load_error(dev).find("past the end of the device"), std::string::npos);
}

TEST_F(Image, ExtentCountThatWrapsIsRefused)
{
	// (nr_extents + 507) / 508 wrapped to 0 for nr_extents near 2^64.
	Device dev = open();
	Pool p = make_pool(dev);
	patch_superblock(dev, p, [](dmt_superblock &sb) {
		sb.tiers[0].nr_extents = ~0ULL;
		sb.tiers[0].area_blocks = 0;
	});
	EXPECT_NE(load_error(dev).find("has 0 blocks for 18446744073709551615 extents"), std::string::npos)
		<< load_error(dev);
}

TEST_F(Image, OverlappingAreasAreRefused)
{
	// Two tiers' reverse maps in the same blocks: a repair wrote one over
	// the other and lost mappings.
	Device dev = open();
	Pool p = make_pool(dev);
	patch_superblock(dev, p, [](dmt_superblock &sb) { sb.tiers[1].area_start = sb.tiers[0].area_start; });
	EXPECT_NE(load_error(dev).find("tier 1's reverse map"), std::string::npos) << load_error(dev);
	EXPECT_NE(load_error(dev).find("overlaps tier 0's reverse map"), std::string::npos);
	patch_superblock(dev, p, [](dmt_superblock &sb) { sb.vol_area_start = 0; });
	EXPECT_NE(load_error(dev).find("the volume area (blocks 0+294) overlaps the superblocks"), std::string::npos)
		<< load_error(dev);
}

TEST_F(Image, PoolLoadedWithoutReverseMapsChecksRecordsAndIsNotWritten)
{
	// check() read every tier's reverse map, empty when loaded without them.
	Device dev = open();
	Pool p = make_pool(dev);
	p.tiers[0].rmap[3] = dmt_rmap_pack(9, 1, 0); // unknown volume
	ASSERT_TRUE(write(dev, p, false).ok());
	std::vector<Problem> problems;
	auto light = load(dev, problems, false);
	ASSERT_TRUE(light.ok()) << light.error();
	EXPECT_TRUE(check(*light).empty());
	auto st = write(dev, *light, false);
	ASSERT_FALSE(st.ok());
	EXPECT_NE(st.error().find("without its reverse maps"), std::string::npos);
	auto full = load(dev, problems);
	ASSERT_TRUE(full.ok());
	EXPECT_EQ(check(*full).size(), 1u);
}
