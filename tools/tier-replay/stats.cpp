// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/stats.h"

#include <algorithm>
#include <cmath>

namespace dmtier::replay {

std::uint64_t percentile_sorted(const std::vector<std::uint64_t> &sorted, double q)
{
	if (sorted.empty())
		return 0;
	q = std::clamp(q, 0.0, 1.0);
	auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()) - 1e-9));
	return sorted[rank == 0 ? 0 : rank - 1];
}

LatencySummary LatencyRecorder::summary()
{
	LatencySummary s;
	s.count = ns_.size();
	if (ns_.empty())
		return s;
	std::sort(ns_.begin(), ns_.end());
	long double sum = 0;
	for (auto v : ns_)
		sum += v;
	auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
	s.mean_us = static_cast<double>(sum / ns_.size()) / 1000.0;
	s.min_us = us(ns_.front());
	s.max_us = us(ns_.back());
	s.p50_us = us(percentile_sorted(ns_, 0.50));
	s.p90_us = us(percentile_sorted(ns_, 0.90));
	s.p99_us = us(percentile_sorted(ns_, 0.99));
	s.p999_us = us(percentile_sorted(ns_, 0.999));
	return s;
}

} // namespace dmtier::replay
