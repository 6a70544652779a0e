// SPDX-License-Identifier: GPL-2.0
// Line formats of the block traces dm-tier evaluates against, and format
// detection from a file's first lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/record.h"
#include "trace/result.h"

namespace dmtier::trace {

enum class Format {
	msr,          // MSR Cambridge CSV
	cloudphysics, // CloudPhysics vSCSI CSV with header
	tencent,      // Tencent CBS CSV
	disksim,      // DiskSim ASCII (TPC-C)
	lirs,         // one block number per line
};

const char *format_name(Format f);
std::optional<Format> parse_format(std::string_view name);
std::vector<std::string> format_names();

// Options that give meaning to fields a format lacks.
struct ParseOptions {
	std::uint32_t block_size = 4096;          // LIRS: bytes per block number
	std::uint64_t synthetic_gap_ns = 100000;  // LIRS: time between records
};

// What one line turned out to be.
enum class LineKind { record, skip };

// One parsed line. volume_name is a view into the line (empty: no volume).
struct ParsedLine {
	LineKind kind = LineKind::skip;
	Record rec;
	std::string_view volume_name;
};

// Parses one line of format f. index is the 0-based record index (used for
// synthetic timestamps). The error text names the field, not the location;
// TraceReader prefixes file:line.
[[nodiscard]] Result<ParsedLine> parse_line(Format f, std::string_view line, std::uint64_t index,
					    const ParseOptions &opt);

// Guesses the format from the first non-empty lines of a file.
[[nodiscard]] Result<Format> detect_format(const std::vector<std::string> &head_lines);

} // namespace dmtier::trace
