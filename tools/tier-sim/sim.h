// SPDX-License-Identifier: GPL-2.0
// tier-sim core: replays a trace against a model of a two-tier pool under a
// placement policy and reports what the fast tier bought.
//
// Model: tier 0 (fast) holds a fixed number of extents; every extent lives
// on tier 1 until promoted. An access to an extent on tier 0 is a hit. Each
// device has a per-I/O latency and a bandwidth; user I/O and migration
// traffic (read on the source, write on the destination) share the
// bandwidth, so migrations slow user I/O down. Promotions draw on a
// migration budget (a token bucket refilled per access) that is the same for
// every policy. IOPS limits and queue depth are not modelled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/reader.h"
#include "trace/result.h"

namespace dmtier::tiersim {

struct TierSpec {
	double latency_us;
	double bandwidth_mb_s; // 10^6 bytes per second
	double price_gb_month; // $ per GB-month of capacity
};

struct SimConfig {
	std::uint64_t extent_size = 1 << 20;
	double tier0_fraction = 0.10;     // of the trace's footprint ...
	std::uint64_t tier0_extents = 0;  // ... unless set explicitly
	TierSpec tier0{100, 2000, 0.15};  // NVMe-class
	TierSpec tier1{2000, 200, 0.03};  // capacity class
	double budget_per_access = 0.1;   // promotions allowed per extent access
	double budget_burst = 64;         // token bucket depth
	std::string policy = "lru";
	std::size_t prefetch_depth = 4;   // predictions considered per transition
	double prefetch_min_probability = 0.05;
	// Fallback rules, with the kernel's defaults.
	double high_watermark = 0.90, low_watermark = 0.80;
	double fallback_promote_threshold = 4;    // decayed accesses that earn a promotion
	double fallback_interval_s = 1.0;         // policy round; heat halves once per round
	std::uint64_t fallback_residency_rounds = 10; // rounds an extent stays put after a move
	double speedup = 1.0;               // replay faster than the trace's clock
	double pace = 0;                    // records per second, ignoring timestamps (0: honour them)
	std::size_t timeline_buckets = 100;
	std::size_t heat_bins = 64;
};

// Policy names tier-sim accepts.
const std::vector<std::string> &policy_names();

struct TimelinePoint {
	std::uint64_t accesses = 0;
	double hit_ratio = 0;   // within the bucket
	double time_s = 0;      // arrival time of the bucket's last record
};

struct VolumeResult {
	std::uint64_t accesses = 0, hits = 0, transitions = 0;
	std::string model; // auto: the volume's active model at the end
};

struct SimResult {
	std::string policy;
	std::uint64_t records = 0, accesses = 0, transitions = 0;
	std::uint64_t footprint_extents = 0, tier0_extents = 0;
	std::uint64_t hits = 0;
	double hit_ratio = 0;
	double mean_latency_us = 0, p99_latency_us = 0;
	std::uint64_t promotions = 0, demotions = 0, bytes_migrated = 0;
	std::uint64_t budget_denied = 0;
	std::uint64_t prefetches = 0, prefetch_used = 0, prefetch_late = 0;
	double prefetch_precision = 0, prefetch_coverage = 0, prefetch_lateness = 0;
	double cost_per_gb_month = 0;
	std::uint64_t predictions = 0;     // predict() calls
	double predict_seconds = 0;        // time inside observe()+predict()
	std::size_t model_bytes_max = 0;   // largest per-volume predictor state
	std::size_t volumes = 0;
	double wall_seconds = 0;
	std::string selector_choice;       // auto: active model per volume (summary)
	std::vector<TimelinePoint> timeline;
	std::vector<VolumeResult> per_volume; // indexed by the trace's volume id
	// heat[t][b]: accesses in time bucket t to extent bin b.
	std::vector<std::vector<std::uint32_t>> heat;
};

[[nodiscard]] Result<SimResult> simulate(const trace::Trace &t, const SimConfig &cfg);

// One CSV header and row per result.
std::string csv_header();
std::string csv_row(const std::string &trace_name, const SimResult &r);

} // namespace dmtier::tiersim
