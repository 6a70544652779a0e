// SPDX-License-Identifier: GPL-2.0
// tier-sim: replay block traces against a model of a tiered pool.
#include <chrono>
#include <ctime>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "predictor/classifier.h"
#include "predictor/lstm.h"
#include "predictor/selector.h"
#include "tier-sim/sim.h"
#include "trace/reader.h"

using namespace dmtier;

namespace {

const char kUsage[] =
	"usage: tier-sim [options] TRACE...\n"
	"Replays each trace against a two-tier pool model under each policy and\n"
	"prints one CSV row per (trace, policy).\n"
	"\n"
	"trace input:\n"
	"  --format F             msr|cloudphysics|tencent|disksim|lirs (default: detect)\n"
	"  --skip-malformed       count and skip malformed lines (reported on stderr)\n"
	"  --limit N              read at most N records\n"
	"  --lirs-block-size B    bytes per LIRS block number (default 4096)\n"
	"pool model:\n"
	"  --policy P[,P...]      lru smq fallback fallback+MODEL oracle oracle-prefetch none\n"
	"                         stride markov leap mithril lstm auto, or an LSTM model\n"
	"                         file (default lru)\n"
	"  --extent-size S        bytes, K/M/G suffix, power of two (default 1M)\n"
	"  --tier0-fraction F     tier-0 capacity as a fraction of the footprint (0.10)\n"
	"  --tier0-extents N      tier-0 capacity in extents (overrides the fraction)\n"
	"  --tier0 LAT_US,MB_S,PRICE  fast tier (default 100,2000,0.15)\n"
	"  --tier1 LAT_US,MB_S,PRICE  capacity tier (default 2000,200,0.03)\n"
	"  --budget B             promotions allowed per extent access (default 0.1)\n"
	"  --prefetch-depth K     predictions considered per transition (default 4)\n"
	"  --min-probability P    smallest prediction probability acted on (0.05)\n"
	"  --speedup X            replay X times faster than the trace clock (1)\n"
	"  --pace R               replay at R records/s, ignoring timestamps\n"
	"output:\n"
	"  --csv FILE             results CSV (default stdout)\n"
	"  --timeline FILE        hit ratio over time, one column per policy\n"
	"  --volumes FILE         per volume and policy: accesses, transitions, hits and\n"
	"                         (auto) the model the selector ended on\n"
	"  --plot PREFIX          gnuplot PNGs PREFIX-hits.png and PREFIX-heat.png\n"
	"  --speed                measure LSTM predictions/s, training transitions/s and\n"
	"                         model bytes, every model's next-transition top-1/top-4\n"
	"                         accuracy and the workload class, on each trace's busiest\n"
	"                         volume\n";

bool parse_size(const char *s, std::uint64_t *v)
{
	char *end;
	double x = std::strtod(s, &end);
	std::uint64_t mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1 << 10, ++end;
	else if (*end == 'M' || *end == 'm')
		mul = 1 << 20, ++end;
	else if (*end == 'G' || *end == 'g')
		mul = 1 << 30, ++end;
	if (*end || x <= 0)
		return false;
	*v = static_cast<std::uint64_t>(x * mul);
	return true;
}

bool parse_tier(const char *s, tiersim::TierSpec *t)
{
	return std::sscanf(s, "%lf,%lf,%lf", &t->latency_us, &t->bandwidth_mb_s, &t->price_gb_month) == 3 &&
	       t->latency_us >= 0 && t->bandwidth_mb_s > 0;
}

std::vector<std::string> split_commas(const std::string &s)
{
	std::vector<std::string> v;
	std::size_t start = 0;
	for (;;) {
		auto pos = s.find(',', start);
		v.push_back(s.substr(start, pos - start));
		if (pos == std::string::npos)
			return v;
		start = pos + 1;
	}
}

std::string base_name(const std::string &path)
{
	auto pos = path.find_last_of('/');
	return pos == std::string::npos ? path : path.substr(pos + 1);
}

// LSTM speed on the busiest volume's transition stream.
void measure_speed(const std::string &name, const trace::Trace &t, std::uint64_t extent_size)
{
	std::vector<std::size_t> per_volume(t.volumes.size() + 1, 0);
	for (const auto &r : t.records)
		++per_volume[r.volume];
	std::uint32_t vol = static_cast<std::uint32_t>(
		std::max_element(per_volume.begin(), per_volume.end()) - per_volume.begin());
	std::vector<predictor::Access> stream;
	predictor::TransitionFilter filter;
	for (const auto &r : t.records) {
		predictor::Access a{r.time_ns, static_cast<predictor::Extent>(r.offset / extent_size), r.op,
				    r.length};
		if (r.volume == vol && filter.accept(a))
			stream.push_back(a);
	}
	// What the classifier makes of that volume (no labels: traces have none).
	predictor::ProfileBuilder profile(extent_size);
	for (const auto &r : t.records)
		if (r.volume == vol)
			profile.add(r);
	auto p = profile.profile();
	auto c = predictor::classify(p);
	std::printf("class,%s,%s,%.2f,%.3f,%.3f,%.3f,%.1f,%.3f\n", name.c_str(),
		    predictor::workload_name(c.cls), c.confidence, p.read_ratio, p.sequential, p.reuse,
		    p.mean_size_kib, p.burstiness);
	if (stream.size() < 2)
		return;
	// Rates are per second of this thread's CPU time (one core), the best of
	// three runs: the machine may be shared.
	auto cpu_now = [] {
		timespec ts;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		return ts.tv_sec + ts.tv_nsec * 1e-9;
	};
	double train_s = 1e300, infer_s = 1e300;
	std::vector<predictor::Prediction> out;
	std::unique_ptr<predictor::LstmPredictor> trained;
	for (int run = 0; run < 3; ++run) {
		auto lstm = std::make_unique<predictor::LstmPredictor>();
		double t0 = cpu_now();
		for (const auto &a : stream)
			lstm->observe(a);
		train_s = std::min(train_s, cpu_now() - t0);
		trained = std::move(lstm);
	}
	predictor::LstmPredictor &lstm = *trained;
	lstm.set_training(false);
	for (int run = 0; run < 3; ++run) {
		double t0 = cpu_now();
		for (const auto &a : stream) {
			lstm.observe(a);
			lstm.predict(4, &out);
		}
		infer_s = std::min(infer_s, cpu_now() - t0);
	}
	lstm.set_training(true);
	std::fprintf(stderr,
		     "speed %s: %zu transitions; training %.0f transitions/s; inference %.0f "
		     "predictions/s (top-4); model %zu bytes in memory, %zu bytes on disk\n",
		     name.c_str(), stream.size(), stream.size() / train_s, stream.size() / infer_s,
		     lstm.model_bytes(), lstm.file_bytes());
	std::printf("speed,%s,%zu,%.0f,%.0f,%zu,%zu\n", name.c_str(), stream.size(),
		    stream.size() / train_s, stream.size() / infer_s, lstm.model_bytes(),
		    lstm.file_bytes());
	// Next-transition accuracy of each model on the same stream, online
	// (each prediction made before the access it is scored on).
	for (const auto &model : predictor::predictor_names()) {
		if (model == "none")
			continue;
		auto p = predictor::make_predictor(model);
		std::size_t top1 = 0, top4 = 0;
		for (std::size_t i = 0; i < stream.size(); ++i) {
			(*p)->predict(4, &out);
			for (std::size_t r = 0; r < out.size(); ++r)
				if (out[r].extent == stream[i].extent) {
					top1 += r == 0;
					++top4;
					break;
				}
			(*p)->observe(stream[i]);
		}
		std::printf("accuracy,%s,%s,%zu,%.4f,%.4f\n", name.c_str(), model.c_str(), stream.size(),
			    static_cast<double>(top1) / stream.size(),
			    static_cast<double>(top4) / stream.size());
	}
}

int plot(const std::string &prefix, const std::string &timeline_file,
	 const std::vector<std::string> &policies, const tiersim::SimResult &first,
	 const std::string &trace_name)
{
	std::string heat_file = prefix + "-heat.dat";
	{
		std::ofstream h(heat_file);
		for (std::size_t t = 0; t < first.heat.size(); ++t) {
			for (std::size_t b = 0; b < first.heat[t].size(); ++b)
				h << (b ? " " : "") << first.heat[t][b];
			h << "\n";
		}
	}
	std::string script = prefix + ".gp";
	{
		std::ofstream g(script);
		g << "set terminal pngcairo size 1000,600\nset datafile separator ','\n"
		  << "set output '" << prefix << "-hits.png'\n"
		  << "set title 'fast-tier hit ratio over time: " << trace_name << "'\n"
		  << "set xlabel 'extent accesses'\nset ylabel 'hit ratio'\nset key outside\n"
		  << "plot ";
		for (std::size_t i = 0; i < policies.size(); ++i)
			g << (i ? ", " : "") << "'" << timeline_file << "' using 1:" << i + 2
			  << " with lines title '" << policies[i] << "'";
		g << "\nset datafile separator whitespace\nunset key\n"
		  << "set output '" << prefix << "-heat.png'\n"
		  << "set title 'accesses per extent bin over time: " << trace_name << "'\n"
		  << "set xlabel 'time bucket'\nset ylabel 'extent bin (address rank)'\n"
		  << "plot '" << heat_file << "' matrix using 2:1:(log($3+1)) with image\n";
	}
	std::string cmd = "gnuplot '" + script + "'";
	int rc = std::system(cmd.c_str());
	if (rc != 0)
		std::fprintf(stderr, "tier-sim: gnuplot failed (%d)\n", rc);
	return rc;
}

} // namespace

