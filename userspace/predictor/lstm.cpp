// SPDX-License-Identifier: GPL-2.0
#include "predictor/lstm.h"

#include <algorithm>
#include <bit>

namespace dmtier::predictor {

namespace {

constexpr int kOther = 0;
constexpr std::size_t kCandidatesPerSlot = 4;
constexpr double kTop1Decay = 0.01;
constexpr int kMaxHidden = 1024, kMaxVocab = 4096, kMaxBptt = 1024;

LstmShape shape_of(const LstmConfig &c)
{
	LstmShape s;
	s.hidden = c.hidden;
	s.classes = c.vocab;
	s.features = {c.vocab, 3, 8, 8};
	return s;
}

} // namespace

int size_bucket(std::uint32_t bytes)
{
	if (bytes <= 4096)
		return 0;
	int b = std::bit_width((bytes - 1) / 4096u); // 8K ->1, 16K ->2, ...
	return std::min(b, 7);
}

int gap_bucket(std::uint64_t gap_ns)
{
	int b = 0;
	for (std::uint64_t lim = 10000; b < 7 && gap_ns >= lim; lim *= 10)
		++b;
	return b;
}

LstmPredictor::LstmPredictor(LstmConfig cfg)
	: cfg_(cfg), net_(shape_of(cfg), cfg.seed), state_(net_.zero_state()),
	  window_(cfg.bptt), slot_value_(cfg.vocab, 0), slot_kind_(cfg.vocab, kFree),
	  slot_count_(cfg.vocab, 0)
{
	targets_.reserve(cfg.bptt);
}

void LstmPredictor::assign_slot(int slot, std::uint64_t k)
{
	if (slot_kind_[slot] != kFree)
		slot_of_.erase(key(static_cast<Kind>(slot_kind_[slot]), slot_value_[slot]));
	slot_kind_[slot] = k & 3;
	slot_value_[slot] = static_cast<Extent>(static_cast<std::int64_t>(k) >> 2);
	auto c = candidates_.find(k);
	slot_count_[slot] = c != candidates_.end() ? c->second : 1;
	if (c != candidates_.end())
		candidates_.erase(c);
	slot_of_[k] = slot;
	net_.reset_class(slot, slot);
}

void LstmPredictor::count_candidate(std::uint64_t k)
{
	// Space-saving counting of targets that have no slot yet.
	auto c = candidates_.find(k);
	if (c != candidates_.end()) {
		c->second += 1;
	} else if (candidates_.size() < kCandidatesPerSlot * cfg_.vocab) {
		candidates_.emplace(k, 1.0);
	} else {
		auto weakest = std::min_element(candidates_.begin(), candidates_.end(),
						[](auto &a, auto &b) { return a.second < b.second; });
		double n = weakest->second + 1;
		candidates_.erase(weakest);
		candidates_.emplace(k, n);
	}
}

int LstmPredictor::class_of(Extent delta, Extent extent)
{
	// A copy that does not train (BackgroundLstm's inference copy) takes
	// its vocabulary from the trainer (adopt_model): lookups only.
	if (!training_) {
		for (std::uint64_t k : {key(kDelta, delta), key(kAbsolute, extent)}) {
			auto it = slot_of_.find(k);
			if (it != slot_of_.end())
				return it->second;
		}
		return kOther;
	}
	// A delta slot generalises over position, so it is preferred.
	for (std::uint64_t k : {key(kDelta, delta), key(kAbsolute, extent)}) {
		auto it = slot_of_.find(k);
		if (it != slot_of_.end()) {
			slot_count_[it->second] += 1;
			return it->second;
		}
	}
	for (std::uint64_t k : {key(kDelta, delta), key(kAbsolute, extent)}) {
		count_candidate(k);
		// A target seen twice takes a free slot at once.
		if (candidates_[k] >= 2)
			for (int s = 1; s < cfg_.vocab; ++s)
				if (slot_kind_[s] == kFree) {
					assign_slot(s, k);
					return s;
				}
	}
	return kOther;
}

void LstmPredictor::review_vocabulary()
{
	// Replace the weakest slots with candidates at least twice as frequent.
	std::vector<std::pair<double, std::uint64_t>> best;
	for (auto &[k, n] : candidates_)
		best.emplace_back(n, k);
	std::sort(best.rbegin(), best.rend());
	for (auto &[n, k] : best) {
		int weakest = 1;
		for (int s = 2; s < cfg_.vocab; ++s)
			if (slot_count_[s] < slot_count_[weakest])
				weakest = s;
		if (n < 2 || n < 2 * slot_count_[weakest])
			break;
		assign_slot(weakest, k);
	}
	for (auto &n : slot_count_)
		n *= 0.5;
	for (auto &[k, n] : candidates_)
		n *= 0.5;
}

void LstmPredictor::catch_up(LstmNet::Step *dst)
{
	// The state from the last inputs (the newest included), from zero.
	state_ = net_.zero_state();
	std::size_t n = std::min(recent_n_, kShadowWarmup);
	for (std::size_t i = recent_n_ - n; i < recent_n_; ++i) {
		if (i + 1 < recent_n_)
			net_.advance(recent_[i % kShadowWarmup], &state_); // no output needed
		else
			net_.forward(recent_[i % kShadowWarmup], &state_, dst);
	}
	stale_ = false;
}

void LstmPredictor::train_window()
{
	if (grad_.size() != net_.params().size())
		grad_ = LstmNet::Vec::Zero(net_.params().size());
	else
		grad_.setZero();
	net_.backward(std::span<const LstmNet::Step>(window_.data(), used_), targets_, &grad_);
	net_.adam_step(grad_, cfg_.learning_rate);
	trained_ += used_;
}

void LstmPredictor::observe(const Access &a)
{
	std::uint64_t prev_time = gap_.last();
	bool first = !have_;
	gap_.observe(a.time_ns);
	int cls = kOther;
	if (!first) {
		++transitions_;
		Extent delta = a.extent - last_;
		if (have_top_)
			top1_ += kTop1Decay * ((predicted_top_ == a.extent ? 1.0 : 0.0) - top1_);
		cls = class_of(delta, a.extent);
		if (used_ > 0)
			targets_.push_back(cls);
		if (training_ && used_ == static_cast<std::size_t>(cfg_.bptt))
			train_window();
		if (used_ == static_cast<std::size_t>(cfg_.bptt)) {
			used_ = 0;
			targets_.clear();
		}
		if (training_ && transitions_ % cfg_.review_every == 0)
			review_vocabulary();
	}
	have_ = true;
	last_ = a.extent;
	StepInput in{cls, static_cast<int>(a.op), size_bucket(a.bytes),
		     first ? 0 : gap_bucket(a.time_ns >= prev_time ? a.time_ns - prev_time : 0)};
	if (!training_) {
		recent_[recent_n_++ % kShadowWarmup] = in;
		if (shadow_) {
			// Forward skipped; predict() or the next active step catches up.
			stale_ = true;
			have_top_ = false;
			++used_;
			return;
		}
	}
	if (stale_)
		catch_up(&window_[used_]);
	else
		net_.forward(in, &state_, &window_[used_]);
	++used_;
	// Remember the top prediction for the running accuracy figure.
	const auto &p = window_[used_ - 1].p;
	int best = -1;
	for (int s = 1; s < cfg_.vocab; ++s)
		if (slot_kind_[s] != kFree && target(s) != last_ && (best < 0 || p[s] > p[best]))
			best = s;
	have_top_ = best > 0;
	if (have_top_)
		predicted_top_ = target(best);
}

void LstmPredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	if (!have_ || used_ == 0)
		return;
	if (stale_)
		catch_up(&window_[used_ - 1]);
	const auto &p = window_[used_ - 1].p;
	auto &ranked = ranked_;
	ranked.clear();
	for (int s = 1; s < cfg_.vocab; ++s)
		if (slot_kind_[s] != kFree && target(s) != last_)
			ranked.emplace_back(p[s], s);
	std::sort(ranked.begin(), ranked.end(), [](auto &a, auto &b) { return a.first > b.first; });
	// A delta and an absolute slot may name the same extent: merge them.
	for (const auto &[prob, s] : ranked) {
		Extent e = target(s);
		auto dup = std::find_if(out->begin(), out->end(),
					[e](const Prediction &q) { return q.extent == e; });
		if (dup != out->end()) {
			dup->probability += prob;
			continue;
		}
		if (out->size() == k)
			continue;
		out->push_back({e, prob, gap_.expect(1)});
	}
	std::sort(out->begin(), out->end(),
		  [](auto &a, auto &b) { return a.probability > b.probability; });
}

