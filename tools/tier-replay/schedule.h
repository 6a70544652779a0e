// SPDX-License-Identifier: GPL-2.0
// When each trace record is issued: due times from the trace's clock (or
// none), and a Scheduler that decides, for a given time and number of I/Os
// in flight, whether to issue the next record, wait, or stop. Pure logic:
// the replay loop asks it and does the I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "trace/record.h"

namespace dmtier::replay {

// Due time of each record, in ns after the replay starts: (t_i - t_0) /
// speed, where t_0 is the first record's time. Records are issued in trace
// order, so a timestamp earlier than one before it is due with that one.
// timing false: every record is due at once (as fast as the queue allows).
std::vector<std::uint64_t> due_times(const std::vector<trace::Record> &records, double speed,
				     bool timing);

class Scheduler {
public:
	// iodepth: most I/Os in flight (at least 1). duration_ns: stop issuing
	// at that time (0: no limit).
	Scheduler(std::vector<std::uint64_t> due, unsigned iodepth, std::uint64_t duration_ns);

	enum class Action {
		issue,           // issue record index() now, then call advance()
		wait_until,      // nothing to issue before until_ns(): reap completions meanwhile
		wait_completion, // the queue is full or nothing is left to issue: wait for one
		done,            // nothing left to issue and nothing in flight
	};
	struct Step {
		Action action;
		std::size_t index = 0;        // issue: the record
		std::uint64_t until_ns = 0;   // wait_until: when to ask again
	};

	// now_ns: time since the replay started; inflight: I/Os not yet completed.
	// Once now_ns reaches the duration, nothing more is issued.
	Step next(std::uint64_t now_ns, unsigned inflight);
	// The record next() returned was issued (or skipped) at now_ns.
	void advance(std::uint64_t now_ns);

	std::size_t position() const { return pos_; }
	// next() stopped issuing because the duration ran out.
	bool stopped_by_duration() const { return pos_ < due_.size() && stopped_; }
	// How far behind its due time a record was issued: the largest lag and
	// the number issued at least late_threshold_ns late.
	std::uint64_t max_lag_ns() const { return max_lag_ns_; }
	std::uint64_t late_count() const { return late_; }
	static constexpr std::uint64_t late_threshold_ns = 1'000'000;

private:
	std::vector<std::uint64_t> due_;
	unsigned depth_;
	std::uint64_t duration_ns_;
	std::size_t pos_ = 0;
	bool stopped_ = false;
	std::uint64_t max_lag_ns_ = 0;
	std::uint64_t late_ = 0;
};

} // namespace dmtier::replay
