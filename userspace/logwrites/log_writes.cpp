// SPDX-License-Identifier: GPL-2.0
#include "logwrites/log_writes.h"

#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace dmtier::logwrites {

namespace {

uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint32_t le32(const unsigned char *p)
{
	return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void put_le64(std::string &s, size_t at, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		s[at + i] = char(v >> (8 * i));
}

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return buf;
}

// Reads exactly len bytes at off; a short read is an error.
Status read_at(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	auto *p = static_cast<unsigned char *>(buf);
	while (len) {
		ssize_t n = pread(fd, p, len, off_t(off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return make_error(fmt("cannot read %s at byte %" PRIu64 ": %s", what, off,
					      strerror(errno)),
					  errno);
		if (n == 0)
			return make_error(fmt("cannot read %s at byte %" PRIu64 ": end of file", what, off),
					  EIO);
		p += n;
		len -= size_t(n);
		off += uint64_t(n);
	}
	return {};
}

Status write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	auto *p = static_cast<const unsigned char *>(buf);
	while (len) {
		ssize_t n = pwrite(fd, p, len, off_t(off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return make_error(fmt("cannot write the target at byte %" PRIu64 ": %s", off,
					      n < 0 ? strerror(errno) : "no progress"),
					  n < 0 ? errno : EIO);
		p += n;
		len -= size_t(n);
		off += uint64_t(n);
	}
	return {};
}

std::string list_marks(const Log &log)
{
	std::string s;
	size_t n = 0;
	for (const Entry &e : log.entries) {
		if (!e.is_mark())
			continue;
		if (n++ == 8) {
			s += ", ...";
			break;
		}
		s += (s.empty() ? "'" : ", '") + e.mark + "'";
	}
	return s.empty() ? "none" : s;
}

} // namespace

std::string flags_string(uint64_t flags)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} names[] = { { kFlush, "FLUSH" }, { kFua, "FUA" }, { kDiscard, "DISCARD" },
		      { kMark, "MARK" }, { kMetadata, "META" } };
	std::string s;
	for (const auto &n : names) {
		if (flags & n.bit) {
			if (!s.empty())
				s += '|';
			s += n.name;
		}
	}
	if (flags & ~kKnownFlags) {
		if (!s.empty())
			s += '|';
		s += fmt("%#" PRIx64, flags & ~kKnownFlags);
	}
	return s.empty() ? "-" : s;
}

Result<Log> read_log(int fd, uint64_t log_bytes)
{
	Log log;
	log.log_bytes = log_bytes;
	if (log_bytes < kSuperBytes)
		return make_error(fmt("too short for a dm-log-writes log (%" PRIu64
				      " bytes, the super alone takes %zu)",
				      log_bytes, kSuperBytes));
	unsigned char sb[kSuperBytes];
	if (Status s = read_at(fd, sb, sizeof(sb), 0, "the super"); !s)
		return make_error(s.error(), s.code());
	uint64_t magic = le64(sb), version = le64(sb + 8);
	log.nr_entries = le64(sb + 16);
	log.sectorsize = le32(sb + 24);
	if (magic != kMagic)
		return make_error(fmt("not a dm-log-writes log: bad magic 0x%" PRIx64 " (expected 0x%" PRIx64
				      ")",
				      magic, kMagic));
	if (version != kVersion)
		return make_error(fmt("unsupported dm-log-writes version %" PRIu64 " (expected %" PRIu64
				      ")",
				      version, kVersion));
	uint32_t ss = log.sectorsize;
	if (ss < 512 || ss > 65536 || (ss & (ss - 1)))
		return make_error(fmt("bad sector size %" PRIu32
				      " in the super (a power of two from 512 to 65536)",
				      ss));
	if (log_bytes < ss)
		return make_error(fmt("truncated: the super's sector is %" PRIu32 " bytes, the log %" PRIu64,
				      ss, log_bytes));
	// Each entry takes at least one sector: a count the log cannot hold is
	// refused before anything is allocated for it.
	if (log.nr_entries > log_bytes / ss - 1)
		return make_error(fmt("truncated or corrupt: the super counts %" PRIu64
				      " entries, a log of %" PRIu64 " bytes holds at most %" PRIu64,
				      log.nr_entries, log_bytes, log_bytes / ss - 1));
	log.entries.reserve(log.nr_entries);
	std::vector<unsigned char> hdr(ss);
	uint64_t off = ss, flush_no = 0;
	for (uint64_t i = 0; i < log.nr_entries; i++) {
		if (off > log_bytes || log_bytes - off < ss)
			return make_error(fmt("truncated: entry %" PRIu64 " of %" PRIu64
					      " would start at byte %" PRIu64 ", the log has %" PRIu64,
					      i, log.nr_entries, off, log_bytes));
		if (Status s = read_at(fd, hdr.data(), ss, off, "an entry"); !s)
			return make_error(s.error(), s.code());
		Entry e;
		e.index = i;
		e.offset = off;
		e.sector = le64(hdr.data());
		e.nr_sectors = le64(hdr.data() + 8);
		e.flags = le64(hdr.data() + 16);
		uint64_t data_len = le64(hdr.data() + 24);
		auto bad = [&](const std::string &why) {
			return make_error(fmt("entry %" PRIu64 " at byte %" PRIu64 ": ", i, off) + why);
		};
		if (e.flags & ~kKnownFlags)
			return bad(fmt("unknown flags %#" PRIx64, e.flags & ~kKnownFlags));
		if (e.is_mark()) {
			if (e.flags & ~(kMark | kMetadata))
				return bad("a MARK with other flags (" + flags_string(e.flags) + ")");
			if (data_len > ss - kEntryBytes)
				return bad(fmt("MARK label of %" PRIu64 " bytes does not fit its %" PRIu32
					       "-byte sector",
					       data_len, ss));
			if (e.nr_sectors)
				return bad(fmt("MARK with %" PRIu64 " data sectors", e.nr_sectors));
			e.mark.assign(reinterpret_cast<const char *>(hdr.data() + kEntryBytes),
				      size_t(data_len));
			if (e.mark.find('\0') != std::string::npos)
				return bad("MARK label holds a NUL byte");
		} else {
			if (data_len)
				return bad(fmt("inline data of %" PRIu64
					       " bytes in a write (not written by Linux 6.1; unsupported)",
					       data_len));
			if (e.is_discard() && (e.flags & (kFlush | kFua)))
				return bad("a DISCARD with FLUSH or FUA");
			if (!e.is_discard() && !e.is_flush_or_fua() && !e.nr_sectors)
				return bad("a write of 0 sectors");
			uint64_t max = std::numeric_limits<uint64_t>::max() / ss;
			if (e.nr_sectors > max || e.sector > max - e.nr_sectors)
				return bad(fmt("sector %" PRIu64 " + %" PRIu64 " sectors overflows",
					       e.sector, e.nr_sectors));
		}
		if (e.is_flush_or_fua())
			e.flush_no = ++flush_no;
		uint64_t data = e.data_bytes(ss);
		if (log_bytes - off - ss < data)
			return bad(fmt("truncated: %" PRIu64 " bytes of data past the end of the log (%" PRIu64
				       " bytes)",
				       data, log_bytes));
		off += ss + data;
		log.entries.push_back(std::move(e));
	}
	log.end_offset = off;
	return log;
}

Result<DevSize> dev_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		return make_error(fmt("fstat: %s", strerror(errno)), errno);
	DevSize d;
	if (S_ISBLK(st.st_mode)) {
		uint64_t n = 0;
		int lbs = 0;
		if (ioctl(fd, BLKGETSIZE64, &n) || ioctl(fd, BLKSSZGET, &lbs))
			return make_error(fmt("cannot get the device size: %s", strerror(errno)), errno);
		d.bytes = n;
		d.lbs = uint32_t(lbs);
		d.block_device = true;
	} else if (S_ISREG(st.st_mode)) {
		d.bytes = uint64_t(st.st_size);
	} else {
		return make_error("neither a block device nor a regular file", EINVAL);
	}
	return d;
}

