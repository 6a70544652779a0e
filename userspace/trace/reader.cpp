// SPDX-License-Identifier: GPL-2.0
#include "trace/reader.h"

namespace dmtier::trace {

const char *op_name(Op op)
{
	switch (op) {
	case Op::read: return "read";
	case Op::write: return "write";
	case Op::unknown: break;
	}
	return "unknown";
}

namespace {
constexpr int kDetectLines = 8;
}

Result<TraceReader> TraceReader::open(const std::string &path, ReaderOptions opt)
{
	Compression comp = Compression::none;
	Format fmt;
	if (opt.format) {
		fmt = *opt.format;
	} else {
		auto src = open_source(path, &comp);
		if (!src)
			return std::move(src).take_error();
		LineReader head(std::move(*src));
		std::vector<std::string> lines;
		std::string_view l;
		for (int i = 0; i < kDetectLines; ++i) {
			auto more = head.next(&l);
			if (!more)
				return std::move(more).take_error();
			if (!*more)
				break;
			lines.emplace_back(l);
		}
		auto f = detect_format(lines);
		if (!f)
			return make_error(path + ": " + f.error());
		fmt = *f;
	}
	auto src = open_source(path, &comp);
	if (!src)
		return std::move(src).take_error();
	return TraceReader(path, LineReader(std::move(*src)), opt, fmt, comp);
}

TraceReader::TraceReader(std::string path, LineReader lines, ReaderOptions opt, Format f,
			 Compression c)
	: path_(std::move(path)), lines_(std::move(lines)), opt_(opt), format_(f), compression_(c)
{
	if (format_ == Format::lirs || format_ == Format::cloudphysics)
		intern("");
}

std::uint32_t TraceReader::intern(std::string_view name)
{
	auto it = volume_ids_.find(std::string(name));
	if (it != volume_ids_.end())
		return it->second;
	auto id = static_cast<std::uint32_t>(volumes_.size());
	std::string key(name);
	if (format_ == Format::msr) // "hm,0" -> "hm_0", the MSR volume naming
		for (char &ch : key)
			if (ch == ',')
				ch = '_';
	volumes_.push_back(key);
	volume_ids_.emplace(std::string(name), id);
	return id;
}

Result<bool> TraceReader::next(Record *rec)
{
	if (opt_.limit && stats_.records >= opt_.limit)
		return false;
	std::string_view line;
	for (;;) {
		auto more = lines_.next(&line);
		if (!more)
			return make_error(more.error());
		if (!*more)
			return false;
		++stats_.lines;
		auto p = parse_line(format_, line, stats_.records, opt_.parse);
		if (!p) {
			std::string where = path_ + ":" + std::to_string(lines_.line_number()) + ": " +
					    format_name(format_) + ": " + p.error();
			if (!opt_.skip_malformed)
				return make_error(where);
			if (stats_.skipped_malformed++ == 0)
				stats_.first_malformed = where;
			continue;
		}
		if (p->kind == LineKind::skip)
			continue;
		*rec = p->rec;
		rec->volume = p->volume_name.empty() ? 0 : intern(p->volume_name);
		++stats_.records;
		return true;
	}
}

Result<Trace> read_trace(const std::string &path, ReaderOptions opt)
{
	auto r = TraceReader::open(path, opt);
	if (!r)
		return std::move(r).take_error();
	Trace t;
	Record rec;
	for (;;) {
		auto more = r->next(&rec);
		if (!more)
			return std::move(more).take_error();
		if (!*more)
			break;
		t.records.push_back(rec);
	}
	t.volumes = r->volume_names();
	t.format = r->format();
	t.has_timestamps = r->has_timestamps();
	t.stats = r->stats();
	return t;
}

} // namespace dmtier::trace
