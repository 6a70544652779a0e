// SPDX-License-Identifier: GPL-2.0
// Boot activation: the pools and volumes described in
// /etc/dm-tier/pools.d/*.toml (docs/boot.md), activated at boot by
// `tierctl boot activate` (dist/systemd/dm-tier-activate.service) and
// deactivated by `tierctl boot deactivate`.
//
// A pool is activated whole or not at all: every device of a pool is
// checked first (present, a block device, the metadata formatted, each tier
// device carrying this pool's label at its index, every volume existing in
// the metadata), and if creating the pool or one of its volumes still fails,
// what this run created is removed again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "tierd/volume_ops.h"

namespace dmtier::boot {

inline constexpr const char *kDefaultConfigDir = "/etc/dm-tier";
inline constexpr const char *kPoolsSubdir = "pools.d";

struct VolumeEntry {
	std::uint32_t id = 0;
	std::string name;	 // dm device name; default "<pool>-v<id>" (tierctl's)
	std::uint64_t size = 0;	 // bytes, a multiple of 512
};

struct PoolEntry {
	std::string file;			// the file that describes it
	std::string name;			// dm device name of the pool
	std::string metadata;			// metadata device path
	std::vector<std::string> tiers;		// tier device paths, fastest first
	std::vector<std::string> features;	// table feature arguments, in order
	std::vector<VolumeEntry> volumes;
};

struct BootConfig {
	std::vector<PoolEntry> pools;
};

// Feature names a pool file may set under [pool.features] (docs/dm-tier.md).
const std::vector<std::string> &feature_names();

// Parse one pool file (TOML text; @name names it in messages).  Errors name
// the file, line and key.
[[nodiscard]] Result<PoolEntry> parse_pool_file(const std::string &text, const std::string &name);
// Every DIR/pools.d/*.toml, in name order.  No directory, or an empty one,
// is an empty configuration.  Pool and volume names must be unique across
// files, and so must devices.
[[nodiscard]] Result<BootConfig> load_config(const std::string &dir);

// The tier-pool table of a pool (tierctl pool create/activate and boot
// activation build it here).
dm::Target pool_target(const std::string &metadata, std::uint64_t extent_sectors,
		       const std::vector<std::string> &tiers, const std::vector<std::string> &features,
		       std::uint64_t length_sectors);

// What the checks found for an inactive pool: enough to build its table.
struct PoolPlan {
	std::uint64_t extent_sectors = 0;
	std::uint64_t length_sectors = 0;	// sum of the tiers' sizes
	std::vector<std::string> warnings;	// e.g. needs_check: activates read-only
};

// Check every device of @p without changing anything.  @block_devices_only
// is false in unit tests, which use image files.
[[nodiscard]] Result<PoolPlan> check_devices(const PoolEntry &p, bool block_devices_only = true);

struct Options {
	bool block_devices_only = true;
	unsigned wait_s = 0;	// wait this long for missing device paths
	std::function<void(const std::string &)> out = [](const std::string &) {};	// progress lines
	std::function<void(const std::string &)> err = [](const std::string &) {};	// problems
};

// Activate every pool of @cfg.  A pool that fails is reported (through
// opt.err, naming the pool and the device) and left as it was before; the
// others are activated.  Returns how many pools failed.
unsigned activate(tierd::DmOps &dm, const BootConfig &cfg, const Options &opt);
// Deactivate the configured volumes and then each pool, last pool first.
// A volume still open keeps its pool active.  Returns how many pools failed.
unsigned deactivate(tierd::DmOps &dm, const BootConfig &cfg, const Options &opt);
// Check the configuration's inactive pools' devices (activate's checks,
// nothing changed).  Returns how many pools would fail.
unsigned check(tierd::DmOps &dm, const BootConfig &cfg, const Options &opt);

} // namespace dmtier::boot
