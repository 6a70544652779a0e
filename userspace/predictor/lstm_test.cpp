// SPDX-License-Identifier: GPL-2.0
#include "predictor/lstm.h"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>

#include "predictor/baselines.h"
#include "predictor/test_streams.h"

namespace dmtier::predictor {
namespace {

using namespace testing;

// A period-12 cycle whose deltas repeat within the period (+1 appears
// three times, each followed by something else), so the next delta depends on
// more context than the last delta: a model of the last delta alone cannot
// reach 95%.
const std::vector<Extent> kCycle = {0, 1, 2, 10, 11, 30, 31, 32, 33, 20, 5, 100};

TEST(Lstm, LearnsPeriodicPatternTo95PercentTop1)
{
	LstmPredictor p;
	auto s = stream_of(periodic(kCycle, 12000));
	double rate = hit_rate(p, s, 1, 10000);
	EXPECT_GE(rate, 0.95) << "top-1 over the last 2000 transitions";
	EXPECT_GE(p.recent_top1(), 0.9);
	EXPECT_EQ(p.trained_transitions() % 16, 0u);
	EXPECT_GT(p.trained_transitions(), 11000u);
}

TEST(Lstm, LearnsJumpsToAHotExtentThatNoDeltaCaptures)
{
	// Never-repeating random extents, each followed by a jump to extent
	// 5000: the delta of the jump differs every time, the target does not.
	std::vector<Extent> v;
	for (Extent r : random_extents(4000, 1 << 30, 17)) {
		v.push_back(1000000 + r);
		v.push_back(5000);
	}
	LstmPredictor p;
	auto s = stream_of(v);
	std::vector<Prediction> out;
	std::size_t hits = 0, tries = 0;
	for (std::size_t i = 0; i < s.size(); ++i) {
		if (i >= 6000 && s[i].extent == 5000) {
			p.predict(1, &out);
			++tries;
			hits += !out.empty() && out[0].extent == 5000;
		}
		p.observe(s[i]);
	}
	EXPECT_GE(static_cast<double>(hits) / tries, 0.95);
	MarkovPredictor markov; // sees every random extent once: no successor to offer
	EXPECT_LT(hit_rate(markov, s, 1, 6000), 0.05);
}

TEST(Lstm, PredictionsAreRankedDistinctAndTimed)
{
	LstmPredictor p;
	auto s = stream_of(periodic(kCycle, 3000), 5000);
	for (auto &a : s)
		p.observe(a);
	std::vector<Prediction> out;
	p.predict(4, &out);
	ASSERT_EQ(out.size(), 4u);
	for (std::size_t i = 1; i < out.size(); ++i) {
		EXPECT_GE(out[i - 1].probability, out[i].probability);
		EXPECT_NE(out[i].extent, out[0].extent);
	}
	EXPECT_EQ(out[0].expected_time_ns, s.back().time_ns + 5000);
	EXPECT_LE(out[0].probability, 1.0);
}

TEST(Lstm, RandomStreamStaysBoundedAndUnconfident)
{
	LstmConfig cfg;
	cfg.vocab = 16;
	LstmPredictor p(cfg);
	auto s = stream_of(random_extents(5000, 1 << 30));
	EXPECT_LT(hit_rate(p, s, 4, 1000), 0.01);
	EXPECT_LT(p.model_bytes(), 1u << 20);
}

TEST(Buckets, SizeAndGap)
{
	EXPECT_EQ(size_bucket(512), 0);
	EXPECT_EQ(size_bucket(4096), 0);
	EXPECT_EQ(size_bucket(8192), 1);
	EXPECT_EQ(size_bucket(65536), 4);
	EXPECT_EQ(size_bucket(1u << 30), 7);
	EXPECT_EQ(gap_bucket(0), 0);
	EXPECT_EQ(gap_bucket(50000), 1);   // 50 us
	EXPECT_EQ(gap_bucket(2000000), 3); // 2 ms
	EXPECT_EQ(gap_bucket(UINT64_MAX), 7);
}

class ModelFileTest : public ::testing::Test {
protected:
	void SetUp() override { path_ = ::testing::TempDir() + "dmtier-lstm-test.model"; }
	void TearDown() override { std::remove(path_.c_str()); }
	std::string read_all()
	{
		std::ifstream f(path_, std::ios::binary);
		return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
	}
	void write_all(const std::string &b)
	{
		std::ofstream f(path_, std::ios::binary | std::ios::trunc);
		f << b;
	}
	std::string path_;
};

TEST_F(ModelFileTest, WarmStartPredictsLikeTheSavedModel)
{
	LstmPredictor p;
	auto s = stream_of(periodic(kCycle, 6000));
	for (auto &a : s)
		p.observe(a);
	ASSERT_TRUE(p.save(path_).ok());
	auto q = LstmPredictor::load(path_);
	ASSERT_TRUE(q.ok()) << q.error();
	// A fresh stream: the warm model predicts at once, a cold one cannot.
	LstmPredictor cold;
	auto tail = stream_of(periodic(kCycle, 120));
	(*q)->set_training(false);
	double warm_rate = hit_rate(**q, tail, 1, 24);
	EXPECT_GE(warm_rate, 0.9);
	EXPECT_LT(hit_rate(cold, tail, 1, 24), warm_rate - 0.3);
	EXPECT_LT(p.file_bytes(), 1u << 20);
}

TEST_F(ModelFileTest, EveryCorruptionIsAClearError)
{
	LstmConfig cfg;
	cfg.hidden = 4;
	cfg.vocab = 8;
	LstmPredictor p(cfg);
	ASSERT_TRUE(p.save(path_).ok());
	const std::string good = read_all();
	ASSERT_TRUE(LstmPredictor::load(path_).ok());
	// Flip one bit anywhere: magic, version, payload or checksum.
	for (std::size_t pos : {0ul, 9ul, good.size() / 2, good.size() - 1}) {
		std::string bad = good;
		bad[pos] ^= 0x10;
		write_all(bad);
		auto r = LstmPredictor::load(path_);
		ASSERT_FALSE(r.ok()) << "byte " << pos;
		EXPECT_NE(r.error().find(path_), std::string::npos) << r.error();
	}
	write_all(good.substr(0, good.size() - 7));
	auto truncated = LstmPredictor::load(path_);
	ASSERT_FALSE(truncated.ok());
	EXPECT_NE(truncated.error().find("truncated"), std::string::npos) << truncated.error();
	write_all("128166385295514663,hm,0,Write,9056014336,2048,2833\n");
	auto foreign = LstmPredictor::load(path_);
	ASSERT_FALSE(foreign.ok());
	EXPECT_NE(foreign.error().find("not a dm-tier"), std::string::npos) << foreign.error();
	write_all(std::string(encode_model_file({"markov", {}}).data(),
			      encode_model_file({"markov", {}}).size()));
	auto other = LstmPredictor::load(path_);
	ASSERT_FALSE(other.ok());
	EXPECT_NE(other.error().find("not an lstm"), std::string::npos) << other.error();
	EXPECT_FALSE(LstmPredictor::load(path_ + ".missing").ok());
}

} // namespace
} // namespace dmtier::predictor
