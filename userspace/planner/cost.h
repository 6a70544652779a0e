// SPDX-License-Identifier: GPL-2.0
// Running cost of a pool's volumes from the tiers' prices, and suggestions
// that trade cost for predicted latency ("demote 40 GiB cold on vol-7:
// saves $3.10/month, predicted read latency +2%").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "planner/planner.h"

namespace dmtier::planner {

struct TierCost {
	std::string name;
	std::string cls;	    // nvme | ssd | hdd | ...
	double cost_gb_month = 0; // $ per GB (1e9 bytes) and month
	double latency_us = 0;	    // expected read latency
	double iops = 0;	    // expected IOPS
};

struct VolumeCost {
	std::uint32_t volume = 0;
	std::string name;
	std::vector<std::uint64_t> bytes; // per tier, mapped
	double monthly = 0;
	double read_latency_us = 0; // heat-weighted expected latency
};

struct Suggestion {
	std::uint32_t volume = 0;
	std::uint32_t from_tier = 0, to_tier = 0;
	std::uint64_t extents = 0, bytes = 0;
	double saves_monthly = 0;
	double latency_change = 0; // fraction: +0.02 is 2% slower
	std::string text;
};

struct CostReport {
	std::vector<VolumeCost> volumes;
	double monthly = 0; // mapped data of all volumes
	double capacity_monthly = 0; // whole tiers
	std::vector<Suggestion> suggestions;
};

// tiers: the pool's tiers in order (missing prices count as 0).  names:
// volume id -> display name ("vol-<id>" when absent).  A suggestion is made
// for cold extents (score at most the planner's demote heat) on a tier with
// a cheaper tier below, when it saves at least min_saving per month.
CostReport cost_report(const PoolPlanner &p, const std::vector<TierCost> &tiers,
		       const std::map<std::uint32_t, std::string> &names, double now_ms, double min_saving = 0.01);

// "40 GiB", "1.5 GiB", "640 MiB".
std::string format_bytes(std::uint64_t b);

} // namespace dmtier::planner
