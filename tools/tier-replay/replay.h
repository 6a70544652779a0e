// SPDX-License-Identifier: GPL-2.0
// The replay loop: issues trace records through io_uring at their due times
// (schedule.h), at most iodepth at once, at the addresses AddressMap gives,
// and collects per-direction counters and latencies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "tier-replay/mapping.h"
#include "tier-replay/stats.h"
#include "trace/record.h"

namespace dmtier::replay {

struct ReplayOptions {
	double speed = 1.0;            // trace seconds per replay second
	bool timing = true;            // false: as fast as the queue depth allows
	unsigned iodepth = 32;         // most I/Os in flight
	std::uint64_t duration_ns = 0; // stop issuing after this long (0: no limit)
	bool allow_writes = false;     // false: writes are skipped and counted
};

struct ReplayResult {
	OpStats read, write;
	std::uint64_t records = 0;     // records replayed: issued or skipped
	std::uint64_t unknown_ops = 0; // of those, without read/write (issued as reads)
	std::uint64_t elapsed_ns = 0;  // from the start to the last completion
	bool stopped_by_duration = false;
	std::uint64_t late = 0;        // issued at least 1 ms after their due time
	std::uint64_t max_lag_ns = 0;  // the latest any record was issued
	unsigned max_inflight = 0;     // most I/Os in flight at once
	std::string first_error;       // the first failed I/O, if any
};

// Largest buffer memory replay() allocates (iodepth x the largest I/O).
constexpr std::uint64_t kMaxBufferBytes = 1ull << 30;

// Replays records on fd (opened with O_DIRECT; sized as map says). Fails
// only when the replay cannot run (io_uring set-up, buffer memory); failed
// I/Os are counted in the result.
[[nodiscard]] Result<ReplayResult> replay(const std::vector<trace::Record> &records, int fd,
					  const AddressMap &map, const ReplayOptions &opt);

} // namespace dmtier::replay
