// SPDX-License-Identifier: GPL-2.0
// The fuzz entries (entries.h) over their seed corpus, the inputs of past
// findings and crafted bad inputs, in the normal build: a parser that
// crashes, hangs or breaks an entry's rule on any of them fails here, with
// or without clang.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "entries.h"

namespace fs = std::filesystem;

namespace {

std::string g_current = "(none)";

using Entry = int (*)(const std::uint8_t *, std::size_t);

void run(Entry e, const std::string &name, const std::string &bytes)
{
	g_current = name;
	e(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
	g_current = "(none)";
}

// Runs every file of corpus/<target> and regressions/<target>; returns how
// many ran.
int run_dir(Entry e, const std::string &target)
{
	int n = 0;
	for (const char *sub : {"corpus", "regressions"}) {
		fs::path dir = fs::path(DMTIER_FUZZ_DIR) / sub / target;
		if (!fs::is_directory(dir))
			continue;
		std::vector<fs::path> files;
		for (const auto &de : fs::directory_iterator(dir))
			if (de.is_regular_file())
				files.push_back(de.path());
		std::sort(files.begin(), files.end());
		for (const auto &f : files) {
			std::ifstream in(f, std::ios::binary);
			std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
			run(e, f.string(), bytes);
			n++;
		}
	}
	return n;
}

std::string bin(std::initializer_list<int> bytes)
{
	std::string s;
	for (int b : bytes)
		s += char(b);
	return s;
}

} // namespace

namespace dmtier::fuzz {

void fail(const char *target, const char *what)
{
	std::fprintf(stderr, "fuzz entry %s failed on %s: %s\n", target, g_current.c_str(), what);
	std::abort();
}

} // namespace dmtier::fuzz

using namespace dmtier;

TEST(FuzzReplay, MetadataCorpus)
{
	EXPECT_GE(run_dir(fuzz::metadata, "metadata"), 3);
}

TEST(FuzzReplay, MetadataCrafted)
{
	run(fuzz::metadata, "empty", "");
	run(fuzz::metadata, "flags only", bin({0xff}));
	run(fuzz::metadata, "blank device", bin({0x0f, 0xff, 0xff}));
	// A chunk header cut short, a chunk longer than the input.
	run(fuzz::metadata, "short chunk", bin({0x0f, 0x10, 0x00, 0x01}));
	run(fuzz::metadata, "long chunk", bin({0x0f, 0x10, 0x00, 0x00, 0x00, 0xff, 0x0f, 0x01, 0x00}));
	// A superblock of 0xff bytes with a fixed checksum.
	std::string sb = bin({0x0f, 0xff, 0x03, 0x00, 0x00, 0x00, 0x10}) + std::string(4096, '\xff');
	run(fuzz::metadata, "superblock of 0xff", sb);
}

TEST(FuzzReplay, TraceCorpus)
{
	EXPECT_GE(run_dir(fuzz::trace, "trace"), 5);
}

TEST(FuzzReplay, TraceCrafted)
{
	const std::string hdr8 = std::string(8, '\0');
	run(fuzz::trace, "empty", "");
	for (int mode = 0; mode < 16; mode++) {
		std::string m(1, char(mode));
		// LIRS block size 0 and huge: no division by zero, no overflow.
		run(fuzz::trace, "lirs bs 0", m + hdr8 + "1\n2\n*\n18446744073709551615\n");
		run(fuzz::trace, "lirs bs max", m + bin({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) +
							 "0\n18446744073709551615\n");
		run(fuzz::trace, "msr huge time",
		    m + hdr8 + "18446744073709551615,hm,0,Read,0,4096,1\n");
		run(fuzz::trace, "cloudphysics", m + hdr8 + "version,time,op,size,lbn\n1,99999999999999999999,28,-1,x\n");
		run(fuzz::trace, "tencent", m + hdr8 + "1,2,3,4,\n,,,,\n");
		run(fuzz::trace, "disksim", m + hdr8 + "nan 0 0 8 1\ninf 0 0 8 1\n1e400 0 0 8 1\n-0 0 0 8 1\n");
		run(fuzz::trace, "truncated gzip", m + hdr8 + bin({0x1f, 0x8b, 0x08, 0x00}));
		run(fuzz::trace, "truncated xz", m + hdr8 + "\xfd" "7zXZ" + std::string(1, '\0') + "\x00\x04");
		run(fuzz::trace, "truncated bzip2", m + hdr8 + "BZh9" + "1AY&SY");
		run(fuzz::trace, "nul bytes", m + hdr8 + std::string(100, '\0'));
	}
}

TEST(FuzzReplay, ApiCorpus)
{
	EXPECT_GE(run_dir(fuzz::api, "api"), 5);
}

TEST(FuzzReplay, ApiCrafted)
{
	std::string f(1, '\0');
	run(fuzz::api, "empty", "");
	run(fuzz::api, "no path", f + "GET");
	run(fuzz::api, "not utf-8 path", f + "GET /v1/pools/\xff\xfe");
	run(fuzz::api, "not utf-8 method", f + "\xff /metrics");
	run(fuzz::api, "not utf-8 pool in error", f + "GET /v1/pools/\xc3");
	run(fuzz::api, "not utf-8 body key", f + "POST /v1/pools/tank/volumes\n{\"\xff\":1}");
	run(fuzz::api, "not utf-8 label", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":4096,\"labels\":{\"\xc3\":\"x\"}}");
	run(fuzz::api, "not utf-8 name", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":4096,\"name\":\"a\xff\"}");
	run(fuzz::api, "query", f + "GET /v1/pools?x=%ff&&=#?/\n");
	run(fuzz::api, "sizes", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":\"nan\"}");
	run(fuzz::api, "sizes", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":\"-inf\"}");
	run(fuzz::api, "sizes", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":\"1e400G\"}");
	run(fuzz::api, "sizes", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":-1}");
	run(fuzz::api, "sizes", f + "POST /v1/pools/tank/volumes\n{\"id\":2,\"size\":1.5e300}");
	run(fuzz::api, "id float", f + "POST /v1/pools/tank/volumes\n{\"id\":2.5,\"size\":4096}");
	run(fuzz::api, "id huge", f + "POST /v1/pools/tank/volumes\n{\"id\":18446744073709551616,\"size\":4096}");
	run(fuzz::api, "pin", f + "POST /v1/pools/tank/volumes/1/pin\n{\"begin\":-1,\"end\":1e30,\"tier\":8}");
	run(fuzz::api, "deep json", f + "PATCH /v1/pools/tank/volumes/1\n" + std::string(10000, '['));
	run(fuzz::api, "remote no token", bin({1}) + "GET /v1/pools");
	run(fuzz::api, "remote bad token", bin({5}) + "GET /v1/pools\nBearer \xff");
}

TEST(FuzzReplay, ConfigCorpus)
{
	EXPECT_GE(run_dir(fuzz::config, "config"), 3);
}

TEST(FuzzReplay, ConfigCrafted)
{
	auto s = [](const std::string &t) { run(fuzz::config, t, t); };
	s("");
	s("[daemon]\nround_ms = nan\n");
	s("[daemon]\nround_ms = 1e300\n");
	s("[planner]\npromote_heat = nan\n");
	s("[planner]\nfill_target = -nan\n");
	s("[[tier]]\nclass = \"nvme\"\ncost_per_gb_month = nan\n");
	s("[[tier]]\nclass = \"nvme\"\ncost_per_gb_month = inf\n");
	s("tier = [1, 2]\n");
	s("[pool]\nname = \"\xff\"\n");
	s(std::string(5000, '[') + "\n");
	s("a = " + std::string(5000, '[') + "\n");
}
