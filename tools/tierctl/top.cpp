// SPDX-License-Identifier: GPL-2.0
#include "top.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <sstream>

namespace dmtier::tierctl {

using json = nlohmann::json;

namespace {

std::string pct(double f)
{
	if (f < 0)
		return "-";
	char b[16];
	snprintf(b, sizeof(b), "%.0f%%", 100 * f);
	return b;
}

template <typename T>
std::uint64_t delta(T a, T b)
{
	return b >= a ? std::uint64_t(b - a) : 0;	// a counter reset (reload) counts as 0
}

} // namespace

Result<Profile> parse_profile(const std::string &reply)
{
	Profile p;
	std::map<std::string, std::uint64_t *> u64 = {
		{"reads", &p.reads}, {"writes", &p.writes}, {"read_bytes", &p.read_bytes},
		{"write_bytes", &p.write_bytes}, {"sequential", &p.sequential},
		{"prefetch_hits", &p.prefetch_hits}, {"prefetch_misses", &p.prefetch_misses}};
	std::map<std::string, std::uint32_t *> u32 = {{"queued", &p.queued}, {"migrating", &p.migrating}};
	std::istringstream in(reply);
	unsigned seen = 0;
	for (std::string w; in >> w;) {
		auto eq = w.find('=');
		if (eq == std::string::npos)
			return make_error("unexpected get_profile reply: " + reply, EPROTO);
		std::string k = w.substr(0, eq), v = w.substr(eq + 1);
		const char *b = v.data(), *e = v.data() + v.size();
		if (auto it = u64.find(k); it != u64.end()) {
			auto [ptr, ec] = std::from_chars(b, e, *it->second);
			if (ec != std::errc() || ptr != e)
				return make_error("unexpected get_profile value " + w, EPROTO);
			seen++;
		} else if (auto jt = u32.find(k); jt != u32.end()) {
			auto [ptr, ec] = std::from_chars(b, e, *jt->second);
			if (ec != std::errc() || ptr != e)
				return make_error("unexpected get_profile value " + w, EPROTO);
			seen++;
		}
		// size_hist and keys of newer modules are skipped.
	}
	if (seen < 4)
		return make_error("unexpected get_profile reply: " + reply, EPROTO);
	return p;
}

std::vector<PoolRow> top_rows(const Sample &prev, const Sample &cur)
{
	double dt = cur.time_s - prev.time_s;
	if (!(dt > 0))
		dt = 1;
	std::vector<PoolRow> rows;
	for (const auto &ps : cur.pools) {
		const PoolSample *pp = nullptr;
		for (const auto &x : prev.pools)
			if (x.name == ps.name)
				pp = &x;
		PoolRow r;
		r.name = ps.name;
		r.status = ps.status;
		r.inactive_volumes = ps.inactive_volumes;
		if (pp) {
			r.migrations_per_s = delta(pp->status.migrations_done, ps.status.migrations_done) / dt;
			r.moved_mbps = delta(pp->status.bytes_moved, ps.status.bytes_moved) / dt / (1 << 20);
			r.failed_delta = delta(pp->status.migrations_failed, ps.status.migrations_failed);
		}
		for (const auto &v : ps.volumes) {
			const VolSample *pv = nullptr;
			if (pp)
				for (const auto &x : pp->volumes)
					if (x.id == v.id)
						pv = &x;
			VolRow vr;
			vr.id = v.id;
			vr.device = v.device;
			vr.queued = v.profile.queued;
			vr.migrating = v.profile.migrating;
			for (auto m : v.mapped)
				vr.mapped += m;
			for (auto m : v.mapped)
				vr.mix.push_back(vr.mapped ? double(m) / double(vr.mapped) : 0.0);
			vr.fast_hit = v.heat_total > 0 ? v.heat_fast / v.heat_total : -1;
			if (pv) {
				const Profile &a = pv->profile, &b = v.profile;
				vr.read_iops = delta(a.reads, b.reads) / dt;
				vr.write_iops = delta(a.writes, b.writes) / dt;
				vr.read_mbps = delta(a.read_bytes, b.read_bytes) / dt / (1 << 20);
				vr.write_mbps = delta(a.write_bytes, b.write_bytes) / dt / (1 << 20);
				std::uint64_t h = delta(a.prefetch_hits, b.prefetch_hits),
					      m = delta(a.prefetch_misses, b.prefetch_misses);
				vr.prefetch_hit = h + m ? double(h) / double(h + m) : -1;
			}
			r.volumes.push_back(vr);
		}
		rows.push_back(r);
	}
	return rows;
}

std::string render_top(const std::vector<PoolRow> &rows, double interval_s, unsigned columns)
{
	std::ostringstream o;
	char b[512];
	snprintf(b, sizeof(b), "tierctl top - every %.1f s - %zu pool%s", interval_s, rows.size(),
		 rows.size() == 1 ? "" : "s");
	o << b << "\n";
	if (rows.empty())
		o << "no active dm-tier pool\n";
	for (const auto &r : rows) {
		const auto &s = r.status;
		o << "\n";
		snprintf(b, sizeof(b), "pool %s: %s, policy %s, %zu volumes active", r.name.c_str(), s.mode.c_str(),
			 s.policy.c_str(), r.volumes.size());
		o << b;
		if (r.inactive_volumes)
			o << " (" << r.inactive_volumes << " inactive)";
		if (s.needs_check)
			o << ", NEEDS_CHECK";
		if (s.out_of_space)
			o << ", OUT_OF_SPACE";
		o << "\n  tiers:";
		for (size_t t = 0; t < s.tiers.size(); t++) {
			double f = s.tiers[t].total ? double(s.tiers[t].used) / double(s.tiers[t].total) : 0;
			snprintf(b, sizeof(b), " %zu: %llu/%llu (%s)", t, (unsigned long long)s.tiers[t].used,
				 (unsigned long long)s.tiers[t].total, pct(f).c_str());
			o << b;
		}
		snprintf(b, sizeof(b), "\n  migrations: %.1f/s, %.2f MiB/s, %u queued, %u copying, %llu failed (+%llu)",
			 r.migrations_per_s, r.moved_mbps, s.migrations_queued, s.migrations_in_flight,
			 (unsigned long long)s.migrations_failed, (unsigned long long)r.failed_delta);
		o << b;
		if (s.evacuation != "-")
			o << ", " << s.evacuation;
		o << "\n";
		snprintf(b, sizeof(b), "  %-16s %8s %8s %8s %8s  %-14s %6s %6s %4s", "VOLUME", "R-IOPS", "W-IOPS",
			 "R-MiB/s", "W-MiB/s", "TIER MIX %", "FAST", "PF-HIT", "MIG");
		o << std::string(b).substr(0, columns > 2 ? columns : 80) << "\n";
		for (const auto &v : r.volumes) {
			std::string mix;
			for (size_t t = 0; t < v.mix.size(); t++)
				mix += (t ? "/" : "") + std::to_string(int(100 * v.mix[t] + 0.5));
			if (!v.mapped)
				mix = "-";
			std::string name = std::to_string(v.id) + " " + v.device;
			snprintf(b, sizeof(b), "  %-16.16s %8.0f %8.0f %8.2f %8.2f  %-14s %6s %6s %4u", name.c_str(),
				 v.read_iops, v.write_iops, v.read_mbps, v.write_mbps, mix.c_str(), pct(v.fast_hit).c_str(),
				 pct(v.prefetch_hit).c_str(), v.queued + v.migrating);
			o << std::string(b).substr(0, columns > 2 ? columns : 80) << "\n";
		}
	}
	o << "\nFAST: share of the volume's recent accesses (decayed heat) on tier 0; PF-HIT: prefetch hits "
	     "in the interval; MIG: extents queued or moving\n";
	return o.str();
}

json top_json(const std::vector<PoolRow> &rows, double interval_s)
{
	json pools = json::array();
	for (const auto &r : rows) {
		json tiers = json::array();
		for (size_t t = 0; t < r.status.tiers.size(); t++)
			tiers.push_back({{"tier", t}, {"used_extents", r.status.tiers[t].used},
					 {"total_extents", r.status.tiers[t].total}});
		json vols = json::array();
		for (const auto &v : r.volumes)
			vols.push_back({{"id", v.id},
					{"device", v.device},
					{"read_iops", v.read_iops},
					{"write_iops", v.write_iops},
					{"read_mib_s", v.read_mbps},
					{"write_mib_s", v.write_mbps},
					{"mapped_extents", v.mapped},
					{"tier_mix", v.mix},
					{"fast_tier_hit_ratio", v.fast_hit < 0 ? json(nullptr) : json(v.fast_hit)},
					{"prefetch_hit_ratio", v.prefetch_hit < 0 ? json(nullptr) : json(v.prefetch_hit)},
					{"migrations_queued", v.queued},
					{"migrating", v.migrating}});
		pools.push_back({{"pool", r.name},
				 {"mode", r.status.mode},
				 {"policy", r.status.policy},
				 {"tiers", tiers},
				 {"inactive_volumes", r.inactive_volumes},
				 {"migrations_per_s", r.migrations_per_s},
				 {"moved_mib_s", r.moved_mbps},
				 {"migrations_queued", r.status.migrations_queued},
				 {"migrations_in_flight", r.status.migrations_in_flight},
				 {"migrations_failed", r.status.migrations_failed},
				 {"evacuation", r.status.evacuation},
				 {"volumes", vols}});
	}
	return {{"interval_s", interval_s}, {"pools", pools}};
}

} // namespace dmtier::tierctl
