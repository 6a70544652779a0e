// SPDX-License-Identifier: GPL-2.0
#include "predictor/selector.h"

#include <cstdio>
#include <gtest/gtest.h>

#include "predictor/baselines.h"
#include "predictor/lstm.h"
#include "predictor/test_streams.h"

namespace dmtier::predictor {
namespace {

using namespace testing;

std::unique_ptr<ModelSelector> baseline_selector(SelectorConfig cfg = {})
{
	std::vector<std::unique_ptr<Predictor>> c;
	for (const char *n : {"markov", "stride", "none"})
		c.push_back(std::move(*make_predictor(n)));
	return std::make_unique<ModelSelector>(std::move(c), cfg);
}

void feed(Predictor &p, const std::vector<Extent> &v, std::uint64_t t0 = 0)
{
	for (std::size_t i = 0; i < v.size(); ++i)
		p.observe({t0 + i, v[i], Op::read, 4096});
}

TEST(Selector, SwitchesToTheModelThatFitsThePhase)
{
	auto s = baseline_selector();
	EXPECT_EQ(s->active(), "none"); // no evidence: prefetch nothing
	std::vector<Extent> seq;
	for (Extent e = 0; e < 3000; ++e)
		seq.push_back(1000000 + e);
	feed(*s, seq);
	EXPECT_EQ(s->active(), "stride");
	feed(*s, periodic({100, 7, 5000, 42, 913, 7, 260, 31337}, 4000), 3000);
	EXPECT_EQ(s->active(), "markov");
	EXPECT_EQ(s->switches(), 2u);
	for (const auto &sc : s->scores()) {
		if (sc.name == "markov") {
			EXPECT_GT(sc.coverage, 0.9);
		}
	}
}

// Transitions until the selector runs `model`, feeding v from its start.
std::size_t transitions_until(ModelSelector &s, const std::vector<Extent> &v, std::string_view model)
{
	for (std::size_t i = 0; i < v.size(); ++i) {
		s.observe({i, v[i], Op::read, 4096});
		if (s.active() == model)
			return i + 1;
	}
	return SIZE_MAX;
}

TEST(Selector, ConvergesToTheClearlyBestModelWithinAFewTransitions)
{
	// A loop over 20 random extents: Markov predicts it from the second lap
	// on; stride never does. The selector adopts Markov within a few of its
	// hits and then predicts as well as Markov alone.
	auto cycle = random_extents(20, 1 << 20, 11);
	auto v = periodic(cycle, 4000);
	auto s = baseline_selector();
	std::size_t n = transitions_until(*s, v, "markov");
	// Markov hits every transition from the 21st; the old windowed
	// selector could switch at the 96th at the earliest.
	EXPECT_LE(n, 20u + 8u) << n;
	auto sel = baseline_selector();
	MarkovPredictor alone;
	auto stream = stream_of(v);
	double hs = hit_rate(*sel, stream, 4, 0), ha = hit_rate(alone, stream, 4, 0);
	EXPECT_NEAR(hs, ha, 0.01) << "selector " << hs << ", markov alone " << ha;
	EXPECT_GT(ha, 0.95);
}

TEST(Selector, FollowsPhasesAsWellAsTheBestModelOfEach)
{
	// Alternate phases of 200 transitions: a scan (stride's) and a loop
	// (Markov's). Switching costs nothing, so the selector should keep
	// most of each phase's best model's hits: it loses about 24 transitions
	// per phase to the test (threshold / (1 - allowance)), so above 85%
	// where each single model gets under 50%. (A selector that weighs the
	// past phases' evidence switches too late: about 43%.)
	std::vector<Extent> v;
	for (int round = 0; round < 20; ++round) {
		for (Extent e = 0; e < 200; ++e)
			v.push_back(round * 100000 + e);
		auto loop = periodic({5, 9, 2, 8, 77, 300}, 200);
		v.insert(v.end(), loop.begin(), loop.end());
	}
	auto stream = stream_of(v);
	auto sel = baseline_selector();
	StridePredictor stride;
	MarkovPredictor markov;
	double hs = hit_rate(*sel, stream, 4, 0);
	double best = std::max(hit_rate(stride, stream, 4, 0), hit_rate(markov, stream, 4, 0));
	EXPECT_GT(hs, best) << "each model only catches its own phase";
	EXPECT_GT(hs, 0.85) << "selector " << hs << ", best single model " << best;
}

// Predicts the true next extent (from the known stream) with probability p,
// else a wrong one: a model of a given precision, with its own noise.
class Coin final : public Predictor {
public:
	Coin(std::string name, const std::vector<Extent> *future, double p, std::uint64_t seed)
		: name_(std::move(name)), future_(future), p_(p), seed_(seed)
	{
	}
	std::string_view name() const override { return name_; }
	void observe(const Access &) override { ++pos_; }
	void predict(std::size_t, std::vector<Prediction> *out) override
	{
		out->clear();
		if (pos_ >= future_->size())
			return;
		seed_ = seed_ * 6364136223846793005ULL + 1442695040888963407ULL;
		bool right = static_cast<double>(seed_ >> 11) / 9007199254740992.0 < p_;
		out->push_back({right ? (*future_)[pos_] : -1 - static_cast<Extent>(pos_), 0.9, 0});
	}
	std::size_t model_bytes() const override { return 0; }

private:
	std::string name_;
	const std::vector<Extent> *future_;
	double p_;
	std::uint64_t seed_;
	std::size_t pos_ = 0;
};

std::size_t coin_switches(double p1, double p2, double allowance, const std::vector<Extent> &v)
{
	SelectorConfig cfg;
	cfg.initial = "a";
	cfg.allowance = allowance;
	std::vector<std::unique_ptr<Predictor>> c;
	c.push_back(std::make_unique<Coin>("a", &v, p1, 1));
	c.push_back(std::make_unique<Coin>("b", &v, p2, 2));
	ModelSelector s(std::move(c), cfg);
	feed(s, v);
	return s.switches();
}

TEST(Selector, EquallyGoodModelsDoNotFlap)
{
	auto v = random_extents(20000, 1 << 30, 5);
	// Two models of equal precision, independent noise: the selector
	// rarely moves. Without the allowance (a plain running lead) noise
	// makes it switch again and again -- the test can tell the two apart.
	std::size_t with = coin_switches(0.6, 0.6, SelectorConfig{}.allowance, v);
	std::size_t without = coin_switches(0.6, 0.6, 0, v);
	EXPECT_LE(with, 2u);
	EXPECT_GE(without, 20u);
	// A clearly better one is still adopted, and kept.
	EXPECT_EQ(coin_switches(0.6, 0.8, SelectorConfig{}.allowance, v), 1u);
}

TEST(Selector, SmallVolumesFollowThePoolLeader)
{
	auto pool = std::make_shared<SelectorPool>();
	auto cycle = random_extents(20, 1 << 20, 3);
	// Ten volumes with long loops make the pool's evidence favour Markov ...
	for (int i = 0; i < 10; ++i) {
		auto s = baseline_selector();
		s->set_pool(pool);
		feed(*s, periodic(cycle, 400));
		EXPECT_EQ(s->active(), "markov");
	}
	EXPECT_EQ(pool->leader(), "markov");
	// ... so a new volume runs Markov from its first transition, before it
	// has evidence of its own (alone it would prefetch nothing).
	auto fresh = baseline_selector();
	fresh->set_pool(pool);
	fresh->observe({0, cycle[0], Op::read, 4096});
	EXPECT_EQ(fresh->active(), "markov");
	auto lonely = baseline_selector();
	lonely->observe({0, cycle[0], Op::read, 4096});
	EXPECT_EQ(lonely->active(), "none");
	// A volume whose own evidence disagrees goes its own way.
	auto scan = baseline_selector();
	scan->set_pool(pool);
	std::vector<Extent> seq;
	for (Extent e = 0; e < 200; ++e)
		seq.push_back(5000000 + e);
	feed(*scan, seq);
	EXPECT_EQ(scan->active(), "stride");
}

// Predicts the right next extent of a scan, but with a tiny probability.
class Timid final : public Predictor {
public:
	std::string_view name() const override { return "timid"; }
	void observe(const Access &a) override { last_ = a.extent; }
	void predict(std::size_t, std::vector<Prediction> *out) override
	{
		out->assign(1, Prediction{last_ + 1, 0.01, 0});
	}
	std::size_t model_bytes() const override { return 0; }

private:
	Extent last_ = 0;
};

TEST(Selector, PredictionsTooUnlikelyToActOnAreNotScored)
{
	std::vector<Extent> seq;
	for (Extent e = 0; e < 2000; ++e)
		seq.push_back(e);
	for (double min : {0.0, 0.05}) {
		SelectorConfig cfg;
		cfg.initial = "none";
		cfg.min_probability = min;
		std::vector<std::unique_ptr<Predictor>> c;
		c.push_back(std::make_unique<Timid>());
		c.push_back(std::move(*make_predictor("none")));
		ModelSelector s(std::move(c), cfg);
		feed(s, seq);
		EXPECT_EQ(s.active(), min == 0 ? "timid" : "none") << min;
	}
}

TEST(Selector, FirstDecisionComesEarly)
{
	SelectorConfig cfg;
	cfg.initial = "none";
	auto s = baseline_selector(cfg);
	std::vector<Extent> seq;
	for (Extent e = 0; e < 10; ++e)
		seq.push_back(e);
	// Stride hits every transition from the fourth on. The first decision
	// needs a lead of min_lead net hits beyond two standard deviations of
	// the paired differences: four hits in a row.
	feed(*s, seq);
	EXPECT_EQ(s->active(), "stride");
}

TEST(Selector, AbandonsAModelWhosePrefetchesAreWasted)
{
	SelectorConfig cfg;
	cfg.initial = "stride";
	auto s = baseline_selector(cfg);
	// Short runs of three then a random jump: stride gains confidence at
	// the end of each run and then prefetches the wrong extents.
	std::vector<Extent> v;
	for (Extent x : random_extents(2000, 1 << 30))
		for (Extent i = 0; i < 3; ++i)
			v.push_back(x + i);
	feed(*s, v);
	EXPECT_NE(s->active(), "stride");
	std::vector<Prediction> out;
	s->predict(2, &out);
	EXPECT_TRUE(out.empty());
}

TEST(Selector, PredictsWithTheActiveModel)
{
	SelectorConfig cfg;
	cfg.initial = "stride";
	auto s = baseline_selector(cfg);
	feed(*s, {1, 2, 3, 4, 5, 6});
	std::vector<Prediction> out;
	s->predict(2, &out);
	ASSERT_EQ(out.size(), 2u);
	EXPECT_EQ(out[0].extent, 7);
}

TEST(Selector, ResidentPredictionsAreNotScored)
{
	SelectorConfig cfg;
	cfg.initial = "none";
	std::vector<Extent> seq;
	for (Extent e = 0; e < 3000; ++e)
		seq.push_back(1000000 + e);
	// Without residency information a scan makes stride the winner ...
	auto blind = baseline_selector(cfg);
	feed(*blind, seq);
	EXPECT_EQ(blind->active(), "stride");
	// ... but if the scanned extents are already on the fast tier, stride's
	// prefetches would buy nothing and the selector stays put.
	auto aware = baseline_selector(cfg);
	aware->set_residency([](Extent e) { return e >= 1000000; });
	feed(*aware, seq);
	EXPECT_EQ(aware->active(), "none");
}

// A selector over `model` and the cheap baselines, starting on none.
std::unique_ptr<ModelSelector> with_baselines(std::unique_ptr<Predictor> model, SelectorConfig cfg)
{
	cfg.initial = "none";
	std::vector<std::unique_ptr<Predictor>> c;
	c.push_back(std::move(model));
	for (const char *n : {"markov", "stride", "none"})
		c.push_back(std::move(*make_predictor(n)));
	return std::make_unique<ModelSelector>(std::move(c), cfg);
}

// A Coin that is costly: counts the predictions it is asked for.
class CostlyCoin final : public Predictor {
public:
	CostlyCoin(const std::vector<Extent> *future) : coin_("costly", future, 1.0, 3) {}
	std::string_view name() const override { return "costly"; }
	void observe(const Access &a) override { coin_.observe(a); }
	void predict(std::size_t k, std::vector<Prediction> *out) override
	{
		++predicts;
		coin_.predict(k, out);
	}
	std::size_t model_bytes() const override { return 0; }
	bool costly() const override { return true; }
	void set_shadow(bool on) override { shadow = on; }
	std::size_t predicts = 0;
	bool shadow = false;

private:
	Coin coin_;
};

TEST(Selector, CostlyModelsAreScoredOnASampleInShadowAndStillWin)
{
	// Random extents: only the costly (perfect) model predicts them.
	std::vector<Extent> v = random_extents(20000, 1 << 30);
	SelectorConfig cfg;
	auto costly = std::make_unique<CostlyCoin>(&v);
	CostlyCoin *m = costly.get();
	auto sp = with_baselines(std::move(costly), cfg);
	ModelSelector &s = *sp;
	EXPECT_TRUE(m->shadow);
	std::size_t n = transitions_until(s, v, "costly");
	EXPECT_EQ(s.active(), "costly");
	EXPECT_FALSE(m->shadow);
	// In shadow it was asked about 1 in sample_every transitions.
	EXPECT_LE(m->predicts, 3 * n / cfg.sample_every + 2) << n;
	EXPECT_GE(m->predicts, 4u);
	EXPECT_LE(n, 40 * cfg.sample_every) << "took " << n;
	// Active: it runs on every transition.
	std::size_t before = m->predicts;
	for (std::size_t i = n; i < n + 100; ++i)
		s.observe({i, v[i], Op::read, 4096});
	EXPECT_GE(m->predicts - before, 100u);
	EXPECT_EQ(s.active(), "costly");
}

// A cheap perfect model that counts what it is shown and asked: it knows
// the stream (the access time is the position in it) and predicts the next
// extent, right only if it saw the access before (its context).
class CountingCoin final : public Predictor {
public:
	CountingCoin(const std::vector<Extent> *future) : future_(future) {}
	std::string_view name() const override { return "counted"; }
	void observe(const Access &a) override
	{
		++observes;
		pos_ = a.time_ns + 1;
		have_ = true;
	}
	void forget_context() override
	{
		++forgets;
		have_ = false;
	}
	void predict(std::size_t, std::vector<Prediction> *out) override
	{
		++predicts;
		out->clear();
		if (have_ && pos_ < future_->size())
			out->push_back({(*future_)[pos_], 0.9, 0});
	}
	std::size_t model_bytes() const override { return 0; }
	std::size_t observes = 0, predicts = 0, forgets = 0;

private:
	const std::vector<Extent> *future_;
	std::size_t pos_ = 0;
	bool have_ = false;
};

// A CountingCoin in shadow behind "none", which it never displaces.
std::unique_ptr<ModelSelector> behind_none(const std::vector<Extent> *v, CountingCoin **m)
{
	SelectorConfig cfg;
	cfg.initial = "none";
	cfg.min_lead = 1e9;
	cfg.threshold = 1e9;
	std::vector<std::unique_ptr<Predictor>> c;
	auto counted = std::make_unique<CountingCoin>(v);
	*m = counted.get();
	c.push_back(std::move(counted));
	c.push_back(std::move(*make_predictor("none")));
	return std::make_unique<ModelSelector>(std::move(c), cfg);
}

// Feeds v[from, to), each at its index as time.
void feed_range(Predictor &p, const std::vector<Extent> &v, std::size_t from, std::size_t to)
{
	for (std::size_t i = from; i < to; ++i)
		p.observe({i, v[i], Op::read, 4096});
}

TEST(Selector, UnderLoadCheapModelsAreScoredOnASampleTooAndStillWin)
{
	std::vector<Extent> v = random_extents(20000, 1 << 30);
	SelectorConfig cfg;
	auto counted = std::make_unique<CountingCoin>(&v);
	CountingCoin *m = counted.get();
	auto sp = with_baselines(std::move(counted), cfg);
	ModelSelector &s = *sp;
	s.set_sample_all(true);
	EXPECT_TRUE(s.sample_all());
	std::size_t n = transitions_until(s, v, "counted");
	EXPECT_EQ(s.active(), "counted");
	// In shadow it saw runs of the stream, about 1 in 8 transitions
	// (16 of every 128), forgetting its context before each, and predicted
	// at each run's end.
	EXPECT_GE(m->observes, n / 16) << n;
	EXPECT_LE(m->observes, n / 4 + 16) << n;
	EXPECT_GE(m->forgets, m->predicts);
	EXPECT_LE(m->predicts, 3 * n / cfg.sample_every + 2) << n;
	EXPECT_GE(m->predicts, 4u);
	EXPECT_LE(n, 40 * cfg.sample_every) << "took " << n;

	// Without load, a cheap model in shadow predicts on every transition.
	std::vector<Extent> w = random_extents(400, 1 << 30);
	CountingCoin *m2;
	auto s2 = behind_none(&w, &m2);
	EXPECT_FALSE(s2->sample_all());
	feed_range(*s2, w, 0, 200);
	EXPECT_EQ(s2->active(), "none");
	EXPECT_EQ(m2->predicts, 200u);
	// Load comes: sampled from now on; load goes: every transition again.
	s2->set_sample_all(true);
	feed_range(*s2, w, 200, 300);
	EXPECT_LT(m2->predicts, 200u + 20u);
	s2->set_sample_all(false);
	std::size_t before = m2->predicts;
	feed_range(*s2, w, 300, 400);
	EXPECT_EQ(m2->predicts - before, 100u);
	EXPECT_EQ(s2->active(), "none");

	// Stretched (a pool at 8 times its busy rate): a run per 1,024.
	std::vector<Extent> x = random_extents(20480, 1 << 30);
	CountingCoin *m3;
	auto s3 = behind_none(&x, &m3);
	s3->set_sample_all(true, 8);
	feed(*s3, x);
	EXPECT_GE(m3->predicts, 8u);  // about 20 runs
	EXPECT_LE(m3->predicts, 40u);
	EXPECT_LE(m3->observes, 16 * m3->predicts + 16);
}

TEST(ModelSetting, ParsesNamesAutoAndPaths)
{
	EXPECT_EQ(parse_model_setting("")->model, "auto");
	EXPECT_EQ(parse_model_setting("auto")->model, "auto");
	for (const auto &n : predictor_names())
		EXPECT_EQ(parse_model_setting(n)->model, n);
	auto f = parse_model_setting("/var/lib/dm-tier/vol1.model");
	ASSERT_TRUE(f.ok());
	EXPECT_EQ(f->model, "file");
	EXPECT_EQ(f->path, "/var/lib/dm-tier/vol1.model");
	EXPECT_FALSE(parse_model_setting("/a/path/far/too/long/for/the/kernel.model").ok());
	EXPECT_FALSE(parse_model_setting("/bad path.model").ok());
	auto bad = parse_model_setting("lstmm");
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(bad.error().find("lstmm"), std::string::npos);
}

TEST(ModelSetting, ForcingBuildsThatModel)
{
	for (const auto &n : predictor_names()) {
		auto p = make_volume_predictor(*parse_model_setting(n));
		ASSERT_TRUE(p.ok());
		EXPECT_EQ((*p)->name(), n);
	}
	auto a = make_volume_predictor(*parse_model_setting("auto"));
	ASSERT_TRUE(a.ok());
	EXPECT_EQ((*a)->name(), "auto");
	auto *sel = dynamic_cast<ModelSelector *>(a->get());
	ASSERT_NE(sel, nullptr);
	EXPECT_NE(sel->candidate("lstm"), nullptr);
	EXPECT_NE(sel->candidate("mithril"), nullptr);
}

TEST(ModelSetting, ModelFileWarmStartsAndCorruptFileIsAnError)
{
	std::string path = ::testing::TempDir() + "dmtier-selector-test.model";
	LstmConfig cfg;
	cfg.hidden = 4;
	cfg.vocab = 8;
	ASSERT_TRUE(LstmPredictor(cfg).save(path).ok());
	auto p = make_volume_predictor(ModelSetting{"file", path});
	ASSERT_TRUE(p.ok()) << p.error();
	EXPECT_EQ((*p)->name(), "lstm");
	std::FILE *f = std::fopen(path.c_str(), "r+b");
	ASSERT_NE(f, nullptr);
	std::fseek(f, 40, SEEK_SET);
	std::fputc('!', f);
	std::fclose(f);
	auto bad = make_volume_predictor(ModelSetting{"file", path});
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(bad.error().find("corrupt"), std::string::npos) << bad.error();
	std::remove(path.c_str());
}

} // namespace
} // namespace dmtier::predictor
