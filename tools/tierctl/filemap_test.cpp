// SPDX-License-Identifier: GPL-2.0
#include "filemap.h"

#include <cstdlib>

#include <linux/fiemap.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace dmtier::tierctl;

namespace {
constexpr std::uint64_t K = 1024, M = 1024 * 1024;
}

TEST(FileMap, OneExtentWithinOneVolumeExtent)
{
	auto r = extent_ranges("f", {{0, 5 * M + 4 * K, 8 * K, FIEMAP_EXTENT_LAST}}, M, 0);
	ASSERT_TRUE(r.ok()) << r.error();
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{5, 6}}));
	EXPECT_EQ(count_extents(*r), 1u);
}

TEST(FileMap, BoundariesAreExact)
{
	// Ends exactly at an extent boundary: the next extent is not included.
	auto r = extent_ranges("f", {{0, 2 * M, 2 * M, 0}}, M, 0);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{2, 4}}));
	// One byte over the boundary on each side.
	r = extent_ranges("f", {{0, 2 * M - 4 * K, 2 * M + 8 * K, 0}}, M, 0);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{1, 5}}));
	// 128 KiB extents.
	r = extent_ranges("f", {{0, 128 * K * 10, 128 * K, 0}}, 128 * K, 0);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{10, 11}}));
}

TEST(FileMap, MergesSortsAndSharesExtents)
{
	// File order is not disk order; two file extents in one volume extent;
	// adjacent ranges merge; a gap stays.
	std::vector<FileExtent> fe = {
		{0, 9 * M, 4 * K, 0},
		{4 * K, 1 * M + 8 * K, 4 * K, 0},
		{8 * K, 1 * M + 512 * K, 4 * K, 0},
		{12 * K, 2 * M, M, 0},
		{12 * K + M, 20 * M + 4 * K, 4 * K, FIEMAP_EXTENT_LAST},
	};
	auto r = extent_ranges("f", fe, M, 0);
	ASSERT_TRUE(r.ok()) << r.error();
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{1, 3}, {9, 10}, {20, 21}}));
	EXPECT_EQ(count_extents(*r), 4u);
	EXPECT_EQ(format_ranges(*r), "1-2, 9, 20");
}

TEST(FileMap, SharedAndMergedFlagsAreFine)
{
	auto r = extent_ranges("f", {{0, 0, 4 * K, FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_MERGED}}, M, 0);
	ASSERT_TRUE(r.ok()) << r.error();
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{0, 1}}));
}

TEST(FileMap, Errors)
{
	auto r = extent_ranges("/mnt/f", {}, M, 0);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("/mnt/f has no data on the device"), std::string::npos) << r.error();

	r = extent_ranges("/mnt/f", {{0, 0, 4 * K, FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_UNKNOWN}}, M, 0);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("run 'sync /mnt/f'"), std::string::npos) << r.error();

	r = extent_ranges("/mnt/f", {{0, 0, 60, FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_NOT_ALIGNED}}, M, 0);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("inline"), std::string::npos) << r.error();

	r = extent_ranges("/mnt/f", {{0, 4 * M, M, 0}, {M, 8 * M, M, FIEMAP_EXTENT_UNWRITTEN}}, M, 0);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("preallocated but never written"), std::string::npos) << r.error();

	r = extent_ranges("/mnt/f", {{0, 63 * M, 2 * M, 0}}, M, 64 * M);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("past the end of the volume"), std::string::npos) << r.error();
	// Up to the very end is fine.
	r = extent_ranges("/mnt/f", {{0, 63 * M, M, 0}}, M, 64 * M);
	ASSERT_TRUE(r.ok()) << r.error();
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{63, 64}}));
}

TEST(FileMap, ZeroLengthExtentsAreSkipped)
{
	auto r = extent_ranges("f", {{0, 3 * M, 0, 0}, {0, 5 * M, 4 * K, 0}}, M, 0);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(*r, (std::vector<ExtentRange>{{5, 6}}));
}

TEST(FileMap, FileExtentsOfThisFile)
{
	// Whatever filesystem the build tree is on: either FIEMAP works (and a
	// written file has extents, or its data is inline) or the error names it.
	char tmpl[] = "/tmp/filemap_test.XXXXXX";
	int fd = mkstemp(tmpl);
	ASSERT_GE(fd, 0);
	std::string data(64 * 1024, 'x');
	ASSERT_EQ(write(fd, data.data(), data.size()), (ssize_t)data.size());
	close(fd);
	auto e = file_extents(tmpl);
	if (e.ok()) {
		std::uint64_t bytes = 0;
		for (auto &x : *e)
			bytes += x.length;
		EXPECT_GE(bytes, data.size());
	} else {
		EXPECT_NE(e.error().find("without FIEMAP"), std::string::npos) << e.error();
	}
	unlink(tmpl);
	auto d = file_extents("/");
	ASSERT_FALSE(d.ok());
	EXPECT_NE(d.error().find("not a regular file"), std::string::npos) << d.error();
	auto n = file_extents("/nonexistent/x");
	ASSERT_FALSE(n.ok());
	EXPECT_NE(n.error().find("cannot open /nonexistent/x"), std::string::npos) << n.error();
}
