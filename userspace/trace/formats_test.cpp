// SPDX-License-Identifier: GPL-2.0
#include "trace/formats.h"

#include <gtest/gtest.h>

namespace dmtier::trace {
namespace {

ParsedLine must_parse(Format f, std::string_view line, std::uint64_t index = 0)
{
	auto p = parse_line(f, line, index, ParseOptions{});
	EXPECT_TRUE(p.ok()) << line << ": " << (p.ok() ? "" : p.error());
	return p.ok() ? *p : ParsedLine{};
}

TEST(Formats, Msr)
{
	auto p = must_parse(Format::msr, "128166385295514663,hm,0,Write,9056014336,2048,2833");
	EXPECT_EQ(p.kind, LineKind::record);
	EXPECT_EQ(p.rec.op, Op::write);
	EXPECT_EQ(p.rec.offset, 9056014336ULL);
	EXPECT_EQ(p.rec.length, 2048u);
	// 128166385295514663 FILETIME ticks = 2007-02-22 ... UTC.
	EXPECT_EQ(p.rec.time_ns, (128166385295514663ULL - 116444736000000000ULL) * 100);
	EXPECT_EQ(p.volume_name, "hm,0");
	EXPECT_EQ(must_parse(Format::msr, "128166385295514663,hm,0,Read,0,512,1").rec.op, Op::read);
}

TEST(Formats, CloudPhysics)
{
	EXPECT_EQ(must_parse(Format::cloudphysics, "version,time,op,size,lbn").kind, LineKind::skip);
	auto p = must_parse(Format::cloudphysics, "1,5633898,2a,6656,40409911");
	EXPECT_EQ(p.rec.time_ns, 5633898000ULL);
	EXPECT_EQ(p.rec.op, Op::write);
	EXPECT_EQ(p.rec.length, 6656u);
	EXPECT_EQ(p.rec.offset, 40409911ULL * 512);
	EXPECT_EQ(must_parse(Format::cloudphysics, "1,1,28,512,0").rec.op, Op::read);
	EXPECT_EQ(must_parse(Format::cloudphysics, "1,1,35,0,0").rec.op, Op::unknown); // SYNC CACHE
}

TEST(Formats, Tencent)
{
	auto p = must_parse(Format::tencent, "1538323199,49518656,1024,1,1063");
	EXPECT_EQ(p.rec.time_ns, 1538323199ULL * 1000000000ULL);
	EXPECT_EQ(p.rec.offset, 49518656ULL * 512);
	EXPECT_EQ(p.rec.length, 1024u * 512);
	EXPECT_EQ(p.rec.op, Op::write);
	EXPECT_EQ(p.volume_name, "1063");
	EXPECT_EQ(must_parse(Format::tencent, "1,2,3,0,9").rec.op, Op::read);
}

TEST(Formats, DiskSim)
{
	auto p = must_parse(Format::disksim, "938513000 4 264719034 16 0");
	EXPECT_EQ(p.rec.time_ns, 938513000ULL);
	EXPECT_EQ(p.rec.offset, 264719034ULL * 512);
	EXPECT_EQ(p.rec.length, 16u * 512);
	EXPECT_EQ(p.rec.op, Op::write);
	EXPECT_EQ(p.volume_name, "4");
	EXPECT_EQ(must_parse(Format::disksim, "  12.5\t0 1 8 1").rec.op, Op::read);
}

TEST(Formats, Lirs)
{
	auto p = must_parse(Format::lirs, "42", 7);
	EXPECT_EQ(p.rec.offset, 42u * 4096);
	EXPECT_EQ(p.rec.length, 4096u);
	EXPECT_EQ(p.rec.time_ns, 7 * ParseOptions{}.synthetic_gap_ns);
	EXPECT_EQ(p.rec.op, Op::unknown);
	EXPECT_EQ(must_parse(Format::lirs, "*").kind, LineKind::skip);
	EXPECT_EQ(must_parse(Format::lirs, "").kind, LineKind::skip);
}

struct Bad {
	Format f;
	const char *line;
	const char *mentions;
};

TEST(Formats, MalformedLinesSayWhatIsWrong)
{
	const Bad bad[] = {
		{Format::msr, "128166385295514663,hm,0,Erase,0,512,1", "type"},
		{Format::msr, "128166385295514663,hm,0,Read,0,512", "7 fields"},
		{Format::msr, "12,hm,0,Read,0,512,1", "timestamp"},
		{Format::msr, "128166385295514663,hm,0,Read,-5,512,1", "offset"},
		{Format::cloudphysics, "1,5633898,zz,512,1", "op"},
		{Format::cloudphysics, "1,5633898,28,99999999999,1", "size"},
		{Format::tencent, "1538323199,4,8,2,1063", "io type"},
		{Format::tencent, "1538323199,4,8,1,", "volume"},
		{Format::tencent, "1538323199,4x,8,1,1", "offset"},
		{Format::disksim, "938513000 4 264719034 16", "5 fields"},
		{Format::disksim, "abc 4 264719034 16 0", "arrival"},
		{Format::lirs, "12a", "block number"},
		{Format::lirs, "-3", "block number"},
	};
	for (const Bad &b : bad) {
		auto p = parse_line(b.f, b.line, 0, ParseOptions{});
		ASSERT_FALSE(p.ok()) << b.line;
		EXPECT_NE(p.error().find(b.mentions), std::string::npos) << b.line << " -> " << p.error();
	}
}

TEST(Formats, RandomGarbageNeverCrashesAndAlwaysExplains)
{
	const char alphabet[] = "0123456789,,, \t-+.eExXabcdefRWrite*\r";
	std::uint64_t seed = 12345;
	for (Format f : {Format::msr, Format::cloudphysics, Format::tencent, Format::disksim, Format::lirs})
		for (int i = 0; i < 3000; ++i) {
			std::string line;
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			std::size_t len = (seed >> 40) % 60;
			for (std::size_t k = 0; k < len; ++k) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				line += alphabet[(seed >> 33) % (sizeof alphabet - 1)];
			}
			auto p = parse_line(f, line, i, ParseOptions{});
			if (!p.ok()) {
				EXPECT_FALSE(p.error().empty()) << line;
			}
		}
}

TEST(Formats, Detection)
{
	using V = std::vector<std::string>;
	EXPECT_EQ(*detect_format(V{"version,time,op,size,lbn", "1,2,28,512,0"}), Format::cloudphysics);
	EXPECT_EQ(*detect_format(V{"128166385295514663,hm,0,Write,9056014336,2048,2833"}), Format::msr);
	EXPECT_EQ(*detect_format(V{"1538323200,4247200,128,1,1058"}), Format::tencent);
	EXPECT_EQ(*detect_format(V{"938513000 4 264719034 16 0"}), Format::disksim);
	EXPECT_EQ(*detect_format(V{"", "*", "17", "18"}), Format::lirs);
	auto bad = detect_format(V{"hello world"});
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(bad.error().find("--format"), std::string::npos);
	EXPECT_FALSE(detect_format(V{}).ok());
}

TEST(Formats, Names)
{
	for (const auto &n : format_names())
		EXPECT_EQ(format_name(*parse_format(n)), n);
	EXPECT_EQ(parse_format("tpcc"), Format::disksim);
	EXPECT_FALSE(parse_format("nope").has_value());
}

// Found by fuzzing (tests/fuzz/trace_entry.cpp): a LIRS block size of 0
// divided by zero (tier-sim's --lirs-block-size accepted 0); an MSR
// timestamp past 2^64 ns after 1970 wrapped.
TEST(Formats, LirsBlockSizeZeroIsAnError)
{
	ParseOptions opt;
	opt.block_size = 0;
	auto p = parse_line(Format::lirs, "12", 0, opt);
	ASSERT_FALSE(p.ok());
	EXPECT_NE(p.error().find("block size 0"), std::string::npos) << p.error();
}

TEST(Formats, MsrTimestampThatOverflowsIsAnError)
{
	auto p = parse_line(Format::msr, "18446744073709551615,hm,0,Read,0,512,1", 0, ParseOptions{});
	ASSERT_FALSE(p.ok());
	EXPECT_NE(p.error().find("bad timestamp"), std::string::npos) << p.error();
	// The largest that fits still parses.
	std::uint64_t last = 116444736000000000ULL + UINT64_MAX / 100;
	auto q = parse_line(Format::msr, std::to_string(last) + ",hm,0,Read,0,512,1", 0, ParseOptions{});
	ASSERT_TRUE(q.ok()) << q.error();
	EXPECT_EQ(q->rec.time_ns, UINT64_MAX / 100 * 100);
}

} // namespace
} // namespace dmtier::trace
