// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/report.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace dmtier::replay {

using nlohmann::json;

namespace {

DirectionSummary summarise(OpStats &s)
{
	return {s.ios, s.bytes, s.errors, s.skipped, s.latency.summary()};
}

double seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

double per_second(std::uint64_t n, std::uint64_t ns) { return ns ? static_cast<double>(n) / seconds(ns) : 0.0; }

json opt_json(const std::optional<double> &v) { return v ? json(*v) : json(nullptr); }

json direction_json(const DirectionSummary &d, std::uint64_t elapsed_ns)
{
	const LatencySummary &l = d.latency;
	return {
		{"ios", d.ios},
		{"bytes", d.bytes},
		{"errors", d.errors},
		{"skipped", d.skipped},
		{"iops", per_second(d.ios, elapsed_ns)},
		{"bytes_per_s", per_second(d.bytes, elapsed_ns)},
		{"latency_us",
		 {{"mean", opt_json(l.mean_us)},
		  {"min", opt_json(l.min_us)},
		  {"p50", opt_json(l.p50_us)},
		  {"p90", opt_json(l.p90_us)},
		  {"p99", opt_json(l.p99_us)},
		  {"p99.9", opt_json(l.p999_us)},
		  {"max", opt_json(l.max_us)}}},
	};
}

std::string fmt(const char *f, double v)
{
	char b[64];
	std::snprintf(b, sizeof b, f, v);
	return b;
}

std::string us(const std::optional<double> &v) { return v ? fmt("%.1f", *v) : "-"; }

std::string bytes_text(std::uint64_t b)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = static_cast<double>(b);
	int u = 0;
	while (v >= 1024 && u < 4)
		v /= 1024, ++u;
	return fmt(u ? "%.2f " : "%.0f ", v) + unit[u];
}

} // namespace

Report make_report(RunInfo run, ReplayResult &result)
{
	Report r;
	r.run = std::move(run);
	r.records = result.records;
	r.unknown_ops = result.unknown_ops;
	r.elapsed_ns = result.elapsed_ns;
	r.late = result.late;
	r.max_lag_ns = result.max_lag_ns;
	r.max_inflight = result.max_inflight;
	r.stopped_by_duration = result.stopped_by_duration;
	r.first_error = result.first_error;
	r.read = summarise(result.read);
	r.write = summarise(result.write);
	return r;
}

json to_json(const Report &r)
{
	const RunInfo &i = r.run;
	const ReplayOptions &o = i.options;
	return {
		{"trace",
		 {{"path", i.trace_path},
		  {"format", i.format},
		  {"timestamps", i.timestamps ? "trace" : "synthetic"},
		  {"records", i.trace_records},
		  {"span_s", seconds(i.trace_span_ns)}}},
		{"device",
		 {{"path", i.device_path},
		  {"bytes", i.device_bytes},
		  {"logical_block", i.logical_block},
		  {"alignment", i.alignment}}},
		{"settings",
		 {{"timing", o.timing},
		  {"speed", o.timing ? json(o.speed) : json(nullptr)},
		  {"iodepth", o.iodepth},
		  {"duration_s", o.duration_ns ? json(seconds(o.duration_ns)) : json(nullptr)},
		  {"max_records", i.max_records ? json(i.max_records) : json(nullptr)},
		  {"allow_writes", o.allow_writes}}},
		{"records_replayed", r.records},
		{"unknown_op_records", r.unknown_ops},
		{"stopped_by", r.stopped_by_duration ? "duration" : "end"},
		{"elapsed_s", seconds(r.elapsed_ns)},
		{"schedule",
		 {{"late_ios", o.timing ? json(r.late) : json(nullptr)},
		  {"max_lag_us", o.timing ? json(static_cast<double>(r.max_lag_ns) / 1e3) : json(nullptr)},
		  {"max_inflight", r.max_inflight}}},
		{"read", direction_json(r.read, r.elapsed_ns)},
		{"write", direction_json(r.write, r.elapsed_ns)},
		{"io_errors", r.io_errors()},
		{"first_error", r.first_error.empty() ? json(nullptr) : json(r.first_error)},
	};
}

std::string to_text(const Report &r)
{
	const RunInfo &i = r.run;
	const ReplayOptions &o = i.options;
	std::string s;
	s += "trace   " + i.trace_path + " (" + i.format + ", " + std::to_string(i.trace_records) +
	     " records over " + fmt("%.3f", seconds(i.trace_span_ns)) + " s" +
	     (i.timestamps ? "" : " of synthetic time") + ")\n";
	s += "device  " + i.device_path + " (" + bytes_text(i.device_bytes) + ", I/O aligned to " +
	     std::to_string(i.alignment) + " bytes)\n";
	s += "pacing  " +
	     (o.timing ? "timestamps x" + fmt("%g", o.speed) : std::string("as fast as possible")) +
	     ", iodepth " + std::to_string(o.iodepth) +
	     (o.duration_ns ? ", duration " + fmt("%g", seconds(o.duration_ns)) + " s" : "") +
	     (o.allow_writes ? ", writes issued" : ", writes skipped (no --allow-writes)") + "\n";
	s += "replayed " + std::to_string(r.records) + " records in " + fmt("%.3f", seconds(r.elapsed_ns)) +
	     " s" + (r.stopped_by_duration ? " (stopped by --duration)" : "") + "; " +
	     (o.timing ? std::to_string(r.late) + " issued >= 1 ms late, max lag " +
				 fmt("%.1f", static_cast<double>(r.max_lag_ns) / 1e3) + " us; "
		       : std::string()) +
	     "at most " + std::to_string(r.max_inflight) + " in flight\n";
	if (r.unknown_ops)
		s += std::to_string(r.unknown_ops) + " records without read/write replayed as reads\n";
	char line[256];
	std::snprintf(line, sizeof line, "\n%-6s %9s %7s %8s %10s %9s %9s %9s %9s %9s %9s %9s\n", "", "ios",
		      "errors", "skipped", "IOPS", "MiB/s", "mean", "p50", "p90", "p99", "p99.9", "max us");
	s += line;
	auto row = [&](const char *name, const DirectionSummary &d) {
		const LatencySummary &l = d.latency;
		std::snprintf(line, sizeof line, "%-6s %9llu %7llu %8llu %10.1f %9.2f %9s %9s %9s %9s %9s %9s\n",
			      name, (unsigned long long)d.ios, (unsigned long long)d.errors,
			      (unsigned long long)d.skipped, per_second(d.ios, r.elapsed_ns),
			      per_second(d.bytes, r.elapsed_ns) / (1 << 20), us(l.mean_us).c_str(),
			      us(l.p50_us).c_str(), us(l.p90_us).c_str(), us(l.p99_us).c_str(),
			      us(l.p999_us).c_str(), us(l.max_us).c_str());
		s += line;
	};
	row("read", r.read);
	row("write", r.write);
	if (!r.first_error.empty())
		s += "\n" + std::to_string(r.io_errors()) + " I/O errors; first: " + r.first_error + "\n";
	return s;
}

} // namespace dmtier::replay
