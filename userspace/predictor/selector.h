// SPDX-License-Identifier: GPL-2.0
// Online model selection per volume. Every candidate predictor runs in shadow
// on the live transition stream; each is scored on what its predictions
// would have bought within the migration budget: a prediction (not already
// on the fast tier) used within a horizon is a hit, an unused one costs a
// wasted migration. The best one drives prefetching.
//
// Switching is a sequential change test (Page's CUSUM) on the paired
// outcomes: per transition, d = challenger's net benefit - the active
// model's (hits minus charged waste); each challenger keeps
// S = max(0, S + d - allowance * |d|) and takes over when S reaches the
// threshold. The statistic restarts whenever the challenger falls behind,
// so how long the active model led in the past does not delay a switch once
// it has become the worse one: a model that wins every transition takes
// over after threshold / (1 - allowance) of them. The allowance makes the
// statistic drift down unless the challenger wins clearly more than half of
// the transitions where the two differ, so noise between two equally good
// models crosses the threshold exponentially rarely (no flapping).
//
// A volume starts on `initial` (none: without evidence, prefetching has no
// known sign) and makes its first decision faster, since it only leaves a
// default and short volumes cannot wait: a challenger whose decayed net
// benefit leads by min_lead and by `confidence` standard deviations of the
// paired differences (to the model active when each was recorded) is
// adopted -- about four clean hits.
//
// Volumes too short to decide for themselves follow their pool's leader:
// selectors may share a SelectorPool that pools the shadow evidence of the
// volumes that have not decided yet -- what works for a volume without
// evidence of its own, learnt from the others in that state. It is a
// long-run average (decayed over many transitions); its leader changes when
// a challenger's pooled lead exceeds `confidence` standard deviations of the
// paired differences. A volume follows the pool's choice until its own
// evidence makes it switch.
//
// Costly candidates (Predictor::costly(): the LSTM) are not scored on every
// transition while in shadow: on a random 1-in-sample_every sample of the
// transitions (the same sample for all of them) they and the active model
// both predict, and the paired outcomes of those predictions run the same
// first-decision and CUSUM tests in a separate league against the active
// model (decayed per sampled transition). In shadow the LSTM also skips
// its per-transition inference (LstmPredictor::set_shadow). The cheap
// models are scored on every transition, which keeps their reaction time;
// the active model runs on every transition whatever it is.
//
// Under load (set_sample_all, which the planner sets while its pool's
// transition rate is high) every candidate in shadow is scored on a sample,
// cheap ones too, and they observe only part of the stream: runs of
// kBusyRun consecutive transitions, one run per sample_every (times the
// stretch the planner gives) transitions on average (random gaps between runs, and forget_context() at each run's
// start so no model learns a transition across a gap); they predict, and
// are scored, at each run's last transition. At a high rate this still
// brings evidence every second; the cost per transition falls to about the
// active model's alone.
//
// The volume's prediction_model setting may force one model instead.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "predictor/predictor.h"

namespace dmtier::predictor {

struct SelectorConfig {
	std::size_t budget = 2;        // new prefetches per transition that count
	double min_probability = 0.05; // predictions below this are not acted on
	std::size_t horizon = 16;      // transitions within which a prefetch must be used
	double waste_charge = 1.0;     // score cost of one unused prefetch (a migration
	                               // spent and a useful extent evicted)
	double allowance = 0.5;        // CUSUM drift per unit of disputed benefit ...
	double threshold = 12;         // ... and the net hits of lead that switch
	double half_life = 256;        // transitions over which evidence decays
	double min_lead = 2;           // first decision: a lead of this many net hits ...
	double confidence = 2;         // ... and this many standard deviations
	std::string initial = "none";  // before any evidence: prefetch nothing
	std::size_t sample_every = 128; // costly candidates in shadow: scored on 1 in this many
	std::uint64_t sample_seed = 0x9e3779b97f4a7c15ull;
};

// Shadow evidence pooled over the volumes of a pool (shared by their
// selectors; single-threaded like the selectors themselves).
class SelectorPool {
public:
	explicit SelectorPool(double half_life = 16384, double confidence = 2)
		: decay_(std::exp2(-1.0 / half_life)), confidence_(confidence)
	{
	}
	// The pool's current choice, or empty before there is any evidence.
	std::string_view leader() const;
	std::size_t switches() const { return switches_; }

private:
	friend class ModelSelector;
	std::size_t index(std::string_view name);
	void add(const std::vector<std::size_t> &idx, const std::vector<double> &x,
		 const SelectorConfig &cfg);

