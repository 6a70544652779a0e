// SPDX-License-Identifier: GPL-2.0
// Fuzz entry for userspace/trace (tier-sim, tier-replay and the predictor
// benchmarks read traces with it).
//
// Input:
//   byte 0      bits 0-2: format (0 detect, 1 msr, 2 cloudphysics,
//               3 tencent, 4 disksim, 5 lirs, 6-7 detect); bit 3: skip
//               malformed lines
//   bytes 1-4   LIRS block size (u32, any value)
//   bytes 5-8   LIRS synthetic gap in ns (u32)
//   the rest    the trace file: plain text, or gzip / xz / bzip2 by magic
//
// The file is read whole with read_trace() (at most 100,000 records), and
// its raw bytes line by line through parse_line() in every format and
// through detect_format().
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "trace/reader.h"

namespace dmtier::fuzz {

int trace(const std::uint8_t *data, std::size_t size)
{
	using namespace dmtier::trace;
	Input in(data, size);
	std::uint8_t mode = in.u8();
	ParseOptions popt;
	popt.block_size = in.u32();
	popt.synthetic_gap_ns = in.u32();
	std::string body = in.rest();

	static const std::optional<Format> formats[8] = {
		std::nullopt, Format::msr, Format::cloudphysics, Format::tencent,
		Format::disksim, Format::lirs, std::nullopt, std::nullopt};
	ReaderOptions ropt;
	ropt.format = formats[mode & 7];
	ropt.skip_malformed = mode & 8;
	ropt.parse = popt;
	ropt.limit = 100000;

	MemFile f("fuzz-trace");
	f.write_all(body.data(), body.size());
	auto t = read_trace(f.path(), ropt);
	if (t) {
		for (const Record &r : t->records)
			if (r.volume >= t->volumes.size())
				fail("trace", "a record names a volume that is not interned");
	} else if (t.error().empty()) {
		fail("trace", "read_trace() failed without a message");
	}

	// The raw bytes as lines, in every format.
	std::vector<std::string> head;
	std::string_view rest(body);
	std::uint64_t index = 0;
	while (!rest.empty() && index < 1000) {
		std::size_t nl = rest.find('\n');
		std::string_view line = rest.substr(0, nl);
		rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
		if (head.size() < 8)
			head.emplace_back(line);
		for (Format fm : {Format::msr, Format::cloudphysics, Format::tencent, Format::disksim, Format::lirs}) {
			auto p = parse_line(fm, line, index, popt);
			if (!p && p.error().empty())
				fail("trace", "parse_line() failed without a message");
		}
		index++;
	}
	auto d = detect_format(head);
	(void)d;
	return 0;
}

} // namespace dmtier::fuzz
