// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/schedule.h"

#include <gtest/gtest.h>

using namespace dmtier::replay;
using dmtier::trace::Record;
using A = Scheduler::Action;

namespace {

std::vector<Record> at(std::initializer_list<std::uint64_t> times)
{
	std::vector<Record> v;
	for (auto t : times) {
		Record r;
		r.time_ns = t;
		v.push_back(r);
	}
	return v;
}

// s.next(now, inflight) is "issue index"; the record is then issued at now.
void expect_issue(Scheduler &s, std::uint64_t now, unsigned inflight, std::size_t index)
{
	auto st = s.next(now, inflight);
	ASSERT_EQ(st.action, A::issue) << "at " << now;
	EXPECT_EQ(st.index, index);
	s.advance(now);
}

} // namespace

TEST(ReplayDueTimes, RelativeToTheFirstRecordAndScaledBySpeed)
{
	auto recs = at({5000, 5000, 6000, 9000});
	EXPECT_EQ(due_times(recs, 1.0, true), (std::vector<std::uint64_t>{0, 0, 1000, 4000}));
	EXPECT_EQ(due_times(recs, 2.0, true), (std::vector<std::uint64_t>{0, 0, 500, 2000}));
	EXPECT_EQ(due_times(recs, 0.5, true), (std::vector<std::uint64_t>{0, 0, 2000, 8000}));
}

TEST(ReplayDueTimes, NoTimingMeansAllDueAtOnce)
{
	EXPECT_EQ(due_times(at({0, 10, 20}), 1.0, false), (std::vector<std::uint64_t>{0, 0, 0}));
	EXPECT_TRUE(due_times({}, 1.0, true).empty());
}

TEST(ReplayDueTimes, ATimestampGoingBackIsDueWithTheOneBeforeIt)
{
	EXPECT_EQ(due_times(at({100, 300, 200, 50, 400}), 1.0, true),
		  (std::vector<std::uint64_t>{0, 200, 200, 200, 300}));
}

TEST(ReplayScheduler, IssuesAtDueTimesWithinTheQueueDepth)
{
	Scheduler s({0, 10, 10, 50}, 2, 0);
	expect_issue(s, 0, 0, 0);
	auto st = s.next(0, 1);
	ASSERT_EQ(st.action, A::wait_until);
	EXPECT_EQ(st.until_ns, 10u);
	expect_issue(s, 10, 1, 1);
	// Two in flight: the queue is full although record 2 is due.
	EXPECT_EQ(s.next(10, 2).action, A::wait_completion);
	expect_issue(s, 11, 1, 2);
	st = s.next(20, 0);
	ASSERT_EQ(st.action, A::wait_until);
	EXPECT_EQ(st.until_ns, 50u);
	expect_issue(s, 60, 0, 3);
	EXPECT_EQ(s.position(), 4u);
	// All issued: wait for what is in flight, then done.
	EXPECT_EQ(s.next(60, 1).action, A::wait_completion);
	EXPECT_EQ(s.next(61, 0).action, A::done);
	EXPECT_FALSE(s.stopped_by_duration());
	EXPECT_EQ(s.max_lag_ns(), 10u);
	EXPECT_EQ(s.late_count(), 0u);
}

TEST(ReplayScheduler, DepthOneIsSerial)
{
	Scheduler s({0, 0, 0}, 1, 0);
	for (std::size_t i = 0; i < 3; ++i) {
		expect_issue(s, i, 0, i);
		EXPECT_EQ(s.next(i, 1).action, A::wait_completion);
	}
	EXPECT_EQ(s.next(5, 0).action, A::done);
	// A depth of 0 is taken as 1.
	Scheduler z({0, 0}, 0, 0);
	expect_issue(z, 0, 0, 0);
	EXPECT_EQ(z.next(0, 1).action, A::wait_completion);
}

TEST(ReplayScheduler, DurationStopsIssuing)
{
	Scheduler s({0, 100, 200}, 8, 50);
	expect_issue(s, 0, 0, 0);
	// The next record is due after the duration: wait only until it ends.
	auto st = s.next(10, 1);
	ASSERT_EQ(st.action, A::wait_until);
	EXPECT_EQ(st.until_ns, 50u);
	EXPECT_EQ(s.next(50, 1).action, A::wait_completion);
	EXPECT_EQ(s.next(120, 0).action, A::done);
	EXPECT_TRUE(s.stopped_by_duration());
	EXPECT_EQ(s.position(), 1u);
}

TEST(ReplayScheduler, DurationLongerThanTheTraceIsNotAStop)
{
	Scheduler s({0}, 8, 1000);
	expect_issue(s, 0, 0, 0);
	EXPECT_EQ(s.next(2000, 0).action, A::done);
	EXPECT_FALSE(s.stopped_by_duration());
}

TEST(ReplayScheduler, CountsRecordsIssuedLate)
{
	Scheduler s({0, 0, 0}, 8, 0);
	s.advance(Scheduler::late_threshold_ns - 1);
	s.advance(Scheduler::late_threshold_ns);
	s.advance(3 * Scheduler::late_threshold_ns);
	EXPECT_EQ(s.late_count(), 2u);
	EXPECT_EQ(s.max_lag_ns(), 3 * Scheduler::late_threshold_ns);
}
