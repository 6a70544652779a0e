// SPDX-License-Identifier: GPL-2.0
#include "tierd/daemon.h"

#include "predictor/trainer.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "planner/cost.h"

namespace dmtier::tierd {

namespace fs = std::filesystem;

void log(Level l, const char *fmt, ...)
{
	static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	std::vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (journal)
		std::fprintf(stderr, "<%d>%s\n", int(l), buf);
	else
		std::fprintf(stderr, "tierd: %s\n", buf);
}

namespace {

Status write_file_atomic(const std::string &path, const std::string &data)
{
	std::string tmp = path + ".tmp";
	{
		std::ofstream f(tmp, std::ios::trunc);
		if (!f)
			return make_error("cannot write " + tmp + ": " + std::strerror(errno), errno);
		f << data;
		f.flush();
		if (!f)
			return make_error("cannot write " + tmp, EIO);
	}
	if (::rename(tmp.c_str(), path.c_str()) != 0)
		return make_error("cannot rename " + tmp + ": " + std::strerror(errno), errno);
	return {};
}

std::string prom_escape(const std::string &s)
{
	std::string o;
	for (char c : s) {
		if (c == '\\' || c == '"')
			o += '\\';
		if (c == '\n') {
			o += "\\n";
			continue;
		}
		o += c;
	}
	return o;
}

bool gone(int code) { return code == ENOENT || code == ENODEV || code == ENXIO; }

} // namespace

Daemon::Daemon(Config cfg, std::string config_path, bool config_required)
	: cfg_(std::move(cfg)), config_path_(std::move(config_path)), config_required_(config_required)
{
	// One LSTM training budget for every volume of every pool.
	lstm_budget_ = std::make_shared<predictor::TrainingBudget>(cfg_.planner.lstm_cpu_budget);
	cfg_.planner.lstm_budget = lstm_budget_;
	start_ms_ = now_ms();
}

Daemon::~Daemon() = default;

double Daemon::now_ms() const
{
	using namespace std::chrono;
	return double(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count()) / 1000.0;
}

std::string Daemon::state_path(const std::string &pool) const { return cfg_.state_dir + "/pool-" + pool + ".json"; }

Status Daemon::start()
{
	std::error_code ec;
	fs::create_directories(cfg_.state_dir, ec);
	if (ec)
		return make_error("state directory " + cfg_.state_dir + ": " + ec.message(), ec.value());
	auto c = nl::Client::open();
	if (!c)
		return make_error("netlink: " + c.error(), c.code());
	client_.emplace(std::move(*c));
	// Reports come to this socket: make room for bursts.
	int rcvbuf = 8 << 20;
	if (setsockopt(client_->socket().fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
		(void)setsockopt(client_->socket().fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	kernel_ = std::make_unique<NetlinkKernel>(*client_);
	std::lock_guard lk(mu_);
	discover_locked();
	return {};
}

void Daemon::discover_locked()
{
	last_discover_ms_ = now_ms();
	auto found = discover(dm_);
	if (!found) {
		log(Level::warning, "listing device-mapper devices: %s", found.error().c_str());
		return;
	}
	std::map<std::string, ActivePool> seen;
	for (auto &p : *found)
		seen[p.name] = p;
	for (auto it = pools_.begin(); it != pools_.end();) {
		if (!seen.count(it->first)) {
			log(Level::notice, "pool %s is gone", it->first.c_str());
			it = pools_.erase(it);
		} else {
			++it;
		}
	}
	for (auto &[name, ap] : seen) {
		auto [it, fresh] = pools_.try_emplace(name);
		Pool &p = it->second;
		if (fresh) {
			p.name = name;
			p.planner = std::make_unique<planner::PoolPlanner>(name, cfg_.planner);
			p.planner->set_model_dir(cfg_.state_dir);
		}
		p.active.clear();
		for (const auto &v : ap.volumes)
			p.active[v.id] = v;
		if (!p.registered)
			register_locked(p);
		else
			refresh_volumes_locked(p);
	}
}

void Daemon::register_locked(Pool &p)
{
	auto info = client_->register_pool(p.name, cfg_.takeover);
	if (!info) {
		if (p.error != info.error())
			log(Level::warning, "pool %s: cannot register as its controller: %s", p.name.c_str(),
			    info.error().c_str());
		p.error = info.error();
		return;
	}
	p.registered = true;
	p.registered_ms = now_ms();
	p.error.clear();
	p.planner->update_pool(*info);
	load_state_locked(p);
	refresh_volumes_locked(p);
	double now = now_ms();
	std::size_t extents = 0;
	for (auto &[id, v] : p.planner->volumes()) {
		auto h = kernel_->dump_heat(p.name, id);
		if (h) {
			p.planner->load_heat(id, *h, now);
			extents += h->size();
		}
	}
	p.planner->resend_hints();
	log(Level::notice, "pool %s: controller registered (%u tiers, %zu volumes, %zu mapped extents; kernel policy was %s)",
	    p.name.c_str(), info->nr_tiers, p.planner->volumes().size(), extents, info->policy.c_str());
}

void Daemon::refresh_volumes_locked(Pool &p)
{
	auto ids = ops_.ids(p.name);
	if (!ids)
		return;
	std::set<std::uint32_t> live(ids->begin(), ids->end());
	for (auto it = p.planner->volumes().begin(); it != p.planner->volumes().end();) {
		std::uint32_t id = it->first;
		++it;
		if (!live.count(id))
			p.planner->forget_volume(id);
	}
	std::uint64_t es = p.planner->pool_info().extent_sectors;
	for (auto id : live) {
		auto vi = kernel_->get_volume(p.name, id);
		if (!vi)
			continue;
		std::uint64_t size = 0;
		auto a = p.active.find(id);
		if (a != p.active.end() && es)
			size = (a->second.sectors + es - 1) / es;
		p.planner->update_volume(*vi, size);
	}
}

void Daemon::load_state_locked(Pool &p)
{
	// What the predictors and phase trackers learnt: a corrupt or foreign
	// file is reported and ignored (they start cold).
	Status ls = p.planner->load_learnt();
	if (!ls)
		log(Level::warning, "pool %s: learnt state ignored: %s", p.name.c_str(), ls.error().c_str());
	std::ifstream f(state_path(p.name));
	if (!f)
		return;
	auto j = json::parse(f, nullptr, false);
	if (j.is_discarded()) {
		log(Level::warning, "pool %s: state file %s is not valid JSON: ignored", p.name.c_str(),
		    state_path(p.name).c_str());
		return;
	}
	Status s = p.planner->from_json(j, now_ms());
	if (!s) {
		log(Level::warning, "pool %s: state file %s: %s", p.name.c_str(), state_path(p.name).c_str(),
		    s.error().c_str());
		return;
	}
	std::size_t ext = 0;
	for (const auto &[id, v] : p.planner->volumes())
		ext += v.extents.size();
	log(Level::notice, "pool %s: loaded saved state: %zu volumes, %zu extents, round %" PRIu64, p.name.c_str(),
	    p.planner->volumes().size(), ext, p.planner->round());
}

void Daemon::save_locked()
{
	last_save_ms_ = now_ms();
	for (auto &[name, p] : pools_) {
		if (!p.registered)
			continue;
		Status s = write_file_atomic(state_path(name), p.planner->to_json(now_ms()).dump());
		if (!s)
			log(Level::warning, "pool %s: saving state: %s", name.c_str(), s.error().c_str());
		auto m = p.planner->save_models();
		if (!m)
			log(Level::warning, "pool %s: saving models: %s", name.c_str(), m.error().c_str());
		auto l = p.planner->save_learnt();
		if (!l)
			log(Level::warning, "pool %s: saving learnt state: %s", name.c_str(), l.error().c_str());
	}
}

void Daemon::drain_reports_locked(std::size_t max, double until_ms)
{
	double now = now_ms();
	for (std::size_t n = 0; n < max; n++) {
		// A backlog must not hold up the round: its GET_POOL is the
		// controller's sign of life, and the kernel's fallback takes
		// over after fallback_timeout_s without one.  What is left
		// waits (or the kernel drops it and counts the drops).
		if (n >= 64 && n % 16 == 0 && now_ms() >= until_ms)
			return;
		auto got = client_->socket().next_report(&msg_, 0);
		if (!got) {
			log(Level::warning, "netlink: %s", got.error().c_str());
			return;
		}
		if (!*got)
			return;
		const auto *h = reinterpret_cast<const nlmsghdr *>(msg_.data());
		auto a = nl::parse_attrs(h, msg_.size());
		if (!a) {
			malformed_++;
			continue;
		}
		auto r = nl::decode_report(*a);
		if (!r) {
			malformed_++;
			continue;
		}
		reports_++;
		std::visit(
			[&](const auto &rep) {
				auto it = pools_.find(rep.pool);
				if (it == pools_.end() || !it->second.registered)
					return;
				auto &pl = *it->second.planner;
				using T = std::decay_t<decltype(rep)>;
				if constexpr (std::is_same_v<T, nl::HeatReport>)
					pl.on_heat(rep, now);
				else if constexpr (std::is_same_v<T, nl::ProfileReport>)
					pl.on_profile(rep, now);
				else if constexpr (std::is_same_v<T, nl::TransitionsReport>)
					pl.on_transitions(rep, now);
				else
					pl.on_migrations(rep);
			},
			*r);
	}
}

void Daemon::round_locked()
{
	double now = now_ms();
	for (auto it = pools_.begin(); it != pools_.end();) {
		Pool &p = it->second;
		if (!p.registered) {
			++it;
			continue;
		}
		// GET_POOL from the controller's socket is also its sign of life.
		auto info = client_->get_pool(p.name);
		if (!info) {
			if (gone(info.code())) {
				log(Level::notice, "pool %s is gone", p.name.c_str());
				it = pools_.erase(it);
				continue;
			}
			log(Level::warning, "pool %s: get_pool: %s", p.name.c_str(), info.error().c_str());
			++it;
			continue;
		}
		p.planner->update_pool(*info);
		if (info->policy != "controller" && info->policy != "off") {
			// The kernel dropped us (e.g. another controller took over
			// and left): claim the pool again.
			log(Level::notice, "pool %s: policy is %s, registering again", p.name.c_str(), info->policy.c_str());
			p.registered = false;
			register_locked(p);
			++it;
			continue;
		}
		planner::Plan plan = p.planner->run_round(*kernel_, now);
		p.rounds++;
		if (!plan.error.empty() && plan.error != p.error)
			log(Level::warning, "pool %s: %s", p.name.c_str(), plan.error.c_str());
		p.error = plan.error;
		if (!plan.migrate.empty() || !plan.prefetch.empty())
			log(Level::debug, "pool %s round %" PRIu64 ": %u promotions, %u demotions, %zu prefetches, %zu hints",
			    p.name.c_str(), p.planner->round(), plan.promotions, plan.demotions, plan.prefetch.size(),
			    plan.hints.size());
		++it;
	}
}

Status Daemon::reload()
{
	auto c = load_config(config_path_, config_required_);
	if (!c) {
		reload_errors_++;
		log(Level::err, "reload: %s (keeping the running configuration)", c.error().c_str());
		return make_error(c.error(), c.code());
	}
	std::lock_guard lk(mu_);
	// Paths and sockets stay as started; tiers and planner settings apply.
	cfg_.tiers = c->tiers;
	cfg_.planner = c->planner;
	lstm_budget_->set_share(cfg_.planner.lstm_cpu_budget);
	cfg_.planner.lstm_budget = lstm_budget_;
	cfg_.round_ms = c->round_ms;
	cfg_.save_interval_s = c->save_interval_s;
	cfg_.rediscover_s = c->rediscover_s;
	for (auto &[n, p] : pools_)
		p.planner->set_config(cfg_.planner);
	reloads_++;
	log(Level::notice, "reloaded %s", config_path_.c_str());
	return {};
}

int Daemon::run(int sigfd)
{
	bool watchdog = sd_watchdog_enabled(0, nullptr) > 0;
	double next_round = now_ms() + cfg_.round_ms;
	double last_status = 0;
	std::uint64_t last_transitions = 0;
	for (;;) {
		double now = now_ms();
		int timeout = next_round > now ? int(next_round - now) + 1 : 0;
		{
			std::lock_guard lk(mu_);
			if (client_->socket().pending_reports())
				timeout = 0;
		}
		pollfd fds[2] = {{sigfd, POLLIN, 0}, {client_->socket().fd(), POLLIN, 0}};
		int r = ::poll(fds, 2, timeout);
		if (r < 0 && errno != EINTR) {
			log(Level::err, "poll: %s", std::strerror(errno));
			return 1;
		}
		if (r > 0 && (fds[0].revents & POLLIN)) {
			signalfd_siginfo si;
			if (::read(sigfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGHUP) {
					sd_notify(0, "RELOADING=1");
					(void)reload();
					sd_notify(0, "READY=1");
				} else {
					log(Level::notice, "signal %u: stopping", si.ssi_signo);
					return 0;
				}
			}
		}
		{
			std::lock_guard lk(mu_);
			drain_reports_locked(4096, next_round);
			now = now_ms();
			if (now >= next_round) {
				if (now - last_discover_ms_ >= cfg_.rediscover_s * 1000.0)
					discover_locked();
				round_locked();
				next_round = std::max(next_round + cfg_.round_ms, now + cfg_.round_ms / 4.0);
				if (now - last_save_ms_ >= cfg_.save_interval_s * 1000.0)
					save_locked();
				if (watchdog)
					sd_notify(0, "WATCHDOG=1");
				if (now - last_status >= 5000) {
					std::uint64_t tr = 0;
					std::size_t vols = 0, reg = 0;
					for (auto &[n, p] : pools_) {
						tr += p.planner->transitions;
						vols += p.planner->volumes().size();
						reg += p.registered;
					}
					double rate = last_status ? double(tr - last_transitions) * 1000.0 / (now - last_status) : 0;
					sd_notifyf(0, "STATUS=controller of %zu/%zu pools, %zu volumes, %.0f transitions/s", reg,
						   pools_.size(), vols, rate);
					last_status = now;
					last_transitions = tr;
				}
			}
		}
	}
}

void Daemon::stop()
{
	std::lock_guard lk(mu_);
	save_locked();
	for (auto &[name, p] : pools_) {
		if (!p.registered)
			continue;
		Status s = client_->unregister_pool(name);
		if (!s)
			log(Level::warning, "pool %s: unregister: %s", name.c_str(), s.error().c_str());
		else
			log(Level::notice, "pool %s: unregistered; the kernel's fallback policy takes over", name.c_str());
		p.registered = false;
	}
}

// ------------------------------------------------------------ API backend

Result<Daemon::Pool *> Daemon::find_pool(const std::string &name)
{
	auto it = pools_.find(name);
	if (it == pools_.end())
		return make_error("no pool '" + name + "' (tierd manages: " +
					  [&] {
						  std::string s;
						  for (auto &[n, p] : pools_)
							  s += (s.empty() ? "" : ", ") + n;
						  return s.empty() ? std::string("none") : s;
					  }() + ")",
				  ENOENT);
	return &it->second;
}

json Daemon::pools()
{
	std::lock_guard lk(mu_);
	json a = json::array();
	for (auto &[n, p] : pools_) {
		auto r = pool_locked(n);
		if (r)
			a.push_back(*r);
	}
	return a;
}

Result<json> Daemon::pool(const std::string &name)
{
	std::lock_guard lk(mu_);
	return pool_locked(name);
}

Result<json> Daemon::pool_locked(const std::string &name)
{
	auto fp = find_pool(name);
	if (!fp)
		return std::move(fp).take_error();
	Pool &p = **fp;
	const auto &info = p.planner->pool_info();
	std::uint64_t eb = info.extent_sectors * 512;
	json tiers = json::array();
	for (std::size_t t = 0; t < info.tiers.size(); t++) {
		json tj{{"index", t}, {"used_bytes", info.tiers[t].used * eb}, {"total_bytes", info.tiers[t].total * eb},
			{"used_extents", info.tiers[t].used}, {"total_extents", info.tiers[t].total}};
		if (t < cfg_.tiers.size()) {
			tj["name"] = cfg_.tiers[t].name;
			tj["class"] = cfg_.tiers[t].cls;
			tj["cost_per_gb_month"] = cfg_.tiers[t].cost_gb_month;
		}
		tiers.push_back(tj);
	}
	return json{{"name", p.name},
		    {"registered", p.registered},
		    {"policy", info.policy},
		    {"mode", info.mode},
		    {"needs_check", info.needs_check},
		    {"extent_bytes", eb},
		    {"volumes", p.planner->volumes().size()},
		    {"tiers", tiers},
		    {"migrations_done", info.mig_done},
		    {"migrations_failed", info.mig_failed},
		    {"migrations_queued", info.mig_queued},
		    {"bytes_moved", info.bytes_moved},
		    {"rounds", p.rounds},
		    {"error", p.error}};
}

json Daemon::volume_json(Pool &p, std::uint32_t id, planner::VolumeState *v)
{
	json j{{"id", id}, {"pool", p.name}};
	auto a = p.active.find(id);
	j["active"] = a != p.active.end();
	if (a != p.active.end()) {
		j["name"] = a->second.name;
		j["size_bytes"] = a->second.sectors * 512;
	}
	if (!v)
		return j;
	std::vector<std::uint64_t> per_tier(p.planner->pool_info().tiers.size(), 0);
	for (const auto &[x, e] : v->extents)
		if (e.tier < per_tier.size())
			per_tier[e.tier]++;
	j["tiering_enabled"] = v->tiering_enabled;
	j["tiering_policy"] = v->policy;
	j["prediction_model"] = v->model;
	j["predictor"] = v->predictor_name();
	j["predictor_warm_started"] = v->warm_started;
	j["workload"] = v->workload;
	j["workload_confidence"] = v->workload_confidence;
	j["mapped_extents"] = per_tier;
	j["iops"] = v->iops;
	j["read_ratio"] = v->read_ratio;
	j["reads"] = v->profile.reads;
	j["writes"] = v->profile.writes;
	j["transitions"] = v->transitions;
	j["predictor_accuracy"] = v->pred_checked ? double(v->pred_correct) / double(v->pred_checked) : 0.0;
	return j;
}

Result<json> Daemon::volumes(const std::string &pool)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	Pool &p = **fp;
	json a = json::array();
	for (auto &[id, v] : p.planner->volumes())
		a.push_back(volume_json(p, id, &v));
	return a;
}

Result<json> Daemon::volume(const std::string &pool, std::uint32_t id)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	auto *v = (*fp)->planner->volume(id);
	if (!v)
		return make_error("no volume " + std::to_string(id) + " in pool " + pool, ENOENT);
	json j = volume_json(**fp, id, v);
	j["prefetch"] = {{"depth", v->prefetch.depth},	      {"threshold", v->prefetch.threshold},
			 {"hits", v->prefetch.hits},	      {"misses", v->prefetch.misses},
			 {"issued", v->prefetch.issued},      {"hit_ratio", v->prefetch.hit_ratio()},
			 {"queued", v->queue.size()}};
	return j;
}

Result<json> Daemon::create_volume(const std::string &pool, const VolumeSpec &spec)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	auto v = ops_.create(pool, spec);
	if (!v)
		return std::move(v).take_error();
	Pool &p = **fp;
	p.active[v->id] = *v;
	refresh_volumes_locked(p);
	log(Level::notice, "pool %s: created volume %u as %s (%" PRIu64 " bytes)", pool.c_str(), v->id,
	    v->name.c_str(), v->sectors * 512);
	return volume_json(p, v->id, p.planner->volume(v->id));
}

Status Daemon::delete_volume(const std::string &pool, std::uint32_t id)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	Status s = ops_.remove(pool, id);
	if (!s)
		return s;
	(*fp)->active.erase(id);
	(*fp)->planner->forget_volume(id);
	log(Level::notice, "pool %s: deleted volume %u", pool.c_str(), id);
	return {};
}

