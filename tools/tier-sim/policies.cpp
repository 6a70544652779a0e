// SPDX-License-Identifier: GPL-2.0
#include "tier-sim/policies.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "predictor/baselines.h"
#include "predictor/selector.h"

namespace dmtier::tiersim {

using predictor::Access;
using predictor::Prediction;

const std::vector<std::string> &policy_names()
{
	static const std::vector<std::string> names = {
		"lru",  "smq",     "fallback", "fallback+MODEL", "none", "stride",
		"markov", "leap", "mithril", "lstm", "auto",     "oracle"};
	return names;
}

void Policy::promote_lru(IdList &lru, std::uint32_t id, double now, bool prefetch, double reserve)
{
	Pool &pool = ctx_.pool;
	if (!pool.can_promote(reserve)) {
		if (!prefetch)
			pool.deny();
		return;
	}
	if (pool.full()) {
		std::uint32_t victim = lru.back();
		lru.remove(victim);
		pool.demote(victim, now);
	}
	pool.promote(id, now, prefetch);
	lru.push_front(id);
}

namespace {

// One predictor per volume, built on first use from a model name.
class VolumeModels {
public:
	VolumeModels(PolicyContext ctx, std::string model) : ctx_(ctx), model_(std::move(model)) {}

	bool enabled() const { return !model_.empty() && model_ != "none"; }

	// Feeds the transition to its volume's model; returns its predictions.
	const std::vector<Prediction> &step(std::uint32_t vol, const Access &a)
	{
		if (vol >= models_.size())
			models_.resize(vol + 1);
		auto &m = models_[vol];
		if (!m)
			m = build(vol);
		auto t0 = std::chrono::steady_clock::now();
		m->observe(a);
		m->predict(ctx_.cfg.prefetch_depth, &preds_);
		seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
		++predictions_;
		return preds_;
	}

	// The predictions worth acting on, as pool ids (predicted extents the
	// trace never touches get ids too: prefetching them is a real cost).
	const std::vector<std::pair<std::uint32_t, double>> &targets(std::uint32_t vol, const Access &a)
	{
		targets_.clear();
		for (const Prediction &p : step(vol, a))
			if (p.probability >= ctx_.cfg.prefetch_min_probability)
				targets_.emplace_back(ctx_.ids.get(IdMap::key(vol, p.extent)), p.probability);
		ctx_.pool.grow(ctx_.ids.size());
		return targets_;
	}

	PolicyStats stats() const
	{
		PolicyStats s;
		s.predictions = predictions_;
		s.predict_seconds = seconds_;
		std::map<std::string, std::size_t> choice;
		s.volume_models.resize(models_.size());
		for (std::size_t v = 0; v < models_.size(); ++v) {
			const auto &m = models_[v];
			if (!m)
				continue;
			++s.volumes;
			s.model_bytes_max = std::max(s.model_bytes_max, m->model_bytes());
			if (auto *sel = dynamic_cast<const predictor::ModelSelector *>(m.get())) {
				++choice[std::string(sel->active())];
				s.volume_models[v] = sel->active();
			}
		}
		for (const auto &[name, n] : choice)
			s.selector_choice += (s.selector_choice.empty() ? "" : " ") + name + ":" +
					     std::to_string(n);
		return s;
	}

private:
	std::unique_ptr<predictor::Predictor> build(std::uint32_t vol)
	{
		if (model_ == "oracle-prefetch")
			return std::make_unique<predictor::OraclePredictor>(ctx_.future.transitions[vol]);
		auto setting = predictor::parse_model_setting(model_);
		predictor::SelectorConfig sc;
		sc.budget = ctx_.cfg.prefetch_depth;
		sc.min_probability = ctx_.cfg.prefetch_min_probability;
		auto p = predictor::make_volume_predictor(*setting, sc);
		if (auto *sel = dynamic_cast<predictor::ModelSelector *>(p->get())) {
			// The volumes of one pool share their shadow evidence.
			if (!pool_)
				pool_ = std::make_shared<predictor::SelectorPool>();
			sel->set_pool(pool_);
			sel->set_residency([this, vol](predictor::Extent e) {
				std::uint32_t id;
				return ctx_.ids.find(IdMap::key(vol, e), &id) && id < ctx_.pool.size() &&
				       ctx_.pool.resident(id);
			});
		}
		return std::move(*p);
	}

