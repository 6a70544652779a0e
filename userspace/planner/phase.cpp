// SPDX-License-Identifier: GPL-2.0
#include "planner/phase.h"

#include <algorithm>

namespace dmtier::planner {

bool PhaseTracker::member(const Phase &p, std::uint64_t x) const
{
	auto it = p.weight.find(x);
	return it != p.weight.end() && double(it->second) >= c_.member_share * double(p.rounds);
}

bool PhaseTracker::is_member(std::int64_t phase, std::uint64_t extent) const
{
	auto it = ph_.find(phase);
	return it != ph_.end() && member(it->second, extent);
}

double PhaseTracker::overlap(const Phase &p, const std::vector<std::uint64_t> &active) const
{
	if (active.empty())
		return 0;
	std::size_t in = 0;
	for (std::uint64_t x : active)
		in += member(p, x);
	return double(in) / double(active.size());
}

void PhaseTracker::add(Phase &p, const std::vector<std::uint64_t> &active, double now_ms)
{
	p.rounds++;
	p.last_ms = now_ms;
	for (std::uint64_t x : active)
		p.weight[x]++;
	// Forget extents that stopped being members (a phase's weights grow
	// with its rounds; one that was active once long ago drops out).
	if (p.weight.size() > c_.max_members || p.rounds % 16 == 0) {
		std::erase_if(p.weight, [&](const auto &kv) {
			return double(kv.second) < c_.member_share * double(p.rounds) / 2;
		});
		if (p.weight.size() > c_.max_members) {
			std::vector<std::uint32_t> w;
			for (const auto &[x, n] : p.weight)
				w.push_back(n);
			std::nth_element(w.begin(), w.begin() + c_.max_members, w.end(), std::greater<>());
			std::uint32_t cut = w[c_.max_members];
			std::erase_if(p.weight, [&](const auto &kv) { return kv.second <= cut; });
		}
	}
}

PhaseTracker::Change PhaseTracker::observe(double now_ms, const std::vector<std::uint64_t> &active)
{
	Change ch;
	if (active.size() < c_.min_active)
		return ch;
	if (cur_ >= 0) {
		Phase &p = ph_.at(cur_);
		// Still the current phase; or a young phase still growing (the
		// round it was detected in may have seen part of its set).
		bool same = overlap(p, active) >= c_.min_overlap;
		if (!same && p.rounds < 4) {
			std::size_t in = 0, n = 0;
			for (const auto &[x, w] : p.weight)
				if (member(p, x)) {
					n++;
					in += std::find(active.begin(), active.end(), x) != active.end();
				}
			same = n && double(in) >= c_.min_overlap * double(n);
		}
		if (same) {
			add(p, active, now_ms);
			return ch;
		}
	}
	// A change.  The round it is seen in usually holds the end of the
	// current phase too: what is new is the active extents that are not
	// the current phase's.
	std::vector<std::uint64_t> fresh;
	if (cur_ >= 0) {
		const Phase &p = ph_.at(cur_);
		for (std::uint64_t x : active)
			if (!member(p, x))
				fresh.push_back(x);
		if (fresh.size() < c_.min_active) {
			add(ph_.at(cur_), active, now_ms);
			return ch;
		}
	} else {
		fresh = active;
	}
	// To the known phase the new extents match best, or a new one.
	std::int64_t best = -1;
	double best_ov = 0;
	for (const auto &[id, p] : ph_) {
		if (id == cur_)
			continue;
		double ov = overlap(p, fresh);
		if (ov >= c_.min_overlap && ov > best_ov) {
			best = id;
			best_ov = ov;
		}
	}
	ch.changed = true;
	ch.from = cur_;
	ch.known = best >= 0;
	changes++;
	if (cur_ >= 0) {
		if (auto f = next()) {
			forecasts++;
			if (best >= 0 && f->phase == best)
				forecasts_right++;
		}
	}
	if (best < 0) {
		if (ph_.size() >= c_.max_phases) {
			auto lru = std::min_element(ph_.begin(), ph_.end(), [&](const auto &a, const auto &b) {
				return a.second.last_ms < b.second.last_ms;
			});
			std::int64_t gone = lru->first;
			ph_.erase(lru);
			for (auto &[id, p] : ph_)
				p.next.erase(gone);
			if (gone == cur_)
				cur_ = -1;
		}
		best = next_id_++;
		ph_[best];
	}
	if (cur_ >= 0) {
		Phase &p = ph_.at(cur_);
		double d = now_ms - start_ms_;
		p.mean_ms = p.visits ? (p.mean_ms * 0.5 + d * 0.5) : d;
		p.visits++;
		p.next[best]++;
	}
	ch.to = best;
	cur_ = best;
	start_ms_ = now_ms;
	add(ph_.at(cur_), fresh, now_ms);
	ch.fresh = std::move(fresh);
	return ch;
}

std::optional<PhaseTracker::Forecast> PhaseTracker::next() const
{
	if (cur_ < 0)
		return std::nullopt;
	const Phase &p = ph_.at(cur_);
	std::uint32_t all = 0, top = 0;
	std::int64_t id = -1;
	for (const auto &[n, k] : p.next) {
		all += k;
		if (k > top) {
			top = k;
			id = n;
		}
	}
	if (id < 0 || top < c_.min_successions || double(top) < c_.successor_share * double(all) ||
	    !ph_.count(id))
		return std::nullopt;
	return Forecast{id, start_ms_ + p.mean_ms, double(top) / double(all)};
}

std::vector<std::uint64_t> PhaseTracker::members(std::int64_t phase) const
{
	std::vector<std::pair<std::uint32_t, std::uint64_t>> m;
	auto it = ph_.find(phase);
	if (it == ph_.end())
		return {};
	for (const auto &[x, w] : it->second.weight)
		if (member(it->second, x))
			m.push_back({w, x});
	std::sort(m.begin(), m.end(), [](const auto &a, const auto &b) {
		return a.first != b.first ? a.first > b.first : a.second < b.second;
	});
	std::vector<std::uint64_t> out;
	for (const auto &[w, x] : m)
		out.push_back(x);
	return out;
}

void PhaseTracker::save(predictor::PayloadWriter *w) const
{
	w->u64(std::uint64_t(cur_));
	w->u64(std::uint64_t(next_id_));
	w->f64(start_ms_);
	w->u64(changes);
	w->u64(forecasts);
	w->u64(forecasts_right);
	w->u64(ph_.size());
	for (const auto &[id, p] : ph_) {
		w->u64(std::uint64_t(id));
		w->u32(p.rounds);
		w->u32(p.visits);
		w->f64(p.mean_ms);
		w->f64(p.last_ms);
		w->u64(p.weight.size());
		for (const auto &[x, n] : p.weight) {
			w->u64(x);
			w->u32(n);
		}
		w->u64(p.next.size());
		for (const auto &[to, n] : p.next) {
			w->u64(std::uint64_t(to));
			w->u32(n);
		}
	}
}

bool PhaseTracker::load(predictor::PayloadReader *r)
{
	auto fail = [&] {
		ph_.clear();
		cur_ = -1;
		return false;
	};
	std::uint64_t cur, next, n;
	if (!r->u64(&cur) || !r->u64(&next) || !r->f64(&start_ms_) || !r->u64(&changes) || !r->u64(&forecasts) ||
	    !r->u64(&forecasts_right) || !r->u64(&n) || n > c_.max_phases)
		return fail();
	ph_.clear();
	for (std::uint64_t i = 0; i < n; i++) {
		std::uint64_t id, nw, nn;
		Phase p;
		if (!r->u64(&id) || !r->u32(&p.rounds) || !r->u32(&p.visits) || !r->f64(&p.mean_ms) ||
		    !r->f64(&p.last_ms) || !r->u64(&nw) || nw > c_.max_members || nw > r->left() / 12)
			return fail();
		for (std::uint64_t j = 0; j < nw; j++) {
			std::uint64_t x;
			std::uint32_t k;
			if (!r->u64(&x) || !r->u32(&k))
				return fail();
			p.weight[x] = k;
		}
		if (!r->u64(&nn) || nn > r->left() / 12)
			return fail();
		for (std::uint64_t j = 0; j < nn; j++) {
			std::uint64_t to;
			std::uint32_t k;
			if (!r->u64(&to) || !r->u32(&k))
				return fail();
			p.next[std::int64_t(to)] = k;
		}
		ph_[std::int64_t(id)] = std::move(p);
	}
	cur_ = std::int64_t(cur);
	next_id_ = std::int64_t(next);
	if (cur_ >= 0 && !ph_.count(cur_))
		return fail();
	return true;
}

} // namespace dmtier::planner