int main(int argc, char **argv)
{
	tiersim::SimConfig cfg;
	trace::ReaderOptions ropt;
	std::vector<std::string> policies = {"lru"}, traces;
	std::string csv_file, timeline_file, plot_prefix, volumes_file;
	bool speed = false;
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		auto need = [&]() -> const char * {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "tier-sim: %s needs a value\n", a.c_str());
				std::exit(2);
			}
			return argv[++i];
		};
		auto bad = [&](const char *v) {
			std::fprintf(stderr, "tier-sim: bad value '%s' for %s\n", v, a.c_str());
			std::exit(2);
		};
		if (a == "-h" || a == "--help") {
			std::fputs(kUsage, stdout);
			return 0;
		} else if (a == "--format") {
			const char *v = need();
			ropt.format = trace::parse_format(v);
			if (!ropt.format)
				bad(v);
		} else if (a == "--skip-malformed") {
			ropt.skip_malformed = true;
		} else if (a == "--limit") {
			ropt.limit = std::strtoull(need(), nullptr, 10);
		} else if (a == "--lirs-block-size") {
			std::uint64_t v;
			const char *s = need();
			if (!parse_size(s, &v) || v > UINT32_MAX)
				bad(s);
			ropt.parse.block_size = static_cast<std::uint32_t>(v);
		} else if (a == "--policy") {
			policies = split_commas(need());
		} else if (a == "--extent-size") {
			const char *s = need();
			if (!parse_size(s, &cfg.extent_size))
				bad(s);
		} else if (a == "--tier0-fraction") {
			cfg.tier0_fraction = std::atof(need());
		} else if (a == "--tier0-extents") {
			cfg.tier0_extents = std::strtoull(need(), nullptr, 10);
		} else if (a == "--tier0" || a == "--tier1") {
			const char *s = need();
			if (!parse_tier(s, a == "--tier0" ? &cfg.tier0 : &cfg.tier1))
				bad(s);
		} else if (a == "--budget") {
			cfg.budget_per_access = std::atof(need());
		} else if (a == "--prefetch-depth") {
			cfg.prefetch_depth = std::strtoull(need(), nullptr, 10);
		} else if (a == "--min-probability") {
			cfg.prefetch_min_probability = std::atof(need());
		} else if (a == "--speedup") {
			cfg.speedup = std::atof(need());
			if (cfg.speedup <= 0)
				bad(argv[i]);
		} else if (a == "--pace") {
			cfg.pace = std::atof(need());
			if (cfg.pace < 0)
				bad(argv[i]);
		} else if (a == "--csv") {
			csv_file = need();
		} else if (a == "--timeline") {
			timeline_file = need();
		} else if (a == "--volumes") {
			volumes_file = need();
		} else if (a == "--plot") {
			plot_prefix = need();
		} else if (a == "--speed") {
			speed = true;
		} else if (!a.empty() && a[0] == '-') {
			std::fprintf(stderr, "tier-sim: unknown option %s\n%s", a.c_str(), kUsage);
			return 2;
		} else {
			traces.push_back(a);
		}
	}
	if (traces.empty()) {
		std::fputs(kUsage, stderr);
		return 2;
	}
	std::FILE *csv = csv_file.empty() ? stdout : std::fopen(csv_file.c_str(), "w");
	if (!csv) {
		std::perror(csv_file.c_str());
		return 1;
	}
	std::fprintf(csv, "%s\n", tiersim::csv_header().c_str());
	std::FILE *vcsv = nullptr;
	if (!volumes_file.empty()) {
		vcsv = std::fopen(volumes_file.c_str(), "w");
		if (!vcsv) {
			std::perror(volumes_file.c_str());
			return 1;
		}
		std::fprintf(vcsv, "trace,policy,volume,accesses,transitions,hits,model\n");
	}
	int rc = 0;
	for (const auto &path : traces) {
		auto t = trace::read_trace(path, ropt);
		if (!t) {
			std::fprintf(stderr, "tier-sim: %s\n", t.error().c_str());
			rc = 1;
			continue;
		}
		if (t->stats.skipped_malformed)
			std::fprintf(stderr, "tier-sim: %s: skipped %llu malformed lines, first: %s\n",
				     path.c_str(), (unsigned long long)t->stats.skipped_malformed,
				     t->stats.first_malformed.c_str());
		std::string name = base_name(path);
		if (speed)
			measure_speed(name, *t, cfg.extent_size);
		std::vector<tiersim::SimResult> results;
		for (const auto &pol : policies) {
			cfg.policy = pol;
			auto r = tiersim::simulate(*t, cfg);
			if (!r) {
				std::fprintf(stderr, "tier-sim: %s: %s\n", path.c_str(), r.error().c_str());
				rc = 1;
				continue;
			}
			std::fprintf(csv, "%s\n", tiersim::csv_row(name, *r).c_str());
			std::fflush(csv);
			for (std::size_t v = 0; vcsv && v < r->per_volume.size(); ++v) {
				const auto &pv = r->per_volume[v];
				if (pv.accesses)
					std::fprintf(vcsv, "%s,%s,%s,%llu,%llu,%llu,%s\n", name.c_str(),
						     pol.c_str(), (v < t->volumes.size() ? t->volumes[v] : std::to_string(v)).c_str(),
						     (unsigned long long)pv.accesses,
						     (unsigned long long)pv.transitions,
						     (unsigned long long)pv.hits, pv.model.c_str());
			}
			results.push_back(std::move(*r));
		}
		if (results.empty())
			continue;
		std::string tl = timeline_file;
		if (tl.empty() && !plot_prefix.empty())
			tl = plot_prefix + "-" + name + "-timeline.csv";
		if (!tl.empty()) {
			if (traces.size() > 1 && !timeline_file.empty())
				tl = timeline_file + "." + name;
			std::ofstream f(tl);
			f << "accesses";
			for (const auto &r : results)
				f << "," << r.policy;
			f << "\n";
			for (std::size_t b = 0; b < results[0].timeline.size(); ++b) {
				f << results[0].timeline[b].accesses;
				for (const auto &r : results)
					f << "," << (b < r.timeline.size() ? r.timeline[b].hit_ratio : 0);
				f << "\n";
			}
		}
		if (!plot_prefix.empty()) {
			std::vector<std::string> names;
			for (const auto &r : results)
				names.push_back(r.policy);
			if (plot(plot_prefix + "-" + name, tl, names, results[0], name) != 0)
				rc = 1;
		}
	}
	if (csv != stdout)
		std::fclose(csv);
	if (vcsv)
		std::fclose(vcsv);
	return rc;
}
