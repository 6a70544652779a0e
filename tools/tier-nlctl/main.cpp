// SPDX-License-Identifier: GPL-2.0
// tier-nlctl: send one dm_tier netlink command and print the answer; for
// tests and by hand.
//
//   tier-nlctl get-pool POOL
//   tier-nlctl get-volume POOL VOLUME
//   tier-nlctl dump-heat POOL VOLUME
//   tier-nlctl set POOL KEY=VALUE...
//   tier-nlctl register POOL [--takeover] [--hold SECONDS]
//   tier-nlctl unregister POOL                 (only a controller may)
//   tier-nlctl kill-wait POOL PID [TIMEOUT_MS]
//       SIGKILL the controller process PID, then ask GET_POOL in a tight
//       loop until the policy is no longer "controller"; prints
//       "policy=<policy> after_ms=<ms since the kill>" (exit 1 on timeout,
//       default 5000 ms)
//   tier-nlctl migrate|prefetch|pin|unpin|set-hint POOL [--register] [--gen SPEC]...
//
// Batches read lines "VOLUME EXTENT TIER [END|DEADLINE_MS]" from stdin
// (END for pin/unpin/set-hint ranges, DEADLINE_MS for prefetch; TIER "-"
// is DM_TIER_TIER_NONE), unless --gen VOLUME:FIRST:COUNT:TIER[:STRIDE]
// generates COUNT entries for extents FIRST, FIRST+STRIDE, ... (several
// --gen concatenate).  They are sent in messages of at most 2000 entries and
// the totals printed:
//   accepted=N rejected=M first_error=ENODATA first_error_index=I
// --register first registers this socket as the controller (so that the
// commands count as the controller's).  Errors print as
//   tier-nlctl: <command>: <strerror> (<ERRNO NAME>): <kernel's message>
// and exit 1; usage errors exit 2.
#include <netlink/client.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace dmtier::nl;

