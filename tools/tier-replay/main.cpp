// SPDX-License-Identifier: GPL-2.0
// tier-replay: replay a block trace on a block device with io_uring.
// Every input is checked (options, the whole trace, the device) before the
// first I/O, so bad input exits 2 having done nothing.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tier-replay/device.h"
#include "tier-replay/mapping.h"
#include "tier-replay/options.h"
#include "tier-replay/replay.h"
#include "tier-replay/report.h"
#include "trace/reader.h"

using namespace dmtier;
using namespace dmtier::replay;

namespace {

int bad_input(const std::string &msg)
{
	std::fprintf(stderr, "tier-replay: %s\n", msg.c_str());
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	auto opt = parse_options(std::vector<std::string>(argv + 1, argv + argc));
	if (!opt) {
		std::fprintf(stderr, "tier-replay: %s\n(tier-replay --help for usage)\n", opt.error().c_str());
		return 2;
	}
	if (opt->help) {
		std::fputs(kUsage, stdout);
		return 0;
	}

	auto trace = trace::read_trace(opt->trace_path, opt->reader);
	if (!trace)
		return bad_input(trace.error());
	if (trace->stats.skipped_malformed)
		std::fprintf(stderr, "tier-replay: %s: skipped %llu malformed lines, first: %s\n",
			     opt->trace_path.c_str(), (unsigned long long)trace->stats.skipped_malformed,
			     trace->stats.first_malformed.c_str());
	if (trace->records.empty())
		return bad_input(opt->trace_path + ": no records to replay");

	auto dev = Device::open(opt->device_path, opt->replay.allow_writes);
	if (!dev)
		return bad_input(dev.error());
	auto map = AddressMap::create(dev->bytes(), dev->logical_block());
	if (!map)
		return bad_input(opt->device_path + ": " + map.error());

	auto result = replay::replay(trace->records, dev->fd(), *map, opt->replay);
	if (!result) {
		std::fprintf(stderr, "tier-replay: %s\n", result.error().c_str());
		return 1;
	}

	RunInfo run;
	run.trace_path = opt->trace_path;
	run.format = trace::format_name(trace->format);
	run.timestamps = trace->has_timestamps;
	run.trace_records = trace->records.size();
	auto [lo, hi] = std::minmax_element(trace->records.begin(), trace->records.end(),
					    [](const auto &a, const auto &b) { return a.time_ns < b.time_ns; });
	run.trace_span_ns = hi->time_ns - lo->time_ns;
	run.device_path = opt->device_path;
	run.device_bytes = dev->bytes();
	run.logical_block = dev->logical_block();
	run.alignment = map->alignment();
	run.options = opt->replay;
	run.max_records = opt->reader.limit;
	Report report = make_report(std::move(run), *result);

	if (opt->json)
		std::printf("%s\n", to_json(report).dump(2).c_str());
	else
		std::fputs(to_text(report).c_str(), stdout);
	if (report.io_errors()) {
		std::fprintf(stderr, "tier-replay: %llu I/O errors; first: %s\n",
			     (unsigned long long)report.io_errors(), report.first_error.c_str());
		return 1;
	}
	return 0;
}
