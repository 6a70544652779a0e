// SPDX-License-Identifier: GPL-2.0
#include "cost.h"

#include <cstdio>
#include <sstream>

#include "heatmap.h"

namespace dmtier::tierctl {

using json = nlohmann::json;

namespace {

std::string money(double v)
{
	char b[32];
	snprintf(b, sizeof(b), "$%.2f", v);
	return b;
}

} // namespace

Result<std::string> render_cost(const json &r, const std::vector<planner::TierCost> &tiers)
{
	std::ostringstream o;
	try {
		const std::string cur = r.value("currency", "USD");
		o << "pool " << r.at("pool").get<std::string>() << ": " << money(r.at("monthly").get<double>())
		  << " per month for mapped data, " << money(r.at("capacity_monthly").get<double>())
		  << " for the tiers' whole capacity (" << cur << ")\n";
		if (!tiers.empty()) {
			o << "prices (tierd.conf):";
			for (size_t t = 0; t < tiers.size(); t++) {
				char b[160];
				snprintf(b, sizeof(b), "%s tier %zu %s (%s) $%.3f/GB-month", t ? "," : "", t,
					 tiers[t].name.c_str(), tiers[t].cls.c_str(), tiers[t].cost_gb_month);
				o << b;
			}
			o << "\n";
		}
		if (r.contains("warning") && r["warning"].is_string())
			o << "warning: " << r["warning"].get<std::string>() << "\n";
		const json &vols = r.at("volumes");
		o << "\n";
		char b[512];
		snprintf(b, sizeof(b), "  %-20s %12s %14s  %s", "VOLUME", "PER MONTH", "READ LATENCY", "MAPPED PER TIER");
		o << b << "\n";
		for (const auto &v : vols) {
			std::string per;
			const json &bt = v.at("bytes_per_tier");
			for (size_t t = 0; t < bt.size(); t++) {
				std::string n = t < tiers.size() ? tiers[t].name : "tier " + std::to_string(t);
				per += (t ? ", " : "") + n + " " + human_bytes(bt[t].get<std::uint64_t>());
			}
			std::string name = std::to_string(v.at("volume").get<unsigned>()) + " " + v.value("name", "");
			char lat[32];
			snprintf(lat, sizeof(lat), "%.0f us", v.value("read_latency_us", 0.0));
			snprintf(b, sizeof(b), "  %-20.20s %12s %14s  %s", name.c_str(), money(v.at("monthly").get<double>()).c_str(),
				 lat, per.c_str());
			o << b << "\n";
		}
		if (vols.empty())
			o << "  (no volumes)\n";
		const json &sug = r.at("suggestions");
		o << "\nsuggestions:" << (sug.empty() ? " none (no cold data on a tier with a cheaper one below)" : "") << "\n";
		for (const auto &s : sug)
			o << "  " << s.at("text").get<std::string>() << "\n";
	} catch (const json::exception &e) {
		return make_error(std::string("unexpected cost report from tierd: ") + e.what(), EPROTO);
	}
	return o.str();
}

} // namespace dmtier::tierctl
