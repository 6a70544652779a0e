// SPDX-License-Identifier: GPL-2.0
// tierd-bench: the planner's CPU cost per transition and its memory per
// volume and per mapped extent, on a synthetic workload fed as the kernel's
// reports would feed it (transitions in reports of 256, a heat report per
// volume and a planning round every second of the stream's time, tierd's
// default round_ms; the stream runs at 50,000 transitions/s or --rate).  No kernel involved: what it
// measures is tierd's own work (planner and predictors), not netlink.
//
//   tierd-bench [--model NAME] [--volumes N] [--extents N] [--transitions N] [--rate N]
//               [--busy-rate N]
//
// Prints µs of CPU per transition, the share of one core at 10,000 and
// 50,000 transitions/s, and resident memory per volume and per TiB of pool
// at 1 MiB extents.  Without --rate the reports come as fast as the planner
// takes them, and the shares are computed from the CPU per transition (the
// LSTM trainers' share of a core is a rate, not a cost per transition: it
// is counted in "all threads" only as far as it ran meanwhile).  With
// --rate N they come at N transitions/s of wall-clock time and the share
// printed is the process's CPU time (every thread) over the wall-clock
// time: what the daemon's planner and predictors take at that rate.
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "planner/planner.h"

using namespace dmtier;

namespace {

// Seconds on clock clk (CPU time of the process by default).
double clock_s(clockid_t clk = CLOCK_PROCESS_CPUTIME_ID)
{
	timespec ts;
	clock_gettime(clk, &ts);
	return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

long rss_bytes()
{
	std::ifstream f("/proc/self/statm");
	long size = 0, rss = 0;
	f >> size >> rss;
	return rss * 4096;
}

} // namespace

int main(int argc, char **argv)
{
	std::string model = "auto";
	std::uint32_t volumes = 8;
	std::uint64_t extents = 8192, total = 400000;
	double rate = 0, busy_rate = -1;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (i + 1 >= argc) {
			std::fprintf(stderr, "usage: tierd-bench [--model NAME] [--volumes N] [--extents N] [--transitions N] "
					     "[--rate N] [--busy-rate N]\n");
			return 2;
		}
		if (a == "--model")
			model = argv[++i];
		else if (a == "--volumes")
			volumes = std::uint32_t(std::atoi(argv[++i]));
		else if (a == "--extents")
			extents = std::strtoull(argv[++i], nullptr, 10);
		else if (a == "--transitions")
			total = std::strtoull(argv[++i], nullptr, 10);
		else if (a == "--rate")
			rate = std::strtod(argv[++i], nullptr);
		else if (a == "--busy-rate")
			busy_rate = std::strtod(argv[++i], nullptr);
		else {
			std::fprintf(stderr, "tierd-bench: unknown argument %s\n", a.c_str());
			return 2;
		}
	}
	planner::PlannerConfig cfg;
	cfg.model_override = model;
	if (busy_rate >= 0)
		cfg.busy_rate = busy_rate; // PlannerConfig::busy_rate; 0: never busy
	planner::PoolPlanner p("bench", cfg);
	nl::PoolInfo info;
	info.extent_sectors = 2048;
	std::uint64_t all = std::uint64_t(volumes) * extents;
	info.tiers = {{0, 0, all / 10}, {1, 0, all / 3}, {2, all, all * 2}};
	p.update_pool(info);

	long rss0 = rss_bytes();
	std::vector<dm_tier_heat_entry> h(extents);
	for (std::uint32_t v = 0; v < volumes; v++) {
		nl::VolumeInfo vi;
		vi.volume = v;
		vi.tiering_enabled = true;
		vi.policy_name = "balanced";
		vi.model = model;
		p.update_volume(vi, extents);
		for (std::uint64_t e = 0; e < extents; e++)
			h[e] = {e, 2, 0, 0, 0, 0};
		p.load_heat(v, h, 0);
	}
	long rss_state = rss_bytes() - rss0;