Result<Log> read_log(const std::string &path)
{
	UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd)
		return make_error(path + ": " + strerror(errno), errno);
	auto size = dev_size(fd.get());
	if (!size)
		return make_error(path + ": " + size.error(), size.code());
	auto log = read_log(fd.get(), size->bytes);
	if (!log)
		return make_error(path + ": " + log.error(), log.code());
	return log;
}

Result<Range> resolve(const Log &log, const Start &start, const Stop &stop)
{
	const uint64_t n = log.entries.size();
	Range r;
	switch (start.kind) {
	case Start::Beginning:
		r.first = 0;
		break;
	case Start::Entry:
		if (start.number >= n)
			return make_error(fmt("no entry %" PRIu64 " to start from: the log has %" PRIu64
					      " entries (0 to %" PRIu64 ")",
					      start.number, n, n ? n - 1 : 0));
		r.first = start.number;
		break;
	case Start::AfterMark: {
		uint64_t i = 0;
		while (i < n && !(log.entries[i].is_mark() && log.entries[i].mark == start.label))
			i++;
		if (i == n)
			return make_error("no mark '" + start.label + "' to start after (marks: " +
					  list_marks(log) + ")");
		r.first = i + 1;
		break;
	}
	}
	switch (stop.kind) {
	case Stop::All:
		if (r.first >= n) {
			r.empty = true;
			return r;
		}
		r.last = n - 1;
		break;
	case Stop::Entry:
		if (stop.number >= n)
			return make_error(fmt("no entry %" PRIu64 ": the log has %" PRIu64 " entries (0 to %" PRIu64
					      ")",
					      stop.number, n, n ? n - 1 : 0));
		r.last = stop.number;
		break;
	case Stop::Flush: {
		uint64_t count = 0, i = 0;
		for (; i < n; i++) {
			if (log.entries[i].flush_no)
				count = log.entries[i].flush_no;
			if (log.entries[i].flush_no == stop.number && stop.number)
				break;
		}
		if (i == n)
			return make_error(fmt("no FLUSH/FUA entry number %" PRIu64 ": the log has %" PRIu64,
					      stop.number, count));
		r.last = i;
		break;
	}
	case Stop::Mark: {
		uint64_t i = r.first;
		while (i < n && !(log.entries[i].is_mark() && log.entries[i].mark == stop.label))
			i++;
		if (i == n)
			return make_error("no mark '" + stop.label + "'" +
					  (r.first ? fmt(" at or after entry %" PRIu64, r.first) : "") +
					  " (marks: " + list_marks(log) + ")");
		r.last = i;
		break;
	}
	}
	if (r.last < r.first)
		return make_error(fmt("the stop (entry %" PRIu64 ") lies before the start (entry %" PRIu64 ")",
				      r.last, r.first));
	return r;
}

