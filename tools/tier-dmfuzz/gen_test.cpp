// SPDX-License-Identifier: GPL-2.0
#include "tier-dmfuzz/gen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

using namespace dmtier::dmfuzz;

namespace {

PoolInfo pool()
{
	PoolInfo p;
	EXPECT_TRUE(parse_pool_params("251:0 256 3 251:1 251:2 251:3 1 no_fallback", p).ok());
	p.pool_dev = "253:0";
	p.pool_len = 1 << 20;
	p.active = {1, 2};
	p.active_len = {8192, 8192};
	p.volume_devs = {"/dev/mapper/pool-1", "/dev/mapper/pool-2"};
	p.existing = {1, 2, 7};
	p.settings[1] = {"tiering_enabled=1", "tiering_policy=balanced", "prediction_model=auto", "os=linux"};
	p.settings[2] = {"tiering_enabled=1", "tiering_policy=balanced", "prediction_model=auto"};
	p.settings[7] = {"tiering_enabled=0", "tiering_policy=striped", "prediction_model=auto"};
	p.new_dev = "dmfuzz-1";
	return p;
}

std::string lower(std::string s)
{
	for (auto &c : s)
		c = char(std::tolower(static_cast<unsigned char>(c)));
	return s;
}

} // namespace

TEST(DmFuzzGen, ParsesPoolParams)
{
	PoolInfo p = pool();
	EXPECT_EQ(p.meta, "251:0");
	EXPECT_EQ(p.extent_sectors, 256u);
	EXPECT_EQ(p.tiers, (std::vector<std::string>{"251:1", "251:2", "251:3"}));
	EXPECT_EQ(p.features, (std::vector<std::string>{"no_fallback"}));
	PoolInfo q;
	EXPECT_TRUE(parse_pool_params("8:0 2048 1 8:16", q).ok());
	EXPECT_TRUE(q.features.empty());
	EXPECT_FALSE(parse_pool_params("8:0 2048 2 8:16", q).ok());
	EXPECT_FALSE(parse_pool_params("8:0 2048 1 8:16 2 no_fallback", q).ok());
	EXPECT_FALSE(parse_pool_params("8:0 x 1 8:16", q).ok());
}

TEST(DmFuzzGen, DeterministicPerSeed)
{
	Generator a(42, pool()), b(42, pool()), c(43, pool());
	bool differs = false;
	for (int i = 0; i < 3000; i++) {
		Msg x = a.message(), y = b.message(), z = c.message();
		ASSERT_EQ(x.text, y.text);
		ASSERT_EQ(x.kind, y.kind);
		ASSERT_EQ(int(x.expect), int(y.expect));
		differs |= x.text != z.text;
		Table s = a.table(), t = b.table();
		ASSERT_EQ(s.params, t.params);
		ASSERT_EQ(s.type, t.type);
		ASSERT_EQ(s.length, t.length);
		c.table();
	}
	EXPECT_TRUE(differs);
}

TEST(DmFuzzGen, CoversEveryVerb)
{
	Generator g(7, pool());
	std::set<std::string> bad, valid, count;
	std::set<std::string> kinds;
	for (int i = 0; i < 20000; i++) {
		Msg m = g.message();
		kinds.insert(m.kind);
		if (m.verb.empty() || m.to_volume)
			continue;
		// The verb is the message's first word.
		auto w = split_words(m.text);
		ASSERT_FALSE(w.empty()) << m.text;
		EXPECT_EQ(lower(w[0]), m.verb) << m.text;
		if (m.expect == Expect::fail)
			(m.kind == "bad-count" ? count : bad).insert(m.verb);
		if (m.expect == Expect::ok)
			valid.insert(m.verb);
	}
	for (const auto &v : verbs()) {
		EXPECT_TRUE(count.count(v)) << v << " never sent with a wrong word count";
		EXPECT_TRUE(bad.count(v) || v == "list_volumes" || v == "commit" || v == "stats")
			<< v << " never sent with bad arguments";
	}
	for (const char *v : {"get_volume", "list_volumes", "stats", "get_profile", "dump_heat", "commit", "set",
			      "set_hint", "set_volume"})
		EXPECT_TRUE(valid.count(v)) << v << " never sent valid";
	for (const char *k : {"valid-read", "valid-noop", "bad-count", "bad-args", "unknown-verb", "odd-bytes",
			      "long-word", "random-bytes", "to-volume", "create-delete"})
		EXPECT_TRUE(kinds.count(k)) << k;
}