	PolicyContext ctx_;
	std::string model_;
	std::vector<std::unique_ptr<predictor::Predictor>> models_;
	std::shared_ptr<predictor::SelectorPool> pool_;
	std::vector<Prediction> preds_;
	std::vector<std::pair<std::uint32_t, double>> targets_;
	std::uint64_t predictions_ = 0;
	double seconds_ = 0;
};

// LRU with demand promotion, optionally prefetching a predictor's top-k.
class LruPolicy : public Policy {
public:
	LruPolicy(PolicyContext ctx, std::string model) : Policy(ctx), models_(ctx, std::move(model)) {}

	void on_access(std::uint32_t id, std::uint64_t, bool, double now) override
	{
		lru_.grow(ctx_.ids.size());
		if (ctx_.pool.resident(id))
			lru_.touch(id);
		else
			promote_lru(lru_, id, now, false, models_.enabled() ? 1 : 0);
	}

	void on_transition(std::uint32_t vol, const Access &a, double now) override
	{
		if (!models_.enabled())
			return;
		for (auto [id, probability] : models_.targets(vol, a)) {
			lru_.grow(ctx_.ids.size());
			if (!ctx_.pool.resident(id))
				promote_lru(lru_, id, now, true, 0);
		}
	}

	PolicyStats stats() const override { return models_.stats(); }

private:
	// A predictive policy spends its budget on predictions first: demand
	// promotions leave one token for the next prefetch (the 1 above).
	VolumeModels models_;
	IdList lru_;
};

// smq-like: frequency levels (log2 of decayed hit counts), LRU within a
// level; the victim is the least recent entry of the lowest level; a miss
// is promoted when tier 0 has room or it is at least as hot as the victim.
class SmqPolicy : public Policy {
public:
	explicit SmqPolicy(PolicyContext ctx) : Policy(ctx)
	{
		period_ = std::max<std::uint64_t>(1024, 8 * ctx.pool.capacity());
	}

	void on_access(std::uint32_t id, std::uint64_t index, bool, double now) override
	{
		grow(ctx_.ids.size());
		if (index && index % period_ == 0)
			decay();
		hits_[id] = std::min<std::uint32_t>(hits_[id] + 1, 1u << 20);
		++stamp_;
		Pool &pool = ctx_.pool;
		if (pool.resident(id)) {
			order_.erase(keys_[id]);
			keys_[id] = {level(id), stamp_, id};
			order_.insert(keys_[id]);
			return;
		}
		bool room = !pool.full();
		if (!room && (hits_[id] < 2 || level(id) < std::get<0>(*order_.begin())))
			return;
		if (!pool.can_promote()) {
			pool.deny();
			return;
		}
		if (!room) {
			auto victim = *order_.begin();
			order_.erase(order_.begin());
			pool.demote(std::get<2>(victim), now);
		}
		pool.promote(id, now, false);
		keys_[id] = {level(id), stamp_, id};
		order_.insert(keys_[id]);
	}

private:
	using Key = std::tuple<int, std::uint64_t, std::uint32_t>;
	int level(std::uint32_t id) const { return std::bit_width(hits_[id]); }
	void grow(std::size_t n)
	{
		if (hits_.size() < n) {
			hits_.resize(n, 0);
			keys_.resize(n);
		}
	}
	void decay()
	{
		for (auto &h : hits_)
			h /= 2;
		std::set<Key> fresh;
		for (const auto &k : order_) {
			std::uint32_t id = std::get<2>(k);
			keys_[id] = {level(id), std::get<1>(k), id};
			fresh.insert(keys_[id]);
		}
		order_.swap(fresh);
	}

	std::vector<std::uint32_t> hits_;
	std::vector<Key> keys_;
	std::set<Key> order_;
	std::uint64_t stamp_ = 0, period_;
};

// The kernel fallback policy's rules (docs/dm-tier.md, "Migration, heat and
// the fallback policy"): heat is the decayed access count of an extent,
// halved once per policy round. Each round, a fast tier above the high
// watermark demotes its coldest extents until it is at the low watermark;
// then extents whose heat reaches the promote threshold move up, hottest
// first, while the fast tier has room below the high watermark, or swap with
// its coldest extent when more than twice as hot (plus 2). Extents moved in
// the last residency rounds stay put.
class FallbackPolicy : public Policy {
public:
	FallbackPolicy(PolicyContext ctx, std::string model) : Policy(ctx), models_(ctx, std::move(model)) {}

