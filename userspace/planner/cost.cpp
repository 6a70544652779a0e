// SPDX-License-Identifier: GPL-2.0
#include "planner/cost.h"

#include <cmath>
#include <cstdio>

namespace dmtier::planner {

std::string format_bytes(std::uint64_t b)
{
	char buf[64];
	double g = double(b) / double(1ULL << 30);
	if (g >= 10)
		std::snprintf(buf, sizeof buf, "%.0f GiB", g);
	else if (g >= 1)
		std::snprintf(buf, sizeof buf, "%.1f GiB", g);
	else
		std::snprintf(buf, sizeof buf, "%.0f MiB", double(b) / double(1 << 20));
	return buf;
}

namespace {

double price(const std::vector<TierCost> &t, std::size_t i) { return i < t.size() ? t[i].cost_gb_month : 0; }
double latency(const std::vector<TierCost> &t, std::size_t i) { return i < t.size() ? t[i].latency_us : 0; }

} // namespace

CostReport cost_report(const PoolPlanner &p, const std::vector<TierCost> &tiers,
		       const std::map<std::uint32_t, std::string> &names, double now_ms, double min_saving)
{
	CostReport r;
	const auto &cfg = p.config();
	const std::uint64_t eb = p.extent_bytes();
	const std::size_t nt = p.pool_info().tiers.size();
	for (std::size_t t = 0; t < nt; t++)
		r.capacity_monthly += double(p.pool_info().tiers[t].total * eb) / 1e9 * price(tiers, t);

	for (const auto &[id, v] : p.volumes()) {
		VolumeCost vc;
		vc.volume = id;
		auto n = names.find(id);
		vc.name = n != names.end() ? n->second : "vol-" + std::to_string(id);
		vc.bytes.assign(nt, 0);
		std::vector<std::uint64_t> cold(nt, 0);
		std::vector<double> cold_heat(nt, 0);
		double heat_sum = 0, lat_sum = 0;
		for (const auto &[x, e] : v.extents) {
			if (e.tier >= nt)
				continue;
			vc.bytes[e.tier] += eb;
			double s = v.score(e, now_ms, cfg.half_life_ms, cfg.predicted_weight);
			heat_sum += s;
			lat_sum += s * latency(tiers, e.tier);
			if (s <= cfg.demote_heat && !(e.flags & DM_TIER_HEAT_PINNED)) {
				cold[e.tier]++;
				cold_heat[e.tier] += s;
			}
		}
		for (std::size_t t = 0; t < nt; t++)
			vc.monthly += double(vc.bytes[t]) / 1e9 * price(tiers, t);
		vc.read_latency_us = heat_sum > 0 ? lat_sum / heat_sum : 0;
		r.monthly += vc.monthly;

		for (std::size_t t = 0; t + 1 < nt; t++) {
			if (!cold[t] || price(tiers, t + 1) >= price(tiers, t))
				continue;
			Suggestion s;
			s.volume = id;
			s.from_tier = std::uint32_t(t);
			s.to_tier = std::uint32_t(t + 1);
			s.extents = cold[t];
			s.bytes = cold[t] * eb;
			s.saves_monthly = double(s.bytes) / 1e9 * (price(tiers, t) - price(tiers, t + 1));
			if (s.saves_monthly < min_saving)
				continue;
			double after = heat_sum > 0 ? (lat_sum + cold_heat[t] * (latency(tiers, t + 1) - latency(tiers, t))) /
							      heat_sum
						    : 0;
			s.latency_change = vc.read_latency_us > 0 ? after / vc.read_latency_us - 1 : 0;
			char buf[256];
			std::string from = t < tiers.size() && !tiers[t].name.empty() ? tiers[t].name : "tier " + std::to_string(t);
			std::snprintf(buf, sizeof buf,
				      "demote %s cold on %s from %s: saves $%.2f/month, predicted read latency %+.0f%%",
				      format_bytes(s.bytes).c_str(), vc.name.c_str(), from.c_str(), s.saves_monthly,
				      s.latency_change * 100);
			s.text = buf;
			r.suggestions.push_back(std::move(s));
		}
		r.volumes.push_back(std::move(vc));
	}
	return r;
}

} // namespace dmtier::planner
