// SPDX-License-Identifier: GPL-2.0
#include "trace/reader.h"

#include <gtest/gtest.h>

#include "trace/test_files.h"

namespace dmtier::trace {
namespace {

using testing::TempFile;

const char kTencent[] = "1538323200,4247200,128,1,1058\n"
			"1538323199,13896880,128,0,1063\n"
			"1538323199,49413280,16,0,1063\n";

TEST(Reader, DetectsCompressedFormatAndInternsVolumes)
{
	TempFile f(kTencent, Compression::bzip2);
	auto t = read_trace(f.path());
	ASSERT_TRUE(t.ok()) << t.error();
	EXPECT_EQ(t->format, Format::tencent);
	ASSERT_EQ(t->records.size(), 3u);
	EXPECT_EQ(t->volumes, (std::vector<std::string>{"1058", "1063"}));
	EXPECT_EQ(t->records[0].volume, 0u);
	EXPECT_EQ(t->records[2].volume, 1u);
	EXPECT_EQ(t->records[1].op, Op::read);
	EXPECT_EQ(t->stats.records, 3u);
}

TEST(Reader, MsrVolumeName)
{
	TempFile f("128166385295514663,hm,0,Write,9056014336,2048,2833\n", Compression::xz);
	auto t = read_trace(f.path());
	ASSERT_TRUE(t.ok()) << t.error();
	EXPECT_EQ(t->volumes, (std::vector<std::string>{"hm_0"}));
}

TEST(Reader, MalformedLineIsAnErrorNamingFileAndLine)
{
	TempFile f(std::string(kTencent) + "1538323199,oops,16,0,1063\n" + kTencent, Compression::gzip);
	auto t = read_trace(f.path());
	ASSERT_FALSE(t.ok());
	EXPECT_NE(t.error().find(f.path() + ":4:"), std::string::npos) << t.error();
	EXPECT_NE(t.error().find("offset"), std::string::npos) << t.error();
}

TEST(Reader, SkipMalformedCountsAndReportsFirst)
{
	TempFile f(std::string(kTencent) + "garbage\n1,2,3,4,5\n" + kTencent);
	ReaderOptions opt;
	opt.skip_malformed = true;
	auto t = read_trace(f.path(), opt);
	ASSERT_TRUE(t.ok()) << t.error();
	EXPECT_EQ(t->records.size(), 6u);
	EXPECT_EQ(t->stats.skipped_malformed, 2u);
	EXPECT_NE(t->stats.first_malformed.find(":4:"), std::string::npos) << t->stats.first_malformed;
}

TEST(Reader, ExplicitFormatOverridesDetection)
{
	// A DiskSim-looking line read as LIRS must fail rather than guess.
	TempFile f("938513000 4 264719034 16 0\n");
	ReaderOptions opt;
	opt.format = Format::lirs;
	auto t = read_trace(f.path(), opt);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(t.error().find(":1: lirs:"), std::string::npos) << t.error();
	opt.format = Format::disksim;
	EXPECT_TRUE(read_trace(f.path(), opt).ok());
}

TEST(Reader, LirsSkipsSeparatorsAndNumbersRecordsForTime)
{
	TempFile f("5\n*\n6\n\n7\n", Compression::gzip);
	auto r = TraceReader::open(f.path());
	ASSERT_TRUE(r.ok()) << r.error();
	EXPECT_FALSE(r->has_timestamps());
	Record rec;
	std::vector<std::uint64_t> times;
	for (;;) {
		auto more = r->next(&rec);
		ASSERT_TRUE(more.ok()) << more.error();
		if (!*more)
			break;
		times.push_back(rec.time_ns);
	}
	ParseOptions p;
	EXPECT_EQ(times, (std::vector<std::uint64_t>{0, p.synthetic_gap_ns, 2 * p.synthetic_gap_ns}));
}

TEST(Reader, LimitStopsEarly)
{
	TempFile f(kTencent);
	ReaderOptions opt;
	opt.limit = 2;
	auto t = read_trace(f.path(), opt);
	ASSERT_TRUE(t.ok());
	EXPECT_EQ(t->records.size(), 2u);
}

TEST(Reader, UnknownFormatSuggestsFlag)
{
	TempFile f("what is this\n");
	auto t = read_trace(f.path());
	ASSERT_FALSE(t.ok());
	EXPECT_NE(t.error().find("--format"), std::string::npos);
	EXPECT_NE(t.error().find(f.path()), std::string::npos);
}

} // namespace
} // namespace dmtier::trace
