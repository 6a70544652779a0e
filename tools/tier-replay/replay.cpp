// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include "tier-replay/ring.h"
#include "tier-replay/schedule.h"

namespace dmtier::replay {

namespace {

struct FreeDeleter {
	void operator()(void *p) const { std::free(p); }
};

std::uint64_t mono_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

void sleep_ns(std::uint64_t ns)
{
	timespec ts{static_cast<time_t>(ns / 1'000'000'000u), static_cast<long>(ns % 1'000'000'000u)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

struct Slot {
	std::uint64_t submit_ns = 0;
	std::uint64_t offset = 0;
	std::uint32_t length = 0;
	bool write = false;
};

} // namespace

Result<ReplayResult> replay(const std::vector<trace::Record> &records, int fd, const AddressMap &map,
			    const ReplayOptions &opt)
{
	const unsigned depth = std::max(opt.iodepth, 1u);
	std::vector<MappedIo> io(records.size());
	std::uint64_t max_len = map.alignment();
	for (std::size_t i = 0; i < records.size(); ++i) {
		io[i] = map.map(records[i].offset, records[i].length);
		max_len = std::max<std::uint64_t>(max_len, io[i].length);
	}
	if (max_len * depth > kMaxBufferBytes)
		return make_error("iodepth " + std::to_string(depth) + " x the largest I/O (" +
				  std::to_string(max_len) + " bytes) needs more than " +
				  std::to_string(kMaxBufferBytes >> 20) + " MiB of buffers: lower --iodepth");
	void *raw = nullptr;
	if (posix_memalign(&raw, std::max<std::size_t>(map.alignment(), 4096), max_len * depth) != 0)
		return make_error("cannot allocate " + std::to_string(max_len * depth) + " bytes of buffers");
	std::unique_ptr<void, FreeDeleter> buffers(raw);
	// What writes write: a recognisable pattern rather than zeros.
	std::memset(raw, 0x5a, max_len * depth);
	auto buf = [&](unsigned slot) { return static_cast<char *>(raw) + std::uint64_t{slot} * max_len; };

	auto ring = Ring::create(depth);
	if (!ring)
		return std::move(ring).take_error();

	ReplayResult res;
	res.read.latency.reserve(records.size());
	if (opt.allow_writes)
		res.write.latency.reserve(records.size());
	Scheduler sched(due_times(records, opt.speed, opt.timing), depth, opt.duration_ns);
	std::vector<Slot> slots(depth);
	std::vector<unsigned> free_slots, batch;
	for (unsigned s = depth; s-- > 0;)
		free_slots.push_back(s);
	unsigned inflight = 0;
	std::vector<Completion> done(depth);

	const std::uint64_t t0 = mono_ns();
	auto now = [&] { return mono_ns() - t0; };

	for (;;) {
		std::uint64_t t = now();
		auto step = sched.next(t, inflight);
		while (step.action == Scheduler::Action::issue) {
			const trace::Record &r = records[step.index];
			const MappedIo &m = io[step.index];
			bool write = r.op == trace::Op::write;
			if (write && !opt.allow_writes) {
				++res.write.skipped;
			} else {
				unsigned s = free_slots.back();
				bool queued = write ? ring->queue_write(fd, buf(s), m.length, m.offset, s)
						    : ring->queue_read(fd, buf(s), m.length, m.offset, s);
				if (!queued) // cannot happen: the ring has depth entries, submitted each batch
					return make_error("io_uring submission queue full");
				free_slots.pop_back();
				slots[s] = {0, m.offset, m.length, write};
				res.unknown_ops += r.op == trace::Op::unknown;
				batch.push_back(s);
				res.max_inflight = std::max(res.max_inflight, ++inflight);
			}
			++res.records;
			sched.advance(t);
			step = sched.next(t, inflight);
		}
		if (!batch.empty()) {
			std::uint64_t ts = now();
			for (unsigned s : batch)
				slots[s].submit_ns = ts;
			batch.clear();
			if (auto st = ring->submit(); !st)
				return make_error(st.error(), st.code());
		}
		if (step.action == Scheduler::Action::done)
			break;
		std::uint64_t timeout = 0;
		if (step.action == Scheduler::Action::wait_until) {
			t = now();
			if (step.until_ns <= t)
				continue;
			timeout = step.until_ns - t;
			if (inflight == 0) {
				sleep_ns(timeout);
				continue;
			}
		}
		auto n = ring->reap(done.data(), static_cast<unsigned>(done.size()), timeout);
		if (!n)
			return std::move(n).take_error();
		if (*n == 0)
			continue;
		std::uint64_t tc = now();
		for (unsigned i = 0; i < *n; ++i) {
			auto s = static_cast<unsigned>(done[i].user_data);
			const Slot &sl = slots[s];
			OpStats &st = sl.write ? res.write : res.read;
			if (done[i].res == static_cast<int>(sl.length)) {
				++st.ios;
				st.bytes += sl.length;
				st.latency.add(tc - sl.submit_ns);
			} else {
				++st.errors;
				if (res.first_error.empty())
					res.first_error =
						std::string(sl.write ? "write" : "read") + " of " +
						std::to_string(sl.length) + " bytes at " + std::to_string(sl.offset) +
						(done[i].res < 0 ? std::string(" failed: ") + std::strerror(-done[i].res)
								 : " was short: " + std::to_string(done[i].res) + " bytes");
			}
			free_slots.push_back(s);
			--inflight;
		}
	}
	res.elapsed_ns = now();
	res.stopped_by_duration = sched.stopped_by_duration();
	res.late = sched.late_count();
	res.max_lag_ns = sched.max_lag_ns();
	return res;
}

} // namespace dmtier::replay