Result<json> Daemon::change_volume(const std::string &pool, std::uint32_t id, const VolumeChange &c)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	Status s = ops_.change(pool, id, c);
	if (!s)
		return Error{s.error(), s.code()};
	Pool &p = **fp;
	if (c.size) {
		auto a = p.active.find(id);
		if (a != p.active.end())
			a->second.sectors = *c.size / 512;
	}
	refresh_volumes_locked(p);
	return volume_json(p, id, p.planner->volume(id));
}

Result<json> Daemon::heat(const std::string &pool, std::uint32_t id)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	auto *v = (*fp)->planner->volume(id);
	if (!v)
		return make_error("no volume " + std::to_string(id) + " in pool " + pool, ENOENT);
	const auto &cfg = (*fp)->planner->config();
	double now = now_ms();
	std::vector<std::pair<std::uint64_t, const planner::ExtentState *>> ext;
	for (const auto &[x, e] : v->extents)
		ext.emplace_back(x, &e);
	std::sort(ext.begin(), ext.end());
	json a = json::array();
	for (const auto &[x, e] : ext) {
		double s = v->score(*e, now, cfg.half_life_ms, cfg.predicted_weight);
		a.push_back({{"extent", x},
			     {"tier", e->tier == planner::kTierUnknown ? json(nullptr) : json(e->tier)},
			     {"score", std::round(s * 1000) / 1000},
			     {"pinned", bool(e->flags & DM_TIER_HEAT_PINNED)},
			     {"migrating", e->migrating}});
	}
	return json{{"pool", pool},
		    {"volume", id},
		    {"extent_bytes", (*fp)->planner->extent_bytes()},
		    {"promote_score", cfg.promote_heat},
		    {"demote_score", cfg.demote_heat},
		    {"extents", a}};
}

