// SPDX-License-Identifier: GPL-2.0
// Phases of a volume's hot set: per planning round the caller passes the
// volume's active extents (those accessed repeatedly in the round); the
// tracker tells when the active set moved away from the current phase's
// (a phase change), whether the new one is a phase seen before, and learns
// which phase follows which and for how long each lasts.  A working set that
// moves (a daily batch after the OLTP hours, a VM's boot / app / idle
// cycle, a rotating index) thus becomes a forecast: the phase that usually
// follows the current one, and its extents.
//
// A phase is a set of extents weighed by the share of the phase's rounds in
// which each was active: an extent active in few of them (the rounds where
// one phase turns into the next hold both) is not a member.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "predictor/model_file.h"

namespace dmtier::planner {

struct PhaseConfig {
	// The active set is the current phase while at least this share of it
	// belongs to the phase; the same test matches a known phase.
	double min_overlap = 0.5;
	// Fewer active extents than this: no information (idle, scans).
	std::uint32_t min_active = 2;
	// Members: active in at least this share of the phase's rounds.
	double member_share = 0.25;
	// Phases remembered per volume (least recently seen ones go).
	std::uint32_t max_phases = 16;
	// Extents remembered per phase.
	std::uint32_t max_members = 4096;
	// A successor is forecast once seen after the phase this many times
	// and in at least successor_share of its departures.
	std::uint32_t min_successions = 2;
	double successor_share = 0.5;
};

class PhaseTracker {
public:
	explicit PhaseTracker(PhaseConfig c = {}) : c_(c) {}

	struct Change {
		bool changed = false;
		bool known = false; // the new phase was seen before
		std::int64_t from = -1, to = -1;
		// The active extents that are not the old phase's (sorted as
		// given): the new phase's, as seen so far.
		std::vector<std::uint64_t> fresh;
	};
	// One planning round's active extents (any order, no duplicates).
	Change observe(double now_ms, const std::vector<std::uint64_t> &active);

	struct Forecast {
		std::int64_t phase = -1;
		double at_ms = 0;	// predicted start of that phase
		double confidence = 0;	// its share of the current phase's departures
	};
	// The phase expected after the current one, if learned.
	std::optional<Forecast> next() const;

	std::int64_t current() const { return cur_; }
	double started_ms() const { return start_ms_; }
	bool is_member(std::int64_t phase, std::uint64_t extent) const;
	// Members, most active first.
	std::vector<std::uint64_t> members(std::int64_t phase) const;
	std::size_t phases() const { return ph_.size(); }

	// Forecast outcomes: changes that had a forecast, and those that
	// went to the forecast phase.
	std::uint64_t changes = 0, forecasts = 0, forecasts_right = 0;

	// The learnt phases, to survive a restart; load returns false on a
	// payload it cannot use (and then knows no phase).
	void save(predictor::PayloadWriter *w) const;
	bool load(predictor::PayloadReader *r);

private:
	struct Phase {
		std::unordered_map<std::uint64_t, std::uint32_t> weight; // rounds active
		std::uint32_t rounds = 0;
		std::uint32_t visits = 0;
		double mean_ms = 0; // mean duration of a visit
		double last_ms = 0;
		std::map<std::int64_t, std::uint32_t> next; // successor -> count
	};
	bool member(const Phase &p, std::uint64_t x) const;
	double overlap(const Phase &p, const std::vector<std::uint64_t> &active) const;
	void add(Phase &p, const std::vector<std::uint64_t> &active, double now_ms);

	PhaseConfig c_;
	std::map<std::int64_t, Phase> ph_;
	std::int64_t cur_ = -1, next_id_ = 0;
	double start_ms_ = 0;
};

} // namespace dmtier::planner