// Messages built to be invalid really are, as far as the kernel's parsing
// goes: a sample of rules the kernel applies.
TEST(DmFuzzGen, InvalidMessagesAreInvalid)
{
	Generator g(11, pool());
	const std::set<std::string> existing = {"1", "2", "7"};
	for (int i = 0; i < 20000; i++) {
		Msg m = g.message();
		auto w = split_words(m.text);
		if (m.expect == Expect::fail && !m.to_volume && !w.empty()) {
			// never a valid create of an unknown id
			if (lower(w[0]) == "create_volume" && w.size() == 2) {
				bool digits = w[1].find_first_not_of("0123456789") == std::string::npos;
				EXPECT_TRUE(!digits || existing.count(w[1]) || w[1].size() > 7 ||
					    std::stoull(w[1]) > 8388606)
					<< m.text;
			}
			// never "set fallback 0|1"
			if (lower(w[0]) == "set" && w.size() == 3 && lower(w[1]) == "fallback") {
				EXPECT_TRUE(w[2] != "0" && w[2] != "1") << m.text;
			}
		}
		// No message deletes an existing volume that is not active,
		// but the undo of a volume it created.
		if (!w.empty() && lower(w[0]) == "delete_volume" && w.size() == 2) {
			EXPECT_NE(w[1], "7") << m.text;
		}
		if (!m.undo.empty()) {
			EXPECT_EQ(m.undo, "delete_volume " + split_words(m.text)[1]);
		}
	}
}

TEST(DmFuzzGen, TablesKeepTheLivePoolSafe)
{
	Generator g(5, pool());
	PoolInfo p = pool();
	std::set<std::string> live = {p.tiers.begin(), p.tiers.end()};
	live.insert(p.pool_dev);
	live.insert(p.volume_devs.begin(), p.volume_devs.end());
	std::set<std::string> kinds;
	for (int i = 0; i < 20000; i++) {
		Table t = g.table();
		kinds.insert(t.kind);
		EXPECT_EQ(int(t.expect), int(Expect::fail)) << t.kind;
		if (t.type != "tier-pool")
			continue;
		auto w = split_words(t.params);
		if (w.empty())
			continue;
		// The metadata position never holds a live tier, the pool or a volume.
		EXPECT_FALSE(live.count(w[0])) << t.kind << ": " << t.params;
		// Never more live tier devices than the pool has.
		std::size_t n = 0;
		for (std::size_t j = 1; j < w.size(); j++)
			n += std::count(p.tiers.begin(), p.tiers.end(), w[j]) ? 1 : 0;
		EXPECT_LE(n, p.tiers.size()) << t.kind << ": " << t.params;
	}
	for (const char *k : {"tbl-too-few", "tbl-bad-extent", "tbl-bad-nr-tiers", "tbl-bad-device", "tbl-dup-device",
			      "tbl-zero-length", "tbl-unknown-target", "tbl-feature-count", "tbl-unknown-feature",
			      "tbl-bad-feature-value", "tbl-feature-no-value", "tbl-watermarks", "tbl-trailing-junk",
			      "tbl-too-many-features", "tbl-live-pool-line", "tbl-other-extent-size",
			      "tbl-tiers-reordered", "tbl-tier-missing", "tbl-not-a-tier", "vol-bad-count",
			      "vol-not-a-pool", "vol-bad-id", "vol-active", "vol-trailing-junk", "vol-zero-length",
			      "tbl-random-bytes", "tbl-odd-bytes"})
		EXPECT_TRUE(kinds.count(k)) << k;
}
