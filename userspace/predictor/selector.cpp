// SPDX-License-Identifier: GPL-2.0
#include "predictor/selector.h"

#include <algorithm>
#include <cctype>

#include "predictor/baselines.h"
#include "predictor/lstm.h"

namespace dmtier::predictor {

namespace {

// One CUSUM step for every challenger of `active` given this transition's
// outcomes x; returns the challenger whose statistic reached the threshold
// (the largest), or SIZE_MAX.
template <typename X, typename Stat>
std::size_t cusum_step(std::size_t n, std::size_t active, const SelectorConfig &cfg, X x, Stat stat)
{
	std::size_t best = SIZE_MAX;
	for (std::size_t i = 0; i < n; ++i) {
		if (i == active)
			continue;
		double d = x(i) - x(active);
		if (d == 0)
			continue;
		double &s = stat(i);
		s = std::max(0.0, s + d - cfg.allowance * std::abs(d));
		if (s >= cfg.threshold && (best == SIZE_MAX || s > stat(best)))
			best = i;
	}
	return best;
}

} // namespace

std::string_view SelectorPool::leader() const
{
	return leader_ < names_.size() ? std::string_view(names_[leader_]) : std::string_view();
}

std::size_t SelectorPool::index(std::string_view name)
{
	for (std::size_t i = 0; i < names_.size(); ++i)
		if (names_[i] == name)
			return i;
	// A new name: grow the n*n matrix.
	std::size_t n = names_.size();
	std::vector<double> sq((n + 1) * (n + 1), 0);
	for (std::size_t i = 0; i < n; ++i)
		for (std::size_t j = 0; j < n; ++j)
			sq[i * (n + 1) + j] = sq_[i * n + j];
	sq_.swap(sq);
	names_.emplace_back(name);
	benefit_.push_back(0);
	return n;
}

void SelectorPool::add(const std::vector<std::size_t> &idx, const std::vector<double> &x,
		       const SelectorConfig &cfg)
{
	const std::size_t n = names_.size();
	if (leader_ == SIZE_MAX) {
		leader_ = 0;
		for (std::size_t i = 0; i < n; ++i)
			if (names_[i] == cfg.initial)
				leader_ = i;
	}
	for (double &b : benefit_)
		b *= decay_;
	const double d2 = decay_ * decay_;
	for (double &q : sq_)
		q *= d2;
	for (std::size_t a = 0; a < idx.size(); ++a) {
		benefit_[idx[a]] += x[a];
		for (std::size_t b = 0; b < idx.size(); ++b) {
			double d = x[a] - x[b];
			sq_[idx[a] * n + idx[b]] += d * d;
		}
	}
	// The challenger with the largest lead beyond the confidence band.
	std::size_t best = SIZE_MAX;
	double best_lead = 0;
	for (std::size_t i = 0; i < n; ++i) {
		double lead = benefit_[i] - benefit_[leader_];
		if (i == leader_ || lead <= 0 ||
		    lead * lead < confidence_ * confidence_ * std::max(1.0, sq_[i * n + leader_]))
			continue;
		if (lead > best_lead) {
			best_lead = lead;
			best = i;
		}
	}
	if (best != SIZE_MAX) {
		leader_ = best;
		++switches_;
	}
}

ModelSelector::ModelSelector(std::vector<std::unique_ptr<Predictor>> candidates, SelectorConfig cfg)
	: cfg_(std::move(cfg)), decay_(std::exp2(-1.0 / std::max(1.0, cfg_.half_life))),
	  rng_(cfg_.sample_seed ? cfg_.sample_seed : 1)
{
	for (auto &c : candidates) {
		if (c->name() == cfg_.initial)
			active_ = cands_.size();
		Candidate k;
		k.model = std::move(c);
		cands_.push_back(std::move(k));
	}
	xs_.resize(cands_.size());
	set_active(active_);
}

void ModelSelector::set_active(std::size_t i)
{
	active_ = i;
	any_sampled_ = false;
	for (std::size_t k = 0; k < cands_.size(); ++k) {
		Candidate &c = cands_[k];
		c.cusum = 0;
		// The sampled league starts over against the new active model.
		c.spending.clear();
		c.sbenefit = c.scusum = c.ssq = c.sy = 0;
		bool sampled = (c.model->costly() || sample_all_) && k != active_;
		if (sampled != c.sampled) {
			// Out of the sampled league: it may not have seen the last
			// transitions (busy runs).
			if (!sampled)
				c.model->forget_context();
			c.sampled = sampled;
			c.model->set_shadow(sampled);
			c.pending.clear();
			c.benefit = c.used = c.issued = c.sq = 0;
		}
		any_sampled_ |= sampled;
	}
	ssteps_ = 0;
}

void ModelSelector::set_sample_all(bool on, std::size_t stretch)
{
	stretch_ = std::max<std::size_t>(1, stretch);
	if (on == sample_all_)
		return;
	sample_all_ = on;
	run_left_ = gap_left_ = 0;
	set_active(active_);
}

bool ModelSelector::sample_step()
{
	if (cfg_.sample_every <= 1)
		return true;
	// An unbiased sample, independent of the stream's period.
	return next_random() % cfg_.sample_every == 0;
}

std::uint64_t ModelSelector::next_random()
{
	// xorshift64
	rng_ ^= rng_ << 13;
	rng_ ^= rng_ >> 7;
	rng_ ^= rng_ << 17;
	return rng_;
}

bool ModelSelector::busy_step(bool *sample)
{
	if (run_left_ == 0 && gap_left_ == 0) {
		// A run starts: nothing before it is context.
		for (auto &c : cands_)
			if (c.sampled)
				c.model->forget_context();
		run_left_ = kBusyRun;
		// Gaps average period - kBusyRun: one run per period.
		std::size_t period = cfg_.sample_every * stretch_;
		std::size_t span = period > kBusyRun ? 2 * (period - kBusyRun) : 0;
		gap_left_ = span ? next_random() % (span + 1) : 0;
	}
	if (run_left_ > 0) {
		*sample = --run_left_ == 0;
		return true;
	}
	--gap_left_;
	*sample = false;
	return false;
}

double ModelSelector::settle(std::vector<Pending> *pending, Extent e, double *used)
{
	double x = 0;
	// Settle outstanding prefetches against this access.
	std::erase_if(*pending, [&](const Pending &p) {
		if (p.extent == e) {
			x += 1;
			if (used)
				*used += 1;
			return true;
		}
		if (step_ - p.step > cfg_.horizon) {
			x -= cfg_.waste_charge;
			return true;
		}
		return false;
	});
	return x;
}

void ModelSelector::issue(std::vector<Pending> *pending, double *issued)
{
	for (const auto &p : scratch_) {
		if (p.probability < cfg_.min_probability || (resident_ && resident_(p.extent)))
			continue;
		bool known = std::any_of(pending->begin(), pending->end(),
					 [&](const Pending &q) { return q.extent == p.extent; });
		if (!known) {
			pending->push_back({p.extent, step_});
			if (issued)
				*issued += 1;
		}
	}
}

void ModelSelector::set_pool(std::shared_ptr<SelectorPool> pool)
{
	pool_ = std::move(pool);
	pool_idx_.clear();
	if (pool_)
		for (const auto &c : cands_)
			pool_idx_.push_back(pool_->index(c.model->name()));
}

void ModelSelector::observe(const Access &a)
{
	++step_;
	steps_ = steps_ * decay_ + 1;
	// The shadows observe this transition (always, unless busy) and
	// predict on it (the sample).
	bool observe_shadows = true, sample = false;
	if (any_sampled_) {
		if (sample_all_)
			observe_shadows = busy_step(&sample);
		else
			sample = sample_step();
	}
	bool any = false;
	for (std::size_t k = 0; k < cands_.size(); ++k) {
		Candidate &c = cands_[k];
		if (c.sampled) {
			// Costly, in shadow: predicts on the sample only.
			if (sample) {
				c.used *= decay_;
				c.issued *= decay_;
			}
			c.sy = c.spending.empty() ? 0 : settle(&c.spending, a.extent, &c.used);
			if (observe_shadows)
				c.model->observe(a);
			if (sample) {
				c.model->predict(cfg_.budget, &scratch_);
				issue(&c.spending, &c.issued);
			}
			xs_[k] = 0;
			continue;
		}
		c.benefit *= decay_;
		c.used *= decay_;
		c.issued *= decay_;
		double x = c.pending.empty() ? 0 : settle(&c.pending, a.extent, &c.used);
		bool league = any_sampled_ && k == active_;
		if (league)
			c.sy = c.spending.empty() ? 0 : settle(&c.spending, a.extent, nullptr);
		c.model->observe(a);
		c.model->predict(cfg_.budget, &scratch_);
		issue(&c.pending, &c.issued);
		if (league && sample)
			issue(&c.spending, nullptr);
		c.benefit += x;
		xs_[k] = x;
		any |= x != 0;
	}
	for (auto &c : cands_)
		c.sq *= decay_ * decay_;
	if (any)
		for (std::size_t k = 0; k < cands_.size(); ++k) {
			if (cands_[k].sampled)
				continue;
			double d = xs_[k] - xs_[active_];
			cands_[k].sq += d * d;
		}
	// The pool learns what works for volumes that have not decided yet
	// (from the candidates scored on every transition).
	if (pool_ && any && !own_choice_) {
		if (!any_sampled_) {
			pool_->add(pool_idx_, xs_, cfg_);
		} else {
			pidx_.clear();
			px_.clear();
			for (std::size_t k = 0; k < cands_.size(); ++k)
				if (!cands_[k].sampled) {
					pidx_.push_back(pool_idx_[k]);
					px_.push_back(xs_[k]);
				}
			pool_->add(pidx_, px_, cfg_);
		}
	}
	std::size_t before = active_;
	// Without a new outcome every statistic only decays, which changes no
	// test's answer: decide() has something to do only when an outcome
	// came in or the pool's leader changed.
	std::size_t lead = pool_ ? pool_->leader_ : SIZE_MAX;
	if (any || lead != pool_leader_seen_) {
		pool_leader_seen_ = lead;
		decide();
	}
	if (active_ == before && any_sampled_)
		decide_sampled(sample);
}

void ModelSelector::decide_sampled(bool sample)
{
	Candidate &act = cands_[active_];
	if (sample) {
		ssteps_ = ssteps_ * decay_ + 1;
		act.sbenefit *= decay_;
		for (auto &c : cands_)
			if (c.sampled) {
				c.sbenefit *= decay_;
				c.ssq *= decay_ * decay_;
			}
	}
	act.sbenefit += act.sy;
	std::size_t best = SIZE_MAX;
	double best_stat = 0;
	for (std::size_t i = 0; i < cands_.size(); ++i) {
		Candidate &c = cands_[i];
		if (!c.sampled)
			continue;
		c.sbenefit += c.sy;
		double d = c.sy - act.sy;
		if (d != 0) {
			c.ssq += d * d;
			c.scusum = std::max(0.0, c.scusum + d - cfg_.allowance * std::abs(d));
		}
		double lead = c.sbenefit - act.sbenefit;
		bool wins = c.scusum >= cfg_.threshold;
		if (!own_choice_)
			wins |= lead >= cfg_.min_lead &&
				lead * lead >= cfg_.confidence * cfg_.confidence * c.ssq;
		if (wins && (best == SIZE_MAX || lead > best_stat)) {
			best = i;
			best_stat = lead;
		}
	}
	if (best != SIZE_MAX) {
		set_active(best);
		own_choice_ = true;
		++switches_;
	}
}

void ModelSelector::decide()
{
	std::size_t before = active_;
	// Until its own evidence decides, a volume runs its pool's choice.
	if (pool_ && !own_choice_) {
		std::string_view lead = pool_->leader();
		for (std::size_t i = 0; i < cands_.size(); ++i)
			if (cands_[i].model->name() == lead && i != active_) {
				set_active(i);
				break;
			}
	}
	if (!own_choice_) {
		// The first decision: the volume only runs a default, and short
		// volumes must not wait: a lead of min_lead net hits beyond the
		// confidence band of the decayed evidence.
		std::size_t best = SIZE_MAX;
		double best_lead = 0;
		for (std::size_t i = 0; i < cands_.size(); ++i) {
			if (cands_[i].sampled)
				continue;
			double lead = cands_[i].benefit - cands_[active_].benefit;
			if (i == active_ || lead < cfg_.min_lead ||
			    lead * lead < cfg_.confidence * cfg_.confidence * cands_[i].sq)
				continue;
			if (lead > best_lead) {
				best_lead = lead;
				best = i;
			}
		}
		if (best != SIZE_MAX) {
			set_active(best);
			own_choice_ = true;
			switches_ += active_ != before;
			return;
		}
	}
	std::size_t c = cusum_step(
		cands_.size(), active_, cfg_,
		[&](std::size_t i) { return cands_[i].sampled ? xs_[active_] : xs_[i]; },
		[&](std::size_t i) -> double & { return cands_[i].cusum; });
	if (c != SIZE_MAX) {
		set_active(c);
		own_choice_ = true;
	}
	switches_ += active_ != before;
}

void ModelSelector::save_state(PayloadWriter *w) const
{
	w->u64(cands_.size());
	w->str(cands_[active_].model->name());
	w->u32(own_choice_);
	w->u64(switches_);
	w->f64(steps_);
	for (const auto &c : cands_) {
		w->str(c.model->name());
		w->f64(c.benefit);
		w->f64(c.used);
		w->f64(c.issued);
		w->f64(c.sq);
		PayloadWriter m;
		c.model->save_state(&m);
		auto b = m.take();
		w->str(std::string_view(b.data(), b.size()));
	}
}

bool ModelSelector::load_state(PayloadReader *r)
{
	std::uint64_t n, switches;
	std::string active;
	std::uint32_t own;
	double steps;
	if (!r->u64(&n) || n > 64 || !r->str(&active) || !r->u32(&own) || !r->u64(&switches) || !r->f64(&steps))
		return false;
	std::size_t a = SIZE_MAX;
	for (std::size_t i = 0; i < cands_.size(); ++i)
		if (cands_[i].model->name() == active)
			a = i;
	if (a == SIZE_MAX)
		return false; // saved by a build with other candidates
	set_active(a);
	own_choice_ = own != 0;
	switches_ = switches;
	steps_ = steps;
	bool ok = true;
	for (std::uint64_t j = 0; j < n; ++j) {
		std::string name, blob;
		double b, u, i, q;
		if (!r->str(&name) || !r->f64(&b) || !r->f64(&u) || !r->f64(&i) || !r->f64(&q) || !r->str(&blob))
			return false;
		for (auto &c : cands_) {
			if (c.model->name() != name)
				continue;
			if (!c.sampled) {
				c.benefit = b;
				c.used = u;
				c.issued = i;
				c.sq = q;
			}
			std::vector<char> bytes(blob.begin(), blob.end());
			PayloadReader m(bytes);
			ok &= c.model->load_state(&m) && m.at_end();
		}
	}
	return ok;
}

void ModelSelector::predict(std::size_t k, std::vector<Prediction> *out)
{
	cands_[active_].model->predict(k, out);
}

std::size_t ModelSelector::model_bytes() const
{
	std::size_t n = sizeof(*this);
	for (const auto &c : cands_)
		n += c.model->model_bytes() +
		     (c.pending.capacity() + c.spending.capacity()) * sizeof(c.pending[0]);
	return n + xs_.capacity() * sizeof(double);
}

std::vector<ModelSelector::Score> ModelSelector::scores() const
{
	std::vector<Score> v;
	for (const auto &c : cands_) {
		// A costly candidate in shadow: per sampled transition.
		double n = c.sampled ? ssteps_ : steps_;
		double b = c.sampled ? c.sbenefit : c.benefit;
		v.push_back({std::string(c.model->name()), n > 0 ? b / n : 0, n > 0 ? c.used / n : 0,
			     c.issued > 0 ? c.used / c.issued : 0});
	}
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
