// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace dmtier::replay {

const char kUsage[] =
	"usage: tier-replay [options] TRACE DEVICE\n"
	"Replays a block trace on DEVICE with io_uring and O_DIRECT, at the trace's\n"
	"timestamps, and reports IOPS, throughput and latency percentiles for reads\n"
	"and writes. Without --allow-writes, DEVICE is opened read-only and the\n"
	"trace's writes are skipped and counted. Exit status: 0 done, 1 the replay\n"
	"failed or some I/O failed, 2 bad input (nothing was done).\n"
	"\n"
	"trace input (every format of userspace/trace):\n"
	"  --format F           msr|cloudphysics|tencent|disksim|lirs (default: detect)\n"
	"  --skip-malformed     count and skip malformed lines (reported on stderr)\n"
	"  --lirs-block-size B  bytes per LIRS block number (default 4096)\n"
	"  --max-records N      replay at most the first N records\n"
	"pacing:\n"
	"  --speed X            replay X times as fast as the trace's clock (default 1)\n"
	"  --no-timing          ignore timestamps: issue as fast as --iodepth allows\n"
	"  --iodepth N          most I/Os in flight, 1..4096 (default 32)\n"
	"  --duration S         stop issuing after S seconds (fractions allowed)\n"
	"  --allow-writes       issue the trace's writes: DESTROYS DATA on DEVICE\n"
	"output:\n"
	"  --json               one JSON object instead of the text report\n"
	"\n"
	"Addresses: offset rounded down to A, modulo the device size rounded down\n"
	"to A; length rounded up to A; an I/O past the end is moved back to end\n"
	"there. A is the device's logical block size, at least 4096.\n";

namespace {

std::optional<std::uint64_t> to_u64(const std::string &s)
{
	if (s.empty() || s[0] < '0' || s[0] > '9')
		return std::nullopt;
	char *end;
	errno = 0;
	unsigned long long v = std::strtoull(s.c_str(), &end, 10);
	if (errno || *end)
		return std::nullopt;
	return v;
}

std::optional<double> to_positive_double(const std::string &s)
{
	if (s.empty())
		return std::nullopt;
	char *end;
	errno = 0;
	double v = std::strtod(s.c_str(), &end);
	if (errno || *end || !std::isfinite(v) || v <= 0)
		return std::nullopt;
	return v;
}

} // namespace

Result<Options> parse_options(const std::vector<std::string> &args)
{
	Options o;
	std::vector<std::string> pos;
	bool speed_set = false;
	for (std::size_t i = 0; i < args.size(); ++i) {
		const std::string &a = args[i];
		std::string value;
		auto need = [&]() -> bool {
			if (i + 1 >= args.size())
				return false;
			value = args[++i];
			return true;
		};
		auto bad = [&](const char *what) {
			return make_error("bad value '" + value + "' for " + a + ": " + what);
		};
		if (a == "-h" || a == "--help") {
			o.help = true;
			return o;
		}
		bool takes_value = a == "--format" || a == "--lirs-block-size" || a == "--max-records" ||
				   a == "--speed" || a == "--iodepth" || a == "--duration";
		if (takes_value && !need())
			return make_error(a + " needs a value");
		if (a == "--format") {
			o.reader.format = trace::parse_format(value);
			if (!o.reader.format)
				return bad("not a trace format (msr, cloudphysics, tencent, disksim, lirs)");
		} else if (a == "--skip-malformed") {
			o.reader.skip_malformed = true;
		} else if (a == "--lirs-block-size") {
			auto v = to_u64(value);
			if (!v || *v < 512 || *v > (1u << 30) || (*v & (*v - 1)))
				return bad("a power of two from 512 to 1G bytes");
			o.reader.parse.block_size = static_cast<std::uint32_t>(*v);
		} else if (a == "--max-records") {
			auto v = to_u64(value);
			if (!v || *v == 0)
				return bad("a whole number of records, at least 1");
			o.reader.limit = *v;
		} else if (a == "--speed") {
			auto v = to_positive_double(value);
			if (!v)
				return bad("a factor greater than 0");
			o.replay.speed = *v;
			speed_set = true;
		} else if (a == "--no-timing") {
			o.replay.timing = false;
		} else if (a == "--iodepth") {
			auto v = to_u64(value);
			if (!v || *v == 0 || *v > 4096)
				return bad("a whole number from 1 to 4096");
			o.replay.iodepth = static_cast<unsigned>(*v);
		} else if (a == "--duration") {
			auto v = to_positive_double(value);
			if (!v || *v > 1e9)
				return bad("seconds, greater than 0");
			o.replay.duration_ns = static_cast<std::uint64_t>(std::llround(*v * 1e9));
			if (o.replay.duration_ns == 0)
				return bad("seconds, at least 1 ns");
		} else if (a == "--allow-writes") {
			o.replay.allow_writes = true;
		} else if (a == "--json") {
			o.json = true;
		} else if (a.size() > 1 && a[0] == '-') {
			return make_error("unknown option " + a);
		} else {
			pos.push_back(a);
		}
	}
	if (speed_set && !o.replay.timing)
		return make_error("--speed and --no-timing exclude each other");
	if (pos.size() != 2)
		return make_error(pos.size() < 2 ? "a TRACE and a DEVICE are needed"
						 : "too many arguments: '" + pos[2] + "' (TRACE DEVICE expected)");
	o.trace_path = pos[0];
	o.device_path = pos[1];
	return o;
}

} // namespace dmtier::replay