	// Per volume: 80% of transitions to a hot set of 5% of the extents
	// (random order), 20% sequential runs elsewhere.
	std::mt19937_64 rng(1);
	std::vector<std::uint64_t> cursor(volumes, 0);
	const std::size_t per_report = 256;
	const std::uint64_t round_ns = 1000000000;
	std::uint64_t next_round_ns = round_ns;
	nl::TransitionsReport tr;
	std::uint64_t t_ns = 0, done = 0;
	double now_ms = 0;
	std::uint64_t hot = std::max<std::uint64_t>(1, extents / 20);
	const std::uint64_t step_ns = rate > 0 ? std::uint64_t(1e9 / rate) : 20000;
	double c0 = clock_s(), t0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
	timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (done < total) {
		for (std::uint32_t v = 0; v < volumes && done < total; v++) {
			tr.volume = v;
			tr.transitions.clear();
			for (std::size_t i = 0; i < per_report; i++) {
				std::uint64_t e;
				if (rng() % 10 < 8)
					e = rng() % hot;
				else
					e = hot + (cursor[v]++ % (extents - hot));
				t_ns += step_ns;
				tr.transitions.push_back({t_ns, e, 4096, DM_TIER_TR_MAPPED, 2, 0});
			}
			now_ms = double(t_ns) / 1e6;
			if (rate > 0) {
				// Paced: this report is due per_report / rate after the last.
				std::uint64_t ns = std::uint64_t(next.tv_nsec) + per_report * step_ns;
				next.tv_sec += time_t(ns / 1000000000);
				next.tv_nsec = long(ns % 1000000000);
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
			}
			p.on_transitions(tr, now_ms);
			done += per_report;
			if (t_ns >= next_round_ns) {
				next_round_ns += round_ns;
				for (std::uint32_t w = 0; w < volumes; w++) {
					nl::HeatReport hr;
					hr.volume = w;
					for (std::uint64_t e = 0; e < hot; e++)
						hr.heat.push_back({e, 2, std::uint8_t(rng() % 32), 0, 0, 0});
					p.on_heat(hr, now_ms);
				}
				planner::Plan plan = p.plan(now_ms);
				// The kernel completes every move at once.
				nl::MigrationDoneReport md;
				for (const auto *l : {&plan.migrate, &plan.prefetch})
					for (const auto &c : *l)
						md.migrations.push_back({c.extent, c.volume, 2, std::uint8_t(c.tier), DM_TIER_MIG_OK});
				p.on_migrations(md);
			}
		}
	}
	double cpu = clock_s() - c0, tcpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0, wall = clock_s(CLOCK_MONOTONIC) - w0;
	long rss_run = rss_bytes() - rss0;
	double us = cpu * 1e6 / double(done);
	std::printf("model %s, %u volumes x %" PRIu64 " mapped extents, %" PRIu64 " transitions\n", model.c_str(),
		    volumes, extents, done);
	std::printf("cpu_us_per_transition %.2f (all threads; the report thread alone: %.2f)\n", us,
		    tcpu * 1e6 / double(done));
	if (rate > 0) {
		std::printf("paced at %.0f transitions/s: %.0f/s achieved over %.1f s\n", rate, double(done) / wall, wall);
		std::printf("core_share_measured %.2f%% (all threads; the report thread alone: %.2f%%)\n",
			    cpu / wall * 100, tcpu / wall * 100);
	} else {
		std::printf("core_share_at_10k_transitions_s %.1f%%\n", us * 10000 / 1e6 * 100);
		std::printf("core_share_at_50k_transitions_s %.1f%%\n", us * 50000 / 1e6 * 100);
	}
	std::map<std::string, int> in_use;
	for (const auto &[id, v] : p.volumes())
		in_use[v.predictor_name()]++;
	std::printf("models_in_use");
	for (const auto &[name, n] : in_use)
		std::printf(" %s x%d", name.c_str(), n);
	std::printf("%s\n", p.busy() ? " (pool busy: shadows and predictions sampled)" : "");
	std::printf("state_bytes_per_extent %.0f (heat map only, before predictors)\n", double(rss_state) / double(all));
	std::printf("rss_bytes_per_volume %.0f (heat map, predictors, queues after the run)\n",
		    double(rss_run) / double(volumes));
	std::printf("state_mib_per_tib_at_1mib_extents %.0f\n", double(rss_state) / double(all) * 1048576.0 / 1048576.0);
	return 0;
}
