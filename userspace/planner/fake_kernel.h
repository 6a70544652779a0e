// SPDX-License-Identifier: GPL-2.0
// A fake planner::Kernel for unit tests: records every batch, answers
// queries from fields the test sets, and fails on demand.
#pragma once

#include <map>
#include <utility>

#include "planner/kernel.h"

namespace dmtier::planner {

class FakeKernel : public Kernel {
public:
	PoolInfo pool;
	std::map<std::uint32_t, VolumeInfo> volumes;
	std::map<std::uint32_t, std::vector<dm_tier_heat_entry>> heat;
	std::vector<std::pair<Command, std::vector<dm_tier_extent_cmd>>> sent;
	int fail_errno = 0;	  // every batch fails with this errno
	std::uint32_t reject = 0; // entries to reject per batch (from the end)

	Result<PoolInfo> get_pool(std::string_view) override
	{
		if (fail_errno)
			return make_error("fake get_pool failure", fail_errno);
		return pool;
	}
	Result<VolumeInfo> get_volume(std::string_view, std::uint32_t v) override
	{
		auto it = volumes.find(v);
		if (it == volumes.end())
			return make_error("no such volume", 2);
		return it->second;
	}
	Result<std::vector<dm_tier_heat_entry>> dump_heat(std::string_view, std::uint32_t v) override
	{
		return heat[v];
	}
	Result<BatchResult> batch(Command c, std::string_view, std::span<const dm_tier_extent_cmd> cmds) override
	{
		if (fail_errno)
			return make_error("fake batch failure", fail_errno);
		sent.emplace_back(c, std::vector<dm_tier_extent_cmd>(cmds.begin(), cmds.end()));
		BatchResult r;
		r.rejected = std::min<std::uint32_t>(reject, std::uint32_t(cmds.size()));
		r.accepted = std::uint32_t(cmds.size()) - r.rejected;
		return r;
	}
	std::size_t count(Command c) const
	{
		std::size_t n = 0;
		for (const auto &[k, v] : sent)
			if (k == c)
				n += v.size();
		return n;
	}
};

} // namespace dmtier::planner
