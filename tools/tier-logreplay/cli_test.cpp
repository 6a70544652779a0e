// SPDX-License-Identifier: GPL-2.0
// Runs the built tier-logreplay on logs made with logwrites::Writer.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "logwrites/log_writes.h"

using namespace dmtier::logwrites;

namespace {

struct Out {
	int status = -1;
	std::string out; // stdout and stderr
};

Out run(const std::string &args)
{
	Out r;
	std::string cmd = std::string(TIER_LOGREPLAY_BIN) + " " + args + " 2>&1";
	FILE *p = popen(cmd.c_str(), "r");
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int st = pclose(p);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return r;
}

class Files : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/logreplay_cli.XXXXXX";
		ASSERT_TRUE(mkdtemp(tmpl));
		dir_ = tmpl;
	}
	void TearDown() override { system(("rm -rf " + dir_).c_str()); }
	std::string put(const std::string &name, const std::string &content)
	{
		std::string p = dir_ + "/" + name;
		std::ofstream(p, std::ios::binary) << content;
		return p;
	}
	std::string get(const std::string &path)
	{
		std::ifstream f(path, std::ios::binary);
		std::stringstream s;
		s << f.rdbuf();
		return s.str();
	}
	std::string dir_;
};

std::string sec(char c, size_t n = 1) { return std::string(n * 512, c); }

Writer sample()
{
	Writer w;
	w.write(0, sec('A'));
	w.flush();
	w.write(1, sec('B'), kFua | kMetadata);
	w.mark("one");
	w.discard(0, 1);
	w.write(2, sec('C'));
	w.flush();
	w.mark("two");
	return w;
}

} // namespace

TEST_F(Files, ListShowsFlushesAndMarks)
{
	std::string log = put("log", sample().bytes());
	Out r = run("list " + log);
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("sector size 512, 8 entries (3 writes, 1 discards, 3 FLUSH/FUA, 2 marks)"),
		  std::string::npos)
		<< r.out;
	EXPECT_NE(r.out.find("entry 1 FLUSH #1\n"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("entry 2 FUA|META #2 sector 1 +1\n"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("entry 3 MARK one\n"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("entry 7 MARK two\n"), std::string::npos) << r.out;
	EXPECT_EQ(r.out.find("DISCARD"), std::string::npos) << r.out;
	r = run("list --all " + log);
	EXPECT_NE(r.out.find("entry 4 DISCARD sector 0 +1\n"), std::string::npos) << r.out;
	EXPECT_EQ(run("check " + log).status, 0);
}

TEST_F(Files, ReplaysToFlushAndMark)
{
	std::string log = put("log", sample().bytes());
	std::string t = put("t", sec('.', 4));
	Out r = run("replay --to-flush 2 " + log + " " + t);
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("replayed entries 0 to 2: 2 writes (1024 bytes)"), std::string::npos)
		<< r.out;
	EXPECT_EQ(get(t), sec('A') + sec('B') + sec('.', 2));
	r = run("replay --from-mark one --to-mark two " + log + " " + t);
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_EQ(get(t), std::string(512, '\0') + sec('B') + sec('C') + sec('.'));
	r = run("replay --from-mark two " + log + " " + t);
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("replayed nothing"), std::string::npos) << r.out;
}

