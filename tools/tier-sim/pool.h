// SPDX-License-Identifier: GPL-2.0
// The modelled pool: tier-0 residency, devices with bandwidth, the
// migration budget, and intrusive LRU lists over dense extent ids.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tier-sim/sim.h"

namespace dmtier::tiersim {

// A device: fixed per-I/O latency plus transfer time at its bandwidth, with
// transfers (user I/O and migrations alike) serialised on that bandwidth.
class Device {
public:
	explicit Device(const TierSpec &s)
		: latency_s_(s.latency_us * 1e-6), bytes_per_s_(s.bandwidth_mb_s * 1e6)
	{
	}
	// Returns the completion time of an I/O of `bytes` arriving at `now`.
	double serve(double now, double bytes)
	{
		double start = std::max(now, busy_until_);
		busy_until_ = start + bytes / bytes_per_s_;
		return busy_until_ + latency_s_;
	}

private:
	double latency_s_, bytes_per_s_;
	double busy_until_ = 0;
};

// Doubly linked list threaded through per-id arrays; front = most recent.
class IdList {
public:
	static constexpr std::uint32_t kNone = UINT32_MAX;
	void grow(std::size_t n)
	{
		prev_.resize(n, kNone);
		next_.resize(n, kNone);
		in_.resize(n, 0);
	}
	bool contains(std::uint32_t id) const { return in_[id]; }
	void push_front(std::uint32_t id);
	void remove(std::uint32_t id);
	void touch(std::uint32_t id)
	{
		remove(id);
		push_front(id);
	}
	std::uint32_t back() const { return tail_; }
	std::size_t size() const { return size_; }

private:
	std::vector<std::uint32_t> prev_, next_;
	std::vector<std::uint8_t> in_;
	std::uint32_t head_ = kNone, tail_ = kNone;
	std::size_t size_ = 0;
};

struct PoolCounters {
	std::uint64_t promotions = 0, demotions = 0, budget_denied = 0, prefetches = 0;
};

class Pool {
public:
	Pool(const SimConfig &cfg, std::size_t capacity);

	void grow(std::size_t ids);
	std::size_t capacity() const { return capacity_; }
	std::size_t size() const { return resident_.size(); }
	std::size_t used() const { return used_; }
	bool full() const { return used_ >= capacity_; }
	bool resident(std::uint32_t id) const { return resident_[id]; }
	double ready_at(std::uint32_t id) const { return ready_at_[id]; }
	bool prefetched(std::uint32_t id) const { return prefetched_[id]; }
	void clear_prefetched(std::uint32_t id) { prefetched_[id] = 0; }

	void refill_budget();
	// `reserve` tokens must remain after this promotion.
	bool can_promote(double reserve = 0) const { return tokens_ >= 1.0 + reserve; }
	// Moves id to tier 0 (caller made room and checked the budget).
	void promote(std::uint32_t id, double now, bool prefetch);
	void demote(std::uint32_t id, double now);
	void deny() { ++counters_.budget_denied; }

	Device &device(int tier) { return tier ? dev1_ : dev0_; }
	const PoolCounters &counters() const { return counters_; }

private:
	const SimConfig &cfg_;
	std::size_t capacity_, used_ = 0;
	double tokens_;
	Device dev0_, dev1_;
	std::vector<std::uint8_t> resident_, prefetched_;
	std::vector<double> ready_at_;
	PoolCounters counters_;
};

} // namespace dmtier::tiersim