std::size_t LstmPredictor::model_bytes() const
{
	using S = LstmNet::Scalar;
	std::size_t step = sizeof(LstmNet::Step) + 11 * cfg_.hidden * sizeof(S) + cfg_.vocab * sizeof(S);
	return net_.memory_bytes() + grad_.size() * sizeof(double) + window_.size() * step +
	       (slot_of_.size() + candidates_.size()) * 4 * sizeof(Extent) +
	       cfg_.vocab * (sizeof(Extent) + sizeof(double) + 1);
}

void LstmPredictor::adopt_model(const LstmPredictor &t)
{
	net_.params() = t.net_.params();
	slot_value_ = t.slot_value_;
	slot_kind_ = t.slot_kind_;
	slot_count_ = t.slot_count_;
	slot_of_ = t.slot_of_;
	candidates_ = t.candidates_;
}

ModelFile LstmPredictor::to_model_file() const
{
	PayloadWriter w;
	w.u32(cfg_.hidden);
	w.u32(cfg_.vocab);
	w.u32(cfg_.bptt);
	w.f64(cfg_.learning_rate);
	w.u32(cfg_.review_every);
	for (int s = 0; s < cfg_.vocab; ++s) {
		w.u32(slot_kind_[s]); // 0 free, 1 delta, 2 absolute extent
		w.u64(static_cast<std::uint64_t>(slot_value_[s]));
		w.f64(slot_count_[s]);
	}
	const auto &theta = net_.params();
	w.u64(theta.size());
	for (Eigen::Index i = 0; i < theta.size(); ++i)
		w.f64(theta[i]);
	return {"lstm", w.take()};
}

