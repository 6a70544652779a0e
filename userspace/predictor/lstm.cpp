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
	  window_(cfg.bptt), slot_delta_(cfg.vocab, 0), slot_count_(cfg.vocab, 0),
	  slot_used_(cfg.vocab, false)
{
	targets_.reserve(cfg.bptt);
}

void LstmPredictor::assign_slot(int slot, Extent delta)
{
	if (slot_used_[slot])
		slot_of_.erase(slot_delta_[slot]);
	slot_used_[slot] = true;
	slot_delta_[slot] = delta;
	slot_count_[slot] = candidates_.count(delta) ? candidates_[delta] : 1;
	slot_of_[delta] = slot;
	candidates_.erase(delta);
	net_.reset_class(slot, slot);
}

int LstmPredictor::class_of(Extent delta)
{
	auto it = slot_of_.find(delta);
	if (it != slot_of_.end()) {
		slot_count_[it->second] += 1;
		return it->second;
	}
	// Space-saving counting of deltas that have no slot yet.
	auto c = candidates_.find(delta);
	if (c != candidates_.end()) {
		c->second += 1;
	} else if (candidates_.size() < kCandidatesPerSlot * cfg_.vocab) {
		c = candidates_.emplace(delta, 1.0).first;
	} else {
		auto weakest = std::min_element(candidates_.begin(), candidates_.end(),
						[](auto &a, auto &b) { return a.second < b.second; });
		double n = weakest->second + 1;
		candidates_.erase(weakest);
		c = candidates_.emplace(delta, n).first;
	}
	// A delta seen twice takes a free slot at once.
	if (c->second >= 2) {
		for (int s = 1; s < cfg_.vocab; ++s)
			if (!slot_used_[s]) {
				assign_slot(s, delta);
				return s;
			}
	}
	return kOther;
}

void LstmPredictor::review_vocabulary()
{
	// Replace the weakest slots with candidates at least twice as frequent.
	std::vector<std::pair<double, Extent>> best;
	for (auto &[d, n] : candidates_)
		best.emplace_back(n, d);
	std::sort(best.rbegin(), best.rend());
	for (auto &[n, d] : best) {
		int weakest = 1;
		for (int s = 2; s < cfg_.vocab; ++s)
			if (slot_count_[s] < slot_count_[weakest])
				weakest = s;
		if (n < 2 || n < 2 * slot_count_[weakest])
			break;
		assign_slot(weakest, d);
	}
	for (auto &n : slot_count_)
		n *= 0.5;
	for (auto &[d, n] : candidates_)
		n *= 0.5;
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
		cls = class_of(delta);
		if (used_ > 0)
			targets_.push_back(cls);
		if (training_ && used_ == static_cast<std::size_t>(cfg_.bptt))
			train_window();
		if (used_ == static_cast<std::size_t>(cfg_.bptt)) {
			used_ = 0;
			targets_.clear();
		}
		if (transitions_ % cfg_.review_every == 0)
			review_vocabulary();
	}
	have_ = true;
	last_ = a.extent;
	StepInput in{cls, static_cast<int>(a.op), size_bucket(a.bytes),
		     first ? 0 : gap_bucket(a.time_ns >= prev_time ? a.time_ns - prev_time : 0)};
	net_.forward(in, &state_, &window_[used_]);
	++used_;
	// Remember the top prediction for the running accuracy figure.
	const auto &p = window_[used_ - 1].p;
	int best = -1;
	for (int s = 1; s < cfg_.vocab; ++s)
		if (slot_used_[s] && (best < 0 || p[s] > p[best]))
			best = s;
	have_top_ = best > 0;
	if (have_top_)
		predicted_top_ = last_ + slot_delta_[best];
}

void LstmPredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	if (!have_ || used_ == 0)
		return;
	const auto &p = window_[used_ - 1].p;
	auto &ranked = ranked_;
	ranked.clear();
	for (int s = 1; s < cfg_.vocab; ++s)
		if (slot_used_[s])
			ranked.emplace_back(p[s], s);
	std::size_t n = std::min(k, ranked.size());
	std::partial_sort(ranked.begin(), ranked.begin() + n, ranked.end(),
			  [](auto &a, auto &b) { return a.first > b.first; });
	for (std::size_t i = 0; i < n; ++i)
		out->push_back({last_ + slot_delta_[ranked[i].second], ranked[i].first, gap_.expect(1)});
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
	slot_delta_ = t.slot_delta_;
	slot_count_ = t.slot_count_;
	slot_used_ = t.slot_used_;
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
		w.u32(slot_used_[s] ? 1 : 0);
		w.u64(static_cast<std::uint64_t>(slot_delta_[s]));
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
		std::uint32_t used;
		std::uint64_t delta;
		double count;
		if (!r.u32(&used) || !r.u64(&delta) || !r.f64(&count))
			return make_error("lstm model truncated (vocabulary)");
		if (used && s > 0) {
			p->slot_used_[s] = true;
			p->slot_delta_[s] = static_cast<Extent>(delta);
			p->slot_count_[s] = count;
			p->slot_of_[static_cast<Extent>(delta)] = s;
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
