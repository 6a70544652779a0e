// SPDX-License-Identifier: GPL-2.0
#include "predictor/baselines.h"

#include <algorithm>
#include <numeric>

namespace dmtier::predictor {

void StridePredictor::observe(const Access &a)
{
	gap_.observe(a.time_ns);
	if (have_) {
		Extent d = a.extent - last_;
		if (d == delta_) {
			confidence_ = std::min(confidence_ + 1, 4);
		} else {
			delta_ = d;
			confidence_ = 0;
		}
	}
	have_ = true;
	last_ = a.extent;
}

void StridePredictor::forget_context() { have_ = false; }

void StridePredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	if (confidence_ < 1 || delta_ == 0)
		return;
	double p = 0.5 + 0.1 * confidence_;
	for (std::size_t i = 1; i <= k; ++i) {
		out->push_back({last_ + static_cast<Extent>(i) * delta_, p, gap_.expect(i)});
		p *= 0.9;
	}
}

void SuccessorList::add(Extent e)
{
	std::size_t weakest = 0;
	for (std::size_t i = 0; i < kSlots; ++i) {
		if (count[i] && extent[i] == e) {
			if (++count[i] == UINT32_MAX)
				for (auto &c : count)
					c /= 2;
			return;
		}
		if (count[i] < count[weakest])
			weakest = i;
	}
	// Replace the weakest; an established entry decays so newcomers can win.
	if (count[weakest] > 1) {
		--count[weakest];
		return;
	}
	extent[weakest] = e;
	count[weakest] = 1;
}

std::uint32_t SuccessorList::total() const
{
	return std::accumulate(count.begin(), count.end(), 0u);
}

namespace {

// Appends list's entries (count >= min_count) to out as predictions.
void emit(const SuccessorList &list, std::uint32_t min_count, std::size_t k, Extent current,
	  const GapEstimator &gap, std::vector<Prediction> *out)
{
	std::array<std::size_t, SuccessorList::kSlots> order;
	std::iota(order.begin(), order.end(), 0);
	std::sort(order.begin(), order.end(),
		  [&](std::size_t a, std::size_t b) { return list.count[a] > list.count[b]; });
	double total = list.total();
	for (std::size_t i : order) {
		if (out->size() >= k || list.count[i] < min_count || list.count[i] == 0)
			break;
		if (list.extent[i] == current)
			continue;
		out->push_back({list.extent[i], list.count[i] / total, gap.expect(1)});
	}
}

} // namespace

void MarkovPredictor::observe(const Access &a)
{
	gap_.observe(a.time_ns);
	if (have_ && a.extent == last_)
		return;
	if (have_) {
		if (!cur_ && table_.size() < max_states_)
			cur_ = &table_[last_];
		if (cur_)
			cur_->add(a.extent);
	}
	have_ = true;
	last_ = a.extent;
	auto it = table_.find(last_);
	cur_ = it != table_.end() ? &it->second : nullptr;
}

void MarkovPredictor::forget_context() { have_ = false; }

void MarkovPredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	if (cur_)
		emit(*cur_, 1, k, last_, gap_, out);
}

std::size_t MarkovPredictor::model_bytes() const
{
	return table_.size() * (sizeof(Extent) + sizeof(SuccessorList) + 2 * sizeof(void *));
}

bool LeapPredictor::trend(Extent *delta, double *share) const
{
	// Search windows of 4, 8, ... recent deltas for a strict majority: one
	// pass from the newest delta back, counting in a small open-addressing
	// table; the most frequent delta so far is the only possible majority.
	constexpr std::size_t kSlots = 2 * kHistory;
	std::array<Extent, kSlots> key;
	std::array<std::uint8_t, kSlots> cnt{};
	Extent best = 0;
	std::size_t best_n = 0;
	// The widest window searched. Once even the most frequent delta so far
	// could not reach a majority of it with every delta still to come, no
	// window can hold one (a random stream stops after about half the history).
	std::size_t widest = 0;
	for (std::size_t w = 4; w <= count_; w *= 2)
		widest = w;
	for (std::size_t w = 1; w <= count_; ++w) {
		if (w > widest || best_n + widest / 2 < w)
			break;
		Extent d = delta_at(count_ - w);
		std::size_t h = (static_cast<std::uint64_t>(d) * 0x9e3779b97f4a7c15ull) >> 58; // 6 bits
		while (cnt[h] && key[h] != d)
			h = (h + 1) % kSlots;
		key[h] = d;
		std::size_t n = ++cnt[h];
		if (n > best_n) {
			best_n = n;
			best = d;
		}
		if (w >= 4 && (w & (w - 1)) == 0 && 2 * best_n > w && best != 0) {
			*delta = best;
			*share = static_cast<double>(best_n) / w;
			return true;
		}
	}
	return false;
}

void LeapPredictor::observe(const Access &a)
{
	gap_.observe(a.time_ns);
	if (have_) {
		if (count_ < kHistory) {
			deltas_[(head_ + count_++) % kHistory] = a.extent - last_;
		} else {
			deltas_[head_] = a.extent - last_;
			head_ = (head_ + 1) % kHistory;
		}
		if (!issued_.empty()) {
			bool hit = std::find(issued_.begin(), issued_.end(), a.extent) != issued_.end();
			// Leap: grow the prefetch window on hits, halve it on misses.
			depth_ = hit ? std::min<std::size_t>(depth_ * 2, 8) : std::max<std::size_t>(depth_ / 2, 1);
			// Judged once: predict() may not run after every transition.
			issued_.clear();
		}
	}
	have_ = true;
	last_ = a.extent;
}

void LeapPredictor::forget_context()
{
	have_ = false; // no delta across the gap; the history before it stays
	issued_.clear();
}

void LeapPredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	Extent d;
	double share;
	if (trend(&d, &share)) {
		std::size_t n = std::min(k, depth_);
		for (std::size_t i = 1; i <= n; ++i)
			out->push_back({last_ + static_cast<Extent>(i) * d, share, gap_.expect(i)});
	}
	issued_.clear();
	for (const auto &p : *out)
		issued_.push_back(p.extent);
}

void MithrilPredictor::observe(const Access &a)
{
	gap_.observe(a.time_ns);
	for (auto &[prev, list] : recent_) {
		if (prev == a.extent)
			continue;
		if (!list) {
			// Made since by another of the recent accesses, or to make.
			auto it = assoc_.find(prev);
			if (it != assoc_.end())
				list = &it->second;
			else if (assoc_.size() < cfg_.max_entries)
				list = &assoc_[prev];
		}
		if (list)
			list->add(a.extent);
	}
	auto it = assoc_.find(a.extent);
	recent_.emplace_back(a.extent, it != assoc_.end() ? &it->second : nullptr);
	if (recent_.size() > cfg_.lookahead)
		recent_.pop_front();
}

void MithrilPredictor::forget_context() { recent_.clear(); }

void MithrilPredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	if (!recent_.empty() && recent_.back().second)
		emit(*recent_.back().second, cfg_.min_support, k, recent_.back().first, gap_, out);
}

std::size_t MithrilPredictor::model_bytes() const
{
	return assoc_.size() * (sizeof(Extent) + sizeof(SuccessorList) + 2 * sizeof(void *));
}

void OraclePredictor::observe(const Access &a)
{
	gap_.observe(a.time_ns);
	// Resynchronise if the caller's stream differs from the given future.
	if (pos_ < future_.size() && future_[pos_] == a.extent)
		++pos_;
	else
		for (std::size_t i = pos_; i < future_.size(); ++i)
			if (future_[i] == a.extent) {
				pos_ = i + 1;
				break;
			}
}

void OraclePredictor::predict(std::size_t k, std::vector<Prediction> *out)
{
	out->clear();
	Extent current = pos_ ? future_[pos_ - 1] : 0;
	for (std::size_t i = pos_; i < future_.size() && out->size() < k; ++i) {
		Extent e = future_[i];
		if (e == current || std::any_of(out->begin(), out->end(),
						[e](const Prediction &p) { return p.extent == e; }))
			continue;
		out->push_back({e, 1.0, gap_.expect(static_cast<double>(i - pos_ + 1))});
	}
}

void StridePredictor::save_state(PayloadWriter *w) const
{
	w->u64(static_cast<std::uint64_t>(last_));
	w->u64(static_cast<std::uint64_t>(delta_));
	w->u32(static_cast<std::uint32_t>(confidence_));
	w->u32(have_);
	gap_.save(w);
}

bool StridePredictor::load_state(PayloadReader *r)
{
	std::uint64_t last, delta;
	std::uint32_t conf, have;
	if (!r->u64(&last) || !r->u64(&delta) || !r->u32(&conf) || !r->u32(&have) || conf > 4 ||
	    !gap_.load(r))
		return false;
	last_ = static_cast<Extent>(last);
	delta_ = static_cast<Extent>(delta);
	confidence_ = static_cast<int>(conf);
	have_ = have != 0;
	return true;
}

void save_table(const std::unordered_map<Extent, SuccessorList> &t, PayloadWriter *w)
{
	w->u64(t.size());
	for (const auto &[k, l] : t) {
		w->u64(static_cast<std::uint64_t>(k));
		for (std::size_t i = 0; i < SuccessorList::kSlots; ++i) {
			w->u64(static_cast<std::uint64_t>(l.extent[i]));
			w->u32(l.count[i]);
		}
	}
}

bool load_table(std::unordered_map<Extent, SuccessorList> *t, std::size_t max, PayloadReader *r)
{
	std::uint64_t n;
	// Each entry is 8 + kSlots * 12 bytes: a count the payload cannot hold
	// is corrupt (and no allocation follows it).
	if (!r->u64(&n) || n > max || n > r->left() / (8 + SuccessorList::kSlots * 12))
		return false;
	t->clear();
	t->reserve(n);
	for (std::uint64_t j = 0; j < n; ++j) {
		std::uint64_t k;
		SuccessorList l;
		if (!r->u64(&k))
			return false;
		for (std::size_t i = 0; i < SuccessorList::kSlots; ++i) {
			std::uint64_t e;
			if (!r->u64(&e) || !r->u32(&l.count[i]))
				return false;
			l.extent[i] = static_cast<Extent>(e);
		}
		(*t)[static_cast<Extent>(k)] = l;
	}
	return true;
}

void MarkovPredictor::save_state(PayloadWriter *w) const
{
	w->u64(static_cast<std::uint64_t>(last_));
	w->u32(have_);
	gap_.save(w);
	save_table(table_, w);
}

bool MarkovPredictor::load_state(PayloadReader *r)
{
	std::uint64_t last;
	std::uint32_t have;
	cur_ = nullptr;
	if (!r->u64(&last) || !r->u32(&have) || !gap_.load(r) || !load_table(&table_, max_states_, r)) {
		table_.clear();
		return false;
	}
	last_ = static_cast<Extent>(last);
	have_ = have != 0;
	auto it = table_.find(last_);
	cur_ = it != table_.end() ? &it->second : nullptr;
	return true;
}

void MithrilPredictor::save_state(PayloadWriter *w) const
{
	gap_.save(w);
	save_table(assoc_, w);
}

bool MithrilPredictor::load_state(PayloadReader *r)
{
	recent_.clear();
	if (!gap_.load(r) || !load_table(&assoc_, cfg_.max_entries, r)) {
		assoc_.clear();
		return false;
	}
	return true;
}

} // namespace dmtier::predictor