Status LstmPredictor::save(const std::string &path) const
{
	return write_model_file(path, to_model_file());
}

Result<std::unique_ptr<LstmPredictor>> LstmPredictor::from_model_file(const ModelFile &m)
{
	if (m.kind != "lstm")
		return make_error("model file holds a '" + m.kind + "' model, not an lstm");
	PayloadReader r(m.payload);
	LstmConfig cfg;
	std::uint32_t hidden, vocab, bptt, review;
	if (!r.u32(&hidden) || !r.u32(&vocab) || !r.u32(&bptt) || !r.f64(&cfg.learning_rate) ||
	    !r.u32(&review))
		return make_error("lstm model truncated (configuration)");
	if (hidden < 1 || hidden > kMaxHidden || vocab < 2 || vocab > kMaxVocab || bptt < 1 ||
	    bptt > kMaxBptt || review < 1)
		return make_error("lstm model has an implausible shape (hidden " + std::to_string(hidden) +
				  ", vocab " + std::to_string(vocab) + ")");
	cfg.hidden = static_cast<int>(hidden);
	cfg.vocab = static_cast<int>(vocab);
	cfg.bptt = static_cast<int>(bptt);
	cfg.review_every = review;
	auto p = std::make_unique<LstmPredictor>(cfg);
	for (int s = 0; s < cfg.vocab; ++s) {
		std::uint32_t kind;
		std::uint64_t value;
		double count;
		if (!r.u32(&kind) || !r.u64(&value) || !r.f64(&count))
			return make_error("lstm model truncated (vocabulary)");
		if (kind > kAbsolute)
			return make_error("lstm model has an unknown vocabulary entry kind " +
					  std::to_string(kind));
		if (kind != kFree && s > 0) {
			p->slot_kind_[s] = static_cast<std::uint8_t>(kind);
			p->slot_value_[s] = static_cast<Extent>(value);
			p->slot_count_[s] = count;
			p->slot_of_[key(static_cast<Kind>(kind), static_cast<Extent>(value))] = s;
		}
	}
	std::uint64_t n;
	if (!r.u64(&n) || n != static_cast<std::uint64_t>(p->net_.params().size()))
		return make_error("lstm model parameter count does not match its shape");
	auto &theta = p->net_.params();
	for (Eigen::Index i = 0; i < theta.size(); ++i) {
		double x;
		if (!r.f64(&x))
			return make_error("lstm model truncated (parameters)");
		theta[i] = static_cast<LstmNet::Scalar>(x);
	}
	if (!r.at_end())
		return make_error("lstm model has trailing bytes");
	return p;
}

Result<std::unique_ptr<LstmPredictor>> LstmPredictor::load(const std::string &path)
{
	auto m = read_model_file(path);
	if (!m)
		return std::move(m).take_error();
	auto p = from_model_file(*m);
	if (!p)
		return make_error(path + ": " + p.error());
	return p;
}

} // namespace dmtier::predictor
