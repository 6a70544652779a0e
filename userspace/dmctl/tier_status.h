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

} // namespace dmtier::dm
