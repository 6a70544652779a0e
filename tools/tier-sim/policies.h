// SPDX-License-Identifier: GPL-2.0
// Placement policies for tier-sim: LRU, an smq-like frequency policy, the
// kernel's fallback rules, predictor-driven prefetching on top of LRU, and
// the oracle (Belady replacement plus perfect prefetch).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "predictor/predictor.h"
#include "tier-sim/pool.h"

namespace dmtier::tiersim {

// Dense ids for (volume, extent) pairs; ids below footprint() are extents
// the trace touches, later ones are predicted extents it never touches.
class IdMap {
public:
	static std::uint64_t key(std::uint32_t volume, predictor::Extent e)
	{
		return (static_cast<std::uint64_t>(volume) << 40) ^ static_cast<std::uint64_t>(e);
	}
	std::uint32_t get(std::uint64_t key)
	{
		auto [it, fresh] = ids_.try_emplace(key, static_cast<std::uint32_t>(ids_.size()));
		return it->second;
	}
	bool find(std::uint64_t key, std::uint32_t *id) const
	{
		auto it = ids_.find(key);
		if (it == ids_.end())
			return false;
		*id = it->second;
		return true;
	}
	std::size_t size() const { return ids_.size(); }

private:
	std::unordered_map<std::uint64_t, std::uint32_t> ids_;
};

// What the simulator knows of the trace ahead of time (for the oracle).
struct Future {
	std::vector<std::uint32_t> next_use;  // per access: next access index of its id
	std::vector<std::uint32_t> first_use; // per id: first access index
	std::vector<double> time;             // per access: arrival time (s)
	// per volume: its transition stream (extents)
	std::vector<std::vector<predictor::Extent>> transitions;
};

struct PolicyContext {
	const SimConfig &cfg;
	Pool &pool;
	IdMap &ids;
	const Future &future;
};

struct PolicyStats {
	std::uint64_t predictions = 0;
	double predict_seconds = 0;
	std::size_t model_bytes_max = 0;
	std::size_t volumes = 0;
	std::string selector_choice;
	std::vector<std::string> volume_models; // auto: active model per volume id
};

class Policy {
public:
	explicit Policy(PolicyContext ctx) : ctx_(ctx) {}
	virtual ~Policy() = default;
	// Every extent access, after the hit was decided.
	virtual void on_access(std::uint32_t id, std::uint64_t index, bool hit, double now) = 0;
	// Every transition of a volume's stream (consecutive repeats removed).
	virtual void on_transition(std::uint32_t, const predictor::Access &, double) {}
	virtual PolicyStats stats() const { return {}; }

protected:
	// Promotion with LRU replacement over `lru`, leaving `reserve` tokens.
	void promote_lru(IdList &lru, std::uint32_t id, double now, bool prefetch, double reserve);
	PolicyContext ctx_;
};

[[nodiscard]] Result<std::unique_ptr<Policy>> make_policy(const std::string &name,
							  PolicyContext ctx);

} // namespace dmtier::tiersim
