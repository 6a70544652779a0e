// SPDX-License-Identifier: GPL-2.0
#include "tier-sim/pool.h"

namespace dmtier::tiersim {

void IdList::push_front(std::uint32_t id)
{
	prev_[id] = kNone;
	next_[id] = head_;
	if (head_ != kNone)
		prev_[head_] = id;
	head_ = id;
	if (tail_ == kNone)
		tail_ = id;
	in_[id] = 1;
	++size_;
}

void IdList::remove(std::uint32_t id)
{
	if (!in_[id])
		return;
	if (prev_[id] != kNone)
		next_[prev_[id]] = next_[id];
	else
		head_ = next_[id];
	if (next_[id] != kNone)
		prev_[next_[id]] = prev_[id];
	else
		tail_ = prev_[id];
	in_[id] = 0;
	--size_;
}

Pool::Pool(const SimConfig &cfg, std::size_t capacity)
	: cfg_(cfg), capacity_(capacity), tokens_(cfg.budget_burst), dev0_(cfg.tier0),
	  dev1_(cfg.tier1)
{
}

void Pool::grow(std::size_t ids)
{
	if (ids <= resident_.size())
		return;
	resident_.resize(ids, 0);
	prefetched_.resize(ids, 0);
	ready_at_.resize(ids, 0);
}

void Pool::refill_budget()
{
	tokens_ = std::min(cfg_.budget_burst, tokens_ + cfg_.budget_per_access);
}

void Pool::promote(std::uint32_t id, double now, bool prefetch)
{
	tokens_ -= 1;
	double es = static_cast<double>(cfg_.extent_size);
	// Both devices' bandwidth is charged at issue time (the copy streams
	// through); the extent is usable once both ends completed.
	ready_at_[id] = std::max(dev1_.serve(now, es), dev0_.serve(now, es));
	resident_[id] = 1;
	prefetched_[id] = prefetch;
	++used_;
	++counters_.promotions;
	counters_.prefetches += prefetch;
}

void Pool::demote(std::uint32_t id, double now)
{
	double es = static_cast<double>(cfg_.extent_size);
	dev0_.serve(now, es);
	dev1_.serve(now, es);
	resident_[id] = 0;
	prefetched_[id] = 0;
	--used_;
	++counters_.demotions;
}

} // namespace dmtier::tiersim
