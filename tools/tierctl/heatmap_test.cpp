// SPDX-License-Identifier: GPL-2.0
#include "heatmap.h"

#include <gtest/gtest.h>

using namespace dmtier::tierctl;
using json = nlohmann::json;

namespace {

size_t count(const std::string &s, const std::string &what)
{
	size_t n = 0;
	for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
		n++;
	return n;
}

dm_tier_heat_entry entry(uint64_t x, uint8_t tier, uint8_t r, uint8_t w, uint8_t flags = 0)
{
	dm_tier_heat_entry e{};
	e.extent = x;
	e.tier = tier;
	e.reads = r;
	e.writes = w;
	e.flags = flags;
	return e;
}

// Extents: 0 on tier 0 very hot, 1 unmapped, 2 on tier 1 cold, 3 on tier 2 at 3.
HeatMap small()
{
	HeatMap m = heat_from_kernel({entry(0, 0, 60, 40, DM_TIER_HEAT_PINNED), entry(2, 1, 0, 0), entry(3, 2, 2, 1)}, 4);
	m.pool = "p1";
	m.volume = 4;
	m.extent_bytes = 128 << 10;
	return m;
}

} // namespace

TEST(Heat, LevelsAreLog2)
{
	EXPECT_EQ(heat_level(0), 0);
	EXPECT_EQ(heat_level(-1), 0);
	EXPECT_EQ(heat_level(0.25), 1);
	EXPECT_EQ(heat_level(1), 1);
	EXPECT_EQ(heat_level(1.5), 2);
	EXPECT_EQ(heat_level(2), 2);
	EXPECT_EQ(heat_level(3), 3);
	EXPECT_EQ(heat_level(4), 3);
	EXPECT_EQ(heat_level(5), 4);
	EXPECT_EQ(heat_level(64), 7);
	EXPECT_EQ(heat_level(65), 8);
	EXPECT_EQ(heat_level(510), 8);
	EXPECT_EQ(heat_glyph(0), '.');
	EXPECT_EQ(heat_glyph(8), '@');
	EXPECT_EQ(heat_glyph(99), '@');
}

TEST(Heat, FromKernel)
{
	auto m = heat_from_kernel({entry(1, 2, 3, 4, DM_TIER_HEAT_PINNED | DM_TIER_HEAT_MIGRATING), entry(9, 0, 1, 1)}, 4);
	ASSERT_EQ(m.extents.size(), 4u);
	EXPECT_EQ(m.source, "kernel");
	EXPECT_EQ(m.extents[0].tier, -1);
	EXPECT_EQ(m.extents[1].tier, 2);
	EXPECT_DOUBLE_EQ(m.extents[1].heat, 7);
	EXPECT_TRUE(m.extents[1].pinned);
	EXPECT_TRUE(m.extents[1].migrating);
	EXPECT_FALSE(m.extents[1].prefetched);
	EXPECT_EQ(m.nr_tiers, 3u);	// extent 9 is past the volume: ignored
}

TEST(Heat, FromTierd)
{
	json j = {{"pool", "tank"}, {"volume", 7}, {"extent_bytes", 1048576}, {"promote_score", 4}, {"demote_score", 1},
		  {"extents", {{{"extent", 0}, {"tier", 1}, {"score", 5.5}, {"pinned", false}, {"migrating", true}},
			       {{"extent", 2}, {"tier", nullptr}, {"score", 0.5}, {"pinned", false}, {"migrating", false}}}}};
	auto m = heat_from_tierd(j, 3);
	ASSERT_TRUE(m.ok()) << m.error();
	EXPECT_EQ(m->source, "tierd");
	EXPECT_EQ(m->volume, 7u);
	EXPECT_EQ(m->extent_bytes, 1048576u);
	EXPECT_EQ(m->extents[0].tier, 1);
	EXPECT_DOUBLE_EQ(m->extents[0].heat, 5.5);
	EXPECT_TRUE(m->extents[0].migrating);
	EXPECT_EQ(m->extents[1].tier, -1);
	EXPECT_EQ(m->extents[2].tier, -1);	// unknown to tierd
	EXPECT_FALSE(heat_from_tierd(json{{"pool", "x"}}, 3).ok());
	json bad = j;
	bad["extents"][0]["tier"] = 9;
	EXPECT_FALSE(heat_from_tierd(bad, 3).ok());
	bad["extents"][0]["tier"] = "fast";
	EXPECT_FALSE(heat_from_tierd(bad, 3).ok());
}

TEST(Heat, BucketTakesHottestAndMostCommonTier)
{
	std::vector<HeatCell> e(10);
	e[0] = {1, 2, false, false, false};
	e[1] = {2, 50, true, false, false};
	e[2] = {2, 1, false, false, false};
	// cells: [0..2], [3..5] unmapped, [6..8], [9]
	e[7] = {0, 3, false, true, false};
	uint64_t per = 0;
	auto c = bucket(e, 4, &per);
	EXPECT_EQ(per, 3u);
	ASSERT_EQ(c.size(), 4u);
	EXPECT_EQ(c[0].tier, 2);
	EXPECT_DOUBLE_EQ(c[0].heat, 50);
	EXPECT_TRUE(c[0].pinned);
	EXPECT_EQ(c[1].tier, -1);
	EXPECT_EQ(c[2].tier, 0);
	EXPECT_TRUE(c[2].migrating);
	EXPECT_EQ(c[3].tier, -1);
	auto same = bucket(e, 100, &per);
	EXPECT_EQ(per, 1u);
	EXPECT_EQ(same.size(), 10u);
}

