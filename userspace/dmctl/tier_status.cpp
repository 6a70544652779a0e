// SPDX-License-Identifier: GPL-2.0
#include "dmctl/tier_status.h"

#include <charconv>
#include <sstream>

namespace dmtier::dm {

namespace {

template <typename T>
bool num(const std::string &s, T &v)
{
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	return ec == std::errc() && p == s.data() + s.size();
}

bool pair(const std::string &s, uint64_t &a, uint64_t &b)
{
	auto slash = s.find('/');
	return slash != std::string::npos && num(s.substr(0, slash), a) && num(s.substr(slash + 1), b);
}

std::vector<std::string> words(const std::string &s)
{
	std::istringstream in(s);
	std::vector<std::string> w;
	for (std::string x; in >> x;)
		w.push_back(x);
	return w;
}

} // namespace

Result<PoolStatus> parse_pool_status(const std::string &params)
{
	auto w = words(params);
	PoolStatus s;
	unsigned n = 0;
	auto bad = [&](const std::string &why) {
		return make_error("unexpected tier-pool status (" + why + "): " + params, EPROTO);
	};
	if (w.size() < 2 || !num(w[0], n) || n == 0 || n > 8)
		return bad("tier count");
	size_t i = 1;
	if (!pair(w[i++], s.meta_used, s.meta_total))
		return bad("metadata usage");
	if (w.size() < 2 + n + 11)
		return bad("too few fields");
	for (unsigned t = 0; t < n; t++) {
		TierUsage u;
		if (!pair(w[i++], u.used, u.total))
			return bad("tier usage");
		s.tiers.push_back(u);
	}
	if (!num(w[i++], s.nr_volumes))
		return bad("volume count");
	s.mode = w[i++];
	if (s.mode != "rw" && s.mode != "ro" && s.mode != "fail")
		return bad("mode");
	s.needs_check = w[i++] == "needs_check";
	s.out_of_space = w[i++] == "out_of_space";
	s.policy = w[i++];
	if (!num(w[i++], s.migrations_done) || !num(w[i++], s.migrations_failed) ||
	    !num(w[i++], s.migrations_queued) || !num(w[i++], s.migrations_in_flight) ||
	    !num(w[i++], s.migrations_throttled) || !num(w[i++], s.bytes_moved))
		return bad("migration counters");
	s.evacuation = w[i++];
	return s;
}

Result<std::vector<uint64_t>> parse_volume_status(const std::string &params)
{
	std::vector<uint64_t> mapped;
	for (auto &x : words(params)) {
		uint64_t v;
		if (!num(x, v))
			return make_error("unexpected tier status: " + params, EPROTO);
		mapped.push_back(v);
	}
	if (mapped.empty())
		return make_error("empty tier status", EPROTO);
	return mapped;
}

Result<VolumeTable> parse_volume_table(const std::string &params)
{
	auto w = words(params);
	VolumeTable t;
	if (w.size() != 2 || !num(w[1], t.id))
		return make_error("unexpected tier table: " + params, EPROTO);
	t.pool_dev = w[0];
	return t;
}

Result<PoolTable> parse_pool_table(const std::string &params)
{
	auto w = words(params);
	PoolTable t;
	unsigned n = 0;
	auto bad = [&](const std::string &why) {
		return make_error("unexpected tier-pool table (" + why + "): " + params, EPROTO);
	};
	if (w.size() < 4 || !num(w[1], t.extent_sectors) || !num(w[2], n) || n == 0 || n > 8)
		return bad("header");
	if (w.size() < 3 + n)
		return bad("tier devices");
	t.metadata_dev = w[0];
	t.tier_devs.assign(w.begin() + 3, w.begin() + 3 + n);
	size_t i = 3 + n;
	if (i < w.size()) {
		unsigned nf = 0;
		if (!num(w[i], nf) || i + 1 + nf != w.size())
			return bad("feature count");
		t.features.assign(w.begin() + i + 1, w.end());
	}
	return t;
}

std::string format_pool_table(const PoolTable &t)
{
	std::string s = t.metadata_dev + " " + std::to_string(t.extent_sectors) + " " +
			std::to_string(t.tier_devs.size());
	for (auto &d : t.tier_devs)
		s += " " + d;
	if (!t.features.empty()) {
		s += " " + std::to_string(t.features.size());
		for (auto &f : t.features)
			s += " " + f;
	}
	return s;
}

Result<Evacuation> parse_evacuation(const std::string &field)
{
	Evacuation e;
	if (field == "-")
		return e;
	auto c1 = field.find(':'), c2 = field.rfind(':');
	std::string what = field.substr(0, c1);
	if (c1 == std::string::npos || c2 == c1 || (what != "evacuating" && what != "evacuated") ||
	    !num(field.substr(c1 + 1, c2 - c1 - 1), e.tier) || !num(field.substr(c2 + 1), e.left))
		return make_error("unexpected evacuation field: " + field, EPROTO);
	e.active = true;
	e.done = what == "evacuated";
	return e;
}

} // namespace dmtier::dm