Result<json> Daemon::prefetch(const std::string &pool, std::uint32_t id)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	auto *v = (*fp)->planner->volume(id);
	if (!v)
		return make_error("no volume " + std::to_string(id) + " in pool " + pool, ENOENT);
	double now = now_ms();
	json q = json::array();
	auto oq = v->ordered_queue();
	for (std::size_t i = 0; i < oq.size() && i < 32; i++)
		q.push_back({{"extent", oq[i].extent},
			     {"in_ms", std::max(0.0, oq[i].expected_ms - now)},
			     {"probability", oq[i].probability}});
	std::uint64_t n = v->prefetch.hits + v->prefetch.misses;
	return json{{"pool", pool},
		    {"volume", id},
		    {"depth", v->prefetch.depth},
		    {"threshold", v->prefetch.threshold},
		    {"issued", v->prefetch.issued},
		    {"hits", v->prefetch.hits},
		    {"misses", v->prefetch.misses},
		    {"precision", n ? double(v->prefetch.hits) / double(n) : 0.0},
		    {"predictor", v->predictor_name()},
		    {"predictor_accuracy", v->pred_checked ? double(v->pred_correct) / double(v->pred_checked) : 0.0},
		    {"queue", q}};
}

Result<json> Daemon::cost(const std::string &pool)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	Pool &p = **fp;
	std::map<std::uint32_t, std::string> names;
	for (auto &[id, a] : p.active)
		names[id] = a.name;
	auto r = planner::cost_report(*p.planner, cfg_.tiers, names, now_ms());
	json vols = json::array();
	for (const auto &v : r.volumes)
		vols.push_back({{"volume", v.volume},
				{"name", v.name},
				{"bytes_per_tier", v.bytes},
				{"monthly", std::round(v.monthly * 100) / 100},
				{"read_latency_us", v.read_latency_us}});
	json sug = json::array();
	for (const auto &s : r.suggestions)
		sug.push_back({{"volume", s.volume},
			       {"from_tier", s.from_tier},
			       {"to_tier", s.to_tier},
			       {"bytes", s.bytes},
			       {"saves_monthly", std::round(s.saves_monthly * 100) / 100},
			       {"latency_change", s.latency_change},
			       {"text", s.text}});
	json j{{"pool", pool},
	       {"currency", "USD"},
	       {"monthly", std::round(r.monthly * 100) / 100},
	       {"capacity_monthly", std::round(r.capacity_monthly * 100) / 100},
	       {"volumes", vols},
	       {"suggestions", sug}};
	if (cfg_.tiers.size() < p.planner->pool_info().tiers.size())
		j["warning"] = "the config defines " + std::to_string(cfg_.tiers.size()) + " of the pool's " +
			       std::to_string(p.planner->pool_info().tiers.size()) + " tiers; the others are priced at 0";
	return j;
}

