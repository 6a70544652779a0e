// SPDX-License-Identifier: GPL-2.0
#include "predictor/trainer.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <gtest/gtest.h>

#include "predictor/test_streams.h"

namespace dmtier::predictor {
namespace {

using namespace testing;

const std::vector<Extent> kCycle = {0, 1, 2, 10, 11, 30, 31, 32, 33, 20, 5, 100};

TEST(BackgroundLstm, LearnsOffTheCallersThread)
{
	TrainerConfig cfg;
	cfg.cpu_budget = 1.0;
	BackgroundLstm p(LstmConfig{}, cfg);
	auto s = stream_of(periodic(kCycle, 12000));
	for (std::size_t i = 0; i < s.size(); ++i) {
		p.observe(s[i]);
		if (i % 2000 == 1999)
			p.flush(); // keep the trainer from dropping: this test wants all of it
	}
	p.flush();
	EXPECT_EQ(p.trained() + p.dropped(), s.size());
	EXPECT_EQ(p.dropped(), 0u);
	EXPECT_LT(p.model_bytes(), 1u << 20); // three weight copies and the queue
	auto tail = stream_of(periodic(kCycle, 240), 1000000);
	for (auto &a : tail)
		a.time_ns += s.back().time_ns + 1000000;
	EXPECT_GE(hit_rate(p, tail, 1, 24), 0.9);
}

TEST(BackgroundLstm, BudgetedTrainerStillCatchesUpAndSaves)
{
	TrainerConfig cfg;
	cfg.cpu_budget = 0.5;
	cfg.publish_every = 64;
	BackgroundLstm p(LstmConfig{}, cfg);
	auto s = stream_of(periodic(kCycle, 3000));
	for (auto &a : s)
		p.observe(a);
	p.flush();
	EXPECT_EQ(p.trained() + p.dropped(), s.size());
	std::string path = ::testing::TempDir() + "dmtier-trainer-test.model";
	ASSERT_TRUE(p.save(path).ok());
	auto warm = LstmPredictor::load(path);
	ASSERT_TRUE(warm.ok()) << warm.error();
	BackgroundLstm resumed(**warm, cfg);
	std::vector<Prediction> out;
	resumed.observe({0, 0, Op::read, 4096});
	resumed.predict(1, &out);
	ASSERT_EQ(out.size(), 1u); // the warm vocabulary is there at once
	std::remove(path.c_str());
}

TEST(TrainingBudget, OneBatchAtATimeAndAStopWakesAWaiter)
{
	TrainingBudget b(0.5);
	std::atomic<bool> stop{false}, got{false};
	ASSERT_TRUE(b.acquire(stop));
	std::thread other([&] {
		if (b.acquire(stop))
			got = true;
	});
	// While the first batch holds it, the other trainer waits (a wrong
	// answer here shows at once; a right one does not depend on timing).
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	EXPECT_FALSE(got.load());
	b.release(0.0);
	other.join();
	EXPECT_TRUE(got.load());
	b.release(0.0);

	// A trainer waiting behind a long rest leaves as soon as it is stopped.
	ASSERT_TRUE(b.acquire(stop));
	b.release(3600.0); // the next batch is an hour away
	std::atomic<bool> refused{false};
	std::thread waiter([&] { refused = !b.acquire(stop); });
	stop = true;
	b.wake();
	waiter.join();
	EXPECT_TRUE(refused.load());
}

TEST(BackgroundLstm, TrainersSharingABudgetBothLearnEverything)
{
	TrainerConfig cfg;
	cfg.budget = std::make_shared<TrainingBudget>(0.5);
	cfg.publish_every = 64;
	BackgroundLstm a(LstmConfig{}, cfg), b(LstmConfig{}, cfg);
	auto s = stream_of(periodic(kCycle, 1200));
	for (std::size_t i = 0; i < s.size(); ++i) {
		a.observe(s[i]);
		b.observe(s[i]);
		if (i % 500 == 499) {
			a.flush();
			b.flush();
		}
	}
	a.flush();
	b.flush();
	EXPECT_EQ(a.trained(), s.size());
	EXPECT_EQ(b.trained(), s.size());
	EXPECT_EQ(a.dropped() + b.dropped(), 0u);
}

} // namespace
} // namespace dmtier::predictor
