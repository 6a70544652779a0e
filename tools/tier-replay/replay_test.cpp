// SPDX-License-Identifier: GPL-2.0
// The real io_uring + O_DIRECT path, on a regular file in TMPDIR (O_DIRECT
// works on ext4 and xfs; on a filesystem without it the tests skip).
#include "tier-replay/replay.h"

#include <cerrno>

#include <unistd.h>

#include <gtest/gtest.h>

#include "tier-replay/device.h"
#include "tier-replay/test_util.h"

using namespace dmtier::replay;
using namespace dmtier::replay::testing;
using dmtier::trace::Op;
using dmtier::trace::Record;

namespace {

constexpr std::size_t kFile = 1 << 20;

Record rec(std::uint64_t t_ns, Op op, std::uint64_t off, std::uint32_t len)
{
	Record r;
	r.time_ns = t_ns;
	r.op = op;
	r.offset = off;
	r.length = len;
	return r;
}

class ReplayFile : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_TRUE(dir_.ok());
		path_ = dir_.file("dev");
		write_file(path_, pattern(kFile));
		auto probe = Device::open(path_, false);
		if (!probe && probe.code() == EINVAL)
			GTEST_SKIP() << "no O_DIRECT here: " << probe.error();
		ASSERT_TRUE(probe.ok()) << probe.error();
	}

	ReplayResult run(const std::vector<Record> &recs, ReplayOptions opt)
	{
		auto dev = Device::open(path_, opt.allow_writes);
		EXPECT_TRUE(dev.ok()) << dev.error();
		auto map = AddressMap::create(dev->bytes(), dev->logical_block());
		EXPECT_TRUE(map.ok()) << map.error();
		auto res = replay(recs, dev->fd(), *map, opt);
		EXPECT_TRUE(res.ok()) << res.error();
		return std::move(res).value();
	}

	TempDir dir_;
	std::string path_;
};

ReplayOptions fast(unsigned depth = 8)
{
	ReplayOptions o;
	o.timing = false;
	o.iodepth = depth;
	return o;
}

} // namespace

TEST_F(ReplayFile, OpensRegularFilesForODirect)
{
	auto dev = Device::open(path_, false);
	ASSERT_TRUE(dev.ok()) << dev.error();
	EXPECT_EQ(dev->bytes(), kFile);
	EXPECT_EQ(dev->logical_block(), 512u);
	EXPECT_FALSE(dev->is_block_device());
	EXPECT_GE(dev->fd(), 0);
	Device moved = std::move(dev).value();
	EXPECT_GE(moved.fd(), 0);
}

TEST_F(ReplayFile, DeviceErrorsNameThePath)
{
	auto missing = Device::open(dir_.file("nope"), false);
	ASSERT_FALSE(missing.ok());
	EXPECT_NE(missing.error().find("cannot open " + dir_.file("nope")), std::string::npos) << missing.error();
	EXPECT_EQ(missing.code(), ENOENT);

	write_file(dir_.file("empty"), "");
	auto empty = Device::open(dir_.file("empty"), true);
	ASSERT_FALSE(empty.ok());
	EXPECT_NE(empty.error().find("has size 0"), std::string::npos) << empty.error();

	auto d = Device::open(dir_.file(""), false);
	ASSERT_FALSE(d.ok());

	auto chr = Device::open("/dev/null", false);
	ASSERT_FALSE(chr.ok());
}

TEST_F(ReplayFile, ReadsOnlyWithoutAllowWrites)
{
	std::vector<Record> recs;
	for (int i = 0; i < 20; ++i)
		recs.push_back(rec(0, i % 4 == 3 ? Op::write : Op::read, i * 12288 + 100, 4096 + i));
	auto res = run(recs, fast());
	EXPECT_EQ(res.records, 20u);
	EXPECT_EQ(res.read.ios, 15u);
	EXPECT_EQ(res.read.errors, 0u);
	EXPECT_EQ(res.write.ios, 0u);
	EXPECT_EQ(res.write.skipped, 5u);
	EXPECT_EQ(res.read.latency.count(), 15u);
	auto lat = res.read.latency.summary();
	EXPECT_GT(*lat.p50_us, 0.0);
	EXPECT_GT(*lat.mean_us, 0.0);
	// 4096 + i bytes round up to 8192 from i = 1.
	EXPECT_EQ(res.read.bytes, 4096u + 14 * 8192u);
	EXPECT_TRUE(res.first_error.empty()) << res.first_error;
	EXPECT_EQ(read_file(path_), pattern(kFile)) << "a read-only replay changed the file";
}