	double decay_, confidence_;
	std::vector<std::string> names_;
	std::vector<double> benefit_; // per name: decayed sum of net benefit
	std::vector<double> sq_;      // n*n: decayed sums of squared paired differences
	std::size_t leader_ = SIZE_MAX;
	std::size_t switches_ = 0;
};

class ModelSelector final : public Predictor {
public:
	struct Score {
		std::string name;
		double score = 0;     // decayed net benefit per transition
		double coverage = 0;  // decayed: prefetches used in time per transition
		double precision = 0; // decayed: used in time / issued
	};

	ModelSelector(std::vector<std::unique_ptr<Predictor>> candidates, SelectorConfig cfg = {});

	std::string_view name() const override { return "auto"; }
	void observe(const Access &a) override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override;

	std::string_view active() const { return cands_[active_].model->name(); }
	std::size_t switches() const { return switches_; }
	std::vector<Score> scores() const;
	Predictor *candidate(std::string_view name);
	// Tells the selector which extents are already on the fast tier: a
	// prediction of one costs nothing and gains nothing, so it is not scored.
	void set_residency(std::function<bool(Extent)> resident) { resident_ = std::move(resident); }
	// Shares shadow evidence with the pool's other volumes; until its own
	// evidence decides, the volume runs the pool's leader.
	void set_pool(std::shared_ptr<SelectorPool> pool);
	// Scores every candidate in shadow on the sample (true) or only the
	// costly ones (false, the default). A change restarts the sampled
	// league's evidence and that of the candidates that change league.
	// stretch: under load, one run per sample_every * stretch transitions
	// (the planner passes how many times its busy rate the pool runs at, so
	// the shadows' cost per second stays the same as the rate grows).
	void set_sample_all(bool on, std::size_t stretch = 1);
	bool sample_all() const { return sample_all_; }
	// The choice, whether it is the volume's own, the scores and each
	// candidate's own state (save_state of each).
	void save_state(PayloadWriter *w) const override;
	bool load_state(PayloadReader *r) override;

private:
	struct Pending {
		Extent extent;
		std::uint64_t step;
	};
	struct Candidate {
		std::unique_ptr<Predictor> model;
		std::vector<Pending> pending;
		double benefit = 0;                  // decayed net benefit (reported)
		double used = 0, issued = 0;         // decayed counts (reported)
		double cusum = 0;                    // test statistic against the active model
		double sq = 0; // decayed squared differences to the active model's outcomes
		bool sampled = false; // costly and not active: scored on the sample only
		// The sampled league (costly candidates against the active model).
		std::vector<Pending> spending;
		double sbenefit = 0, scusum = 0, ssq = 0, sy = 0;
	};
	void decide();
	void decide_sampled(bool sample);
	void set_active(std::size_t i);
	bool sample_step();
	bool busy_step(bool *sample);
	std::uint64_t next_random();
	static constexpr std::size_t kBusyRun = 16;
	std::size_t run_left_ = 0, gap_left_ = 0, stretch_ = 1;
	double settle(std::vector<Pending> *pending, Extent e, double *used);
	void issue(std::vector<Pending> *pending, double *issued);

	SelectorConfig cfg_;
	double decay_;
	std::vector<Candidate> cands_;
	double steps_ = 0;       // decayed transition count
	std::size_t active_ = 0;
	std::size_t switches_ = 0;
	bool own_choice_ = false; // the volume's own evidence has decided
	std::size_t pool_leader_seen_ = SIZE_MAX; // the pool's leader at the last decide()
	bool sample_all_ = false;
	std::uint64_t step_ = 0;
	std::vector<Prediction> scratch_;
	std::function<bool(Extent)> resident_;
	std::shared_ptr<SelectorPool> pool_;
	std::vector<std::size_t> pool_idx_;
	std::vector<double> xs_;
	std::vector<std::size_t> pidx_; // pool scratch
	std::vector<double> px_;
	std::uint64_t rng_;
	double ssteps_ = 0; // decayed count of sampled transitions
	bool any_sampled_ = false;
};

// The prediction_model setting: a model name, "auto", or a model file path.
struct ModelSetting {
	std::string model; // "auto", a predictor name, or "file"
	std::string path;  // for "file"
};
[[nodiscard]] Result<ModelSetting> parse_model_setting(std::string_view s);

// Names accepted by make_predictor (the oracle needs the future and is built
// directly).
const std::vector<std::string> &predictor_names();
[[nodiscard]] Result<std::unique_ptr<Predictor>> make_predictor(std::string_view name);
// Builds the volume's predictor from its setting ("auto": a ModelSelector
// over every named predictor).
[[nodiscard]] Result<std::unique_ptr<Predictor>> make_volume_predictor(const ModelSetting &s,
								      SelectorConfig cfg = {});

} // namespace dmtier::predictor
