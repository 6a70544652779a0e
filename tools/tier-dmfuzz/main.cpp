// SPDX-License-Identifier: GPL-2.0
// tier-dmfuzz: randomized device-mapper messages and table lines for the
// dm-tier targets.
//
//   tier-dmfuzz --pool NAME [--volume NAME]... [--table LINE] [--messages N]
//               [--tables M] [--seed S] [--batch B] [--verbose]
//   tier-dmfuzz --dry-run --table LINE [--messages N] [--tables M] [--seed S]
//
// Sends N (default 2000) random pool messages through DM_DEVICE_TARGET_MSG
// (every documented verb with missing, extra, huge, negative, non-numeric
// and overflowing arguments; unknown verbs, long words, odd bytes; valid
// reads; valid messages that set what is already set; messages to the
// volumes, which take none) and tries M (default 200) random table lines
// (mutations of the pool's line and of a volume line) for a new device
// with DM_DEVICE_CREATE, interleaved.  --volume names active volumes of the
// pool (dm names); --table gives the pool's valid line (default: its live
// table).  Checks:
//   - every message and table load is answered (30 s at most);
//   - a message or line built to be invalid is refused; a valid read or a
//     no-op setting is accepted;
//   - a refused table line leaves no device; an accepted one is removed;
//   - every B (default 8) steps the pool's snapshot is unchanged: table
//     line, status without counters and policy state, volume list, every
//     volume's settings, the volumes' status, the stats fields
//     mapped_extents, mapping_bytes, allocations and enospc, and
//     generation and commits unless an accepted message committed.
// The pool should be idle (no I/O, no fallback moves).  Prints counts per
// kind and per errno; exits 0 when all held, 1 otherwise, 2 on bad usage.
// --dry-run prints what a seed generates (for a pool with that line, no
// volumes) without any device-mapper call.
#include "dmctl/dm.h"
#include "dmctl/tier_status.h"
#include "tier-dmfuzz/gen.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace dmtier;
using namespace dmtier::dmfuzz;

namespace {

constexpr int kAnswerSeconds = 30;

std::string shown(const std::string &s, std::size_t max = 160)
{
	std::string o;
	for (std::size_t i = 0; i < s.size() && o.size() < max; i++) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (c >= 32 && c < 127 && c != '\\') {
			o += char(c);
		} else {
			char b[8];
			std::snprintf(b, sizeof(b), "\\x%02x", c);
			o += b;
		}
	}
	if (o.size() >= max)
		o += "...(" + std::to_string(s.size()) + " bytes)";
	return o;
}

// Watchdog: a step that takes longer than kAnswerSeconds is unanswered.
struct Watchdog {
	std::mutex mu;
	std::string what;
	std::atomic<std::int64_t> started{0}; // steady ms; 0: idle
	std::thread t;

	static std::int64_t now()
	{
		return std::chrono::duration_cast<std::chrono::milliseconds>(
			       std::chrono::steady_clock::now().time_since_epoch())
			.count();
	}
	void start()
	{
		t = std::thread([this] {
			for (;;) {
				std::this_thread::sleep_for(std::chrono::milliseconds(500));
				std::int64_t s = started.load();
				if (s && now() - s > kAnswerSeconds * 1000) {
					std::lock_guard l(mu);
					std::printf("tier-dmfuzz: no answer after %d s to %s\n", kAnswerSeconds,
						    what.c_str());
					std::printf("tier-dmfuzz: FAILED (unanswered 1)\n");
					std::fflush(stdout);
					_exit(1);
				}
			}
		});
		t.detach();
	}
	void arm(const std::string &w)
	{
		std::lock_guard l(mu);
		what = w;
		started = now();
	}
	void disarm() { started = 0; }
};

struct Snapshot {
	std::vector<std::string> lines; // must stay equal
	std::string commits;		// generation and commits
	bool rw = false;
};

struct Fuzz {
	std::string pool;
	std::vector<std::string> vol_names;
	PoolInfo info;
	bool verbose = false, dry_run = false;
	Watchdog wd;

