// SPDX-License-Identifier: GPL-2.0
// Baseline predictors behind the Predictor interface, and the oracle.
#pragma once

#include <array>
#include <deque>
#include <unordered_map>

#include "predictor/predictor.h"

namespace dmtier::predictor {

// Predicts nothing: demand-only placement.
class NonePredictor final : public Predictor {
public:
	std::string_view name() const override { return "none"; }
	void observe(const Access &) override {}
	void predict(std::size_t, std::vector<Prediction> *out) override { out->clear(); }
	std::size_t model_bytes() const override { return 0; }
};

// Sequential / constant-stride detector: once the same extent delta is seen
// twice in a row, predicts last + i*delta.
class StridePredictor final : public Predictor {
public:
	std::string_view name() const override { return "stride"; }
	void observe(const Access &a) override;
	void forget_context() override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override { return sizeof(*this); }
	void save_state(PayloadWriter *w) const override;
	bool load_state(PayloadReader *r) override;

private:
	Extent last_ = 0;
	Extent delta_ = 0;
	int confidence_ = 0; // consecutive repeats of delta_, capped
	bool have_ = false;
	GapEstimator gap_;
};

// A bounded list of (successor, count) pairs, most frequent kept.
struct SuccessorList {
	static constexpr std::size_t kSlots = 4;
	std::array<Extent, kSlots> extent{};
	std::array<std::uint32_t, kSlots> count{};
	void add(Extent e);
	std::uint32_t total() const;
};
// (successor table of markov / mithril) as: u64 entries, then per entry the
// key and the slots.
void save_table(const std::unordered_map<Extent, SuccessorList> &t, PayloadWriter *w);
bool load_table(std::unordered_map<Extent, SuccessorList> *t, std::size_t max, PayloadReader *r);

// First-order Markov successor table over extents.
class MarkovPredictor final : public Predictor {
public:
	explicit MarkovPredictor(std::size_t max_states = 1 << 16) : max_states_(max_states) {}
	MarkovPredictor(const MarkovPredictor &) = delete; // cur_ points into table_
	MarkovPredictor &operator=(const MarkovPredictor &) = delete;
	std::string_view name() const override { return "markov"; }
	void observe(const Access &a) override;
	void forget_context() override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override;
	void save_state(PayloadWriter *w) const override;
	bool load_state(PayloadReader *r) override;

private:
	std::unordered_map<Extent, SuccessorList> table_;
	std::size_t max_states_;
	Extent last_ = 0;
	SuccessorList *cur_ = nullptr; // last_'s entry (elements of an unordered_map stay put)
	bool have_ = false;
	GapEstimator gap_;
};

// Leap-style (Maruf & Chowdhury, ATC'20): the majority delta of the recent
// delta history (Boyer-Moore vote over growing windows) is the trend;
// prefetch depth grows on hits and shrinks on misses.
class LeapPredictor final : public Predictor {
public:
	static constexpr std::size_t kHistory = 32;
	std::string_view name() const override { return "leap"; }
	void observe(const Access &a) override;
	void forget_context() override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override { return sizeof(*this); }

private:
	bool trend(Extent *delta, double *share) const;

	// Recent deltas, oldest first from head_ (a ring: no allocation).
	std::array<Extent, kHistory> deltas_{};
	std::size_t head_ = 0, count_ = 0;
	Extent delta_at(std::size_t i) const { return deltas_[(head_ + i) % kHistory]; }
	std::vector<Extent> issued_; // last predictions, to adapt the depth
	std::size_t depth_ = 1;
	Extent last_ = 0;
	bool have_ = false;
	GapEstimator gap_;
};

// Mithril-style association mining (Yang et al., SoCC'17): extents that are
// repeatedly accessed within a short lookahead window of each other become
// associated; an access to one prefetches its associates.
class MithrilPredictor final : public Predictor {
public:
	struct Config {
		std::size_t lookahead = 4;    // transitions within which accesses associate
		std::uint32_t min_support = 2; // co-occurrences before an association counts
		std::size_t max_entries = 1 << 16;
	};
	MithrilPredictor() : MithrilPredictor(Config{}) {}
	explicit MithrilPredictor(Config c) : cfg_(c) {}
	MithrilPredictor(const MithrilPredictor &) = delete; // recent_ points into assoc_
	MithrilPredictor &operator=(const MithrilPredictor &) = delete;
	std::string_view name() const override { return "mithril"; }
	void observe(const Access &a) override;
	void forget_context() override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override;
	void save_state(PayloadWriter *w) const override;
	bool load_state(PayloadReader *r) override;

private:
	Config cfg_;
	std::unordered_map<Extent, SuccessorList> assoc_;
	// The last accesses, each with its entry as found when it came or made
	// since (null: none yet); a lookup per access rather than lookahead + 1.
	std::deque<std::pair<Extent, SuccessorList *>> recent_;
	GapEstimator gap_;
};

// Reads the future: predicts the actual next distinct extents. The bound.
class OraclePredictor final : public Predictor {
public:
	// future: the volume's whole transition stream, in order.
	explicit OraclePredictor(std::vector<Extent> future) : future_(std::move(future)) {}
	std::string_view name() const override { return "oracle"; }
	void observe(const Access &a) override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override { return future_.size() * sizeof(Extent); }

private:
	std::vector<Extent> future_;
	std::size_t pos_ = 0; // index of the next transition
	GapEstimator gap_;
};

} // namespace dmtier::predictor
