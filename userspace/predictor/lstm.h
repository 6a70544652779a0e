// SPDX-License-Identifier: GPL-2.0
// LstmPredictor: the learned predictor. The output vocabulary holds frequent
// transition targets of two kinds: extent deltas (next - current, as in
// learned memory prefetchers: they generalise over position) and absolute
// extents (jumps to a hot extent, which no delta captures), plus an "other"
// class. Each step's input is (target class, op, size bucket, time-gap
// bucket); the output is a distribution over the next target class.
// Trained online with truncated BPTT and Adam.
#pragma once

#include <memory>
#include <unordered_map>

#include "predictor/lstm_net.h"
#include "predictor/model_file.h"
#include "predictor/predictor.h"

namespace dmtier::predictor {

struct LstmConfig {
	int hidden = 32;
	int vocab = 64;                  // output classes including "other" (class 0)
	int bptt = 16;                   // truncation length (steps per update)
	double learning_rate = 0.01;
	std::uint32_t review_every = 1024; // vocabulary review / count decay period
	std::uint64_t seed = 1;
};

int size_bucket(std::uint32_t bytes); // 0..7
int gap_bucket(std::uint64_t gap_ns); // 0..7

class LstmPredictor final : public Predictor {
public:
	explicit LstmPredictor(LstmConfig cfg = {});

	[[nodiscard]] static Result<std::unique_ptr<LstmPredictor>> load(const std::string &path);
	[[nodiscard]] static Result<std::unique_ptr<LstmPredictor>> from_model_file(const ModelFile &m);
	[[nodiscard]] Status save(const std::string &path) const;
	ModelFile to_model_file() const;

	std::string_view name() const override { return "lstm"; }
	void observe(const Access &a) override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override;
	bool costly() const override { return true; }
	// In shadow (only when not training, e.g. BackgroundLstm's inference
	// copy) observe() skips the forward step; predict() rebuilds the state
	// from the last kShadowWarmup inputs, starting from zero.
	void set_shadow(bool on) override { shadow_ = on; }
	static constexpr std::size_t kShadowWarmup = 8;
	// Bytes of the saved model (weights and vocabulary).
	std::size_t file_bytes() const { return encode_model_file(to_model_file()).size(); }

	void set_training(bool on) { training_ = on; }
	// Takes over another predictor's weights and vocabulary (same shape),
	// keeping this one's position in its stream. For background training.
	void adopt_model(const LstmPredictor &trained);
	std::uint64_t transitions() const { return transitions_; }
	std::uint64_t trained_transitions() const { return trained_; }
	// Fraction of the last transitions whose extent was the top prediction.
	double recent_top1() const { return top1_; }
	const LstmConfig &config() const { return cfg_; }

private:
	enum Kind : std::uint8_t { kFree = 0, kDelta = 1, kAbsolute = 2 };
	static std::uint64_t key(Kind k, Extent v) { return (static_cast<std::uint64_t>(v) << 2) | k; }
	int class_of(Extent delta, Extent extent);
	void count_candidate(std::uint64_t key);
	void review_vocabulary();
	void assign_slot(int slot, std::uint64_t key);
	// The extent class s stands for, from the current extent.
	Extent target(int s) const { return slot_kind_[s] == kDelta ? last_ + slot_value_[s] : slot_value_[s]; }
	void train_window();
	void catch_up(LstmNet::Step *dst);

	LstmConfig cfg_;
	LstmNet net_;
	LstmNet::State state_;
	std::vector<LstmNet::Step> window_; // steps since the last update
	std::vector<int> targets_;
	std::size_t used_ = 0;              // steps in window_
	LstmNet::Vec grad_;

	std::vector<Extent> slot_value_;    // per class (slot 0 = other, unused)
	std::vector<std::uint8_t> slot_kind_;
	std::vector<double> slot_count_;
	std::unordered_map<std::uint64_t, int> slot_of_;       // by key()
	std::unordered_map<std::uint64_t, double> candidates_; // by key()
	std::vector<std::pair<double, int>> ranked_; // predict() scratch

	Extent last_ = 0;
	bool have_ = false;
	bool training_ = true;
	bool shadow_ = false, stale_ = false;
	std::array<StepInput, kShadowWarmup> recent_{}; // last inputs (not training)
	std::size_t recent_n_ = 0;
	Extent predicted_top_ = 0;
	bool have_top_ = false;
	double top1_ = 0;
	std::uint64_t transitions_ = 0, trained_ = 0;
	GapEstimator gap_;
};

} // namespace dmtier::predictor
