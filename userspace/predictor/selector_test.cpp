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
	std::vector<Extent> seq;
	for (Extent e = 0; e < 3000; ++e)
		seq.push_back(1000000 + e);
	feed(*s, seq);
	EXPECT_EQ(s->active(), "stride");
	feed(*s, periodic({100, 7, 5000, 42, 913, 7, 260, 31337}, 4000), 3000);
	EXPECT_EQ(s->active(), "markov");
	EXPECT_EQ(s->switches(), 1u);
	for (const auto &sc : s->scores()) {
		if (sc.name == "markov") {
			EXPECT_GT(sc.coverage, 0.9);
		}
	}
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
	for (Extent e = 0; e < 100; ++e)
		seq.push_back(e);
	// Windows of 32 then 64: two winning evaluations within 100 transitions.
	feed(*s, seq);
	EXPECT_EQ(s->active(), "stride");
}

TEST(Selector, HysteresisPreventsFlapping)
{
	SelectorConfig cfg;
	cfg.eval_every = 64;
	auto s = baseline_selector(cfg);
	// Alternate short phases: each shorter than patience * eval_every.
	for (int round = 0; round < 20; ++round) {
		std::vector<Extent> seq;
		for (Extent e = 0; e < 60; ++e)
			seq.push_back(round * 100000 + e);
		feed(*s, seq, round * 200);
		feed(*s, periodic({5, 9, 2, 8}, 60), round * 200 + 100);
	}
	EXPECT_LE(s->switches(), 2u);
}

TEST(Selector, AbandonsAModelWhosePrefetchesAreWasted)
{
	auto s = baseline_selector();
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
	auto s = baseline_selector();
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
