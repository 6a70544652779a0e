// SPDX-License-Identifier: GPL-2.0
// tier-nlfuzz: randomized sender of malformed dm_tier netlink messages.
//
//   tier-nlfuzz --pool NAME [--volume ID]... [--count N] [--seed S]
//               [--seconds S] [--verbose]
//
// Sends N (default 100000) messages, one at a time, each with NLM_F_ACK, and
// waits for the kernel's answer to each: random attributes, wrong attribute
// types and lengths, truncated nests, huge batches, unknown pools, volumes
// and extents, report and unknown commands, mutated and truncated valid
// messages.  Messages built to be invalid must be refused (an error, or for
// batches no entry accepted); every message must be answered.  --volume
// names volumes that exist (the others are taken as unknown).  Prints
// counts per kind and per errno; exits 0 when all held, 1 otherwise.
#include <netlink/client.h>

#include <linux/genetlink.h>
#include <sys/socket.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace dmtier::nl;

namespace {

enum class Expect { any, fail, none_accepted };

struct Buf {
	std::vector<char> b;

	void header(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t cmd, std::uint8_t ver)
	{
		b.assign(NLMSG_HDRLEN + GENL_HDRLEN, 0);
		auto *h = reinterpret_cast<nlmsghdr *>(b.data());
		h->nlmsg_type = type;
		h->nlmsg_flags = flags;
		h->nlmsg_seq = seq;
		auto *g = reinterpret_cast<genlmsghdr *>(b.data() + NLMSG_HDRLEN);
		g->cmd = cmd;
		g->version = ver;
	}
	std::size_t attr(std::uint16_t type, const void *d, std::size_t n)
	{
		std::size_t off = b.size();
		b.resize(off + NLA_ALIGN(NLA_HDRLEN + n), 0);
		auto *a = reinterpret_cast<nlattr *>(b.data() + off);
		a->nla_type = type;
		a->nla_len = std::uint16_t(NLA_HDRLEN + n);
		if (n)
			std::memcpy(b.data() + off + NLA_HDRLEN, d, n);
		return off;
	}
	void u32(std::uint16_t type, std::uint32_t v) { attr(type, &v, 4); }
	void str(std::uint16_t type, const std::string &s) { attr(type, s.c_str(), s.size() + 1); }
	std::size_t nest() { return attr(0, nullptr, 0); }
	void nest_end(std::size_t off, std::uint16_t type)
	{
		auto *a = reinterpret_cast<nlattr *>(b.data() + off);
		a->nla_type = type | NLA_F_NESTED;
		a->nla_len = std::uint16_t(b.size() - off);
	}
	void finish() { reinterpret_cast<nlmsghdr *>(b.data())->nlmsg_len = std::uint32_t(b.size()); }
};

struct Fuzzer {
	std::mt19937_64 rng;
	int family;
	std::string pool;
	std::vector<std::uint32_t> volumes; // known to exist
	std::uint32_t seq = 0;
	std::vector<dm_tier_extent_cmd> unknown_cmds, known_cmds;

	std::uint64_t r(std::uint64_t n) { return n ? rng() % n : 0; }
	bool coin(int pct) { return r(100) < std::uint64_t(pct); }

	std::uint32_t unknown_volume()
	{
		for (;;) {
			std::uint32_t v = coin(20) ? std::uint32_t(rng()) : std::uint32_t(r(8388607));
			bool known = false;
			for (auto k : volumes)
				known |= k == v;
			if (!known)
				return v;
		}
	}
	std::uint32_t any_volume() { return !volumes.empty() && coin(60) ? volumes[r(volumes.size())] : unknown_volume(); }
	std::string unknown_pool()
	{
		static const char *names[] = {"nosuch", "", "pool ", "../pool", "control"};
		std::string s = coin(50) ? names[r(5)] : "fz-" + std::to_string(rng());
		if (s == pool || s.empty())
			s = "nosuch-pool";
		return s;
	}
	void start(Buf &b, std::uint8_t cmd, std::uint16_t extra = 0)
	{
		b.header(std::uint16_t(family), NLM_F_REQUEST | NLM_F_ACK | extra, ++seq, cmd, DM_TIER_GENL_VERSION);
	}
	dm_tier_extent_cmd random_cmd(bool known)
	{
		dm_tier_extent_cmd c{};
		c.volume = known ? any_volume() : unknown_volume();
		c.tier = coin(80) ? std::uint32_t(r(4)) : (coin(50) ? DM_TIER_TIER_NONE : std::uint32_t(rng()));
		c.extent = coin(70) ? r(4096) : rng();
		if (coin(30))
			c.end = coin(70) ? c.extent + r(64) : rng();
		if (coin(20))
			c.deadline_ms = coin(50) ? std::uint32_t(r(5000)) : std::uint32_t(rng());
		if (coin(5))
			c.reserved = std::uint32_t(rng());
		return c;
	}
	std::uint8_t batch_cmd() { return std::uint8_t(DM_TIER_CMD_MIGRATE + r(5)); }

