// SPDX-License-Identifier: GPL-2.0
// Latency samples and their summary: mean and nearest-rank percentiles
// (the value at rank ceil(q * n) of the n sorted samples).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace dmtier::replay {

struct LatencySummary {
	std::uint64_t count = 0;
	// Microseconds; unset when there are no samples.
	std::optional<double> mean_us, min_us, p50_us, p90_us, p99_us, p999_us, max_us;
};

class LatencyRecorder {
public:
	void reserve(std::size_t n) { ns_.reserve(n); }
	void add(std::uint64_t ns) { ns_.push_back(ns); }
	std::uint64_t count() const { return ns_.size(); }
	// Sorts the samples it holds.
	LatencySummary summary();

private:
	std::vector<std::uint64_t> ns_;
};

// Nearest-rank percentile of sorted samples, q in [0, 1]; 0 when empty.
std::uint64_t percentile_sorted(const std::vector<std::uint64_t> &sorted, double q);

// Counters and latencies of one direction (reads or writes).
struct OpStats {
	std::uint64_t ios = 0;      // completed successfully
	std::uint64_t bytes = 0;    // of those
	std::uint64_t errors = 0;   // completed with an error or short
	std::uint64_t skipped = 0;  // not issued (writes without --allow-writes)
	LatencyRecorder latency;    // of the successful ones
};

} // namespace dmtier::replay