	Result<std::string> msg(const std::string &dev, const std::string &text, const std::string &what)
	{
		wd.arm(what);
		auto r = dm::message(dev, text);
		wd.disarm();
		return r;
	}

	Result<Snapshot> snapshot()
	{
		Snapshot s;
		auto tb = dm::table(pool);
		if (!tb)
			return make_error(tb.error(), tb.code());
		s.lines.push_back("table: " + tb->params);
		auto st = dm::status(pool);
		if (!st)
			return make_error(st.error(), st.code());
		auto ps = dm::parse_pool_status(st->params);
		if (!ps)
			return make_error(ps.error(), ps.code());
		std::ostringstream o;
		o << "status: meta " << ps->meta_used << "/" << ps->meta_total << " tiers";
		for (auto &t : ps->tiers)
			o << " " << t.used << "/" << t.total;
		o << " volumes " << ps->nr_volumes << " " << ps->mode << (ps->needs_check ? " needs_check" : " -")
		  << (ps->out_of_space ? " out_of_space" : " -") << " queued " << ps->migrations_queued
		  << " in_flight " << ps->migrations_in_flight << " evacuation " << ps->evacuation;
		s.lines.push_back(o.str());
		s.rw = ps->mode == "rw";
		auto lv = dm::message(pool, "list_volumes");
		if (!lv)
			return make_error(lv.error(), lv.code());
		std::vector<std::uint64_t> ids;
		for (auto &w : split_words(*lv))
			ids.push_back(std::stoull(w));
		std::sort(ids.begin(), ids.end());
		std::string l = "volumes:";
		for (auto id : ids)
			l += " " + std::to_string(id);
		s.lines.push_back(l);
		for (auto id : ids) {
			auto gv = dm::message(pool, "get_volume " + std::to_string(id));
			s.lines.push_back("volume " + std::to_string(id) + ": " +
					  (gv ? std::string(split_words(*gv).empty() ? "" : *gv) : "error " + gv.error()));
			while (!s.lines.back().empty() && s.lines.back().back() == '\n')
				s.lines.back().pop_back();
		}
		for (auto &v : vol_names) {
			auto vs = dm::status(v);
			s.lines.push_back("volume device " + v + ": " + (vs ? vs->params : "error " + vs.error()));
		}
		auto sv = dm::message(pool, "stats");
		if (!sv)
			return make_error(sv.error(), sv.code());
		std::string keep = "stats:";
		for (auto &w : split_words(*sv)) {
			auto eq = w.find('=');
			std::string k = w.substr(0, eq);
			if (k == "generation" || k == "commits")
				s.commits += " " + w;
			else if (k == "mapped_extents" || k == "mapping_bytes" || k == "allocations" || k == "enospc")
				keep += " " + w;
		}
		s.lines.push_back(keep);
		return s;
	}
};

// Lines in a but not in b.
std::string diff(const Snapshot &a, const Snapshot &b)
{
	std::string d;
	for (std::size_t i = 0; i < std::max(a.lines.size(), b.lines.size()); i++) {
		std::string x = i < a.lines.size() ? a.lines[i] : "", y = i < b.lines.size() ? b.lines[i] : "";
		if (x != y)
			d += "\n    before: " + x + "\n    after:  " + y;
	}
	return d;
}

void usage()
{
	std::fprintf(stderr, "usage: tier-dmfuzz --pool NAME [--volume NAME]... [--table LINE] [--messages N] "
			     "[--tables M] [--seed S] [--batch B] [--verbose]\n"
			     "       tier-dmfuzz --dry-run --table LINE [--messages N] [--tables M] [--seed S]\n");
}

} // namespace

