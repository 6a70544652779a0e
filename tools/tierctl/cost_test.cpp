// SPDX-License-Identifier: GPL-2.0
#include "cost.h"

#include <gtest/gtest.h>

using namespace dmtier::tierctl;
using json = nlohmann::json;

namespace {

json report()
{
	return json::parse(R"({"pool": "tank", "currency": "USD", "monthly": 12.5, "capacity_monthly": 40,
		"volumes": [{"volume": 7, "name": "vm7", "bytes_per_tier": [42949672960, 1048576, 0], "monthly": 8.59,
			     "read_latency_us": 140.2}],
		"suggestions": [{"volume": 7, "from_tier": 0, "to_tier": 1, "bytes": 42949672960, "saves_monthly": 5.15,
				 "latency_change": 0.0,
				 "text": "demote 40 GiB cold on vm7 from nvme: saves $5.15/month, predicted read latency +0%"}]})");
}

std::vector<dmtier::planner::TierCost> tiers()
{
	dmtier::planner::TierCost a, b;
	a.name = "nvme";
	a.cls = "nvme";
	a.cost_gb_month = 0.2;
	b.name = "ssd";
	b.cls = "ssd";
	b.cost_gb_month = 0.08;
	return {a, b};
}

} // namespace

TEST(Cost, RendersReportPricesAndSuggestions)
{
	auto s = render_cost(report(), tiers());
	ASSERT_TRUE(s.ok()) << s.error();
	EXPECT_NE(s->find("pool tank: $12.50 per month for mapped data, $40.00 for the tiers' whole capacity"),
		  std::string::npos) << *s;
	EXPECT_NE(s->find("tier 0 nvme (nvme) $0.200/GB-month, tier 1 ssd (ssd) $0.080/GB-month"), std::string::npos)
		<< *s;
	EXPECT_NE(s->find("7 vm7"), std::string::npos);
	EXPECT_NE(s->find("$8.59"), std::string::npos);
	EXPECT_NE(s->find("140 us"), std::string::npos);
	EXPECT_NE(s->find("nvme 40 GiB, ssd 1 MiB, tier 2 0 B"), std::string::npos) << *s;
	EXPECT_NE(s->find("  demote 40 GiB cold on vm7 from nvme: saves $5.15/month"), std::string::npos);
}

TEST(Cost, NoSuggestionsAndWarning)
{
	json r = report();
	r["suggestions"] = json::array();
	r["warning"] = "the config defines 2 of the pool's 3 tiers; the others are priced at 0";
	auto s = render_cost(r, {});
	ASSERT_TRUE(s.ok()) << s.error();
	EXPECT_NE(s->find("suggestions: none"), std::string::npos);
	EXPECT_NE(s->find("warning: the config defines 2"), std::string::npos);
	EXPECT_EQ(s->find("prices (tierd.conf)"), std::string::npos);
}

TEST(Cost, RefusesMalformedReports)
{
	json r = report();
	r.erase("volumes");
	EXPECT_FALSE(render_cost(r, tiers()).ok());
	r = report();
	r["monthly"] = "a lot";
	EXPECT_FALSE(render_cost(r, tiers()).ok());
	EXPECT_FALSE(render_cost(json::array(), tiers()).ok());
}
