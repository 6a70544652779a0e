// SPDX-License-Identifier: GPL-2.0
// tierctl migrate|pin|unpin --file: a file's blocks (FIEMAP) as ranges of
// its dm-tier volume's extents.  file_extents() asks the filesystem;
// extent_ranges() is the pure conversion (unit-tested).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace dmtier::tierctl {

// One extent of a file as FIEMAP reports it (struct fiemap_extent).
struct FileExtent {
	std::uint64_t logical = 0;	// byte offset in the file
	std::uint64_t physical = 0;	// byte offset on the block device
	std::uint64_t length = 0;	// bytes
	std::uint32_t flags = 0;	// FIEMAP_EXTENT_*
};

// Volume extents [begin, end).
struct ExtentRange {
	std::uint64_t begin = 0, end = 0;
	bool operator==(const ExtentRange &o) const { return begin == o.begin && end == o.end; }
};

// The volume extents (of @extent_bytes each) holding any byte of the file's
// extents, merged into sorted, disjoint ranges.  Errors, naming @path: no
// extents (empty or sparse file), delayed allocation or unknown location
// (not written to the device yet), unwritten (preallocated) extents, data
// inline in the filesystem's metadata, and extents past @volume_bytes (0:
// not checked) — the filesystem is not the whole volume.
Result<std::vector<ExtentRange>> extent_ranges(const std::string &path, const std::vector<FileExtent> &fe,
					       std::uint64_t extent_bytes, std::uint64_t volume_bytes);

// Number of extents in @r.
std::uint64_t count_extents(const std::vector<ExtentRange> &r);

// "3-5, 9, 12-40" (inclusive ends) for messages.
std::string format_ranges(const std::vector<ExtentRange> &r);

// The file's extents through ioctl(FS_IOC_FIEMAP) with FIEMAP_FLAG_SYNC (so
// delayed allocations are flushed first).  Errors: cannot open, not a regular
// file, the filesystem (named by its statfs type) does not support FIEMAP.
Result<std::vector<FileExtent>> file_extents(const std::string &path);

} // namespace dmtier::tierctl