	// A structurally valid message of a random command, for mutation.
	void valid(Buf &b)
	{
		std::uint8_t cmd = std::uint8_t(DM_TIER_CMD_REGISTER + r(DM_TIER_CMD_DUMP_HEAT));
		start(b, cmd, cmd == DM_TIER_CMD_DUMP_HEAT ? NLM_F_DUMP : 0);
		b.str(DM_TIER_ATTR_POOL, pool);
		switch (cmd) {
		case DM_TIER_CMD_REGISTER:
			if (coin(50))
				b.u32(DM_TIER_ATTR_FLAGS, DM_TIER_F_TAKEOVER);
			break;
		case DM_TIER_CMD_SET_PARAMS: {
			std::size_t n = b.nest();
			for (int i = 0, k = 1 + int(r(4)); i < k; i++)
				b.u32(std::uint16_t(1 + r(DM_TIER_PARAM_MAX)), std::uint32_t(r(200)));
			b.nest_end(n, DM_TIER_ATTR_PARAMS);
			break;
		}
		case DM_TIER_CMD_GET_VOLUME:
		case DM_TIER_CMD_DUMP_HEAT:
			b.u32(DM_TIER_ATTR_VOLUME, any_volume());
			break;
		case DM_TIER_CMD_MIGRATE:
		case DM_TIER_CMD_PREFETCH:
		case DM_TIER_CMD_PIN:
		case DM_TIER_CMD_UNPIN:
		case DM_TIER_CMD_SET_HINT: {
			std::size_t n = b.nest();
			std::vector<dm_tier_extent_cmd> v(1 + r(16));
			for (auto &c : v)
				c = random_cmd(true);
			b.attr(DM_TIER_ATTR_EXTENT_CMDS, v.data(), v.size() * sizeof(v[0]));
			b.nest_end(n, DM_TIER_ATTR_BATCH);
			break;
		}
		default:
			break;
		}
		b.finish();
	}

