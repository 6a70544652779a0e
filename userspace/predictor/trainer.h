// SPDX-License-Identifier: GPL-2.0
// BackgroundLstm: the LSTM predictor with its training moved to a background
// thread under a CPU budget. The caller's thread only runs inference; the
// transitions it sees are queued for a training copy of the model, whose
// weights and vocabulary are published back every few hundred transitions.
// When the trainer falls behind its budget the queue fills and further
// transitions are dropped from training (counted); the caller never waits
// for training, only for a short lock around the queue.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "predictor/lstm.h"

namespace dmtier::predictor {

// One CPU budget for several trainers: between them they train at most
// `share` of one core. A trainer takes the budget for one batch at a time
// (one batch trains at once) and after a batch that took t seconds the next
// may start only t * (1 - share) / share seconds later, whichever trainer's
// it is: the share holds however many volumes learn.
class TrainingBudget {
public:
	explicit TrainingBudget(double share) : share_(share) {}
	TrainingBudget(const TrainingBudget &) = delete;
	TrainingBudget &operator=(const TrainingBudget &) = delete;

	void set_share(double share);
	double share() const;
	// Waits for the budget; false (without it) once *stop is true, which
	// the stopping trainer signals with wake().
	[[nodiscard]] bool acquire(const std::atomic<bool> &stop);
	// Gives it back after a batch that took `spent_s` seconds.
	void release(double spent_s);
	void wake();

private:
	mutable std::mutex mu_;
	std::condition_variable cv_;
	double share_;
	bool busy_ = false;
	std::chrono::steady_clock::time_point next_{};
};

struct TrainerConfig {
	double cpu_budget = 0.25;          // fraction of one core the trainer may use ...
	std::shared_ptr<TrainingBudget> budget; // ... or this budget, shared with other trainers
	std::size_t queue_capacity = 4096; // transitions waiting for training
	std::size_t publish_every = 256;   // trained transitions between weight updates
};

class BackgroundLstm final : public Predictor {
public:
	explicit BackgroundLstm(LstmConfig lstm = {}, TrainerConfig cfg = {});
	// Warm start from a trained model (e.g. loaded from a file).
	BackgroundLstm(const LstmPredictor &warm, TrainerConfig cfg);
	~BackgroundLstm() override;
	BackgroundLstm(const BackgroundLstm &) = delete;
	BackgroundLstm &operator=(const BackgroundLstm &) = delete;

	std::string_view name() const override { return "lstm"; }
	void observe(const Access &a) override;
	void predict(std::size_t k, std::vector<Prediction> *out) override;
	std::size_t model_bytes() const override;
	bool costly() const override { return true; }
	void set_shadow(bool on) override { infer_.set_shadow(on); }

	// Waits until every queued transition is trained and published.
	void flush();
	std::uint64_t trained() const { return trained_.load(); }
	std::uint64_t dropped() const { return dropped_.load(); }
	// Saves the training copy (the most up-to-date weights).
	[[nodiscard]] Status save(const std::string &path);

private:
	void run();
	void publish_locked();

	TrainerConfig cfg_;
	LstmPredictor infer_;                  // caller's thread only
	std::unique_ptr<LstmPredictor> train_; // trainer thread (and save/flush under mu_)
	std::unique_ptr<LstmPredictor> published_;
	mutable std::mutex mu_;
	std::condition_variable work_, idle_;
	std::deque<Access> queue_;
	std::vector<Access> handoff_; // caller's thread: queued in batches
	bool stop_ = false, busy_ = false, fresh_ = false;
	std::atomic<bool> stopping_{false};
	std::shared_ptr<TrainingBudget> budget_;
	std::atomic<std::uint64_t> trained_{0}, dropped_{0};
	std::thread thread_;
};

} // namespace dmtier::predictor