TEST_F(ReplayFile, WritesLandWhereTheMapSays)
{
	std::vector<Record> recs = {
		rec(0, Op::write, 8192 + 5, 100),           // -> [8192, 12288)
		rec(0, Op::write, kFile + 65536, 8192),     // wraps -> [65536, 73728)
		rec(0, Op::read, 0, 4096),
	};
	auto opt = fast();
	opt.allow_writes = true;
	auto res = run(recs, opt);
	EXPECT_EQ(res.write.ios, 2u);
	EXPECT_EQ(res.write.skipped, 0u);
	EXPECT_EQ(res.write.bytes, 4096u + 8192u);
	EXPECT_EQ(res.read.ios, 1u);
	EXPECT_EQ(res.write.latency.count(), 2u);
	std::string want = pattern(kFile);
	std::fill(want.begin() + 8192, want.begin() + 12288, '\x5a');
	std::fill(want.begin() + 65536, want.begin() + 73728, '\x5a');
	EXPECT_TRUE(read_file(path_) == want) << "writes did not land exactly at the mapped ranges";
}

TEST_F(ReplayFile, QueueDepthBoundsTheIosInFlight)
{
	std::vector<Record> recs;
	for (int i = 0; i < 200; ++i)
		recs.push_back(rec(0, Op::read, (i * 40960) % kFile, 4096));
	for (unsigned depth : {1u, 4u}) {
		auto res = run(recs, fast(depth));
		EXPECT_EQ(res.read.ios, 200u);
		EXPECT_GE(res.max_inflight, 1u);
		EXPECT_LE(res.max_inflight, depth);
	}
}

TEST_F(ReplayFile, HonoursTimestampsAndSpeed)
{
	// Three reads 100 ms apart: the replay lasts at least 200 ms; at speed 4,
	// at least 50 ms and well under 200 ms.
	std::vector<Record> recs = {rec(1'000'000'000, Op::read, 0, 4096),
				    rec(1'100'000'000, Op::read, 4096, 4096),
				    rec(1'200'000'000, Op::read, 8192, 4096)};
	ReplayOptions opt;
	auto res = run(recs, opt);
	EXPECT_EQ(res.read.ios, 3u);
	EXPECT_GE(res.elapsed_ns, 200'000'000u);
	EXPECT_LT(res.elapsed_ns, 2'000'000'000u);
	opt.speed = 4;
	auto quick = run(recs, opt);
	EXPECT_GE(quick.elapsed_ns, 50'000'000u);
	EXPECT_LT(quick.elapsed_ns, 190'000'000u);
	// As fast as possible: no waiting at all.
	auto asap = run(recs, fast());
	EXPECT_LT(asap.elapsed_ns, 150'000'000u);
}

TEST_F(ReplayFile, DurationStopsTheReplay)
{
	std::vector<Record> recs;
	for (int i = 0; i < 1000; ++i) // one read every 10 ms: 10 s of trace
		recs.push_back(rec(i * 10'000'000ull, Op::read, (i * 4096) % kFile, 4096));
	ReplayOptions opt;
	opt.duration_ns = 100'000'000;
	auto res = run(recs, opt);
	EXPECT_TRUE(res.stopped_by_duration);
	EXPECT_GE(res.records, 5u);
	EXPECT_LT(res.records, 100u);
	EXPECT_EQ(res.read.ios, res.records);
	EXPECT_LT(res.elapsed_ns, 1'000'000'000u);
}

TEST_F(ReplayFile, RecordsWithoutAnOpAreReads)
{
	std::vector<Record> recs = {rec(0, Op::unknown, 0, 4096), rec(0, Op::unknown, 4096, 4096)};
	auto opt = fast();
	opt.allow_writes = true;
	auto res = run(recs, opt);
	EXPECT_EQ(res.read.ios, 2u);
	EXPECT_EQ(res.unknown_ops, 2u);
	EXPECT_EQ(read_file(path_), pattern(kFile));
}

TEST_F(ReplayFile, RefusesBuffersBeyondTheLimit)
{
	// A 1 GiB device would take a 1 GiB I/O; with depth 2 that is too much.
	// (The map alone decides, so no such file is needed.)
	auto map = AddressMap::create(1ull << 30, 512);
	ASSERT_TRUE(map.ok());
	auto dev = Device::open(path_, false);
	ASSERT_TRUE(dev.ok());
	auto res = replay({rec(0, Op::read, 0, UINT32_MAX)}, dev->fd(), *map, fast(2));
	ASSERT_FALSE(res.ok());
	EXPECT_NE(res.error().find("lower --iodepth"), std::string::npos) << res.error();
}

TEST_F(ReplayFile, FailedIosAreCountedNotFatal)
{
	auto dev = Device::open(path_, false);
	ASSERT_TRUE(dev.ok());
	auto map = AddressMap::create(dev->bytes(), dev->logical_block());
	ASSERT_TRUE(map.ok());
	// The file shrinks under the replay: reads past its end come back short.
	ASSERT_EQ(truncate(path_.c_str(), 4096), 0);
	auto res = replay({rec(0, Op::read, 0, 4096), rec(0, Op::read, 65536, 4096)}, dev->fd(), *map,
			  fast());
	ASSERT_TRUE(res.ok()) << res.error();
	EXPECT_EQ(res->read.ios, 1u);
	EXPECT_EQ(res->read.errors, 1u);
	EXPECT_EQ(res->records, 2u);
	EXPECT_NE(res->first_error.find("read of 4096 bytes at 65536 was short: 0 bytes"), std::string::npos)
		<< res->first_error;
}
