// SPDX-License-Identifier: GPL-2.0
#include "logwrites/log_writes.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/unique_fd.h"

using namespace dmtier;
using namespace dmtier::logwrites;

namespace {

std::string sectors(char c, size_t n, uint32_t ss = 512) { return std::string(n * ss, c); }

class TempFile {
public:
	explicit TempFile(const std::string &content = "")
	{
		char tmpl[] = "/tmp/logwrites_test.XXXXXX";
		int fd = mkstemp(tmpl);
		EXPECT_GE(fd, 0);
		path_ = tmpl;
		if (!content.empty()) {
			EXPECT_EQ(write(fd, content.data(), content.size()), ssize_t(content.size()));
		}
		close(fd);
	}
	~TempFile() { unlink(path_.c_str()); }
	const std::string &path() const { return path_; }
	std::string read() const
	{
		std::ifstream f(path_, std::ios::binary);
		std::stringstream s;
		s << f.rdbuf();
		return s.str();
	}

private:
	std::string path_;
};

Result<Log> parse(const std::string &bytes)
{
	TempFile f(bytes);
	return read_log(f.path());
}

// Replays bytes onto a target file of target_bytes initial content and
// returns the target's content (or the error).
Result<std::string> replay_bytes(const std::string &bytes, const std::string &target, Start start,
				  Stop stop, DiscardMode mode = DiscardMode::Zero)
{
	TempFile lf(bytes), tf(target);
	UniqueFd lfd(open(lf.path().c_str(), O_RDONLY));
	auto log = read_log(lfd.get(), bytes.size());
	if (!log)
		return make_error(log.error());
	auto r = resolve(*log, start, stop);
	if (!r)
		return make_error(r.error());
	UniqueFd tfd(open(tf.path().c_str(), O_WRONLY));
	auto st = replay(*log, lfd.get(), *r, tfd.get(), target.size(), mode);
	if (!st)
		return make_error(st.error());
	return tf.read();
}

// A log of a small device: A at 0-1, flush, B at 2 (FUA), mark m1, C at 0,
// discard 2-3, flush, mark m2, D at 3.
Writer sample()
{
	Writer w;
	w.write(0, sectors('A', 2));
	w.flush();
	w.write(2, sectors('B', 1), kFua);
	w.mark("m1");
	w.write(0, sectors('C', 1));
	w.discard(2, 2);
	w.flush();
	w.mark("m2");
	w.write(3, sectors('D', 1));
	return w;
}

} // namespace

TEST(LogWrites, ParsesEntriesFlagsAndMarks)
{
	auto log = parse(sample().bytes());
	ASSERT_TRUE(log) << log.error();
	EXPECT_EQ(log->sectorsize, 512u);
	ASSERT_EQ(log->entries.size(), 9u);
	EXPECT_EQ(log->entries[0].sector, 0u);
	EXPECT_EQ(log->entries[0].nr_sectors, 2u);
	EXPECT_EQ(log->entries[1].flush_no, 1u);
	EXPECT_EQ(log->entries[2].flags, kFua);
	EXPECT_EQ(log->entries[2].flush_no, 2u);
	EXPECT_TRUE(log->entries[3].is_mark());
	EXPECT_EQ(log->entries[3].mark, "m1");
	EXPECT_TRUE(log->entries[5].is_discard());
	EXPECT_EQ(log->entries[5].nr_sectors, 2u);
	EXPECT_EQ(log->entries[6].flush_no, 3u);
	EXPECT_EQ(log->entries[7].mark, "m2");
	// Header sectors, data sectors (no data for flush, mark, discard).
	EXPECT_EQ(log->entries[1].offset, 512u + 512 + 1024);
	EXPECT_EQ(log->end_offset, sample().bytes().size());
	EXPECT_EQ(flags_string(kFlush | kFua | kMetadata), "FLUSH|FUA|META");
	EXPECT_EQ(flags_string(0), "-");
}

TEST(LogWrites, Sector4096)
{
	Writer w(4096);
	w.write(1, sectors('x', 1, 4096));
	w.mark("end");
	auto log = parse(w.bytes());
	ASSERT_TRUE(log) << log.error();
	EXPECT_EQ(log->sectorsize, 4096u);
	auto out = replay_bytes(w.bytes(), std::string(3 * 4096, '.'), {}, {});
	ASSERT_TRUE(out) << out.error();
	EXPECT_EQ(*out, std::string(4096, '.') + sectors('x', 1, 4096) + std::string(4096, '.'));
}

TEST(LogWrites, EntriesPastTheCountAreIgnored)
{
	// The kernel rewrites the count after FUA and MARK entries only.
	auto log = parse(sample().bytes(4));
	ASSERT_TRUE(log) << log.error();
	EXPECT_EQ(log->entries.size(), 4u);
}