	// Build one message; returns its kind's name and what must happen.
	const char *next(Buf &b, Expect *e)
	{
		*e = Expect::any;
		switch (r(16)) {
		case 0: { // random attributes under a random command
			start(b, std::uint8_t(r(20)), coin(10) ? NLM_F_DUMP : 0);
			if (coin(70))
				b.str(DM_TIER_ATTR_POOL, pool);
			for (int i = 0, k = int(r(6)); i < k; i++) {
				std::vector<char> d(r(coin(90) ? 24 : 300));
				for (auto &c : d)
					c = char(rng());
				b.attr(std::uint16_t(r(48) | (coin(10) ? NLA_F_NESTED : 0)), d.data(), d.size());
			}
			b.finish();
			return "random-attrs";
		}
		case 1: { // a known attribute with the wrong type or length
			std::uint8_t cmd = std::uint8_t(DM_TIER_CMD_REGISTER + r(DM_TIER_CMD_DUMP_HEAT));
			start(b, cmd, cmd == DM_TIER_CMD_DUMP_HEAT ? NLM_F_DUMP : 0);
			*e = Expect::fail;
			switch (r(5)) {
			case 0: // pool without its NUL
				b.attr(DM_TIER_ATTR_POOL, pool.data(), pool.size());
				break;
			case 1: { // pool name too long for a dm name
				std::string s(128 + r(200), 'p');
				b.str(DM_TIER_ATTR_POOL, s);
				break;
			}
			case 2: { // u32 attributes of 1, 2 or 8 bytes
				b.str(DM_TIER_ATTR_POOL, pool);
				static const std::size_t lens[] = {0, 1, 2, 8};
				std::uint64_t v = 1;
				std::uint16_t type = coin(50) ? DM_TIER_ATTR_VOLUME : DM_TIER_ATTR_FLAGS;
				if (cmd == DM_TIER_CMD_REGISTER)
					type = DM_TIER_ATTR_FLAGS;
				else if (cmd == DM_TIER_CMD_GET_VOLUME || cmd == DM_TIER_CMD_DUMP_HEAT)
					type = DM_TIER_ATTR_VOLUME;
				else
					type = std::uint16_t(DM_TIER_ATTR_ACCEPTED + r(4)); // not in any request policy
				b.attr(type, &v, lens[r(4)]);
				break;
			}
			case 3: // attribute type past the family's maximum
				b.str(DM_TIER_ATTR_POOL, pool);
				b.u32(std::uint16_t(DM_TIER_ATTR_MAX + 1 + r(1000)), 1);
				break;
			case 4: // BATCH / PARAMS given as flat binary
				b.str(DM_TIER_ATTR_POOL, pool);
				b.u32(coin(50) ? DM_TIER_ATTR_BATCH : DM_TIER_ATTR_PARAMS, 3);
				if (cmd == DM_TIER_CMD_REGISTER || cmd == DM_TIER_CMD_UNREGISTER || cmd == DM_TIER_CMD_GET_POOL ||
				    cmd == DM_TIER_CMD_GET_VOLUME || cmd == DM_TIER_CMD_DUMP_HEAT)
					break; // not in their policy: refused as unknown
				break;
			}
			b.finish();
			return "wrong-type";
		}
		case 2: { // truncated nests
			std::uint8_t cmd = coin(70) ? batch_cmd() : std::uint8_t(DM_TIER_CMD_SET_PARAMS);
			start(b, cmd);
			b.str(DM_TIER_ATTR_POOL, pool);
			std::size_t n = b.nest();
			dm_tier_extent_cmd c = random_cmd(true);
			std::size_t inner = cmd == DM_TIER_CMD_SET_PARAMS ? (b.u32(DM_TIER_PARAM_YIELD_DEPTH, 8), n + NLA_HDRLEN)
									  : b.attr(DM_TIER_ATTR_EXTENT_CMDS, &c, sizeof(c));
			b.nest_end(n, cmd == DM_TIER_CMD_SET_PARAMS ? DM_TIER_ATTR_PARAMS : DM_TIER_ATTR_BATCH);
			auto *in = reinterpret_cast<nlattr *>(b.b.data() + inner);
			auto *out = reinterpret_cast<nlattr *>(b.b.data() + n);
			if (coin(50))
				in->nla_len = std::uint16_t(in->nla_len + 4 + r(64)); // inner overruns the nest
			else
				out->nla_len = std::uint16_t(out->nla_len - 1 - r(NLA_HDRLEN)); // nest cuts the inner attr
			b.finish();
			*e = Expect::fail;
			return "truncated-nest";
		}
		case 3: { // huge batches: past the kernel's 65,536 entries (rarely: 2 MiB
			  // each), big, or a few thousand; entries from a pool of
			  // random ones (generating each costs more than sending it)
			std::uint8_t cmd = batch_cmd();
			start(b, cmd);
			b.str(DM_TIER_ATTR_POOL, pool);
			std::size_t n = b.nest();
			bool too_many = coin(1);
			std::size_t total = too_many ? 65537 + r(2000) : coin(6) ? 2000 + r(14000) : 100 + r(1000);
			bool unknown = coin(70);
			auto &pool_ = unknown ? unknown_cmds : known_cmds;
			if (pool_.empty() || coin(5)) {
				pool_.resize(4096);
				for (auto &c : pool_)
					c = random_cmd(!unknown);
			}
			for (std::size_t done = 0; done < total;) {
				std::size_t k = std::min<std::size_t>(std::min<std::size_t>(2000, total - done), 1 + r(2000));
				std::size_t off = r(pool_.size() - k + 1);
				b.attr(DM_TIER_ATTR_EXTENT_CMDS, pool_.data() + off, k * sizeof(dm_tier_extent_cmd));
				done += k;
			}
			b.nest_end(n, DM_TIER_ATTR_BATCH);
			b.finish();
			*e = too_many ? Expect::fail : unknown ? Expect::none_accepted : Expect::any;
			return too_many ? "huge-batch-too-many" : "huge-batch";
		}
		case 4: { // unknown pools
			std::uint8_t cmd = std::uint8_t(DM_TIER_CMD_REGISTER + r(DM_TIER_CMD_DUMP_HEAT));
			start(b, cmd, cmd == DM_TIER_CMD_DUMP_HEAT ? NLM_F_DUMP : 0);
			b.str(DM_TIER_ATTR_POOL, unknown_pool());
			if (cmd == DM_TIER_CMD_GET_VOLUME || cmd == DM_TIER_CMD_DUMP_HEAT)
				b.u32(DM_TIER_ATTR_VOLUME, any_volume());
			if (cmd >= DM_TIER_CMD_MIGRATE && cmd <= DM_TIER_CMD_SET_HINT) {
				std::size_t n = b.nest();
				dm_tier_extent_cmd c = random_cmd(true);
				b.attr(DM_TIER_ATTR_EXTENT_CMDS, &c, sizeof(c));
				b.nest_end(n, DM_TIER_ATTR_BATCH);
			}
			b.finish();
			*e = Expect::fail;
			return "unknown-pool";
		}
		case 5: { // unknown volumes
			bool dump = coin(50);
			start(b, dump ? DM_TIER_CMD_DUMP_HEAT : DM_TIER_CMD_GET_VOLUME, dump ? NLM_F_DUMP : 0);
			b.str(DM_TIER_ATTR_POOL, pool);
			b.u32(DM_TIER_ATTR_VOLUME, unknown_volume());
			b.finish();
			*e = Expect::fail;
			return "unknown-volume";
		}
		case 6: { // unknown extents and volumes in batches, or bad entries
			std::uint8_t cmd = batch_cmd();
			start(b, cmd);
			b.str(DM_TIER_ATTR_POOL, pool);
			std::size_t n = b.nest();
			std::vector<dm_tier_extent_cmd> v(1 + r(64));
			bool bad = coin(50);
			for (auto &c : v) {
				c = random_cmd(!bad);
				if (bad && coin(50)) { // a known volume, but a bad entry
					c.volume = volumes.empty() ? c.volume : volumes[r(volumes.size())];
					if (coin(50))
						c.reserved = 1 + std::uint32_t(r(1000));
					else
						c.tier = 8 + std::uint32_t(r(1000)); // no such tier, not NONE
				}
			}
			b.attr(DM_TIER_ATTR_EXTENT_CMDS, v.data(), v.size() * sizeof(v[0]));
			b.nest_end(n, DM_TIER_ATTR_BATCH);
			b.finish();
			*e = bad ? Expect::none_accepted : Expect::any;
			return bad ? "bad-entries" : "random-entries";
		}
		case 7: { // report commands, unknown commands, wrong versions
			std::uint8_t cmd = coin(50) ? std::uint8_t(DM_TIER_CMD_HEAT_REPORT + r(4))
						    : coin(30) ? std::uint8_t(DM_TIER_CMD_UNSPEC)
							       : std::uint8_t(__DM_TIER_CMD_MAX + r(240));
			start(b, cmd);
			b.str(DM_TIER_ATTR_POOL, pool);
			b.finish();
			*e = Expect::fail;
			return "bad-command";
		}
		case 8: { // random bytes flipped in a valid message
			valid(b);
			for (int i = 0, k = 1 + int(r(8)); i < k; i++) {
				std::size_t at = NLMSG_HDRLEN + r(b.b.size() - NLMSG_HDRLEN);
				b.b[at] = char(rng());
			}
			return "mutated";
		}
		case 9: { // a valid message cut short
			valid(b);
			std::size_t min = NLMSG_HDRLEN + GENL_HDRLEN;
			if (b.b.size() > min)
				b.b.resize(min + r(b.b.size() - min));
			b.finish();
			return "truncated";
		}
		case 10: { // shorter than a generic netlink header
			start(b, DM_TIER_CMD_GET_POOL);
			b.b.resize(NLMSG_HDRLEN + r(GENL_HDRLEN));
			b.finish();
			*e = Expect::fail;
			return "short-header";
		}
		case 11: { // batch nests with wrong contents
			std::uint8_t cmd = batch_cmd();
			start(b, cmd);
			b.str(DM_TIER_ATTR_POOL, pool);
			std::size_t n = b.nest();
			switch (r(4)) {
			case 0: { // a size that is no multiple of the struct
				std::vector<char> d(1 + r(200));
				if (d.size() % sizeof(dm_tier_extent_cmd) == 0)
					d.push_back(0);
				b.attr(DM_TIER_ATTR_EXTENT_CMDS, d.data(), d.size());
				break;
			}
			case 1: // empty array
				b.attr(DM_TIER_ATTR_EXTENT_CMDS, nullptr, 0);
				break;
			case 2: // another attribute inside
				b.u32(std::uint16_t(coin(50) ? std::uint64_t(DM_TIER_ATTR_VOLUME) : r(64)), 1);
				break;
			case 3: // an empty nest
				break;
			}
			b.nest_end(n, DM_TIER_ATTR_BATCH);
			if (coin(20)) // or no BATCH at all
				b.b.resize(n);
			b.finish();
			*e = Expect::fail;
			return "bad-batch-nest";
		}
		case 12: { // set_params out of range, unknown ids
			start(b, DM_TIER_CMD_SET_PARAMS);
			b.str(DM_TIER_ATTR_POOL, pool);
			std::size_t n = b.nest();
			bool bad = true;
			switch (r(3)) {
			case 0:
				b.u32(std::uint16_t(DM_TIER_PARAM_MAX + 1 + r(100)), 1);
				break;
			case 1:
				b.u32(DM_TIER_PARAM_FALLBACK, 2 + std::uint32_t(r(100)));
				break;
			case 2: {
				std::uint16_t v = 1;
				b.attr(std::uint16_t(1 + r(DM_TIER_PARAM_MAX)), &v, 2);
				break;
			}
			}
			b.nest_end(n, DM_TIER_ATTR_PARAMS);
			b.finish();
			*e = bad ? Expect::fail : Expect::any;
			return "bad-params";
		}
		case 13: // missing POOL
		{
			std::uint8_t cmd = std::uint8_t(DM_TIER_CMD_REGISTER + r(DM_TIER_CMD_DUMP_HEAT));
			start(b, cmd, cmd == DM_TIER_CMD_DUMP_HEAT ? NLM_F_DUMP : 0);
			if (coin(50))
				b.u32(DM_TIER_ATTR_VOLUME, any_volume());
			b.finish();
			*e = Expect::fail;
			return "no-pool";
		}
		default: // valid messages with random content (exercise the paths)
			valid(b);
			return "valid";
		}
	}
};

} // namespace