int main(int argc, char **argv)
{
	Fuzz f;
	std::string table_line;
	std::uint64_t n_msgs = 2000, n_tables = 200, batch = 8, seed = std::random_device{}();
	try {
		for (int i = 1; i < argc; i++) {
			std::string a = argv[i];
			auto need = [&]() -> std::string {
				if (i + 1 >= argc) {
					std::fprintf(stderr, "tier-dmfuzz: %s needs a value\n", a.c_str());
					std::exit(2);
				}
				return argv[++i];
			};
			if (a == "--pool")
				f.pool = need();
			else if (a == "--volume")
				f.vol_names.push_back(need());
			else if (a == "--table")
				table_line = need();
			else if (a == "--messages")
				n_msgs = std::stoull(need());
			else if (a == "--tables")
				n_tables = std::stoull(need());
			else if (a == "--seed")
				seed = std::stoull(need());
			else if (a == "--batch")
				batch = std::max<std::uint64_t>(1, std::stoull(need()));
			else if (a == "--verbose")
				f.verbose = true;
			else if (a == "--dry-run")
				f.dry_run = true;
			else {
				usage();
				return 2;
			}
		}
	} catch (const std::exception &) {
		usage();
		return 2;
	}
	if (f.dry_run) {
		PoolInfo p;
		auto w = split_words(table_line);
		std::string params = w.size() > 3 && w[2] == "tier-pool" ? table_line.substr(table_line.find("tier-pool") + 9)
									 : table_line;
		if (auto st = parse_pool_params(params, p); !st) {
			std::fprintf(stderr, "tier-dmfuzz: --dry-run needs --table: %s\n", st.error().c_str());
			return 2;
		}
		p.pool_dev = "253:0";
		p.pool_len = w.size() > 3 && w[2] == "tier-pool" ? std::stoull(w[1]) : 1 << 20;
		p.new_dev = "dmfuzz-dry";
		Generator gen(seed, p);
		static const char *ex[] = {"any", "fail", "ok"};
		for (std::uint64_t i = 0; i < n_msgs; i++) {
			Msg m = gen.message();
			std::printf("msg %s %s%s '%s'\n", m.kind.c_str(), ex[int(m.expect)], m.to_volume ? " to-volume" : "",
				    shown(m.text).c_str());
		}
		for (std::uint64_t i = 0; i < n_tables; i++) {
			Table t = gen.table();
			std::printf("table %s %s '%" PRIu64 " %s %s'\n", t.kind.c_str(), ex[int(t.expect)], t.length,
				    t.type.c_str(), shown(t.params).c_str());
		}
		return 0;
	}
	if (f.pool.empty()) {
		std::fprintf(stderr, "tier-dmfuzz: --pool is required\n");
		usage();
		return 2;
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);
	auto die = [](const std::string &why) {
		std::printf("tier-dmfuzz: %s\ntier-dmfuzz: FAILED (cannot start)\n", why.c_str());
		return 1;
	};

	// What the pool looks like.
	PoolInfo &p = f.info;
	auto pt = dm::table(f.pool);
	if (!pt)
		return die(pt.error());
	if (pt->type != "tier-pool")
		return die(f.pool + " is a " + pt->type + " device, not a tier-pool");
	p.pool_len = pt->length;
	std::string params = pt->params;
	if (!table_line.empty()) {
		auto w = split_words(table_line);
		if (w.size() > 3 && w[2] == "tier-pool") { // "<start> <len> tier-pool ..."
			p.pool_len = std::stoull(w[1]);
			params = table_line.substr(table_line.find("tier-pool") + 9);
		} else {
			params = table_line;
		}
	}
	if (auto st = parse_pool_params(params, p); !st)
		return die(st.error());
	auto pi = dm::info(f.pool);
	if (!pi || !pi->exists)
		return die("no device " + f.pool);
	p.pool_dev = std::to_string(pi->major) + ":" + std::to_string(pi->minor);
	for (auto &v : f.vol_names) {
		auto vt = dm::table(v);
		if (!vt)
			return die(vt.error());
		auto t = dm::parse_volume_table(vt->params);
		if (vt->type != "tier" || !t)
			return die(v + " is no tier volume: " + vt->type + " " + vt->params);
		if (t->pool_dev != p.pool_dev)
			return die(v + " is a volume of " + t->pool_dev + ", not of " + f.pool + " (" + p.pool_dev + ")");
		p.active.push_back(t->id);
		p.active_len.push_back(vt->length);
		p.volume_devs.push_back("/dev/mapper/" + v);
	}
	p.new_dev = "dmfuzz-" + std::to_string(getpid());
	if (auto i = dm::info(p.new_dev); i && i->exists)
		return die("device " + p.new_dev + " exists already");
	// Settle (a commit), then the volumes and their settings.
	if (auto c = dm::message(f.pool, "commit"); !c)
		return die(c.error());
	auto lv = dm::message(f.pool, "list_volumes");
	if (!lv)
		return die(lv.error());
	for (auto &w : split_words(*lv)) {
		std::uint32_t id = std::uint32_t(std::stoul(w));
		p.existing.push_back(id);
		if (auto g = dm::message(f.pool, "get_volume " + w); g)
			p.settings[id] = split_words(*g);
	}

	Generator gen(seed, p);
	std::printf("tier-dmfuzz: seed %" PRIu64 ", %" PRIu64 " messages and %" PRIu64
		    " table lines, pool %s (%s, %zu tiers, %zu volumes, %zu active), new device %s\n",
		    seed, n_msgs, n_tables, f.pool.c_str(), p.pool_dev.c_str(), p.tiers.size(), p.existing.size(),
		    p.active.size(), p.new_dev.c_str());
	f.wd.start();

	struct Kind {
		std::uint64_t sent = 0, accepted = 0, refused = 0, violations = 0;
	};
	std::map<std::string, Kind> kinds;
	std::map<std::string, std::uint64_t> verbs_sent;
	std::map<int, std::uint64_t> by_errno;
	std::uint64_t msgs = 0, tables = 0, violations = 0, state_errors = 0;
	auto violation = [&](Kind &k, const std::string &what) {
		k.violations++;
		if (++violations <= 20)
			std::printf("tier-dmfuzz: VIOLATION %s\n", what.c_str());
	};

	auto before = f.snapshot();
	if (!before)
		return die("snapshot: " + before.error());
	bool ro = !before->rw;
	if (ro)
		std::printf("tier-dmfuzz: the pool is not rw: changing messages may be refused\n");

	// The batch: rejected messages, and whether anything accepted may
	// have committed or changed state in a way not tracked.
	std::vector<std::string> batch_log;
	bool committed = false, untracked = false;
	auto t0 = std::chrono::steady_clock::now();
	std::mt19937_64 mix(seed ^ 0x9e3779b97f4a7c15ULL);
	std::uint64_t step = 0;
	while (msgs < n_msgs || tables < n_tables) {
		std::uint64_t left_m = n_msgs - msgs, left_t = n_tables - tables;
		bool do_table = mix() % (left_m + left_t) < left_t;
		step++;
		if (do_table) {
			Table t = gen.table();
			tables++;
			Kind &k = kinds[t.kind];
			k.sent++;
			std::string what = "table " + std::to_string(tables) + " (" + t.kind + "): " +
					   std::to_string(t.length) + " " + t.type + " " + shown(t.params);
			f.wd.arm(what);
			auto st = dm::create(p.new_dev, dm::Target{0, t.length, t.type, t.params});
			f.wd.disarm();
			if (st) {
				k.accepted++;
				by_errno[0]++;
				if (t.expect == Expect::fail)
					violation(k, "accepted " + what);
				else
					untracked = true;
			} else {
				k.refused++;
				by_errno[st.code()]++;
				batch_log.push_back(what);
			}
			if (f.verbose)
				std::printf("%" PRIu64 " %s -> %s\n", step, what.c_str(), st ? "created" : st.error().c_str());
			// Nothing may be left behind; remove what was made.
			f.wd.arm("info/remove of " + p.new_dev + " after " + what);
			auto i = dm::info(p.new_dev);
			if (i && i->exists) {
				if (!st)
					violation(k, "device left behind by refused " + what);
				Status rm;
				for (int tries = 0; tries < 50; tries++) {
					rm = dm::remove(p.new_dev);
					if (rm)
						break;
					usleep(100000);
				}
				if (!rm) {
					std::printf("tier-dmfuzz: cannot remove %s: %s\n", p.new_dev.c_str(), rm.error().c_str());
					return 1;
				}
			}
			f.wd.disarm();
		} else {
			Msg m = gen.message();
			msgs++;
			Kind &k = kinds[m.kind];
			k.sent++;
			if (!m.verb.empty() && !m.to_volume)
				verbs_sent[m.verb]++;
			std::string dev = m.to_volume ? f.vol_names[mix() % f.vol_names.size()] : f.pool;
			std::string what = "message " + std::to_string(msgs) + " (" + m.kind + ") to " + dev + ": '" +
					   shown(m.text) + "'";
			auto r = f.msg(dev, m.text, what);
			by_errno[r ? 0 : r.code()]++;
			if (f.verbose)
				std::printf("%" PRIu64 " %s -> %s\n", step, what.c_str(),
					    r ? ("ok: " + shown(*r, 80)).c_str() : r.error().c_str());
			if (r) {
				k.accepted++;
				if (m.expect == Expect::fail)
					violation(k, "accepted " + what);
				committed |= m.commits;
				if (m.expect == Expect::any && !m.commits)
					untracked = true;
				if (!m.undo.empty()) {
					auto u = f.msg(f.pool, m.undo, "undo '" + m.undo + "'");
					if (!u)
						violation(k, "undo '" + m.undo + "' of " + what + " refused: " + u.error());
				}
			} else {
				k.refused++;
				if (m.expect == Expect::ok && !(ro && m.commits))
					violation(k, "refused valid " + what + ": " + r.error());
				batch_log.push_back(what);
			}
		}
		bool last = msgs >= n_msgs && tables >= n_tables;
		if (step % batch == 0 || last) {
			f.wd.arm("snapshot after step " + std::to_string(step));
			auto after = f.snapshot();
			f.wd.disarm();
			if (!after) {
				state_errors++;
				std::printf("tier-dmfuzz: VIOLATION snapshot after step %" PRIu64 ": %s\n", step,
					    after.error().c_str());
				violations++;
				break;
			}
			std::string d = diff(*before, *after);
			if (d.empty() && !committed && after->commits != before->commits)
				d = "\n    before:" + before->commits + "\n    after: " + after->commits;
			if (!d.empty()) {
				if (untracked) {
					std::printf("tier-dmfuzz: state changed after an accepted untracked step (not a "
						    "violation), steps to %" PRIu64 ":%s\n",
						    step, d.c_str());
				} else {
					violations++;
					state_errors++;
					if (state_errors <= 5) {
						std::printf("tier-dmfuzz: VIOLATION state changed in the steps to %" PRIu64
							    " (refused ones below):%s\n",
							    step, d.c_str());
						for (auto &b : batch_log)
							std::printf("    refused: %s\n", b.c_str());
					}
				}
			}
			before = std::move(after);
			batch_log.clear();
			committed = untracked = false;
		}
		if (step % 1000 == 0)
			std::printf("tier-dmfuzz: %" PRIu64 " steps, %.1f s\n", step,
				    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
	}
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	std::printf("tier-dmfuzz: sent %" PRIu64 " messages and %" PRIu64 " table lines in %.1f s\n", msgs, tables,
		    secs);
	for (const auto &[name, k] : kinds)
		std::printf("  %-24s sent %6" PRIu64 "  accepted %6" PRIu64 "  refused %6" PRIu64
			    "  violations %" PRIu64 "\n",
			    name.c_str(), k.sent, k.accepted, k.refused, k.violations);
	std::printf("  verbs:");
	for (const auto &[v, n] : verbs_sent)
		std::printf(" %s=%" PRIu64, v.c_str(), n);
	std::printf("\n  answers:");
	for (const auto &[err, n] : by_errno)
		std::printf(" %s=%" PRIu64, err ? strerrorname_np(err) ?: std::to_string(err).c_str() : "OK", n);
	std::printf("\n");
	// The pool still answers.
	auto s = dm::message(f.pool, "stats");
	std::printf("tier-dmfuzz: afterwards stats: %s\n", s ? shown(*s).c_str() : s.error().c_str());
	bool ok = !violations && s;
	std::printf("tier-dmfuzz: %s (violations %" PRIu64 ", state changes %" PRIu64 ")\n", ok ? "OK" : "FAILED",
		    violations, state_errors);
	return ok ? 0 : 1;
}