TEST_F(Files, BadLogsAreRefusedAndChangeNothing)
{
	const std::string init = sec('.', 4);
	std::string t = put("t", init);
	std::string good = sample().bytes();
	std::string bad_magic = sample().bytes(std::nullopt, 42);
	std::string bad_version = sample().bytes(std::nullopt, kMagic, 9);
	std::string bad_ss = good;
	bad_ss[24] = 0x10; // 512 + 16
	std::string truncated = good.substr(0, good.size() - 10);
	Writer past;
	past.write(0, sec('A'));
	past.write(6, sec('Z')); // past the 4-sector target
	struct {
		std::string name, bytes, args, want;
		int status;
	} cases[] = {
		{ "magic", bad_magic, "", "not a dm-log-writes log: bad magic 0x2a", 1 },
		{ "version", bad_version, "", "unsupported dm-log-writes version 9", 1 },
		{ "sectorsize", bad_ss, "", "bad sector size 528", 1 },
		{ "truncated", truncated, "", "truncated", 1 },
		{ "past the end", past.bytes(), "", "past the end of the target (2048 bytes); nothing written", 1 },
		{ "no mark", good, "--to-mark three", "no mark 'three' (marks: 'one', 'two')", 1 },
		{ "no flush", good, "--to-flush 4", "no FLUSH/FUA entry number 4: the log has 3", 1 },
		{ "no entry", good, "--to-entry 8", "no entry 8: the log has 8 entries", 1 },
		{ "empty", "", "", "too short", 1 },
	};
	for (const auto &c : cases) {
		std::string log = put("bad", c.bytes);
		Out r = run("replay " + c.args + " " + log + " " + t);
		EXPECT_EQ(r.status, c.status) << c.name << ": " << r.out;
		EXPECT_NE(r.out.find(c.want), std::string::npos) << c.name << ": " << r.out;
		EXPECT_EQ(get(t), init) << c.name;
		if (c.args.empty() && c.name != "past the end") {
			Out k = run("check " + log);
			EXPECT_EQ(k.status, 1) << c.name << ": " << k.out;
			EXPECT_NE(k.out.find(c.want), std::string::npos) << c.name << ": " << k.out;
		}
	}
}

TEST_F(Files, UsageErrors)
{
	std::string log = put("log", sample().bytes());
	std::string t = put("t", sec('.', 4));
	EXPECT_EQ(run("").status, 2);
	EXPECT_EQ(run("frobnicate").status, 2);
	EXPECT_EQ(run("replay " + log).status, 2);
	EXPECT_EQ(run("replay --to-flush x " + log + " " + t).status, 2);
	EXPECT_EQ(run("replay --to-flush 0 " + log + " " + t).status, 2);
	EXPECT_EQ(run("replay --to-flush 1 --to-entry 1 " + log + " " + t).status, 2);
	EXPECT_EQ(run("replay --discard maybe " + log + " " + t).status, 2);
	Out r = run("replay " + log + " " + log);
	EXPECT_EQ(r.status, 2) << r.out;
	EXPECT_NE(r.out.find("is the log itself"), std::string::npos) << r.out;
	r = run("replay " + dir_ + "/missing " + t);
	EXPECT_EQ(r.status, 2) << r.out;
	EXPECT_EQ(run("mark").status, 2);
	EXPECT_EQ(run("mark 'a b' dev").status, 2);
	EXPECT_EQ(get(t), sec('.', 4));
	EXPECT_EQ(run("--help").status, 0);
}

TEST_F(Files, EachFlushRunsTheCheckAtEveryFlushPoint)
{
	std::string log = put("log", sample().bytes());
	std::string t = put("t", sec('.', 4));
	std::string seen = dir_ + "/seen";
	// The command sees the target as it is at each point.
	Out r = run("replay --each-flush 'echo $LOGREPLAY_ENTRY $LOGREPLAY_FLUSH $(head -c 1 " + t +
		    ")$(tail -c +513 " + t + " | head -c 1) >>" + seen + "' " + log + " " + t);
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_NE(r.out.find("command passed at 3 FLUSH/FUA points"), std::string::npos) << r.out;
	EXPECT_EQ(get(seen), "1 1 A.\n2 2 AB\n6 3 B\n");
	// Every second one only.
	std::string seen2 = dir_ + "/seen2";
	r = run("replay --each-flush 'echo $LOGREPLAY_FLUSH >>" + seen2 + "' --flush-step 2 " + log + " " +
		put("t3", sec('.', 4)));
	EXPECT_EQ(r.status, 0) << r.out;
	EXPECT_EQ(get(seen2), "2\n");
	EXPECT_NE(r.out.find("replayed entries 0 to 7"), std::string::npos) << r.out;
	EXPECT_EQ(run("replay --flush-step 2 " + log + " " + t).status, 2);
	EXPECT_EQ(run("replay --each-flush true --flush-step 0 " + log + " " + t).status, 2);
	// A failing command stops the replay there.
	std::string t2 = put("t2", sec('.', 4));
	r = run("replay --each-flush 'test $LOGREPLAY_FLUSH -lt 2' " + log + " " + t2);
	EXPECT_EQ(r.status, 1) << r.out;
	EXPECT_NE(r.out.find("after entry 2 (FLUSH/FUA #2)"), std::string::npos) << r.out;
	EXPECT_EQ(get(t2), sec('A') + sec('B') + sec('.', 2));
}
