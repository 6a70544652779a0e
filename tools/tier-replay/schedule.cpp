// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/schedule.h"

#include <algorithm>

namespace dmtier::replay {

std::vector<std::uint64_t> due_times(const std::vector<trace::Record> &records, double speed,
				     bool timing)
{
	std::vector<std::uint64_t> due(records.size(), 0);
	if (!timing || records.empty() || speed <= 0)
		return due;
	std::uint64_t t0 = records.front().time_ns, last = 0;
	for (std::size_t i = 0; i < records.size(); ++i) {
		std::uint64_t t = records[i].time_ns > t0 ? records[i].time_ns - t0 : 0;
		last = std::max(last, static_cast<std::uint64_t>(static_cast<double>(t) / speed));
		due[i] = last;
	}
	return due;
}

Scheduler::Scheduler(std::vector<std::uint64_t> due, unsigned iodepth, std::uint64_t duration_ns)
	: due_(std::move(due)), depth_(std::max(iodepth, 1u)), duration_ns_(duration_ns)
{
}

Scheduler::Step Scheduler::next(std::uint64_t now_ns, unsigned inflight)
{
	if (duration_ns_ && now_ns >= duration_ns_)
		stopped_ = true;
	if (pos_ >= due_.size() || stopped_)
		return {inflight ? Action::wait_completion : Action::done};
	if (inflight >= depth_)
		return {Action::wait_completion};
	if (due_[pos_] <= now_ns)
		return {Action::issue, pos_};
	std::uint64_t until = due_[pos_];
	if (duration_ns_)
		until = std::min(until, duration_ns_);
	return {Action::wait_until, 0, until};
}

void Scheduler::advance(std::uint64_t now_ns)
{
	if (pos_ >= due_.size())
		return;
	std::uint64_t lag = now_ns > due_[pos_] ? now_ns - due_[pos_] : 0;
	max_lag_ns_ = std::max(max_lag_ns_, lag);
	late_ += lag >= late_threshold_ns;
	++pos_;
}

} // namespace dmtier::replay