	void on_access(std::uint32_t id, std::uint64_t, bool, double now) override
	{
		grow();
		if (now >= next_round_) {
			round(now);
			next_round_ = now + ctx_.cfg.fallback_interval_s;
		}
		heat(id, 1.0);
	}

	// With a model, predictions add their probability to the extent's heat:
	// the heat forecast the controller would feed the kernel.
	void on_transition(std::uint32_t vol, const Access &a, double) override
	{
		if (!models_.enabled())
			return;
		for (auto [id, probability] : models_.targets(vol, a)) {
			grow();
			heat(id, probability);
		}
	}

	PolicyStats stats() const override { return models_.stats(); }

private:
	static constexpr double kMaxHeat = 255; // 8-bit saturating counters

	void grow()
	{
		std::size_t n = ctx_.ids.size();
		if (heat_.size() < n) {
			heat_.resize(n, 0);
			moved_.resize(n, kNever);
			tracked_.resize(n, 0);
		}
	}
	void heat(std::uint32_t id, double amount)
	{
		heat_[id] = std::min(kMaxHeat, heat_[id] + amount);
		if (!tracked_[id]) {
			tracked_[id] = 1;
			warm_.push_back(id);
		}
	}
	bool settled(std::uint32_t id) const
	{
		return moved_[id] == kNever || round_ - moved_[id] > ctx_.cfg.fallback_residency_rounds;
	}
	bool move(std::uint32_t id, double now, bool up)
	{
		Pool &pool = ctx_.pool;
		if (up) {
			if (!pool.can_promote()) {
				pool.deny();
				return false;
			}
			pool.promote(id, now, false);
		} else {
			pool.demote(id, now);
		}
		moved_[id] = round_;
		return true;
	}

	void round(double now)
	{
		++round_;
		Pool &pool = ctx_.pool;
		const double cap = static_cast<double>(pool.capacity());
		// Heat of the last round, coldest resident first.
		std::vector<std::pair<double, std::uint32_t>> cold, hot;
		for (std::uint32_t id : warm_) {
			if (pool.resident(id))
				cold.emplace_back(heat_[id], id);
			else if (heat_[id] >= ctx_.cfg.fallback_promote_threshold)
				hot.emplace_back(heat_[id], id);
		}
		std::sort(cold.begin(), cold.end());
		std::sort(hot.rbegin(), hot.rend());
		std::size_t next_cold = 0;
		auto coldest = [&]() -> std::pair<double, std::uint32_t> * {
			while (next_cold < cold.size() &&
			       (!pool.resident(cold[next_cold].second) || !settled(cold[next_cold].second)))
				++next_cold;
			return next_cold < cold.size() ? &cold[next_cold] : nullptr;
		};
		if (pool.used() > ctx_.cfg.high_watermark * cap)
			while (pool.used() > ctx_.cfg.low_watermark * cap) {
				auto *c = coldest();
				if (!c)
					break;
				move(c->second, now, false);
			}
		for (auto [h, id] : hot) {
			if (!settled(id))
				continue;
			if (pool.used() + 1 <= ctx_.cfg.high_watermark * cap) {
				if (!move(id, now, true))
					break;
				continue;
			}
			auto *c = coldest();
			if (!c || h <= 2 * c->first + 2)
				continue;
			if (!pool.can_promote()) {
				pool.deny();
				break;
			}
			move(c->second, now, false);
			move(id, now, true);
		}
		// Counts halve once per round; forget extents that cooled to zero.
		std::erase_if(warm_, [&](std::uint32_t id) {
			heat_[id] = std::floor(heat_[id] / 2);
			if (heat_[id] > 0 || pool.resident(id))
				return false;
			tracked_[id] = 0;
			return true;
		});
	}