int main(int argc, char **argv)
{
	std::string pool;
	std::vector<std::uint32_t> volumes;
	std::uint64_t count = 100000, seed = std::random_device{}();
	double seconds = 0;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto need = [&]() -> std::string {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "tier-nlfuzz: %s needs a value\n", a.c_str());
				std::exit(2);
			}
			return argv[++i];
		};
		if (a == "--pool")
			pool = need();
		else if (a == "--volume")
			volumes.push_back(std::uint32_t(std::stoul(need())));
		else if (a == "--count")
			count = std::stoull(need());
		else if (a == "--seed")
			seed = std::stoull(need());
		else if (a == "--seconds")
			seconds = std::stod(need());
		else if (a == "--verbose")
			verbose = true;
		else {
			std::fprintf(stderr, "usage: tier-nlfuzz --pool NAME [--volume ID]... [--count N] [--seed S] "
					     "[--seconds S] [--verbose]\n");
			return 2;
		}
	}
	if (pool.empty()) {
		std::fprintf(stderr, "tier-nlfuzz: --pool is required\n");
		return 2;
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);
	auto c = Client::open();
	if (!c) {
		std::fprintf(stderr, "tier-nlfuzz: %s\n", c.error().c_str());
		return 1;
	}
	Socket &s = c->socket();
	int sndbuf = 8 << 20; // room for the huge batches (root in the lab)
	if (setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		(void)setsockopt(s.fd(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	Fuzzer f;
	f.rng.seed(seed);
	f.family = s.family();
	f.pool = pool;
	f.volumes = volumes;
	std::printf("tier-nlfuzz: seed %" PRIu64 ", %" PRIu64 " messages to pool %s (family %d)\n", seed, count,
		    pool.c_str(), s.family());

	struct Kind {
		std::uint64_t sent = 0, acked = 0, errors = 0, violations = 0;
	};
	std::map<std::string, Kind> kinds;
	std::map<int, std::uint64_t> by_errno;
	std::uint64_t sent = 0, unanswered = 0, violations = 0, send_errors = 0, bytes = 0, dropped = 0;
	auto t0 = std::chrono::steady_clock::now();
	Buf b;
	for (; sent < count; sent++) {
		if (seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > seconds)
			break;
		Expect e;
		const char *kind = f.next(b, &e);
		Kind &k = kinds[kind];
		k.sent++;
		bytes += b.b.size();
		auto seq = reinterpret_cast<const nlmsghdr *>(b.b.data())->nlmsg_seq;
		// The kernel answers within microseconds; the long limit only
		// keeps a starved lab VM (TCG on a busy host stalls for seconds)
		// from looking like a lost answer.
		std::uint64_t overruns0 = s.overruns();
		auto ans = s.raw(std::span(reinterpret_cast<const std::byte *>(b.b.data()), b.b.size()), seq, 30000);
		if ((sent & 1023) == 0)
			s.drop_reports(); // this socket may have become a controller
		if (sent && sent % 10000 == 0)
			std::printf("tier-nlfuzz: %" PRIu64 " sent, %.1f s\n", sent,
				    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
		if (!ans) {
			if (ans.code() == ETIMEDOUT && s.overruns() != overruns0) {
				// The receive buffer overflowed meanwhile (a fuzzed
				// REGISTER made this socket a controller, and its
				// reports filled the buffer): netlink dropped the
				// answer and said so with ENOBUFS.
				dropped++;
				std::printf("tier-nlfuzz: answer to message %" PRIu64 " (%s) dropped: receive buffer overrun\n",
					    sent, kind);
			} else if (ans.code() == ETIMEDOUT) {
				unanswered++;
				std::printf("tier-nlfuzz: no answer to message %" PRIu64 " (%s, %zu bytes)\n", sent, kind,
					    b.b.size());
			} else {
				send_errors++;
				by_errno[ans.code()]++;
				if (verbose || send_errors <= 5)
					std::printf("tier-nlfuzz: message %" PRIu64 " (%s, %zu bytes): %s\n", sent, kind,
						    b.b.size(), ans.error().c_str());
			}
			continue;
		}
		by_errno[ans->error]++;
		ans->error ? k.errors++ : k.acked++;
		bool bad = (e == Expect::fail && ans->error == 0) ||
			   (e == Expect::none_accepted && ans->error == 0 && ans->batch && ans->batch->accepted) ||
			   !ans->bad_reply.empty();
		if (bad) {
			k.violations++;
			violations++;
			if (violations <= 10) {
				std::printf("tier-nlfuzz: VIOLATION message %" PRIu64 " (%s): error %d accepted %u%s%s; bytes:",
					    sent, kind, ans->error, ans->batch ? ans->batch->accepted : 0,
					    ans->bad_reply.empty() ? "" : "; bad reply: ", ans->bad_reply.c_str());
				for (std::size_t i = 0; i < std::min<std::size_t>(b.b.size(), 96); i++)
					std::printf(" %02x", static_cast<unsigned char>(b.b[i]));
				std::printf("\n");
			}
		} else if (verbose) {
			std::printf("%" PRIu64 " %s err=%d %s\n", sent, kind, ans->error, ans->message.c_str());
		}
	}
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	std::printf("tier-nlfuzz: sent %" PRIu64 " messages (%.1f MiB) in %.1f s\n", sent, bytes / 1048576.0, secs);
	for (const auto &[name, k] : kinds)
		std::printf("  %-20s sent %7" PRIu64 "  acked %7" PRIu64 "  errors %7" PRIu64 "  violations %" PRIu64 "\n",
			    name.c_str(), k.sent, k.acked, k.errors, k.violations);
	std::printf("  answers:");
	for (const auto &[err, n] : by_errno)
		std::printf(" %s=%" PRIu64, err ? strerrorname_np(err) ?: std::to_string(err).c_str() : "OK", n);
	std::printf("\n");
	// The pool still answers.
	auto p = c->get_pool(pool);
	std::printf("tier-nlfuzz: afterwards get_pool: %s\n", p ? ("policy " + p->policy).c_str() : p.error().c_str());
	bool ok = sent >= count && !unanswered && !violations && p;
	std::printf("tier-nlfuzz: %s (unanswered %" PRIu64 ", violations %" PRIu64 ", send errors %" PRIu64
		    ", answers dropped by a full receive buffer %" PRIu64 ")\n",
		    ok ? "OK" : "FAILED", unanswered, violations, send_errors, dropped);
	return ok ? 0 : 1;
}
