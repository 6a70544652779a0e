// SPDX-License-Identifier: GPL-2.0
// The tier-pool and tier targets' status lines (docs/dm-tier.md), parsed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace dmtier::dm {

struct TierUsage {
	uint64_t used = 0, total = 0;
};

struct PoolStatus {
	uint64_t meta_used = 0, meta_total = 0;
	std::vector<TierUsage> tiers;
	unsigned nr_volumes = 0;
	std::string mode;		// rw | ro | fail
	bool needs_check = false;
	bool out_of_space = false;
	std::string policy;		// fallback | controller | off
	uint64_t migrations_done = 0, migrations_failed = 0, migrations_throttled = 0;
	unsigned migrations_queued = 0, migrations_in_flight = 0;
	uint64_t bytes_moved = 0;
	std::string evacuation;		// "-", "evacuating:N:LEFT", "evacuated:N:0"
};

// Parse the params of a tier-pool status line (after "<start> <len> tier-pool").
Result<PoolStatus> parse_pool_status(const std::string &params);
// Per-tier mapped extents of a tier (volume) status line.
Result<std::vector<uint64_t>> parse_volume_status(const std::string &params);

// "tier <pool_dev> <volume_id>" table params of a volume.
struct VolumeTable {
	std::string pool_dev;
	uint32_t id = 0;
};
Result<VolumeTable> parse_volume_table(const std::string &params);

// "<metadata_dev> <extent_sectors> <nr_tiers> <tier_dev>... [<#features> <feature>...]"
// table params of a pool (devices as the kernel prints them, "major:minor").
struct PoolTable {
	std::string metadata_dev;
	std::uint64_t extent_sectors = 0;
	std::vector<std::string> tier_devs;
	std::vector<std::string> features;	// without the count
};
Result<PoolTable> parse_pool_table(const std::string &params);
std::string format_pool_table(const PoolTable &t);

// The evacuation field of the pool status: "-", "evacuating:N:LEFT" or
// "evacuated:N:0".
struct Evacuation {
	bool active = false;	// evacuating or evacuated
	bool done = false;	// evacuated
	unsigned tier = 0;
	std::uint64_t left = 0;
};
Result<Evacuation> parse_evacuation(const std::string &field);

} // namespace dmtier::dm
