// SPDX-License-Identifier: GPL-2.0
// Reading and replaying dm-log-writes logs (the kernel's
// Documentation/admin-guide/device-mapper/log-writes.rst and
// drivers/md/dm-log-writes.c, format version 1).
//
// On-disk layout (all integers little-endian), in units of the log's sector
// size S (the logical block size of the logged device):
//   sector 0: the super  { u64 magic, u64 version, u64 nr_entries, u32 sectorsize }
//   then nr_entries times:
//     one sector:        { u64 sector, u64 nr_sectors, u64 flags, u64 data_len }
//                        followed, for a MARK, by data_len bytes of its label
//     nr_sectors sectors of the data written (none for a DISCARD or a MARK)
// Entry sector / nr_sectors count S-byte sectors of the logged device.
// Writes appear in the order they became durable: a write completed but not
// yet flushed is logged just before the FLUSH entry that covered it, a FUA
// write when it completed; a MARK where `dmsetup message DEV 0 mark LABEL`
// put it.  The super's nr_entries is rewritten after every FUA and MARK
// entry (and at removal, which logs a "dm-log-writes-end" mark), so entries
// written after the last one are not counted: a log of a live device ends
// at its last FUA or MARK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace dmtier::logwrites {

inline constexpr uint64_t kMagic = 0x6a736677736872ULL;
inline constexpr uint64_t kVersion = 1;

inline constexpr uint64_t kFlush = 1 << 0;
inline constexpr uint64_t kFua = 1 << 1;
inline constexpr uint64_t kDiscard = 1 << 2;
inline constexpr uint64_t kMark = 1 << 3;
inline constexpr uint64_t kMetadata = 1 << 4;
inline constexpr uint64_t kKnownFlags = kFlush | kFua | kDiscard | kMark | kMetadata;

// Byte sizes of the on-disk structures.
inline constexpr size_t kSuperBytes = 28;
inline constexpr size_t kEntryBytes = 32;

struct Entry {
	uint64_t index = 0;	 // 0-based position in the log
	uint64_t offset = 0;	 // byte offset of the entry's header sector in the log
	uint64_t sector = 0;	 // first sector written (log sector size units)
	uint64_t nr_sectors = 0; // sectors written or discarded
	uint64_t flags = 0;
	std::string mark;	 // the label of a MARK entry
	// For a FLUSH or FUA entry its 1-based number among FLUSH/FUA entries,
	// else 0.
	uint64_t flush_no = 0;

	bool is_mark() const { return flags & kMark; }
	bool is_discard() const { return flags & kDiscard; }
	bool is_flush_or_fua() const { return flags & (kFlush | kFua); }
	// Bytes of data following the header sector in the log.
	uint64_t data_bytes(uint32_t sectorsize) const
	{
		return (is_discard() || is_mark()) ? 0 : nr_sectors * sectorsize;
	}
};

struct Log {
	uint32_t sectorsize = 0;
	uint64_t nr_entries = 0;  // from the super
	uint64_t log_bytes = 0;	  // size of the log file or device
	uint64_t end_offset = 0;  // byte just past the last counted entry
	std::vector<Entry> entries;
};

// "FLUSH|FUA|META" etc.; "-" for none.
std::string flags_string(uint64_t flags);

// Parses and validates a whole log read through fd (a file or a block
// device of log_bytes bytes): the super's magic, version and sector size,
// then every counted entry: known flags only, a MARK's label within its
// sector and no data, a DISCARD not combined with FLUSH/FUA, sizes that do
// not overflow, header and data inside the log.  The first problem is the
// error (naming the entry and its byte offset).
Result<Log> read_log(int fd, uint64_t log_bytes);
// Opens PATH read-only and reads it with read_log().
Result<Log> read_log(const std::string &path);

// Where a replay starts and stops (inclusive entry indexes).
struct Range {
	uint64_t first = 0;
	uint64_t last = 0; // inclusive; meaningful only when !empty
	bool empty = false;
};

struct Stop {
	enum Kind { All, Entry, Flush, Mark } kind = All;
	uint64_t number = 0; // Entry: index; Flush: 1-based number of the FLUSH/FUA entry
	std::string label;   // Mark
};

struct Start {
	enum Kind { Beginning, Entry, AfterMark } kind = Beginning;
	uint64_t number = 0; // Entry: index
	std::string label;   // AfterMark: first entry after this mark
};

// The entries to replay; an error when the start or stop does not exist in
// the log or the stop lies before the start.
Result<Range> resolve(const Log &log, const Start &start, const Stop &stop);

enum class DiscardMode {
	Zero,	 // write zeros (what a discard leaves on the lab's null_blk disks)
	Discard, // BLKDISCARD (a block device) or punch a hole (a file)
	Skip,	 // leave the data
};

struct ReplayStats {
	uint64_t entries = 0, writes = 0, discards = 0, flushes = 0, marks = 0;
	uint64_t bytes_written = 0, bytes_discarded = 0;
};

// Checks that every write and discard of range fits into a target of
// target_bytes; nothing is written.
Status check_fits(const Log &log, const Range &range, uint64_t target_bytes);

// Replays range of log (read through log_fd) onto target_fd: writes,
// discards per mode; the target is flushed (fdatasync) once at the end.
// A range that does not fit (check_fits()) is refused before anything is
// written.
Result<ReplayStats> replay(const Log &log, int log_fd, const Range &range, int target_fd,
			   uint64_t target_bytes, DiscardMode mode);

// Size in bytes of a file or block device, and the logical block size of a
// block device (0 for a file).
struct DevSize {
	uint64_t bytes = 0;
	uint32_t lbs = 0;
	bool block_device = false;
};
Result<DevSize> dev_size(int fd);

// Writes a log in the kernel's format: for unit tests and tools that make
// logs (and, with corrupt fields, bad logs).
class Writer {
public:
	explicit Writer(uint32_t sectorsize = 512) : sectorsize_(sectorsize) {}
	// data.size() must be a multiple of the sector size.
	void write(uint64_t sector, const std::string &data, uint64_t flags = 0);
	void flush() { entry(0, 0, kFlush, ""); }
	void discard(uint64_t sector, uint64_t nr_sectors) { entry(sector, nr_sectors, kDiscard, ""); }
	void mark(const std::string &label) { entry(0, 0, kMark, label); }
	// The raw entry as the kernel writes it (label: a MARK's data).
	void entry(uint64_t sector, uint64_t nr_sectors, uint64_t flags, const std::string &label,
		   const std::string &data = "");
	uint64_t entries() const { return entries_; }
	// The whole log; the super counts `counted` entries (default: all).
	std::string bytes(std::optional<uint64_t> counted = std::nullopt,
			  uint64_t magic = kMagic, uint64_t version = kVersion) const;

private:
	uint32_t sectorsize_;
	uint64_t entries_ = 0;
	std::string body_;
};

} // namespace dmtier::logwrites
