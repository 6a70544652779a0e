// SPDX-License-Identifier: GPL-2.0
// tierctl top: per-volume IOPS, throughput, tier mix, fast-tier hit ratio,
// prefetch hits and migrations from two samples of the kernel's pool
// status, volume profiles (get_profile) and heat.  Pure functions: main.cpp
// samples, these compute and render.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "dmctl/tier_status.h"

namespace dmtier::tierctl {

// The reply of the pool message get_profile <id>.
struct Profile {
	std::uint64_t reads = 0, writes = 0, read_bytes = 0, write_bytes = 0, sequential = 0;
	std::uint64_t prefetch_hits = 0, prefetch_misses = 0;
	std::uint32_t queued = 0, migrating = 0;
};
[[nodiscard]] Result<Profile> parse_profile(const std::string &reply);

struct VolSample {
	std::uint32_t id = 0;
	std::string device;			// dm name
	Profile profile;
	std::vector<std::uint64_t> mapped;	// per tier
	double heat_total = 0, heat_fast = 0;	// decayed reads + writes, all / on tier 0
};

struct PoolSample {
	std::string name;
	dm::PoolStatus status;
	unsigned inactive_volumes = 0;
	std::vector<VolSample> volumes;
};

struct Sample {
	double time_s = 0;	// monotonic
	std::vector<PoolSample> pools;
};

struct VolRow {
	std::uint32_t id = 0;
	std::string device;
	double read_iops = 0, write_iops = 0, read_mbps = 0, write_mbps = 0;	// MiB/s
	std::vector<double> mix;	// share of mapped extents per tier
	std::uint64_t mapped = 0;
	double fast_hit = -1;		// share of heat on tier 0; -1: no heat
	double prefetch_hit = -1;	// over the interval; -1: no outcome
	std::uint32_t queued = 0, migrating = 0;
};

struct PoolRow {
	std::string name;
	dm::PoolStatus status;
	unsigned inactive_volumes = 0;
	double migrations_per_s = 0, moved_mbps = 0;
	std::uint64_t failed_delta = 0;
	std::vector<VolRow> volumes;
};

// Rates between prev and cur (a volume or pool absent from prev has rates 0).
std::vector<PoolRow> top_rows(const Sample &prev, const Sample &cur);
// One screen: a header line, then per pool a line and a volume table.
std::string render_top(const std::vector<PoolRow> &rows, double interval_s, unsigned columns);
nlohmann::json top_json(const std::vector<PoolRow> &rows, double interval_s);

} // namespace dmtier::tierctl