Status check_fits(const Log &log, const Range &range, uint64_t target_bytes)
{
	if (range.empty)
		return {};
	for (uint64_t i = range.first; i <= range.last; i++) {
		const Entry &e = log.entries[i];
		if (e.is_mark() || !e.nr_sectors)
			continue;
		// read_log() ruled out overflow of (sector + nr_sectors) * sectorsize.
		uint64_t end = (e.sector + e.nr_sectors) * log.sectorsize;
		if (end > target_bytes)
			return make_error(fmt("entry %" PRIu64 " (%s, sector %" PRIu64 ", %" PRIu64
					      " sectors of %" PRIu32 " bytes) ends at byte %" PRIu64
					      ", past the end of the target (%" PRIu64 " bytes)",
					      i, flags_string(e.flags).c_str(), e.sector, e.nr_sectors,
					      log.sectorsize, end, target_bytes),
					  ENOSPC);
	}
	return {};
}

namespace {

Status zero_range(int fd, uint64_t off, uint64_t len, bool block_device, DiscardMode mode)
{
	if (mode == DiscardMode::Skip || !len)
		return {};
	if (block_device) {
		uint64_t r[2] = { off, len };
		if (!ioctl(fd, mode == DiscardMode::Zero ? BLKZEROOUT : BLKDISCARD, r))
			return {};
		if (mode == DiscardMode::Discard)
			return make_error(fmt("BLKDISCARD at byte %" PRIu64 ": %s", off, strerror(errno)),
					  errno);
		// No BLKZEROOUT: write zeros below.
	} else {
		int m = mode == DiscardMode::Zero ? FALLOC_FL_ZERO_RANGE
						  : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		if (!fallocate(fd, m, off_t(off), off_t(len)))
			return {};
		if (mode == DiscardMode::Discard)
			return make_error(fmt("punching a hole at byte %" PRIu64 ": %s", off,
					      strerror(errno)),
					  errno);
	}
	static const std::vector<char> zeros(1 << 20);
	while (len) {
		size_t n = len < zeros.size() ? size_t(len) : zeros.size();
		if (Status s = write_at(fd, zeros.data(), n, off); !s)
			return s;
		off += n;
		len -= n;
	}
	return {};
}

} // namespace

