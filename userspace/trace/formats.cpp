// SPDX-License-Identifier: GPL-2.0
#include "trace/formats.h"

#include <charconv>
#include <cmath>

namespace dmtier::trace {

namespace {

// Windows FILETIME (100 ns ticks since 1601-01-01) of the Unix epoch.
constexpr std::uint64_t kFiletimeUnixEpoch = 116444736000000000ULL;
constexpr std::uint64_t kSector = 512;

std::string_view trim(std::string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
		s.remove_suffix(1);
	return s;
}

// Splits on sep (',' exactly; ' ' means runs of blanks).
std::vector<std::string_view> split(std::string_view s, char sep)
{
	std::vector<std::string_view> out;
	if (sep == ' ') {
		std::size_t i = 0;
		while (i < s.size()) {
			while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
				++i;
			std::size_t j = i;
			while (j < s.size() && s[j] != ' ' && s[j] != '\t')
				++j;
			if (j > i)
				out.push_back(s.substr(i, j - i));
			i = j;
		}
		return out;
	}
	std::size_t start = 0;
	for (;;) {
		std::size_t pos = s.find(sep, start);
		out.push_back(trim(s.substr(start, pos == std::string_view::npos ? pos : pos - start)));
		if (pos == std::string_view::npos)
			return out;
		start = pos + 1;
	}
}

template <typename T>
bool to_uint(std::string_view s, T *v, int base = 10)
{
	auto r = std::from_chars(s.data(), s.data() + s.size(), *v, base);
	return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool to_double(std::string_view s, double *v)
{
	auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
	return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(*v);
}

Error field_error(const char *field, std::string_view value, const char *want)
{
	return make_error(std::string("bad ") + field + " '" + std::string(value) + "' (expected " +
			  want + ")");
}

Error field_count(std::size_t got, std::size_t want)
{
	return make_error("expected " + std::to_string(want) + " fields, got " + std::to_string(got));
}

// Byte length must fit the record's 32-bit field.
bool to_length(std::string_view s, std::uint64_t unit, std::uint32_t *len)
{
	std::uint64_t v;
	if (!to_uint(s, &v) || v > UINT32_MAX / unit)
		return false;
	*len = static_cast<std::uint32_t>(v * unit);
	return true;
}

Result<ParsedLine> parse_msr(std::string_view line)
{
	auto f = split(line, ',');
	if (f.size() != 7)
		return field_count(f.size(), 7);
	ParsedLine p{LineKind::record, {}, {}};
	std::uint64_t ticks;
	if (!to_uint(f[0], &ticks) || ticks < kFiletimeUnixEpoch || ticks - kFiletimeUnixEpoch > UINT64_MAX / 100)
		return field_error("timestamp", f[0], "Windows FILETIME after 1970");
	p.rec.time_ns = (ticks - kFiletimeUnixEpoch) * 100;
	if (f[3] == "Read")
		p.rec.op = Op::read;
	else if (f[3] == "Write")
		p.rec.op = Op::write;
	else
		return field_error("type", f[3], "Read or Write");
	if (!to_uint(f[4], &p.rec.offset))
		return field_error("offset", f[4], "bytes");
	if (!to_length(f[5], 1, &p.rec.length))
		return field_error("size", f[5], "bytes < 4 GiB");
	unsigned disk;
	if (f[1].empty() || !to_uint(f[2], &disk))
		return field_error("host/disk", line.substr(0, f[2].data() + f[2].size() - line.data()),
				   "hostname,disk number");
	// Volume name "host_disk" is built by the reader from this span.
	p.volume_name = line.substr(f[1].data() - line.data(), f[2].data() + f[2].size() - f[1].data());
	return p;
}

Op scsi_op(unsigned code)
{
	switch (code) {
	case 0x08: case 0x28: case 0xa8: case 0x88: return Op::read;
	case 0x0a: case 0x2a: case 0xaa: case 0x8a: return Op::write;
	default: return Op::unknown;
	}
}

Result<ParsedLine> parse_cloudphysics(std::string_view line)
{
	if (line.substr(0, 8) == "version,")
		return ParsedLine{};
	auto f = split(line, ',');
	if (f.size() != 5)
		return field_count(f.size(), 5);
	ParsedLine p{LineKind::record, {}, {}};
	unsigned ver, code;
	std::uint64_t us, lbn;
	if (!to_uint(f[0], &ver))
		return field_error("version", f[0], "integer");
	if (!to_uint(f[1], &us) || us > UINT64_MAX / 1000)
		return field_error("time", f[1], "microseconds");
	if (!to_uint(f[2], &code, 16) || code > 0xff)
		return field_error("op", f[2], "SCSI opcode in hex");
	if (!to_length(f[3], 1, &p.rec.length))
		return field_error("size", f[3], "bytes < 4 GiB");
	if (!to_uint(f[4], &lbn) || lbn > UINT64_MAX / kSector)
		return field_error("lbn", f[4], "512-byte block number");
	p.rec.time_ns = us * 1000;
	p.rec.op = scsi_op(code);
	p.rec.offset = lbn * kSector;
	return p;
}

Result<ParsedLine> parse_tencent(std::string_view line)
{
	auto f = split(line, ',');
	if (f.size() != 5)
		return field_count(f.size(), 5);
	ParsedLine p{LineKind::record, {}, {}};
	std::uint64_t sec, sectors;
	unsigned type;
	if (!to_uint(f[0], &sec) || sec > UINT64_MAX / 1000000000ULL)
		return field_error("timestamp", f[0], "Unix seconds");
	if (!to_uint(f[1], &sectors) || sectors > UINT64_MAX / kSector)
		return field_error("offset", f[1], "512-byte sectors");
	if (!to_length(f[2], kSector, &p.rec.length))
		return field_error("size", f[2], "512-byte sectors");
	if (!to_uint(f[3], &type) || type > 1)
		return field_error("io type", f[3], "0 (read) or 1 (write)");
	if (f[4].empty())
		return field_error("volume id", f[4], "non-empty");
	p.rec.time_ns = sec * 1000000000ULL;
	p.rec.offset = sectors * kSector;
	p.rec.op = type ? Op::write : Op::read;
	p.volume_name = f[4];
	return p;
}

Result<ParsedLine> parse_disksim(std::string_view line)
{
	auto f = split(line, ' ');
	if (f.size() != 5)
		return field_count(f.size(), 5);
	ParsedLine p{LineKind::record, {}, {}};
	double ns;
	std::uint64_t lba;
	unsigned dev, flags;
	if (!to_double(f[0], &ns) || ns < 0 || ns > 1.8e19)
		return field_error("arrival", f[0], "nanoseconds");
	if (!to_uint(f[1], &dev))
		return field_error("device", f[1], "integer");
	if (!to_uint(f[2], &lba) || lba > UINT64_MAX / kSector)
		return field_error("lba", f[2], "sector number");
	if (!to_length(f[3], kSector, &p.rec.length))
		return field_error("size", f[3], "sectors");
	if (!to_uint(f[4], &flags))
		return field_error("type", f[4], "0 (write) or 1 (read)");
	p.rec.time_ns = static_cast<std::uint64_t>(ns);
	p.rec.offset = lba * kSector;
	p.rec.op = (flags & 1) ? Op::read : Op::write; // DiskSim: flag bit 0 = read
	p.volume_name = f[1];
	return p;
}

Result<ParsedLine> parse_lirs(std::string_view line, std::uint64_t index, const ParseOptions &opt)
{
	std::string_view t = trim(line);
	// The LIRS trace files carry '*' separator lines between phases.
	if (t == "*")
		return ParsedLine{};
	if (opt.block_size == 0)
		return make_error("LIRS block size 0 (expected at least 1 byte)");
	std::uint64_t block;
	if (!to_uint(t, &block) || block > UINT64_MAX / opt.block_size)
		return field_error("block number", t, "non-negative integer");
	ParsedLine p{LineKind::record, {}, {}};
	p.rec.offset = block * opt.block_size;
	p.rec.length = opt.block_size;
	p.rec.time_ns = index * opt.synthetic_gap_ns;
	return p;
}

bool all_uint(const std::vector<std::string_view> &f)
{
	std::uint64_t v;
	for (auto s : f)
		if (!to_uint(s, &v))
			return false;
	return true;
}

} // namespace

const char *format_name(Format f)
{
	switch (f) {
	case Format::msr: return "msr";
	case Format::cloudphysics: return "cloudphysics";
	case Format::tencent: return "tencent";
	case Format::disksim: return "disksim";
	case Format::lirs: return "lirs";
	}
	return "?";
}

std::vector<std::string> format_names()
{
	return {"msr", "cloudphysics", "tencent", "disksim", "lirs"};
}

std::optional<Format> parse_format(std::string_view name)
{
	for (Format f : {Format::msr, Format::cloudphysics, Format::tencent, Format::disksim, Format::lirs})
		if (name == format_name(f))
			return f;
	if (name == "tpcc")
		return Format::disksim;
	return std::nullopt;
}

Result<ParsedLine> parse_line(Format f, std::string_view line, std::uint64_t index,
			      const ParseOptions &opt)
{
	if (trim(line).empty())
		return ParsedLine{};
	switch (f) {
	case Format::msr: return parse_msr(line);
	case Format::cloudphysics: return parse_cloudphysics(line);
	case Format::tencent: return parse_tencent(line);
	case Format::disksim: return parse_disksim(line);
	case Format::lirs: return parse_lirs(line, index, opt);
	}
	return make_error("unknown format");
}

Result<Format> detect_format(const std::vector<std::string> &head)
{
	for (const std::string &raw : head) {
		std::string_view line = trim(raw);
		if (line.empty() || line == "*")
			continue;
		if (line.substr(0, 24) == "version,time,op,size,lbn")
			return Format::cloudphysics;
		auto c = split(line, ',');
		if (c.size() == 7 && (c[3] == "Read" || c[3] == "Write"))
			return Format::msr;
		if (c.size() == 5 && all_uint(c))
			return Format::tencent;
		auto w = split(line, ' ');
		if (w.size() == 5) {
			if (parse_disksim(line).ok())
				return Format::disksim;
		}
		if (w.size() == 1 && all_uint(w))
			return Format::lirs;
		return make_error("unrecognised trace format (first line: '" +
				  std::string(line.substr(0, 80)) + "'); use --format with one of "
				  "msr, cloudphysics, tencent, disksim, lirs");
	}
	return make_error("empty trace: cannot detect its format");
}

} // namespace dmtier::trace
