// SPDX-License-Identifier: GPL-2.0
// tier-listen: register as a pool's controller and print the reports the
// kernel sends, one line per report.
//
//   tier-listen --pool NAME [--takeover] [--count N] [--seconds S]
//               [--only TYPE[,TYPE...]] [--json]
//
// TYPE: heat, profile, transitions, migration_done.  --count stops after N
// reports (of the --only types), --seconds after S seconds; SIGINT / SIGTERM
// stop it too.  A summary goes to stderr; exit 0, or 1 when registering or
// receiving failed.
#include <netlink/client.h>

#include <signal.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace dmtier::nl;

namespace {

volatile sig_atomic_t stop = 0;
void on_signal(int) { stop = 1; }

void usage(FILE *f)
{
	std::fprintf(f, "usage: tier-listen --pool NAME [--takeover] [--count N] [--seconds S]\n"
			"                   [--only heat,profile,transitions,migration_done] [--json]\n");
}

void json_str(const std::string &s)
{
	std::putchar('"');
	for (char c : s) {
		if (c == '"' || c == '\\')
			std::printf("\\%c", c);
		else if (static_cast<unsigned char>(c) < 0x20)
			std::printf("\\u%04x", c);
		else
			std::putchar(c);
	}
	std::putchar('"');
}

void print_profile_fields(const dm_tier_profile &p, bool json)
{
	const char *f = json ? ",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"read_bytes\":%" PRIu64
			       ",\"write_bytes\":%" PRIu64 ",\"sequential\":%" PRIu64
			     : " reads=%" PRIu64 " writes=%" PRIu64 " read_bytes=%" PRIu64 " write_bytes=%" PRIu64
			       " sequential=%" PRIu64;
	std::printf(f, (uint64_t)p.reads, (uint64_t)p.writes, (uint64_t)p.read_bytes, (uint64_t)p.write_bytes,
		    (uint64_t)p.sequential);
	std::printf(json ? ",\"size_hist\":[" : " size_hist=");
	for (int i = 0; i < DM_TIER_SIZE_BUCKETS; i++)
		std::printf("%s%" PRIu64, i ? "," : "", (uint64_t)p.size_hist[i]);
	std::printf(json ? "],\"prefetch_hits\":%" PRIu64 ",\"prefetch_misses\":%" PRIu64
			 : " prefetch_hits=%" PRIu64 " prefetch_misses=%" PRIu64,
		    (uint64_t)p.prefetch_hits, (uint64_t)p.prefetch_misses);
}

void print_text(const Report &r)
{
	if (auto *h = std::get_if<HeatReport>(&r)) {
		std::uint64_t reads = 0, writes = 0;
		for (const auto &e : h->heat) {
			reads += e.reads;
			writes += e.writes;
		}
		std::printf("heat pool=%s volume=%u epoch=%u extents=%zu reads=%" PRIu64 " writes=%" PRIu64 "\n",
			    h->pool.c_str(), h->volume, h->epoch, h->heat.size(), reads, writes);
	} else if (auto *p = std::get_if<ProfileReport>(&r)) {
		std::printf("profile pool=%s volume=%u epoch=%u", p->pool.c_str(), p->volume, p->epoch);
		print_profile_fields(p->profile, false);
		std::printf("\n");
	} else if (auto *t = std::get_if<TransitionsReport>(&r)) {
		std::size_t writes = 0, mapped = 0;
		for (const auto &x : t->transitions) {
			writes += (x.flags & DM_TIER_TR_WRITE) != 0;
			mapped += (x.flags & DM_TIER_TR_MAPPED) != 0;
		}
		std::printf("transitions pool=%s volume=%u n=%zu writes=%zu mapped=%zu drops=%" PRIu64, t->pool.c_str(),
			    t->volume, t->transitions.size(), writes, mapped, t->drops);
		if (!t->transitions.empty())
			std::printf(" first=%" PRIu64 " last=%" PRIu64, (uint64_t)t->transitions.front().extent,
				    (uint64_t)t->transitions.back().extent);
		std::printf("\n");
	} else if (auto *m = std::get_if<MigrationDoneReport>(&r)) {
		std::size_t ok = 0, pf = 0;
		for (const auto &e : m->migrations) {
			ok += (e.flags & DM_TIER_MIG_OK) != 0;
			pf += (e.flags & DM_TIER_MIG_PREFETCH) != 0;
		}
		std::printf("migration_done pool=%s n=%zu ok=%zu failed=%zu prefetch=%zu\n", m->pool.c_str(),
			    m->migrations.size(), ok, m->migrations.size() - ok, pf);
	}
}

void print_json(const Report &r)
{
	std::printf("{\"type\":\"%s\",\"pool\":", std::string(report_name(r)).c_str());
	if (auto *h = std::get_if<HeatReport>(&r)) {
		json_str(h->pool);
		std::printf(",\"volume\":%u,\"epoch\":%u,\"heat\":[", h->volume, h->epoch);
		for (std::size_t i = 0; i < h->heat.size(); i++) {
			const auto &e = h->heat[i];
			std::printf("%s[%" PRIu64 ",%u,%u,%u,%u]", i ? "," : "", (uint64_t)e.extent, e.tier, e.reads,
				    e.writes, e.flags);
		}
		std::printf("]}\n");
	} else if (auto *p = std::get_if<ProfileReport>(&r)) {
		json_str(p->pool);
		std::printf(",\"volume\":%u,\"epoch\":%u", p->volume, p->epoch);
		print_profile_fields(p->profile, true);
		std::printf("}\n");
	} else if (auto *t = std::get_if<TransitionsReport>(&r)) {
		json_str(t->pool);
		std::printf(",\"volume\":%u,\"drops\":%" PRIu64 ",\"transitions\":[", t->volume, t->drops);
		for (std::size_t i = 0; i < t->transitions.size(); i++) {
			const auto &x = t->transitions[i];
			std::printf("%s[%" PRIu64 ",%" PRIu64 ",%u,%u,%u]", i ? "," : "", (uint64_t)x.time_ns,
				    (uint64_t)x.extent, x.bytes, x.flags, x.tier);
		}
		std::printf("]}\n");
	} else if (auto *m = std::get_if<MigrationDoneReport>(&r)) {
		json_str(m->pool);
		std::printf(",\"migrations\":[");
		for (std::size_t i = 0; i < m->migrations.size(); i++) {
			const auto &e = m->migrations[i];
			std::printf("%s[%u,%" PRIu64 ",%u,%u,%u]", i ? "," : "", e.volume, (uint64_t)e.extent,
				    e.from_tier, e.to_tier, e.flags);
		}
		std::printf("]}\n");
	}
}

} // namespace

