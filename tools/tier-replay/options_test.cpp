// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/options.h"

#include <gtest/gtest.h>

using namespace dmtier::replay;

namespace {

std::string error_of(std::vector<std::string> args)
{
	auto o = parse_options(args);
	return o ? std::string("(accepted)") : o.error();
}

} // namespace

TEST(ReplayOptionParse, Defaults)
{
	auto o = parse_options({"t.csv", "/dev/x"});
	ASSERT_TRUE(o.ok()) << o.error();
	EXPECT_EQ(o->trace_path, "t.csv");
	EXPECT_EQ(o->device_path, "/dev/x");
	EXPECT_FALSE(o->reader.format);
	EXPECT_EQ(o->reader.limit, 0u);
	EXPECT_DOUBLE_EQ(o->replay.speed, 1.0);
	EXPECT_TRUE(o->replay.timing);
	EXPECT_EQ(o->replay.iodepth, 32u);
	EXPECT_EQ(o->replay.duration_ns, 0u);
	EXPECT_FALSE(o->replay.allow_writes);
	EXPECT_FALSE(o->json);
}

TEST(ReplayOptionParse, Everything)
{
	auto o = parse_options({"--format", "lirs", "--skip-malformed", "--lirs-block-size", "8192",
				"--max-records", "500", "--speed", "2.5", "--iodepth", "4", "--duration",
				"1.5", "--allow-writes", "--json", "t", "d"});
	ASSERT_TRUE(o.ok()) << o.error();
	EXPECT_EQ(*o->reader.format, dmtier::trace::Format::lirs);
	EXPECT_TRUE(o->reader.skip_malformed);
	EXPECT_EQ(o->reader.parse.block_size, 8192u);
	EXPECT_EQ(o->reader.limit, 500u);
	EXPECT_DOUBLE_EQ(o->replay.speed, 2.5);
	EXPECT_EQ(o->replay.iodepth, 4u);
	EXPECT_EQ(o->replay.duration_ns, 1'500'000'000u);
	EXPECT_TRUE(o->replay.allow_writes);
	EXPECT_TRUE(o->json);
	auto nt = parse_options({"--no-timing", "t", "d"});
	ASSERT_TRUE(nt.ok());
	EXPECT_FALSE(nt->replay.timing);
}

TEST(ReplayOptionParse, Help)
{
	auto o = parse_options({"--bogus-later-is-ignored", "--help"});
	EXPECT_FALSE(o.ok()); // options are read in order: the unknown one first
	auto h = parse_options({"-h"});
	ASSERT_TRUE(h.ok());
	EXPECT_TRUE(h->help);
}

TEST(ReplayOptionParse, BadInputSaysWhat)
{
	EXPECT_EQ(error_of({}), "a TRACE and a DEVICE are needed");
	EXPECT_EQ(error_of({"t"}), "a TRACE and a DEVICE are needed");
	EXPECT_NE(error_of({"t", "d", "e"}).find("too many arguments: 'e'"), std::string::npos);
	EXPECT_EQ(error_of({"--frobnicate", "t", "d"}), "unknown option --frobnicate");
	EXPECT_EQ(error_of({"t", "d", "--iodepth"}), "--iodepth needs a value");
	EXPECT_NE(error_of({"--format", "blktrace", "t", "d"}).find("not a trace format"), std::string::npos);
	for (const char *v : {"0", "-1", "abc", "4097", "1.5", ""})
		EXPECT_NE(error_of({"--iodepth", v, "t", "d"}).find("bad value '" + std::string(v) + "' for --iodepth"),
			  std::string::npos)
			<< v;
	for (const char *v : {"0", "-2", "x", "inf", "nan", "1e400"})
		EXPECT_NE(error_of({"--speed", v, "t", "d"}).find("for --speed"), std::string::npos) << v;
	for (const char *v : {"0", "-1", "1s", "1e-12"})
		EXPECT_NE(error_of({"--duration", v, "t", "d"}).find("for --duration"), std::string::npos) << v;
	for (const char *v : {"0", "-5", "10k"})
		EXPECT_NE(error_of({"--max-records", v, "t", "d"}).find("for --max-records"), std::string::npos) << v;
	for (const char *v : {"1000", "256", "x"})
		EXPECT_NE(error_of({"--lirs-block-size", v, "t", "d"}).find("for --lirs-block-size"), std::string::npos) << v;
	EXPECT_EQ(error_of({"--speed", "2", "--no-timing", "t", "d"}), "--speed and --no-timing exclude each other");
}
