// SPDX-License-Identifier: GPL-2.0
// tierd's daemon: one netlink socket registered as the controller of every
// active tier-pool (it receives the reports and sends the batches; its
// GET_POOL each round is also the sign of life that keeps the kernel's
// fallback policy away), a planner per pool, state files, and the API
// backend.  One mutex guards everything; the API's HTTP threads take it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "netlink/client.h"
#include "planner/planner.h"
#include "tierd/api.h"
#include "tierd/config.h"
#include "tierd/volume_ops.h"

namespace dmtier::tierd {

enum class Level { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };
void log(Level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// planner::Kernel over a netlink Client.
class NetlinkKernel final : public planner::Kernel {
public:
	explicit NetlinkKernel(nl::Client &c) : c_(c) {}
	Result<nl::PoolInfo> get_pool(std::string_view p) override { return c_.get_pool(p); }
	Result<nl::VolumeInfo> get_volume(std::string_view p, std::uint32_t v) override { return c_.get_volume(p, v); }
	Result<std::vector<dm_tier_heat_entry>> dump_heat(std::string_view p, std::uint32_t v) override
	{
		return c_.dump_heat(p, v);
	}
	Result<nl::BatchResult> batch(nl::Command c, std::string_view p,
				      std::span<const dm_tier_extent_cmd> cmds) override
	{
		return c_.batch(c, p, cmds);
	}

private:
	nl::Client &c_;
};

class Daemon final : public Backend {
public:
	Daemon(Config cfg, std::string config_path, bool config_required);
	~Daemon() override;

	// Opens netlink, registers with every pool, loads saved state.
	[[nodiscard]] Status start();
	// Planning rounds and report handling until SIGTERM / SIGINT (blocked
	// by the caller and read through sigfd); SIGHUP reloads the config.
	int run(int sigfd);
	// Unregisters every pool (the kernel's fallback policy takes over) and
	// saves state.
	void stop();

	// Backend.
	json pools() override;
	Result<json> pool(const std::string &pool) override;
	Result<json> volumes(const std::string &pool) override;
	Result<json> volume(const std::string &pool, std::uint32_t id) override;
	Result<json> create_volume(const std::string &pool, const VolumeSpec &spec) override;
	Status delete_volume(const std::string &pool, std::uint32_t id) override;
	Result<json> change_volume(const std::string &pool, std::uint32_t id, const VolumeChange &c) override;
	Result<json> heat(const std::string &pool, std::uint32_t id) override;
	Result<json> prefetch(const std::string &pool, std::uint32_t id) override;
	Result<json> cost(const std::string &pool) override;
	Status pin(const std::string &pool, std::uint32_t id, std::uint64_t begin, std::uint64_t end,
		   std::uint32_t tier) override;
	Status unpin(const std::string &pool, std::uint32_t id, std::uint64_t begin, std::uint64_t end) override;
	std::string metrics() override;

	const Config &config() const { return cfg_; }
	// Re-reads the config file; on error logs it and keeps the old one.
	Status reload();

private:
	struct Pool {
		std::string name;
		std::unique_ptr<planner::PoolPlanner> planner;
		bool registered = false;
		std::map<std::uint32_t, ActiveVolume> active; // by volume id
		std::string error;			      // last problem
		std::uint64_t rounds = 0;
		double registered_ms = 0;
	};

	double now_ms() const;
	void discover_locked();
	void register_locked(Pool &p);
	void refresh_volumes_locked(Pool &p);
	void round_locked();
	// At most max reports, and no more than 64 once until_ms has passed.
	void drain_reports_locked(std::size_t max, double until_ms);
	void save_locked();
	void load_state_locked(Pool &p);
	Result<Pool *> find_pool(const std::string &name);
	Result<json> pool_locked(const std::string &name);
	json volume_json(Pool &p, std::uint32_t id, planner::VolumeState *v);
	std::string state_path(const std::string &pool) const;

	std::mutex mu_;
	Config cfg_;
	std::shared_ptr<predictor::TrainingBudget> lstm_budget_; // all LSTM training, every pool
	std::string config_path_;
	bool config_required_;
	std::optional<nl::Client> client_;
	std::unique_ptr<NetlinkKernel> kernel_;
	RealDm dm_;
	VolumeOps ops_{dm_};
	std::map<std::string, Pool> pools_;
	std::vector<char> msg_;
	std::uint64_t malformed_ = 0, reports_ = 0, reloads_ = 0, reload_errors_ = 0;
	double last_save_ms_ = 0, last_discover_ms_ = 0;
	double start_ms_ = 0;
};

} // namespace dmtier::tierd