TEST(Heat, TerminalPlainShowsGlyphsAndTiers)
{
	TermOptions o;
	o.columns = 80;
	o.color = false;
	std::string s = render_terminal(small(), o);
	EXPECT_NE(s.find("volume 4 of p1: 4 extents of 128 KiB, 3 mapped (tier 0: 1, tier 1: 1, tier 2: 1)"),
		  std::string::npos) << s;
	EXPECT_NE(s.find("\n       0 @ .=  0-12\n"), std::string::npos) << s;
	EXPECT_NE(s.find("hottest: extent 0 (tier 0, 100), extent 3 (tier 2, 3)"), std::string::npos) << s;
	EXPECT_NE(s.find("1 pinned, 0 migrating"), std::string::npos) << s;
	EXPECT_EQ(s.find('\033'), std::string::npos) << "escapes without colour";
}

TEST(Heat, TerminalColourAndNames)
{
	HeatMap m = small();
	m.tier_names = {"nvme", "ssd"};
	TermOptions o;
	o.color = true;
	std::string s = render_terminal(m, o);
	EXPECT_NE(s.find("\033[4;31m@\033[0m"), std::string::npos) << "pinned tier-0 cell underlined red";
	EXPECT_NE(s.find("\033[33m.\033[0m"), std::string::npos);
	EXPECT_NE(s.find("tier 0 (nvme)"), std::string::npos);
	EXPECT_NE(s.find("tier 2\033"), std::string::npos) << "unnamed tier 2";
}

TEST(Heat, TerminalBucketsLargeVolumes)
{
	HeatMap m;
	m.pool = "p";
	m.extent_bytes = 1 << 20;
	m.extents.resize(100000);
	m.extents[99999] = {1, 10, false, false, false};
	TermOptions o;
	o.columns = 80;
	o.max_rows = 10;
	std::string s = render_terminal(m, o);
	EXPECT_NE(s.find("each cell: "), std::string::npos);
	size_t rows = 0;
	for (size_t p = 0; (p = s.find("\n", p)) != std::string::npos; p++)
		if (s.compare(p + 1, 1, " ") == 0)
			rows++;
	EXPECT_LE(rows, 10u) << s;
	EXPECT_NE(s.find('*'), std::string::npos) << "the hot last extent survives bucketing: " << s;
}

TEST(Heat, Svg)
{
	std::string s = render_svg(small());
	EXPECT_EQ(s.rfind("<?xml", 0), 0u);
	EXPECT_NE(s.find("</svg>\n"), std::string::npos);
	EXPECT_EQ(count(s, "<rect class=\"tier"), 3u);
	EXPECT_EQ(count(s, "<rect class=\"unmapped\""), 1u);
	EXPECT_EQ(count(s, "<rect class=\"tier0\""), 1u);
	EXPECT_NE(s.find("extent 0: tier 0, heat 100, pinned"), std::string::npos);
	EXPECT_EQ(count(s, "<svg"), 1u);
	// Names are escaped.
	HeatMap m = small();
	m.pool = "a<b&c";
	std::string e = render_svg(m);
	EXPECT_NE(e.find("a&lt;b&amp;c"), std::string::npos);
	EXPECT_EQ(e.find("a<b"), std::string::npos);
}

TEST(Heat, GnuplotScript)
{
	std::string s = gnuplot_script(small(), "/tmp/it's.png");
	EXPECT_NE(s.find("set output '/tmp/it''s.png'\n"), std::string::npos) << s;
	EXPECT_NE(s.find("$heat << EOD\n8 -1 0 3\nEOD\n"), std::string::npos) << s;
	EXPECT_NE(s.find("$tier << EOD\n0 -1 1 2\nEOD\n"), std::string::npos) << s;
	EXPECT_NE(s.find("plot $tier matrix with image"), std::string::npos);
}

TEST(Heat, Json)
{
	auto j = heat_json(small());
	EXPECT_EQ(j["nr_extents"], 4);
	EXPECT_EQ(j["source"], "kernel");
	EXPECT_EQ(j["mapped_per_tier"], json({1, 1, 1}));
	ASSERT_EQ(j["extents"].size(), 3u);
	EXPECT_EQ(j["extents"][2]["extent"], 3);
	EXPECT_EQ(j["extents"][2]["heat"], 3.0);
	EXPECT_EQ(j["extents"][0]["pinned"], true);
}

TEST(Heat, HumanBytes)
{
	EXPECT_EQ(human_bytes(128 << 10), "128 KiB");
	EXPECT_EQ(human_bytes(1536ull << 20), "1.5 GiB");
	EXPECT_EQ(human_bytes(100), "100 B");
}