TEST(LogWrites, RefusesBadSuper)
{
	auto bad_magic = parse(sample().bytes(std::nullopt, 0x1234));
	ASSERT_FALSE(bad_magic);
	EXPECT_NE(bad_magic.error().find("bad magic 0x1234"), std::string::npos) << bad_magic.error();
	auto bad_version = parse(sample().bytes(std::nullopt, kMagic, 2));
	ASSERT_FALSE(bad_version);
	EXPECT_NE(bad_version.error().find("unsupported dm-log-writes version 2"), std::string::npos);
	for (uint32_t ss : { 0u, 100u, 513u, 1u << 20 }) {
		std::string b = sample().bytes();
		for (int i = 0; i < 4; i++)
			b[24 + i] = char(ss >> (8 * i));
		auto r = parse(b);
		ASSERT_FALSE(r) << ss;
		EXPECT_NE(r.error().find("bad sector size"), std::string::npos) << r.error();
	}
	EXPECT_FALSE(parse(""));
	EXPECT_FALSE(parse(std::string(20, '\0')));
	// A count the log cannot hold.
	auto big = parse(sample().bytes(1ULL << 40));
	ASSERT_FALSE(big);
	EXPECT_NE(big.error().find("counts 1099511627776 entries"), std::string::npos) << big.error();
}

TEST(LogWrites, RefusesTruncatedLogs)
{
	std::string b = sample().bytes();
	// Cut inside the last entry's data, then inside its header.
	for (size_t cut : { b.size() - 1, b.size() - 512 - 100 }) {
		auto r = parse(b.substr(0, cut));
		ASSERT_FALSE(r) << cut;
		EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();
		EXPECT_NE(r.error().find("entry 8"), std::string::npos) << r.error();
	}
}

TEST(LogWrites, RefusesBadEntries)
{
	struct Case {
		const char *name;
		uint64_t sector, nr, flags;
		std::string label, data, want;
	} cases[] = {
		{ "unknown flag", 0, 1, 1 << 5, "", sectors('x', 1), "unknown flags 0x20" },
		{ "discard+flush", 0, 1, kDiscard | kFlush, "", "", "DISCARD with FLUSH" },
		{ "mark with data", 0, 1, kMark, "a", "", "MARK with 1 data sectors" },
		{ "mark+fua", 0, 0, kMark | kFua, "a", "", "MARK with other flags" },
		{ "empty write", 5, 0, 0, "", "", "a write of 0 sectors" },
		{ "overflow", ~0ULL - 1, 4, kDiscard, "", "", "overflows" },
	};
	for (const Case &c : cases) {
		Writer w;
		w.write(0, sectors('A', 1));
		w.entry(c.sector, c.nr, c.flags, c.label, c.data);
		auto r = parse(w.bytes());
		ASSERT_FALSE(r) << c.name;
		EXPECT_NE(r.error().find(c.want), std::string::npos) << c.name << ": " << r.error();
		EXPECT_NE(r.error().find("entry 1 at byte 1536"), std::string::npos) << r.error();
	}
	// A label longer than its sector, and inline data in a write.
	Writer w;
	w.mark("x");
	std::string b = w.bytes();
	b[512 + 24] = char(481);
	b[512 + 25] = char(481 >> 8);
	auto r = parse(b);
	ASSERT_FALSE(r);
	EXPECT_NE(r.error().find("does not fit its 512-byte sector"), std::string::npos) << r.error();
	Writer w2;
	w2.write(0, sectors('A', 1));
	b = w2.bytes();
	b[512 + 24] = 7;
	r = parse(b);
	ASSERT_FALSE(r);
	EXPECT_NE(r.error().find("inline data"), std::string::npos) << r.error();
}

TEST(LogWrites, ResolvesStartsAndStops)
{
	auto log = parse(sample().bytes());
	ASSERT_TRUE(log);
	auto all = resolve(*log, {}, {});
	ASSERT_TRUE(all);
	EXPECT_EQ(all->first, 0u);
	EXPECT_EQ(all->last, 8u);
	auto f2 = resolve(*log, {}, { Stop::Flush, 2, "" });
	ASSERT_TRUE(f2);
	EXPECT_EQ(f2->last, 2u);
	auto m2 = resolve(*log, { Start::AfterMark, 0, "m1" }, { Stop::Mark, 0, "m2" });
	ASSERT_TRUE(m2);
	EXPECT_EQ(m2->first, 4u);
	EXPECT_EQ(m2->last, 7u);
	auto e = resolve(*log, { Start::Entry, 2, "" }, { Stop::Entry, 5, "" });
	ASSERT_TRUE(e);
	EXPECT_EQ(e->first, 2u);
	EXPECT_EQ(e->last, 5u);

	auto no_flush = resolve(*log, {}, { Stop::Flush, 4, "" });
	ASSERT_FALSE(no_flush);
	EXPECT_NE(no_flush.error().find("the log has 3"), std::string::npos) << no_flush.error();
	auto no_mark = resolve(*log, {}, { Stop::Mark, 0, "m3" });
	ASSERT_FALSE(no_mark);
	EXPECT_NE(no_mark.error().find("'m1', 'm2'"), std::string::npos) << no_mark.error();
	// m1 lies before a start after m2.
	EXPECT_FALSE(resolve(*log, { Start::AfterMark, 0, "m2" }, { Stop::Mark, 0, "m1" }));
	EXPECT_FALSE(resolve(*log, { Start::Entry, 9, "" }, {}));
	EXPECT_FALSE(resolve(*log, { Start::Entry, 5, "" }, { Stop::Entry, 4, "" }));
	EXPECT_FALSE(resolve(*log, {}, { Stop::Entry, 9, "" }));
}

