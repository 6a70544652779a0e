// SPDX-License-Identifier: GPL-2.0
// tierd's configuration: /etc/dm-tier/tierd.conf (TOML).  The tier
// definitions (class, price, expected latency and IOPS) are the one source
// of truth for cost reports; [planner] tunes the planner; [daemon] sets
// paths and timing.  Unknown keys, wrong types and values out of range are
// errors naming the file, line and key: a bad file changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "planner/cost.h"
#include "planner/planner.h"

namespace dmtier::tierd {

inline constexpr const char *kDefaultConfig = "/etc/dm-tier/tierd.conf";

struct Config {
	// [daemon]
	std::uint32_t round_ms = 1000;	       // planning round
	std::string state_dir = "/var/lib/dm-tier";
	std::string socket = "/run/dm-tier/tierd.sock";
	std::string tcp;		       // "HOST:PORT"; empty: no TCP
	std::string token_file;		       // bearer token for TCP (required with tcp)
	std::uint32_t save_interval_s = 30;
	std::uint32_t rediscover_s = 5;	       // look for new pools this often
	bool takeover = false;		       // take pools from another controller
	// [[tier]], tier 0 first.
	std::vector<planner::TierCost> tiers;
	// [planner]
	planner::PlannerConfig planner;
};

// Parse TOML text (name: the file name for messages).
[[nodiscard]] Result<Config> parse_config(const std::string &text, const std::string &name);
// Read and parse a file.  A missing file is an error only when required.
[[nodiscard]] Result<Config> load_config(const std::string &path, bool required);

} // namespace dmtier::tierd