	static constexpr std::uint64_t kNever = UINT64_MAX;
	VolumeModels models_;
	std::vector<double> heat_;
	std::vector<std::uint64_t> moved_;
	std::vector<std::uint8_t> tracked_;
	std::vector<std::uint32_t> warm_;
	std::uint64_t round_ = 0;
	double next_round_ = 0;
};

// The reference bound: Belady replacement (evict the extent used furthest in
// the future, admit only what is used sooner and not before a migration
// could complete) plus perfect prefetch. Not a proof of optimality under
// bandwidth and budget limits, but no causal policy knows more.
class OraclePolicy : public Policy {
public:
	explicit OraclePolicy(PolicyContext ctx) : Policy(ctx), next_(ctx.future.first_use)
	{
		// Time one migration takes on idle devices.
		const SimConfig &c = ctx.cfg;
		double es = static_cast<double>(c.extent_size);
		lead_ = std::max(c.tier1.latency_us * 1e-6 + es / (c.tier1.bandwidth_mb_s * 1e6),
				 c.tier0.latency_us * 1e-6 + es / (c.tier0.bandwidth_mb_s * 1e6));
	}

	void on_access(std::uint32_t id, std::uint64_t index, bool, double now) override
	{
		std::uint32_t nu = ctx_.future.next_use[index];
		if (ctx_.pool.resident(id)) {
			order_.erase({next_[id], id});
			order_.insert({nu, id});
			next_[id] = nu;
			return;
		}
		next_[id] = nu;
		admit(id, now, false);
	}

	void on_transition(std::uint32_t vol, const Access &a, double now) override
	{
		if (vol >= models_.size())
			models_.resize(vol + 1);
		auto &m = models_[vol];
		if (!m)
			m = std::make_unique<predictor::OraclePredictor>(ctx_.future.transitions[vol]);
		m->observe(a);
		m->predict(ctx_.cfg.prefetch_depth, &preds_);
		for (const Prediction &p : preds_) {
			std::uint32_t id;
			if (ctx_.ids.find(IdMap::key(vol, p.extent), &id) && !ctx_.pool.resident(id))
				admit(id, now, true);
		}
	}

private:
	void admit(std::uint32_t id, double now, bool prefetch)
	{
		Pool &pool = ctx_.pool;
		std::uint32_t nu = next_[id];
		// Never used again, or used before a migration could complete.
		if (nu == UINT32_MAX || ctx_.future.time[nu] < now + lead_)
			return;
		if (pool.full() && std::prev(order_.end())->first <= nu)
			return;
		if (!pool.can_promote()) {
			if (!prefetch)
				pool.deny();
			return;
		}
		if (pool.full()) {
			auto victim = *std::prev(order_.end());
			order_.erase(std::prev(order_.end()));
			pool.demote(victim.second, now);
		}
		pool.promote(id, now, prefetch);
		order_.insert({nu, id});
	}

	std::vector<std::uint32_t> next_;
	double lead_;
	std::set<std::pair<std::uint32_t, std::uint32_t>> order_;
	std::vector<std::unique_ptr<predictor::OraclePredictor>> models_;
	std::vector<Prediction> preds_;
};

} // namespace

Result<std::unique_ptr<Policy>> make_policy(const std::string &name, PolicyContext ctx)
{
	if (name == "lru")
		return std::unique_ptr<Policy>(std::make_unique<LruPolicy>(ctx, ""));
	if (name == "smq")
		return std::unique_ptr<Policy>(std::make_unique<SmqPolicy>(ctx));
	if (name == "fallback")
		return std::unique_ptr<Policy>(std::make_unique<FallbackPolicy>(ctx, ""));
	if (name.starts_with("fallback+")) {
		std::string model = name.substr(9);
		auto setting = predictor::parse_model_setting(model);
		if (!setting || setting->model == "file")
			return make_error("unknown policy '" + name + "': fallback+ takes a model name");
		return std::unique_ptr<Policy>(std::make_unique<FallbackPolicy>(ctx, model));
	}
	if (name == "oracle")
		return std::unique_ptr<Policy>(std::make_unique<OraclePolicy>(ctx));
	if (name == "oracle-prefetch")
		return std::unique_ptr<Policy>(std::make_unique<LruPolicy>(ctx, name));
	auto setting = predictor::parse_model_setting(name);
	if (!setting)
		return make_error("unknown policy '" + name + "': use lru, smq, fallback, oracle, " +
				  "oracle-prefetch, a prediction model (auto, lstm, markov, stride, leap, " +
				  "mithril, none) or an LSTM model file");
	// Validate a model file once, before the replay.
	if (setting->model == "file") {
		auto p = predictor::make_volume_predictor(*setting);
		if (!p)
			return std::move(p).take_error();
	}
	return std::unique_ptr<Policy>(std::make_unique<LruPolicy>(ctx, name));
}

} // namespace dmtier::tiersim
