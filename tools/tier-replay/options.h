// SPDX-License-Identifier: GPL-2.0
// tier-replay's command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "tier-replay/replay.h"
#include "trace/reader.h"

namespace dmtier::replay {

extern const char kUsage[];

struct Options {
	std::string trace_path;
	std::string device_path;
	trace::ReaderOptions reader;   // reader.limit is --max-records
	ReplayOptions replay;
	bool json = false;
	bool help = false;             // -h/--help: print kUsage, nothing else
};

// args: the arguments after the program name. The error says what is wrong
// with which option.
[[nodiscard]] Result<Options> parse_options(const std::vector<std::string> &args);

} // namespace dmtier::replay
