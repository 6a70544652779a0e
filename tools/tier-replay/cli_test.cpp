// SPDX-License-Identifier: GPL-2.0
// The tier-replay program: exit statuses and messages for bad input (which
// must change nothing), --json output, and every format of ../shared/traces.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tier-replay/device.h"
#include "tier-replay/test_util.h"

using namespace dmtier::replay;
using namespace dmtier::replay::testing;

namespace {

struct Run {
	int status = -1;
	std::string out, err;
};

// Runs tier-replay with args (shell-quoted by the caller where needed).
Run tier_replay(const TempDir &dir, const std::string &args)
{
	std::string out = dir.file("stdout"), err = dir.file("stderr");
	std::string cmd = std::string(TIER_REPLAY_BIN) + " " + args + " >" + out + " 2>" + err;
	int st = std::system(cmd.c_str());
	Run r;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = read_file(out);
	r.err = read_file(err);
	return r;
}

class ReplayCli : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_TRUE(dir_.ok());
		dev_ = dir_.file("dev");
		write_file(dev_, pattern(kDev));
		auto probe = Device::open(dev_, false);
		if (!probe)
			GTEST_SKIP() << "no O_DIRECT here: " << probe.error();
		trace_ = dir_.file("t.csv");
		// MSR: FILETIME, host, disk, type, offset, size, response time.
		write_file(trace_, "128166372003061629,hm,0,Read,8192,4096,100\n"
				   "128166372003071629,hm,0,Write,16384,8192,100\n"
				   "128166372003081629,hm,0,Read,1073741824,512,100\n");
	}
	void expect_bad(const std::string &args, const std::string &says)
	{
		auto r = tier_replay(dir_, args);
		EXPECT_EQ(r.status, 2) << args << ": " << r.err;
		EXPECT_NE(r.err.find(says), std::string::npos) << args << " did not say '" << says << "': " << r.err;
		EXPECT_TRUE(r.out.empty()) << r.out;
		EXPECT_TRUE(read_file(dev_) == pattern(kDev)) << args << " changed the device";
	}

	static constexpr std::size_t kDev = 1 << 20;
	TempDir dir_;
	std::string dev_, trace_;
};

} // namespace

TEST_F(ReplayCli, BadInputExits2AndChangesNothing)
{
	expect_bad("", "a TRACE and a DEVICE are needed");
	expect_bad("--allow-writes --bogus " + trace_ + " " + dev_, "unknown option --bogus");
	expect_bad("--iodepth 0 " + trace_ + " " + dev_, "bad value '0' for --iodepth");
	expect_bad("--format nosuch " + trace_ + " " + dev_, "not a trace format");
	expect_bad("--allow-writes " + dir_.file("missing.csv") + " " + dev_, "missing.csv");
	write_file(dir_.file("bad.csv"), "128166372003061629,hm,0,Write,8192,4096,100\n"
					 "128166372003061629,hm,0,Write,oops,4096,100\n");
	expect_bad("--allow-writes --format msr " + dir_.file("bad.csv") + " " + dev_, "bad.csv:2");
	write_file(dir_.file("blocks.txt"), "hello\nworld\n");
	expect_bad("--allow-writes " + dir_.file("blocks.txt") + " " + dev_, "blocks.txt");
	expect_bad("--allow-writes " + dir_.file("") + " " + dev_, "Is a directory");
	write_file(dir_.file("bad.gz"), std::string("\x1f\x8b\x08\x00garbage", 11));
	expect_bad("--allow-writes " + dir_.file("bad.gz") + " " + dev_, "corrupt gzip data");
	write_file(dir_.file("empty.csv"), "");
	expect_bad(dir_.file("empty.csv") + " " + dev_, "empty.csv");
	expect_bad("--allow-writes " + trace_ + " " + dir_.file("nodev"), "cannot open " + dir_.file("nodev"));
	write_file(dir_.file("zero"), "");
	expect_bad("--allow-writes " + trace_ + " " + dir_.file("zero"), "has size 0");
	write_file(dir_.file("small"), std::string(1000, 'x'));
	expect_bad("--allow-writes " + trace_ + " " + dir_.file("small"), "smaller than one 4096-byte block");
	EXPECT_EQ(read_file(dir_.file("small")), std::string(1000, 'x'));
}