Status Daemon::pin(const std::string &pool, std::uint32_t id, std::uint64_t begin, std::uint64_t end,
		   std::uint32_t tier)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	if (tier >= (*fp)->planner->pool_info().tiers.size())
		return make_error("pool " + pool + " has " + std::to_string((*fp)->planner->pool_info().tiers.size()) +
					  " tiers: no tier " + std::to_string(tier),
				  EINVAL);
	dm_tier_extent_cmd c{};
	c.volume = id;
	c.tier = tier;
	c.extent = begin;
	c.end = end;
	auto r = client_->pin(pool, std::span(&c, 1));
	if (!r)
		return make_error("pin: " + r.error(), r.code());
	if (r->rejected)
		return make_error("pin: " + nl::describe_errno(-r->first_error), -r->first_error);
	return {};
}

Status Daemon::unpin(const std::string &pool, std::uint32_t id, std::uint64_t begin, std::uint64_t end)
{
	std::lock_guard lk(mu_);
	auto fp = find_pool(pool);
	if (!fp)
		return std::move(fp).take_error();
	dm_tier_extent_cmd c{};
	c.volume = id;
	c.extent = begin;
	c.end = end;
	auto r = client_->unpin(pool, std::span(&c, 1));
	if (!r)
		return make_error("unpin: " + r.error(), r.code());
	if (r->rejected)
		return make_error("unpin: " + nl::describe_errno(-r->first_error), -r->first_error);
	return {};
}