TEST(LogWrites, ReplaysUpToEachPoint)
{
	const std::string init(4 * 512, '.');
	std::string b = sample().bytes();
	auto at = [&](Stop stop) {
		auto r = replay_bytes(b, init, {}, stop);
		EXPECT_TRUE(r) << r.error();
		return r ? *r : std::string();
	};
	EXPECT_EQ(at({ Stop::Entry, 0, "" }), sectors('A', 2) + sectors('.', 2));
	EXPECT_EQ(at({ Stop::Flush, 2, "" }), sectors('A', 2) + sectors('B', 1) + sectors('.', 1));
	EXPECT_EQ(at({ Stop::Mark, 0, "m1" }), sectors('A', 2) + sectors('B', 1) + sectors('.', 1));
	// The discard of sectors 2-3 zeroes them.
	EXPECT_EQ(at({ Stop::Mark, 0, "m2" }),
		  sectors('C', 1) + sectors('A', 1) + std::string(1024, '\0'));
	EXPECT_EQ(at({}), sectors('C', 1) + sectors('A', 1) + std::string(512, '\0') + sectors('D', 1));
	// Skip leaves discarded data; punching holes reads zeros on a file.
	auto skip = replay_bytes(b, init, {}, { Stop::Mark, 0, "m2" }, DiscardMode::Skip);
	ASSERT_TRUE(skip);
	EXPECT_EQ(*skip, sectors('C', 1) + sectors('A', 1) + sectors('B', 1) + sectors('.', 1));
	auto punch = replay_bytes(b, init, {}, { Stop::Mark, 0, "m2" }, DiscardMode::Discard);
	ASSERT_TRUE(punch) << punch.error();
	EXPECT_EQ(*punch, sectors('C', 1) + sectors('A', 1) + std::string(1024, '\0'));
}

TEST(LogWrites, IncrementalReplayEqualsWholeReplay)
{
	std::string b = sample().bytes();
	TempFile lf(b), tf(std::string(4 * 512, '.'));
	UniqueFd lfd(open(lf.path().c_str(), O_RDONLY)), tfd(open(tf.path().c_str(), O_WRONLY));
	auto log = read_log(lfd.get(), b.size());
	ASSERT_TRUE(log);
	auto r1 = resolve(*log, {}, { Stop::Mark, 0, "m1" });
	auto r2 = resolve(*log, { Start::AfterMark, 0, "m1" }, { Stop::Mark, 0, "m2" });
	auto r3 = resolve(*log, { Start::AfterMark, 0, "m2" }, {});
	ASSERT_TRUE(r1 && r2 && r3);
	for (const Range &r : { *r1, *r2, *r3 })
		ASSERT_TRUE(replay(*log, lfd.get(), r, tfd.get(), 4 * 512, DiscardMode::Zero));
	EXPECT_EQ(tf.read(), *replay_bytes(b, std::string(4 * 512, '.'), {}, {}));
}

TEST(LogWrites, LogLargerThanTargetChangesNothing)
{
	Writer w;
	w.write(0, sectors('A', 1));
	w.flush();
	w.write(8, sectors('B', 1)); // past a 4-sector target
	std::string init(4 * 512, '.');
	TempFile lf(w.bytes()), tf(init);
	UniqueFd lfd(open(lf.path().c_str(), O_RDONLY)), tfd(open(tf.path().c_str(), O_WRONLY));
	auto log = read_log(lfd.get(), w.bytes().size());
	ASSERT_TRUE(log);
	auto all = resolve(*log, {}, {});
	ASSERT_TRUE(all);
	Status fits = check_fits(*log, *all, init.size());
	ASSERT_FALSE(fits);
	EXPECT_NE(fits.error().find("entry 2"), std::string::npos) << fits.error();
	EXPECT_NE(fits.error().find("past the end of the target (2048 bytes)"), std::string::npos)
		<< fits.error();
	EXPECT_FALSE(replay(*log, lfd.get(), *all, tfd.get(), init.size(), DiscardMode::Zero));
	EXPECT_EQ(tf.read(), init);
	// Up to the flush it fits.
	auto first = resolve(*log, {}, { Stop::Flush, 1, "" });
	ASSERT_TRUE(first);
	EXPECT_TRUE(replay(*log, lfd.get(), *first, tfd.get(), init.size(), DiscardMode::Zero));
	EXPECT_EQ(tf.read(), sectors('A', 1) + sectors('.', 3));
}