TEST_F(ReplayCli, HelpExits0)
{
	auto r = tier_replay(dir_, "--help");
	EXPECT_EQ(r.status, 0);
	EXPECT_NE(r.out.find("usage: tier-replay"), std::string::npos);
	EXPECT_NE(r.out.find("--allow-writes"), std::string::npos);
}

TEST_F(ReplayCli, JsonReportOfAReadOnlyReplay)
{
	auto r = tier_replay(dir_, "--json --no-timing " + trace_ + " " + dev_);
	ASSERT_EQ(r.status, 0) << r.err;
	auto j = nlohmann::json::parse(r.out, nullptr, false);
	ASSERT_FALSE(j.is_discarded()) << r.out;
	EXPECT_EQ(j["trace"]["format"], "msr");
	EXPECT_EQ(j["records_replayed"], 3);
	EXPECT_EQ(j["read"]["ios"], 2);
	EXPECT_EQ(j["read"]["bytes"], 8192);
	EXPECT_EQ(j["write"]["skipped"], 1);
	EXPECT_EQ(j["write"]["ios"], 0);
	EXPECT_GT(j["read"]["latency_us"]["p50"].get<double>(), 0.0);
	EXPECT_EQ(j["io_errors"], 0);
	EXPECT_TRUE(read_file(dev_) == pattern(kDev));

	auto text = tier_replay(dir_, "--no-timing " + trace_ + " " + dev_);
	ASSERT_EQ(text.status, 0) << text.err;
	EXPECT_NE(text.out.find("replayed 3 records"), std::string::npos) << text.out;
}

TEST_F(ReplayCli, AllowWritesWrites)
{
	auto r = tier_replay(dir_, "--json --no-timing --allow-writes " + trace_ + " " + dev_);
	ASSERT_EQ(r.status, 0) << r.err;
	auto j = nlohmann::json::parse(r.out);
	EXPECT_EQ(j["write"]["ios"], 1);
	EXPECT_EQ(j["write"]["bytes"], 8192);
	std::string want = pattern(kDev);
	std::fill(want.begin() + 16384, want.begin() + 16384 + 8192, '\x5a');
	EXPECT_TRUE(read_file(dev_) == want);
}

// Every format in ../shared/traces, the first 200 records of each.
TEST_F(ReplayCli, EveryFormatOfTheSharedTraces)
{
	const std::string dir = SHARED_TRACES;
	if (!std::filesystem::is_directory(dir))
		GTEST_SKIP() << dir << " is absent";
	struct Want {
		const char *file, *format;
	};
	for (auto w : {Want{"msr-hm_0-sample.csv", "msr"}, Want{"cloudphysics-io.csv.xz", "cloudphysics"},
		       Want{"tencent-cbs-sample.csv.bz2", "tencent"}, Want{"tpcc-small.trace", "disksim"},
		       Want{"lirs/cs.trace.gz", "lirs"}}) {
		std::string path = dir + "/" + w.file;
		if (!std::filesystem::exists(path)) {
			ADD_FAILURE() << path << " is missing";
			continue;
		}
		auto r = tier_replay(dir_, "--json --no-timing --max-records 200 --iodepth 16 " + path + " " + dev_);
		ASSERT_EQ(r.status, 0) << w.file << ": " << r.err;
		auto j = nlohmann::json::parse(r.out);
		EXPECT_EQ(j["trace"]["format"], w.format) << w.file;
		EXPECT_EQ(j["records_replayed"], 200) << w.file;
		EXPECT_EQ(j["read"]["ios"].get<int>() + j["write"]["skipped"].get<int>(), 200) << w.file;
		EXPECT_EQ(j["io_errors"], 0) << w.file;
		EXPECT_LE(j["schedule"]["max_inflight"].get<int>(), 16);
	}
	EXPECT_TRUE(read_file(dev_) == pattern(kDev));
}
