// SPDX-License-Identifier: GPL-2.0
// The replay report: what ran on what, and per-direction counts, rates and
// latency percentiles, as JSON (nlohmann) or text.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tier-replay/replay.h"
#include "tier-replay/stats.h"

namespace dmtier::replay {

struct RunInfo {
	std::string trace_path;
	std::string format;              // trace::format_name()
	bool timestamps = true;          // false: the format has none (synthetic)
	std::uint64_t trace_records = 0; // records read from the trace
	std::uint64_t trace_span_ns = 0; // last minus first timestamp
	std::string device_path;
	std::uint64_t device_bytes = 0;
	std::uint32_t logical_block = 0;
	std::uint32_t alignment = 0;
	ReplayOptions options;
	std::uint64_t max_records = 0;   // 0: no limit
};

struct DirectionSummary {
	std::uint64_t ios = 0, bytes = 0, errors = 0, skipped = 0;
	LatencySummary latency;
};

struct Report {
	RunInfo run;
	std::uint64_t records = 0, unknown_ops = 0, elapsed_ns = 0, late = 0, max_lag_ns = 0;
	unsigned max_inflight = 0;
	bool stopped_by_duration = false;
	std::string first_error;
	DirectionSummary read, write;

	std::uint64_t io_errors() const { return read.errors + write.errors; }
};

// Summarises result (sorting its latency samples).
Report make_report(RunInfo run, ReplayResult &result);
nlohmann::json to_json(const Report &r);
std::string to_text(const Report &r);

} // namespace dmtier::replay