namespace {

[[noreturn]] void usage()
{
	std::fprintf(stderr,
		     "usage: tier-nlctl get-pool POOL | get-volume POOL VOL | dump-heat POOL VOL |\n"
		     "       set POOL KEY=VALUE... | register POOL [--takeover] [--hold S] | unregister POOL |\n"
		     "       migrate|prefetch|pin|unpin|set-hint POOL [--register] [--gen VOL:FIRST:COUNT:TIER[:STRIDE]]...\n");
	std::exit(2);
}

[[noreturn]] void die(const std::string &msg)
{
	std::fprintf(stderr, "tier-nlctl: %s\n", msg.c_str());
	std::exit(1);
}

std::uint64_t num(const std::string &s, const char *what)
{
	char *end = nullptr;
	errno = 0;
	unsigned long long v = std::strtoull(s.c_str(), &end, 0);
	if (s.empty() || *end || errno || s[0] == '-') {
		std::fprintf(stderr, "tier-nlctl: bad %s '%s'\n", what, s.c_str());
		std::exit(2);
	}
	return v;
}

void print_pool(const PoolInfo &p)
{
	std::printf("pool=%s nr_tiers=%u mode=%s needs_check=%d policy=%s nr_volumes=%u mig_done=%" PRIu64
		    " mig_failed=%" PRIu64 " mig_queued=%u bytes_moved=%" PRIu64 " extent_sectors=%" PRIu64
		    " epoch=%u drops=%" PRIu64,
		    p.pool.c_str(), p.nr_tiers, p.mode.c_str(), p.needs_check ? 1 : 0, p.policy.c_str(), p.nr_volumes,
		    p.mig_done, p.mig_failed, p.mig_queued, p.bytes_moved, p.extent_sectors, p.epoch, p.drops);
	for (const auto &t : p.tiers)
		std::printf(" tier%u=%" PRIu64 "/%" PRIu64, t.index, t.used, t.total);
	std::printf("\n");
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	std::string cmd = argv[1], pool = argv[2];
	std::vector<std::string> rest(argv + 3, argv + argc);
	setvbuf(stdout, nullptr, _IOLBF, 0);

	auto c = Client::open();
	if (!c)
		die(c.error());

	if (cmd == "get-pool") {
		auto p = c->get_pool(pool);
		if (!p)
			die(p.error());
		print_pool(*p);
		return 0;
	}
	if (cmd == "get-volume" || cmd == "dump-heat") {
		if (rest.size() != 1)
			usage();
		auto vol = std::uint32_t(num(rest[0], "volume"));
		if (cmd == "get-volume") {
			auto v = c->get_volume(pool, vol);
			if (!v)
				die(v.error());
			std::printf("volume=%u tiering_enabled=%d policy=%s model=%s mapped=", v->volume,
				    v->tiering_enabled ? 1 : 0, v->policy_name.c_str(), v->model.c_str());
			for (std::size_t i = 0; i < v->mapped.size(); i++)
				std::printf("%s%" PRIu64, i ? "," : "", v->mapped[i]);
			const auto &pr = v->profile;
			std::printf(" reads=%" PRIu64 " writes=%" PRIu64 " read_bytes=%" PRIu64 " write_bytes=%" PRIu64
				    " prefetch_hits=%" PRIu64 " prefetch_misses=%" PRIu64 "\n",
				    (uint64_t)pr.reads, (uint64_t)pr.writes, (uint64_t)pr.read_bytes,
				    (uint64_t)pr.write_bytes, (uint64_t)pr.prefetch_hits, (uint64_t)pr.prefetch_misses);
			return 0;
		}
		auto h = c->dump_heat(pool, vol);
		if (!h)
			die(h.error());
		// As the dump_heat pool message: <extent> <tier> <reads> <writes> <flags>
		for (const auto &e : *h) {
			std::string f;
			if (e.flags & DM_TIER_HEAT_PINNED)
				f += 'p';
			if (e.flags & DM_TIER_HEAT_MIGRATING)
				f += 'm';
			if (e.flags & DM_TIER_HEAT_PREFETCHED)
				f += 'f';
			std::printf("%" PRIu64 " %u %u %u %s\n", (uint64_t)e.extent, e.tier, e.reads, e.writes,
				    f.empty() ? "-" : f.c_str());
		}
		return 0;
	}
	if (cmd == "set") {
		if (rest.empty())
			usage();
		std::vector<Param> ps;
		for (const auto &kv : rest) {
			auto eq = kv.find('=');
			if (eq == std::string::npos)
				usage();
			auto id = param_by_name(kv.substr(0, eq));
			if (!id) {
				std::fprintf(stderr, "tier-nlctl: unknown setting '%s'\n", kv.substr(0, eq).c_str());
				return 2;
			}
			ps.push_back({*id, std::uint32_t(num(kv.substr(eq + 1), "value"))});
		}
		if (auto st = c->set_params(pool, ps); !st)
			die(st.error());
		return 0;
	}
	if (cmd == "register") {
		bool takeover = false;
		double hold = 0;
		for (std::size_t i = 0; i < rest.size(); i++) {
			if (rest[i] == "--takeover")
				takeover = true;
			else if (rest[i] == "--hold" && i + 1 < rest.size())
				hold = std::atof(rest[++i].c_str());
			else
				usage();
		}
		auto p = c->register_pool(pool, takeover);
		if (!p)
			die(p.error());
		print_pool(*p);
		if (hold > 0)
			usleep(useconds_t(hold * 1e6));
		return 0;
	}
	if (cmd == "kill-wait") {
		if (rest.empty() || rest.size() > 2)
			usage();
		auto pid = pid_t(num(rest[0], "pid"));
		auto timeout = rest.size() == 2 ? num(rest[1], "timeout") : 5000;
		auto p = c->get_pool(pool);
		if (!p)
			die(p.error());
		if (p->policy != "controller")
			die("kill-wait: policy is '" + p->policy + "' before the kill");
		auto t0 = std::chrono::steady_clock::now();
		if (kill(pid, SIGKILL) < 0)
			die("kill " + std::to_string(pid) + ": " + std::strerror(errno));
		for (;;) {
			auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
					  .count();
			p = c->get_pool(pool);
			if (!p)
				die(p.error());
			if (p->policy != "controller") {
				std::printf("policy=%s after_ms=%lld\n", p->policy.c_str(), (long long)ms);
				return 0;
			}
			if (ms > (long long)timeout)
				die("kill-wait: policy still controller " + std::to_string(ms) + " ms after the kill");
			usleep(2000);
		}
	}
	if (cmd == "unregister") {
		if (auto st = c->unregister_pool(pool); !st)
			die(st.error());
		return 0;
	}

	Command bc;
	if (cmd == "migrate")
		bc = Command::migrate;
	else if (cmd == "prefetch")
		bc = Command::prefetch;
	else if (cmd == "pin")
		bc = Command::pin;
	else if (cmd == "unpin")
		bc = Command::unpin;
	else if (cmd == "set-hint")
		bc = Command::set_hint;
	else
		usage();

	std::vector<dm_tier_extent_cmd> cmds;
	bool gen = false, reg = false;
	for (std::size_t i = 0; i < rest.size(); i++) {
		if (rest[i] == "--register") {
			reg = true;
			continue;
		}
		if (rest[i] != "--gen" || i + 1 >= rest.size())
			usage();
		gen = true;
		std::vector<std::string> f;
		std::stringstream ss(rest[++i]);
		for (std::string x; std::getline(ss, x, ':');)
			f.push_back(x);
		if (f.size() < 4 || f.size() > 5)
			usage();
		auto vol = std::uint32_t(num(f[0], "volume"));
		auto first = num(f[1], "extent"), count = num(f[2], "count");
		auto tier = f[3] == "-" ? DM_TIER_TIER_NONE : std::uint32_t(num(f[3], "tier"));
		auto stride = f.size() == 5 ? num(f[4], "stride") : 1;
		for (std::uint64_t k = 0; k < count; k++) {
			dm_tier_extent_cmd e{};
			e.volume = vol;
			e.extent = first + k * stride;
			e.tier = bc == Command::unpin ? 0 : tier;
			if (bc == Command::pin || bc == Command::unpin || bc == Command::set_hint)
				e.end = e.extent + 1;
			cmds.push_back(e);
		}
	}
	if (!gen) {
		std::string line;
		while (std::getline(std::cin, line)) {
			std::stringstream ss(line);
			std::vector<std::string> f;
			for (std::string x; ss >> x;)
				f.push_back(x);
			if (f.empty() || f[0][0] == '#')
				continue;
			if (f.size() < 3 || f.size() > 4) {
				std::fprintf(stderr, "tier-nlctl: bad line '%s'\n", line.c_str());
				return 2;
			}
			dm_tier_extent_cmd e{};
			e.volume = std::uint32_t(num(f[0], "volume"));
			e.extent = num(f[1], "extent");
			e.tier = f[2] == "-" ? DM_TIER_TIER_NONE : std::uint32_t(num(f[2], "tier"));
			if (f.size() == 4) {
				if (bc == Command::prefetch)
					e.deadline_ms = std::uint32_t(num(f[3], "deadline"));
				else
					e.end = num(f[3], "end");
			}
			cmds.push_back(e);
		}
	}
	if (cmds.empty())
		die(cmd + ": no extent commands");
	if (reg) {
		auto p = c->register_pool(pool, false);
		if (!p)
			die(p.error());
	}
	auto r = c->batch(bc, pool, cmds);
	if (!r)
		die(r.error());
	const char *en = r->first_error ? strerrorname_np(-r->first_error) : nullptr;
	std::printf("accepted=%u rejected=%u first_error=%s first_error_index=%u\n", r->accepted, r->rejected,
		    r->first_error ? (en ? en : std::to_string(r->first_error).c_str()) : "0", r->first_error_index);
	return 0;
}
