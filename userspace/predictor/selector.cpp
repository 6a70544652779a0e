// SPDX-License-Identifier: GPL-2.0
#include "predictor/selector.h"

#include <algorithm>
#include <cctype>

#include "predictor/baselines.h"
#include "predictor/lstm.h"

namespace dmtier::predictor {

ModelSelector::ModelSelector(std::vector<std::unique_ptr<Predictor>> candidates, SelectorConfig cfg)
	: cfg_(std::move(cfg))
{
	for (auto &c : candidates) {
		if (c->name() == cfg_.initial)
			active_ = cands_.size();
		cands_.push_back({std::move(c), {}, 0, 0, 0, 0, 0, 0});
	}
	leader_ = active_;
}

void ModelSelector::observe(const Access &a)
{
	++step_;
	++window_steps_;
	for (auto &c : cands_) {
		// Settle the candidate's outstanding prefetches against this access.
		std::erase_if(c.pending, [&](const auto &p) {
			if (p.first == a.extent) {
				++c.used;
				return true;
			}
			if (step_ - p.second > cfg_.horizon) {
				++c.wasted;
				return true;
			}
			return false;
		});
		c.model->observe(a);
		c.model->predict(cfg_.budget, &scratch_);
		for (const auto &p : scratch_) {
			if (p.probability < cfg_.min_probability || (resident_ && resident_(p.extent)))
				continue;
			bool known = std::any_of(c.pending.begin(), c.pending.end(),
						 [&](const auto &q) { return q.first == p.extent; });
			if (!known) {
				c.pending.emplace_back(p.extent, step_);
				++c.issued;
			}
		}
	}
	if (window_len_ == 0)
		window_len_ = std::min(cfg_.first_eval, cfg_.eval_every);
	if (window_steps_ >= window_len_) {
		evaluate();
		window_len_ = std::min(2 * window_len_, cfg_.eval_every);
	}
}

void ModelSelector::evaluate()
{
	const double n = static_cast<double>(window_steps_);
	std::size_t best = active_;
	for (std::size_t i = 0; i < cands_.size(); ++i) {
		Candidate &c = cands_[i];
		double w = (c.used - cfg_.waste_charge * c.wasted) / n;
		c.score = c.score == 0 ? w : 0.5 * c.score + 0.5 * w;
		c.coverage = c.used / n;
		c.precision = c.issued ? static_cast<double>(c.used) / c.issued : 0;
		c.issued = c.used = c.wasted = 0;
		if (c.score > cands_[best].score)
			best = i;
	}
	window_steps_ = 0;
	if (best != active_ && cands_[best].score > cands_[active_].score + cfg_.margin) {
		lead_streak_ = best == leader_ ? lead_streak_ + 1 : 1;
		leader_ = best;
		if (lead_streak_ >= cfg_.patience) {
			active_ = best;
			lead_streak_ = 0;
			++switches_;
		}
	} else {
		lead_streak_ = 0;
		leader_ = active_;
	}
}

void ModelSelector::predict(std::size_t k, std::vector<Prediction> *out)
{
	cands_[active_].model->predict(k, out);
}

std::size_t ModelSelector::model_bytes() const
{
	std::size_t n = sizeof(*this);
	for (const auto &c : cands_)
		n += c.model->model_bytes() + c.pending.capacity() * sizeof(c.pending[0]);
	return n;
}

std::vector<ModelSelector::Score> ModelSelector::scores() const
{
	std::vector<Score> v;
	for (const auto &c : cands_)
		v.push_back({std::string(c.model->name()), c.score, c.coverage, c.precision});
	return v;
}

Predictor *ModelSelector::candidate(std::string_view name)
{
	for (auto &c : cands_)
		if (c.model->name() == name)
			return c.model.get();
	return nullptr;
}

const std::vector<std::string> &predictor_names()
{
	static const std::vector<std::string> names = {"lstm", "markov", "stride",
						       "leap", "mithril", "none"};
	return names;
}

Result<std::unique_ptr<Predictor>> make_predictor(std::string_view name)
{
	std::unique_ptr<Predictor> p;
	if (name == "lstm")
		p = std::make_unique<LstmPredictor>();
	else if (name == "markov")
		p = std::make_unique<MarkovPredictor>();
	else if (name == "stride")
		p = std::make_unique<StridePredictor>();
	else if (name == "leap")
		p = std::make_unique<LeapPredictor>();
	else if (name == "mithril")
		p = std::make_unique<MithrilPredictor>();
	else if (name == "none")
		p = std::make_unique<NonePredictor>();
	else
		return make_error("unknown prediction model '" + std::string(name) + "'");
	return p;
}

Result<ModelSetting> parse_model_setting(std::string_view s)
{
	if (s.empty() || s == "auto")
		return ModelSetting{"auto", ""};
	for (const auto &n : predictor_names())
		if (s == n)
			return ModelSetting{n, ""};
	// The kernel stores up to 31 characters of [A-Za-z0-9._/-].
	bool valid = s.size() <= 31 && std::all_of(s.begin(), s.end(), [](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
		       c == '/' || c == '-';
	});
	if (valid && (s.find('/') != std::string_view::npos || s.ends_with(".model")))
		return ModelSetting{"file", std::string(s)};
	return make_error("prediction_model '" + std::string(s) +
			  "' is not auto, lstm, markov, stride, leap, mithril, none or a model "
			  "file path");
}

Result<std::unique_ptr<Predictor>> make_volume_predictor(const ModelSetting &s, SelectorConfig cfg)
{
	if (s.model == "file") {
		auto p = LstmPredictor::load(s.path);
		if (!p)
			return std::move(p).take_error();
		return std::unique_ptr<Predictor>(std::move(*p));
	}
	if (s.model != "auto")
		return make_predictor(s.model);
	std::vector<std::unique_ptr<Predictor>> c;
	for (const auto &n : predictor_names())
		c.push_back(std::move(*make_predictor(n)));
	return std::unique_ptr<Predictor>(std::make_unique<ModelSelector>(std::move(c), cfg));
}

} // namespace dmtier::predictor
