// SPDX-License-Identifier: GPL-2.0
// Online model selection per volume. Every candidate predictor runs in shadow
// on the live transition stream; each is scored on what its predictions
// would have bought within the migration budget (predictions used within a
// horizon, minus a charge for wasted migrations). The best one drives
// prefetching, switching only with hysteresis.
//
// The volume's prediction_model setting may force one model instead.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "predictor/predictor.h"

namespace dmtier::predictor {

struct SelectorConfig {
	std::size_t budget = 2;       // new prefetches per transition that count
	double min_probability = 0.05; // predictions below this are not acted on
	std::size_t horizon = 16;     // transitions within which a prefetch must be used
	std::size_t eval_every = 256; // transitions between selection decisions ...
	std::size_t first_eval = 32;  // ... the first after this many, doubling up
	double waste_charge = 1.0;    // score cost of one unused prefetch (a migration
	                              // spent and a useful extent evicted)
	double margin = 0.02;         // a challenger must lead by this much ...
	int patience = 2;             // ... for this many evaluations in a row
	std::string initial = "stride";
};

class ModelSelector final : public Predictor {
public:
	struct Score {
		std::string name;
		double score = 0;     // smoothed per-transition benefit
		double coverage = 0;  // last window: fraction of transitions prefetched in time
		double precision = 0; // last window: used / issued prefetches
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

private:
	struct Candidate {
		std::unique_ptr<Predictor> model;
		std::vector<std::pair<Extent, std::uint64_t>> pending; // extent, issue step
		std::uint64_t issued = 0, used = 0, wasted = 0;        // this window
		double score = 0;
		double coverage = 0, precision = 0;
	};
	void evaluate();

	SelectorConfig cfg_;
	std::vector<Candidate> cands_;
	std::size_t active_ = 0;
	std::size_t leader_ = 0;
	int lead_streak_ = 0;
	std::size_t switches_ = 0;
	std::uint64_t step_ = 0, window_steps_ = 0;
	std::size_t window_len_ = 0;
	std::vector<Prediction> scratch_;
	std::function<bool(Extent)> resident_;
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