std::string Daemon::metrics()
{
	std::lock_guard lk(mu_);
	std::ostringstream o;
	auto head = [&](const char *name, const char *type, const char *help) {
		o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
	};
	head("tierd_pool_registered", "gauge", "1 while tierd is the pool's controller");
	for (auto &[n, p] : pools_)
		o << "tierd_pool_registered{pool=\"" << prom_escape(n) << "\"} " << p.registered << "\n";
	head("tierd_tier_used_bytes", "gauge", "bytes in use on a tier");
	head("tierd_tier_total_bytes", "gauge", "capacity of a tier");
	for (auto &[n, p] : pools_) {
		const auto &info = p.planner->pool_info();
		std::uint64_t eb = info.extent_sectors * 512;
		for (std::size_t t = 0; t < info.tiers.size(); t++) {
			std::string lbl = "{pool=\"" + prom_escape(n) + "\",tier=\"" + std::to_string(t) + "\"";
			if (t < cfg_.tiers.size())
				lbl += ",class=\"" + prom_escape(cfg_.tiers[t].cls) + "\"";
			lbl += "}";
			o << "tierd_tier_used_bytes" << lbl << " " << info.tiers[t].used * eb << "\n";
			o << "tierd_tier_total_bytes" << lbl << " " << info.tiers[t].total * eb << "\n";
		}
	}
	head("tierd_fast_tier_hit_ratio", "gauge", "share of accesses (transitions) served by tier 0");
	for (auto &[n, p] : pools_) {
		auto &pl = *p.planner;
		o << "tierd_fast_tier_hit_ratio{pool=\"" << prom_escape(n) << "\"} "
		  << (pl.fast_accesses ? double(pl.fast_hits) / double(pl.fast_accesses) : 0.0) << "\n";
	}
	head("tierd_migrations_total", "counter", "migrations completed by the kernel (all causes)");
	head("tierd_migrations_failed_total", "counter", "migrations that failed");
	head("tierd_migrations_sent_total", "counter", "migrations tierd asked for (accepted)");
	head("tierd_prefetches_sent_total", "counter", "prefetches tierd asked for (accepted)");
	head("tierd_bytes_moved_total", "counter", "bytes copied by completed migrations");
	head("tierd_transitions_total", "counter", "access transitions received");
	head("tierd_transitions_dropped_total", "counter", "transitions the kernel dropped (buffers full)");
	for (auto &[n, p] : pools_) {
		auto &pl = *p.planner;
		const auto &info = pl.pool_info();
		std::string l = "{pool=\"" + prom_escape(n) + "\"} ";
		o << "tierd_migrations_total" << l << info.mig_done << "\n";
		o << "tierd_migrations_failed_total" << l << info.mig_failed << "\n";
		o << "tierd_migrations_sent_total" << l << pl.migrations_sent << "\n";
		o << "tierd_prefetches_sent_total" << l << pl.prefetches_sent << "\n";
		o << "tierd_bytes_moved_total" << l << info.bytes_moved << "\n";
		o << "tierd_transitions_total" << l << pl.transitions << "\n";
		o << "tierd_transitions_dropped_total" << l << pl.drops << "\n";
	}
	head("tierd_transition_rate", "gauge", "access transitions per second (last second of report time)");
	for (auto &[n, p] : pools_)
		o << "tierd_transition_rate{pool=\"" << prom_escape(n) << "\"} " << p.planner->transition_rate() << "\n";
	head("tierd_pool_busy", "gauge", "1 while auto volumes score their shadow models on a sample (high rate)");
	for (auto &[n, p] : pools_)
		o << "tierd_pool_busy{pool=\"" << prom_escape(n) << "\"} " << p.planner->busy() << "\n";
	head("tierd_volume_iops", "gauge", "volume I/O per second (last profile interval)");
	head("tierd_prefetch_hits_total", "counter", "prefetched extents used in time");
	head("tierd_prefetch_misses_total", "counter", "prefetched extents not used in time");
	head("tierd_prefetch_precision", "gauge", "prefetch hits / (hits + misses)");
	head("tierd_prefetch_depth", "gauge", "current prefetch depth");
	head("tierd_predictor_accuracy", "gauge", "share of transitions the predictor had among its predictions");
	head("tierd_predictor_info", "gauge", "the model in use (label model)");
	for (auto &[n, p] : pools_) {
		for (auto &[id, v] : p.planner->volumes()) {
			std::string l = "{pool=\"" + prom_escape(n) + "\",volume=\"" + std::to_string(id) + "\"";
			o << "tierd_volume_iops" << l << "} " << v.iops << "\n";
			o << "tierd_prefetch_hits_total" << l << "} " << v.prefetch.hits << "\n";
			o << "tierd_prefetch_misses_total" << l << "} " << v.prefetch.misses << "\n";
			o << "tierd_prefetch_precision" << l << "} " << v.prefetch.hit_ratio() << "\n";
			o << "tierd_prefetch_depth" << l << "} " << v.prefetch.depth << "\n";
			o << "tierd_predictor_accuracy" << l << "} "
			  << (v.pred_checked ? double(v.pred_correct) / double(v.pred_checked) : 0.0) << "\n";
			o << "tierd_predictor_info" << l << ",model=\"" << prom_escape(v.predictor_name()) << "\"} 1\n";
		}
	}
	rusage ru{};
	getrusage(RUSAGE_SELF, &ru);
	double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	long rss_pages = 0;
	{
		std::ifstream f("/proc/self/statm");
		long size = 0;
		f >> size >> rss_pages;
	}
	head("tierd_cpu_seconds_total", "counter", "daemon CPU time (user + system)");
	o << "tierd_cpu_seconds_total " << cpu << "\n";
	head("tierd_resident_memory_bytes", "gauge", "daemon resident memory");
	o << "tierd_resident_memory_bytes " << rss_pages * sysconf(_SC_PAGESIZE) << "\n";
	head("tierd_reports_total", "counter", "netlink reports received");
	o << "tierd_reports_total " << reports_ << "\n";
	head("tierd_reports_malformed_total", "counter", "netlink reports that did not parse");
	o << "tierd_reports_malformed_total " << malformed_ << "\n";
	head("tierd_netlink_overruns_total", "counter", "times the report socket overflowed");
	o << "tierd_netlink_overruns_total " << client_->socket().overruns() << "\n";
	head("tierd_config_reloads_total", "counter", "successful SIGHUP reloads");
	o << "tierd_config_reloads_total " << reloads_ << "\n";
	head("tierd_config_reload_errors_total", "counter", "refused SIGHUP reloads");
	o << "tierd_config_reload_errors_total " << reload_errors_ << "\n";
	head("tierd_uptime_seconds", "gauge", "seconds since start");
	o << "tierd_uptime_seconds " << (now_ms() - start_ms_) / 1000 << "\n";
	return o.str();
}

} // namespace dmtier::tierd