int main(int argc, char **argv)
{
	std::string pool;
	bool takeover = false, json = false;
	long long count = -1;
	double seconds = -1;
	unsigned only = 0xf; // bit per Report alternative
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto need = [&]() -> const char * {
			if (i + 1 >= argc) {
				usage(stderr);
				std::exit(2);
			}
			return argv[++i];
		};
		if (a == "--pool")
			pool = need();
		else if (a == "--takeover")
			takeover = true;
		else if (a == "--json")
			json = true;
		else if (a == "--count")
			count = std::atoll(need());
		else if (a == "--seconds")
			seconds = std::atof(need());
		else if (a == "--only") {
			only = 0;
			std::string s = need();
			std::size_t b = 0;
			while (b <= s.size()) {
				std::size_t e = s.find(',', b);
				std::string t = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
				if (t == "heat")
					only |= 1;
				else if (t == "profile")
					only |= 2;
				else if (t == "transitions")
					only |= 4;
				else if (t == "migration_done")
					only |= 8;
				else {
					std::fprintf(stderr, "tier-listen: unknown report type '%s'\n", t.c_str());
					return 2;
				}
				if (e == std::string::npos)
					break;
				b = e + 1;
			}
		} else if (a == "-h" || a == "--help") {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (pool.empty()) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);

	auto l = ReportListener::open();
	if (!l) {
		std::fprintf(stderr, "tier-listen: %s\n", l.error().c_str());
		return 1;
	}
	auto info = l->register_pool(pool, takeover);
	if (!info) {
		std::fprintf(stderr, "tier-listen: %s\n", info.error().c_str());
		return 1;
	}
	std::fprintf(stderr, "tier-listen: controller of %s (port %u, policy %s, %u tiers, %u volumes)\n",
		     info->pool.c_str(), l->port(), info->policy.c_str(), info->nr_tiers, info->nr_volumes);

	auto start = std::chrono::steady_clock::now();
	std::uint64_t seen[4] = {}, printed = 0;
	int rc = 0;
	while (!stop && (count < 0 || (long long)printed < count)) {
		int wait = 200;
		if (seconds >= 0) {
			double left = seconds - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
			if (left <= 0)
				break;
			wait = std::min(wait, int(left * 1000) + 1);
		}
		auto n = l->poll(wait, [&](const Report &r) {
			seen[r.index()]++;
			if (!(only & (1u << r.index())) || (count >= 0 && (long long)printed >= count))
				return;
			printed++;
			json ? print_json(r) : print_text(r);
		});
		if (!n) {
			std::fprintf(stderr, "tier-listen: %s\n", n.error().c_str());
			rc = 1;
			break;
		}
	}
	std::fprintf(stderr,
		     "tier-listen: %" PRIu64 " reports printed; received heat %" PRIu64 ", profile %" PRIu64
		     ", transitions %" PRIu64 ", migration_done %" PRIu64 "; malformed %" PRIu64 "%s%s; overruns %" PRIu64
		     "\n",
		     printed, seen[0], seen[1], seen[2], seen[3], l->malformed(), l->malformed() ? ": " : "",
		     l->last_malformed().c_str(), l->overruns());
	return rc;
}
