// SPDX-License-Identifier: GPL-2.0
// TraceReader: opens any supported trace (compressed or not), detects or is
// told its format, and yields common Records. A malformed line is an error
// naming file:line, unless the caller asked to count and skip such lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace/formats.h"
#include "trace/input.h"
#include "trace/record.h"
#include "trace/result.h"

namespace dmtier::trace {

struct ReaderOptions {
	std::optional<Format> format; // nullopt: detect
	ParseOptions parse;
	bool skip_malformed = false;  // count and skip instead of failing
	std::uint64_t limit = 0;      // stop after this many records (0: all)
};

struct ReaderStats {
	std::uint64_t lines = 0;
	std::uint64_t records = 0;
	std::uint64_t skipped_malformed = 0;
	std::string first_malformed; // "file:line: reason" of the first skipped line
};

class TraceReader {
public:
	[[nodiscard]] static Result<TraceReader> open(const std::string &path, ReaderOptions opt = {});

	TraceReader(TraceReader &&) = default;
	TraceReader &operator=(TraceReader &&) = default;

	// Next record into *rec; false at the end of the trace.
	[[nodiscard]] Result<bool> next(Record *rec);

	Format format() const { return format_; }
	Compression compression() const { return compression_; }
	bool has_timestamps() const { return format_ != Format::lirs; }
	const ReaderStats &stats() const { return stats_; }
	const std::string &path() const { return path_; }
	// Volume names in id order (a format without volumes has one, "").
	const std::vector<std::string> &volume_names() const { return volumes_; }
	const std::string &volume_name(std::uint32_t id) const { return volumes_.at(id); }

private:
	TraceReader(std::string path, LineReader lines, ReaderOptions opt, Format f, Compression c);
	std::uint32_t intern(std::string_view name);

	std::string path_;
	LineReader lines_;
	ReaderOptions opt_;
	Format format_;
	Compression compression_;
	ReaderStats stats_;
	std::vector<std::string> volumes_;
	std::unordered_map<std::string, std::uint32_t> volume_ids_;
};

// Reads a whole trace into memory (tools replaying small traces).
struct Trace {
	std::vector<Record> records;
	std::vector<std::string> volumes;
	Format format = Format::lirs;
	bool has_timestamps = true;
	ReaderStats stats;
};
[[nodiscard]] Result<Trace> read_trace(const std::string &path, ReaderOptions opt = {});

} // namespace dmtier::trace
