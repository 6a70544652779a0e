// SPDX-License-Identifier: GPL-2.0
// Fuzz entry for the TOML configuration parsers: tierd.conf
// (userspace/tierd/config.cpp) and the boot activation pool files
// (userspace/boot, /etc/dm-tier/pools.d/*.toml).
//
// Input: TOML text, given to both parsers.
// Rules: an error has a message; an accepted tierd.conf keeps its
// documented invariants (demote_heat < promote_heat, ratios in [0, 1],
// no NaN).
#include <cmath>

#include "boot/boot.h"
#include "fuzz_util.h"
#include "tierd/config.h"

namespace dmtier::fuzz {

int config(const std::uint8_t *data, std::size_t size)
{
	std::string text(reinterpret_cast<const char *>(data), size);
	auto c = tierd::parse_config(text, "fuzz.conf");
	if (!c) {
		if (c.error().empty())
			fail("config", "parse_config() failed without a message");
	} else {
		const auto &p = c->planner;
		if (!(p.demote_heat < p.promote_heat))
			fail("config", "accepted demote_heat >= promote_heat");
		for (double v : std::initializer_list<double>{p.promote_heat, p.demote_heat, p.swap_ratio, p.swap_margin, p.fill_target,
				 p.half_life_ms, p.predicted_weight, p.prefetch_threshold, p.hit_ratio_high,
				 p.hit_ratio_low, p.retier_deviation, p.lstm_cpu_budget, p.busy_rate})
			if (!std::isfinite(v))
				fail("config", "accepted a number that is not finite");
		for (const auto &t : c->tiers)
			if (!std::isfinite(t.cost_gb_month) || !std::isfinite(t.latency_us) || !std::isfinite(t.iops))
				fail("config", "accepted a tier figure that is not finite");
	}
	auto p = boot::parse_pool_file(text, "fuzz.toml");
	if (!p && p.error().empty())
		fail("config", "parse_pool_file() failed without a message");
	return 0;
}

} // namespace dmtier::fuzz
