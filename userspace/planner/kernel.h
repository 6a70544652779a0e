// SPDX-License-Identifier: GPL-2.0
// The kernel as the planner sees it: the requests a controller sends to
// dm-tier.ko.  tierd implements it over the netlink Client (NetlinkKernel);
// unit tests implement it with a fake that records batches and answers from
// a model of the pool.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "netlink/protocol.h"

namespace dmtier::planner {

using nl::BatchResult;
using nl::Command;
using nl::PoolInfo;
using nl::VolumeInfo;

class Kernel {
public:
	virtual ~Kernel() = default;
	[[nodiscard]] virtual Result<PoolInfo> get_pool(std::string_view pool) = 0;
	[[nodiscard]] virtual Result<VolumeInfo> get_volume(std::string_view pool, std::uint32_t volume) = 0;
	[[nodiscard]] virtual Result<std::vector<dm_tier_heat_entry>> dump_heat(std::string_view pool,
										 std::uint32_t volume) = 0;
	[[nodiscard]] virtual Result<BatchResult> batch(Command cmd, std::string_view pool,
							 std::span<const dm_tier_extent_cmd> cmds) = 0;
};

} // namespace dmtier::planner
