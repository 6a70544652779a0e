// SPDX-License-Identifier: GPL-2.0
#include "tierd/config.h"

#include <gtest/gtest.h>

using namespace dmtier::tierd;

TEST(Config, Full)
{
	auto c = parse_config(R"(
[daemon]
round_ms = 500
state_dir = "/srv/tierd"
socket = "/run/x.sock"
tcp = "127.0.0.1:8470"
token_file = "/etc/dm-tier/token"

[planner]
budget_per_round = 16
promote_heat = 6
demote_heat = 0.5
model = "markov"

[[tier]]
name = "nvme0"
class = "nvme"
cost_per_gb_month = 0.20
latency_us = 90
iops = 400000

[[tier]]
class = "hdd"
cost_per_gb_month = 0.02
)",
			      "t.conf");
	ASSERT_TRUE(c.ok()) << c.error();
	EXPECT_EQ(c->round_ms, 500u);
	EXPECT_EQ(c->state_dir, "/srv/tierd");
	EXPECT_EQ(c->tcp, "127.0.0.1:8470");
	EXPECT_EQ(c->planner.budget_per_round, 16u);
	EXPECT_DOUBLE_EQ(c->planner.promote_heat, 6);
	EXPECT_DOUBLE_EQ(c->planner.demote_heat, 0.5);
	EXPECT_EQ(c->planner.model_override, "markov");
	ASSERT_EQ(c->tiers.size(), 2u);
	EXPECT_EQ(c->tiers[0].name, "nvme0");
	EXPECT_DOUBLE_EQ(c->tiers[0].latency_us, 90);
	EXPECT_EQ(c->tiers[1].name, "hdd"); // defaults to the class
	EXPECT_DOUBLE_EQ(c->tiers[1].cost_gb_month, 0.02);
}

TEST(Config, EmptyIsDefaults)
{
	auto c = parse_config("", "t.conf");
	ASSERT_TRUE(c.ok());
	EXPECT_EQ(c->socket, "/run/dm-tier/tierd.sock");
	EXPECT_EQ(c->state_dir, "/var/lib/dm-tier");
}

namespace {
std::string err(const std::string &text)
{
	auto c = parse_config(text, "t.conf");
	EXPECT_FALSE(c.ok()) << text;
	return c.ok() ? "" : c.error();
}
} // namespace

TEST(Config, ErrorsNameTheProblem)
{
	EXPECT_EQ(err("[daemon]\nround_mss = 5\n").rfind("t.conf:2: unknown key 'round_mss' in [daemon]", 0), 0u)
		<< err("[daemon]\nround_mss = 5\n");
	EXPECT_NE(err("[planner]\npromote_heat = \"hot\"\n").find("planner.promote_heat must be a number"),
		  std::string::npos);
	EXPECT_NE(err("[planner]\nfill_target = 1.5\n").find("fill_target = 1.5 is out of range"), std::string::npos);
	EXPECT_NE(err("[planner]\npromote_heat = 1\ndemote_heat = 2\n").find("hysteresis"), std::string::npos);
	EXPECT_NE(err("[[tier]]\ncost_per_gb_month = 1\n").find("tier[0] needs a class"), std::string::npos);
	EXPECT_NE(err("[[tier]]\nclass = \"ssd\"\n").find("needs cost_per_gb_month"), std::string::npos);
	EXPECT_NE(err("[daemon]\ntcp = \"0.0.0.0:1\"\n").find("token"), std::string::npos);
	EXPECT_NE(err("[daemon\n").find("t.conf:1:"), std::string::npos);
	EXPECT_NE(err("[daemon]\nround_ms = 100.5\n").find("must be an integer"), std::string::npos);
	EXPECT_NE(err("bogus = 1\n").find("unknown key 'bogus'"), std::string::npos);
}

TEST(Config, LoadSettings)
{
	auto d = parse_config("", "t.conf");
	ASSERT_TRUE(d.ok()) << d.error();
	EXPECT_EQ(d->planner.busy_rate, 5000);
	EXPECT_EQ(d->planner.lstm_cpu_budget, 0.01);
	auto c = parse_config("[planner]\nbusy_rate = 0\nlstm_cpu_budget = 0.02\n", "t.conf");
	ASSERT_TRUE(c.ok()) << c.error();
	EXPECT_EQ(c->planner.busy_rate, 0);
	EXPECT_EQ(c->planner.lstm_cpu_budget, 0.02);
	EXPECT_NE(err("[planner]\nbusy_rate = -1\n").find("busy_rate = -1 is out of range"), std::string::npos);
	EXPECT_NE(err("[planner]\nlstm_cpu_budget = 0\n").find("out of range"), std::string::npos);
}

TEST(Config, MissingFile)
{
	EXPECT_TRUE(load_config("/nonexistent/tierd.conf", false).ok());
	auto c = load_config("/nonexistent/tierd.conf", true);
	ASSERT_FALSE(c.ok());
	EXPECT_NE(c.error().find("/nonexistent/tierd.conf"), std::string::npos);
}

// Found by fuzzing (tests/fuzz/config_entry.cpp): TOML's nan passed the
// range test (every comparison with NaN is false); an integer setting then
// converted NaN to int64_t (undefined behaviour), a real one kept NaN.
TEST(Config, NanIsOutOfRange)
{
	for (const char *text : {"[daemon]\nround_ms = nan\n", "[planner]\npromote_heat = nan\n",
				 "[planner]\nfill_target = -nan\n",
				 "[[tier]]\nclass = \"nvme\"\ncost_per_gb_month = nan\n"}) {
		auto c = parse_config(text, "t.conf");
		ASSERT_FALSE(c.ok()) << text;
		EXPECT_NE(c.error().find("nan is out of range"), std::string::npos) << c.error();
	}
}
