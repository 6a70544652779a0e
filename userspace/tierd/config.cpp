// SPDX-License-Identifier: GPL-2.0
#include "tierd/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "tierd/toml_fields.h"

namespace dmtier::tierd {

namespace {

using namespace dmtier::toml_fields;

bool parse_daemon(Ctx &c, const toml::table &t, Config &cfg)
{
	return check_keys(c, t, "[daemon]",
			  {"round_ms", "state_dir", "socket", "tcp", "token_file", "save_interval_s", "rediscover_s",
			   "takeover"}) &&
	       get_num(c, t, "daemon", "round_ms", &cfg.round_ms, 50, 600000) &&
	       get_str(c, t, "daemon", "state_dir", &cfg.state_dir) && get_str(c, t, "daemon", "socket", &cfg.socket) &&
	       get_str(c, t, "daemon", "tcp", &cfg.tcp) && get_str(c, t, "daemon", "token_file", &cfg.token_file) &&
	       get_num(c, t, "daemon", "save_interval_s", &cfg.save_interval_s, 1, 86400) &&
	       get_num(c, t, "daemon", "rediscover_s", &cfg.rediscover_s, 1, 3600) &&
	       get_bool(c, t, "daemon", "takeover", &cfg.takeover);
}

bool parse_planner(Ctx &c, const toml::table &t, planner::PlannerConfig &p)
{
	const char *s = "planner";
	return check_keys(c, t, "[planner]",
			  {"budget_per_round", "promote_heat", "demote_heat", "swap_ratio", "swap_margin", "residency_rounds",
			   "promote_reports", "swap_sustained_rounds", "fill_target", "half_life_ms", "predicted_weight", "prefetch_depth", "prefetch_depth_max",
			   "prefetch_threshold", "hit_ratio_high", "hit_ratio_low", "prefetch_ttl_ms", "hint_extents",
			   "retier_deviation", "phase_tracking", "model", "lstm_background", "lstm_cpu_budget",
			   "busy_rate"}) &&
	       get_num(c, t, s, "budget_per_round", &p.budget_per_round, 0, 100000) &&
	       get_num(c, t, s, "promote_heat", &p.promote_heat, 0, 1e6) &&
	       get_num(c, t, s, "demote_heat", &p.demote_heat, 0, 1e6) &&
	       get_num(c, t, s, "swap_ratio", &p.swap_ratio, 1, 1e6) &&
	       get_num(c, t, s, "swap_margin", &p.swap_margin, 0, 1e6) &&
	       get_num(c, t, s, "residency_rounds", &p.residency_rounds, 0, 100000) &&
	       get_num(c, t, s, "promote_reports", &p.promote_reports, 0, 1000) &&
	       get_num(c, t, s, "swap_sustained_rounds", &p.swap_sustained_rounds, 0, 100000) &&
	       get_num(c, t, s, "fill_target", &p.fill_target, 0.01, 1) &&
	       get_num(c, t, s, "half_life_ms", &p.half_life_ms, 1, 1e9) &&
	       get_num(c, t, s, "predicted_weight", &p.predicted_weight, 0, 1e6) &&
	       get_num(c, t, s, "prefetch_depth", &p.prefetch_depth, 0, 4096) &&
	       get_num(c, t, s, "prefetch_depth_max", &p.prefetch_depth_max, 1, 4096) &&
	       get_num(c, t, s, "prefetch_threshold", &p.prefetch_threshold, 0, 1) &&
	       get_num(c, t, s, "hit_ratio_high", &p.hit_ratio_high, 0, 1) &&
	       get_num(c, t, s, "hit_ratio_low", &p.hit_ratio_low, 0, 1) &&
	       get_num(c, t, s, "prefetch_ttl_ms", &p.prefetch_ttl_ms, 1, 1e9) &&
	       get_num(c, t, s, "hint_extents", &p.hint_extents, 0, 1e9) &&
	       get_num(c, t, s, "retier_deviation", &p.retier_deviation, 0, 1) &&
	       get_bool(c, t, s, "phase_tracking", &p.phase_tracking) &&
	       get_str(c, t, s, "model", &p.model_override) &&
	       get_bool(c, t, s, "lstm_background", &p.lstm_background) &&
	       get_num(c, t, s, "lstm_cpu_budget", &p.lstm_cpu_budget, 0.001, 1) &&
	       get_num(c, t, s, "busy_rate", &p.busy_rate, 0, 1e9);
}

bool parse_tier(Ctx &c, const toml::table &t, std::size_t i, planner::TierCost &tc)
{
	std::string sec = "tier[" + std::to_string(i) + "]";
	if (!check_keys(c, t, sec, {"name", "class", "cost_per_gb_month", "latency_us", "iops"}))
		return false;
	if (!t.get("class"))
		return c.fail(t, sec + " needs a class (e.g. class = \"nvme\")");
	if (!t.get("cost_per_gb_month"))
		return c.fail(t, sec + " needs cost_per_gb_month");
	if (!get_str(c, t, sec.c_str(), "name", &tc.name) || !get_str(c, t, sec.c_str(), "class", &tc.cls) ||
	    !get_num(c, t, sec.c_str(), "cost_per_gb_month", &tc.cost_gb_month, 0, 1e6) ||
	    !get_num(c, t, sec.c_str(), "latency_us", &tc.latency_us, 0, 1e9) ||
	    !get_num(c, t, sec.c_str(), "iops", &tc.iops, 0, 1e12))
		return false;
	if (tc.cls.empty())
		return c.fail(*t.get("class"), sec + ".class must not be empty");
	if (tc.name.empty())
		tc.name = tc.cls;
	return true;
}

} // namespace

Result<Config> parse_config(const std::string &text, const std::string &name)
{
	Config cfg;
	auto parsed = toml_fields::parse(text, name);
	if (!parsed)
		return std::move(parsed).take_error();
	const toml::table &root = *parsed;
	Ctx c{name, {}};
	bool ok = check_keys(c, root, "the top level", {"daemon", "planner", "tier"});
	if (ok && root.get("daemon")) {
		auto *t = root.get("daemon")->as_table();
		ok = t ? parse_daemon(c, *t, cfg) : c.fail(*root.get("daemon"), "daemon must be a table ([daemon])");
	}
	if (ok && root.get("planner")) {
		auto *t = root.get("planner")->as_table();
		ok = t ? parse_planner(c, *t, cfg.planner) : c.fail(*root.get("planner"), "planner must be a table ([planner])");
	}
	if (ok && root.get("tier")) {
		auto *a = root.get("tier")->as_array();
		if (!a || !a->is_array_of_tables())
			ok = c.fail(*root.get("tier"), "tier must be an array of tables ([[tier]])");
		for (std::size_t i = 0; ok && a && i < a->size(); i++) {
			planner::TierCost tc;
			ok = parse_tier(c, *a->get(i)->as_table(), i, tc);
			cfg.tiers.push_back(tc);
		}
	}
	if (ok && cfg.planner.demote_heat >= cfg.planner.promote_heat)
{
		std::ostringstream o;
		o << "planner.demote_heat (" << cfg.planner.demote_heat << ") must be below planner.promote_heat ("
		  << cfg.planner.promote_heat << "): that gap is the hysteresis";
		ok = c.fail(root, o.str());
	}
	if (ok && cfg.planner.hit_ratio_low > cfg.planner.hit_ratio_high)
		ok = c.fail(root, "planner.hit_ratio_low must not exceed planner.hit_ratio_high");
	if (ok && cfg.planner.prefetch_depth > cfg.planner.prefetch_depth_max)
		ok = c.fail(root, "planner.prefetch_depth must not exceed planner.prefetch_depth_max");
	if (ok && !cfg.tcp.empty() && cfg.token_file.empty())
		ok = c.fail(root, "daemon.tcp needs daemon.token_file: the TCP API requires a bearer token");
	if (ok && cfg.socket.empty())
		ok = c.fail(root, "daemon.socket must not be empty");
	if (!ok)
		return make_error(c.err, EINVAL);
	return cfg;
}

Result<Config> load_config(const std::string &path, bool required)
{
	std::ifstream f(path);
	if (!f) {
		int e = errno;
		if (!required && e == ENOENT)
			return Config{};
		return make_error(path + ": cannot read: " + std::strerror(e), e);
	}
	std::stringstream ss;
	ss << f.rdbuf();
	return parse_config(ss.str(), path);
}

} // namespace dmtier::tierd
