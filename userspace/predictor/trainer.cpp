// SPDX-License-Identifier: GPL-2.0
#include "predictor/trainer.h"

#include <chrono>

namespace dmtier::predictor {

namespace {
constexpr std::size_t kBatch = 64; // transitions trained per lock hold
constexpr std::size_t kHandoff = 32; // transitions handed to the trainer per lock
}

void TrainingBudget::set_share(double share)
{
	std::lock_guard<std::mutex> lock(mu_);
	share_ = share;
	cv_.notify_all();
}

double TrainingBudget::share() const
{
	std::lock_guard<std::mutex> lock(mu_);
	return share_;
}

bool TrainingBudget::acquire(const std::atomic<bool> &stop)
{
	std::unique_lock<std::mutex> lock(mu_);
	for (;;) {
		if (stop.load()) {
			cv_.notify_one(); // a release may have woken this one: pass it on
			return false;
		}
		if (share_ >= 1)
			return true; // no limit: trainers run side by side
		if (!busy_) {
			auto now = std::chrono::steady_clock::now();
			if (now >= next_) {
				busy_ = true;
				return true;
			}
			cv_.wait_until(lock, next_);
		} else {
			cv_.wait(lock);
		}
	}
}

void TrainingBudget::release(double spent_s)
{
	std::lock_guard<std::mutex> lock(mu_);
	if (share_ >= 1)
		return;
	busy_ = false;
	if (share_ > 0) {
		auto rest = std::chrono::duration<double>(spent_s * (1 - share_) / share_);
		next_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(rest);
	}
	// One waiter is enough (it waits out the rest, then trains): waking
	// every volume's trainer for each batch cost more than a tenth of the
	// budget again in wake-ups.
	cv_.notify_one();
}

void TrainingBudget::wake()
{
	std::lock_guard<std::mutex> lock(mu_);
	cv_.notify_all();
}

BackgroundLstm::BackgroundLstm(LstmConfig lstm, TrainerConfig cfg)
	: cfg_(cfg), infer_(lstm), train_(std::make_unique<LstmPredictor>(lstm)),
	  published_(std::make_unique<LstmPredictor>(lstm)),
	  budget_(cfg.budget ? cfg.budget : std::make_shared<TrainingBudget>(cfg.cpu_budget > 0 ? cfg.cpu_budget : 1))
{
	infer_.set_training(false);
	thread_ = std::thread([this] { run(); });
}

BackgroundLstm::BackgroundLstm(const LstmPredictor &warm, TrainerConfig cfg)
	: BackgroundLstm(warm.config(), cfg)
{
	infer_.adopt_model(warm);
	std::lock_guard<std::mutex> lock(mu_);
	train_->adopt_model(warm);
}

BackgroundLstm::~BackgroundLstm()
{
	{
		std::lock_guard<std::mutex> lock(mu_);
		stop_ = true;
	}
	stopping_ = true;
	work_.notify_all();
	budget_->wake();
	thread_.join();
}

void BackgroundLstm::observe(const Access &a)
{
	infer_.observe(a);
	handoff_.push_back(a);
	if (handoff_.size() < kHandoff)
		return;
	{
		// The trainer holds mu_ only to move a batch or publish a copy.
		std::lock_guard<std::mutex> lock(mu_);
		if (fresh_) {
			infer_.adopt_model(*published_);
			fresh_ = false;
		}
		for (const auto &x : handoff_)
			if (queue_.size() < cfg_.queue_capacity)
				queue_.push_back(x);
			else
				++dropped_; // the trainer is over its budget: skip, never wait
	}
	handoff_.clear();
	work_.notify_one();
}

void BackgroundLstm::predict(std::size_t k, std::vector<Prediction> *out) { infer_.predict(k, out); }

std::size_t BackgroundLstm::model_bytes() const
{
	std::size_t train;
	{
		std::lock_guard<std::mutex> lock(mu_);
		train = train_->model_bytes() + published_->model_bytes();
	}
	return sizeof(*this) + infer_.model_bytes() + train + cfg_.queue_capacity * sizeof(Access);
}

void BackgroundLstm::publish_locked()
{
	published_->adopt_model(*train_);
	fresh_ = true;
}

void BackgroundLstm::run()
{
	using clock = std::chrono::steady_clock;
	std::vector<Access> batch;
	std::size_t since_publish = 0;
	std::unique_lock<std::mutex> lock(mu_);
	for (;;) {
		work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
		if (stop_)
			return;
		batch.clear();
		while (!queue_.empty() && batch.size() < kBatch) {
			batch.push_back(queue_.front());
			queue_.pop_front();
		}
		busy_ = true;
		lock.unlock();
		if (!budget_->acquire(stopping_))
			return;
		auto t0 = clock::now();
		for (const auto &a : batch)
			train_->observe(a);
		trained_ += batch.size();
		since_publish += batch.size();
		lock.lock();
		if (since_publish >= cfg_.publish_every || queue_.empty()) {
			publish_locked();
			since_publish = 0;
		}
		// The weights' copy is training work too.
		budget_->release(std::chrono::duration<double>(clock::now() - t0).count());
		busy_ = false;
		idle_.notify_all();
	}
}

void BackgroundLstm::flush()
{
	std::unique_lock<std::mutex> lock(mu_);
	for (const auto &x : handoff_)
		queue_.push_back(x);
	handoff_.clear();
	work_.notify_one();
	idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
	if (fresh_) {
		infer_.adopt_model(*published_);
		fresh_ = false;
	}
}

Status BackgroundLstm::save(const std::string &path)
{
	std::unique_lock<std::mutex> lock(mu_);
	idle_.wait(lock, [&] { return !busy_; }); // not mid-batch
	return train_->save(path);
}

} // namespace dmtier::predictor
