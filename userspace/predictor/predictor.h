// SPDX-License-Identifier: GPL-2.0
// The predictor interface: every model (LSTM, baselines, oracle) sees one
// volume's transition stream and predicts its next extents.
//
// A "transition" is an access to an extent other than the previous one:
// callers collapse consecutive accesses to the same extent (see
// TransitionFilter), since a repeat never needs a migration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trace/record.h"
#include "predictor/model_file.h"
#include "trace/result.h"

namespace dmtier::predictor {

using Extent = std::int64_t;
using trace::Op;

struct Access {
	std::uint64_t time_ns = 0;
	Extent extent = 0;
	Op op = Op::unknown;
	std::uint32_t bytes = 0;
};

struct Prediction {
	Extent extent = 0;
	double probability = 0;           // model's belief that this is accessed next
	std::uint64_t expected_time_ns = 0; // when the model expects the access
};

class Predictor {
public:
	virtual ~Predictor() = default;
	virtual std::string_view name() const = 0;
	// Feeds the next transition (and trains, for learning models).
	virtual void observe(const Access &a) = 0;
	// Up to k distinct predicted next extents, most probable first, never
	// the current extent. out is cleared first.
	virtual void predict(std::size_t k, std::vector<Prediction> *out) = 0;
	// Bytes of state this model keeps for its volume.
	virtual std::size_t model_bytes() const = 0;
	// Costly models (the LSTM) are scored in shadow on a sample of
	// transitions only (see ModelSelector).
	virtual bool costly() const { return false; }
	// A shadow model is observed on every transition but asked for
	// predictions only now and then: it may defer work to predict().
	virtual void set_shadow(bool) {}
	// The next access does not follow the last one observed (transitions
	// in between were not shown): learn no transition across the gap.
	// Models without such state (and the LSTM, which takes the gap as one
	// more transition) ignore it.
	virtual void forget_context() {}
	// What the model learnt, to survive a restart (empty for models with
	// nothing to keep, or kept elsewhere: the LSTM has its own file).
	// load_state returns false on a payload it cannot use (the model is
	// then as new).
	virtual void save_state(PayloadWriter *) const {}
	virtual bool load_state(PayloadReader *) { return true; }
};

// Drops consecutive repeats of the same extent.
class TransitionFilter {
public:
	// true if a is a transition (the first access always is).
	bool accept(const Access &a)
	{
		if (have_ && a.extent == last_)
			return false;
		have_ = true;
		last_ = a.extent;
		return true;
	}

private:
	Extent last_ = 0;
	bool have_ = false;
};

// Exponentially weighted mean inter-transition gap, for expected times.
class GapEstimator {
public:
	void observe(std::uint64_t t)
	{
		if (have_) {
			double gap = t >= last_ ? static_cast<double>(t - last_) : 0.0;
			mean_ = n_ < 8 ? (mean_ * n_ + gap) / (n_ + 1) : 0.9 * mean_ + 0.1 * gap;
			++n_;
		}
		have_ = true;
		last_ = t;
	}
	std::uint64_t last() const { return last_; }
	// Expected time of the access `steps` transitions ahead.
	std::uint64_t expect(double steps) const
	{
		return last_ + static_cast<std::uint64_t>(mean_ * steps);
	}
	void save(PayloadWriter *w) const
	{
		w->u64(last_);
		w->f64(mean_);
		w->u32(n_);
		w->u32(have_);
	}
	bool load(PayloadReader *r)
	{
		std::uint32_t have = 0;
		return r->u64(&last_) && r->f64(&mean_) && r->u32(&n_) && r->u32(&have) &&
		       ((have_ = have != 0), true);
	}

private:
	std::uint64_t last_ = 0;
	double mean_ = 0;
	unsigned n_ = 0;
	bool have_ = false;
};

} // namespace dmtier::predictor