Result<ReplayStats> replay(const Log &log, int log_fd, const Range &range, int target_fd,
			   uint64_t target_bytes, DiscardMode mode)
{
	if (Status s = check_fits(log, range, target_bytes); !s)
		return make_error(s.error(), s.code());
	ReplayStats st;
	if (range.empty)
		return st;
	auto size = dev_size(target_fd);
	if (!size)
		return make_error("target: " + size.error(), size.code());
	const uint32_t ss = log.sectorsize;
	std::vector<char> buf(1 << 20);
	for (uint64_t i = range.first; i <= range.last; i++) {
		const Entry &e = log.entries[i];
		st.entries++;
		if (e.is_flush_or_fua())
			st.flushes++;
		if (e.is_mark()) {
			st.marks++;
			continue;
		}
		uint64_t off = e.sector * ss, len = e.nr_sectors * ss;
		if (e.is_discard()) {
			if (Status s = zero_range(target_fd, off, len, size->block_device, mode); !s)
				return make_error(fmt("entry %" PRIu64 ": ", i) + s.error(), s.code());
			st.discards++;
			st.bytes_discarded += len;
			continue;
		}
		if (!len)
			continue; // an empty FLUSH
		uint64_t src = e.offset + ss;
		while (len) {
			size_t n = len < buf.size() ? size_t(len) : buf.size();
			if (Status s = read_at(log_fd, buf.data(), n, src, "the log's data"); !s)
				return make_error(fmt("entry %" PRIu64 ": ", i) + s.error(), s.code());
			if (Status s = write_at(target_fd, buf.data(), n, off); !s)
				return make_error(fmt("entry %" PRIu64 ": ", i) + s.error(), s.code());
			src += n;
			off += n;
			len -= n;
		}
		st.writes++;
		st.bytes_written += e.nr_sectors * ss;
	}
	if (fdatasync(target_fd))
		return make_error(fmt("fdatasync of the target: %s", strerror(errno)), errno);
	return st;
}

void Writer::write(uint64_t sector, const std::string &data, uint64_t flags)
{
	entry(sector, data.size() / sectorsize_, flags, "", data);
}

void Writer::entry(uint64_t sector, uint64_t nr_sectors, uint64_t flags, const std::string &label,
		   const std::string &data)
{
	std::string hdr(sectorsize_, '\0');
	put_le64(hdr, 0, sector);
	put_le64(hdr, 8, nr_sectors);
	put_le64(hdr, 16, flags);
	put_le64(hdr, 24, label.size());
	hdr.replace(kEntryBytes, label.size(), label);
	hdr.resize(sectorsize_);
	body_ += hdr;
	body_ += data;
	entries_++;
}

std::string Writer::bytes(std::optional<uint64_t> counted, uint64_t magic, uint64_t version) const
{
	std::string sb(sectorsize_, '\0');
	put_le64(sb, 0, magic);
	put_le64(sb, 8, version);
	put_le64(sb, 16, counted.value_or(entries_));
	for (int i = 0; i < 4; i++)
		sb[24 + i] = char(sectorsize_ >> (8 * i));
	return sb + body_;
}

} // namespace dmtier::logwrites
