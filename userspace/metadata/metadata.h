// SPDX-License-Identifier: GPL-2.0
// Offline access to dm-tier pool metadata (format:
// include/dm-tier/metadata-format.h, docs/dm-tier.md "Metadata format"):
// load it the way the kernel does, check it, dump it, write a repaired copy.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <dm-tier/metadata-format.h>

#include "common/result.h"

namespace dmtier::md {

// A block device or image file, read (and for repair written) by block.
class Device {
public:
	static Result<Device> open(const std::string &path, bool writable);
	Device(Device &&o) noexcept;
	Device &operator=(Device &&o) noexcept;
	Device(const Device &) = delete;
	Device &operator=(const Device &) = delete;
	~Device();

	uint64_t blocks() const { return bytes_ / DMT_BLOCK_SIZE; }
	uint64_t bytes() const { return bytes_; }
	const std::string &path() const { return path_; }
	Status read(uint64_t block, unsigned n, void *buf) const;
	Status write(uint64_t block, unsigned n, const void *buf);
	Status read_bytes(uint64_t offset, size_t n, void *buf) const;
	Status sync();

private:
	Device(int fd, uint64_t bytes, std::string path) : fd_(fd), bytes_(bytes), path_(std::move(path)) {}
	int fd_ = -1;
	uint64_t bytes_ = 0;
	std::string path_;
};

struct Problem {
	std::string what;
	bool repairable = false;
};

struct Tier {
	std::array<uint8_t, 16> uuid{};
	uint64_t nr_extents = 0;
	uint64_t area_start = 0;
	uint64_t area_blocks = 0;
	uint64_t dev_sectors = 0;
	std::vector<uint64_t> rmap;		// one entry per physical extent
	std::vector<uint8_t> cur_slot;		// per reverse-map block: 0 or 1
};

struct Pool {
	dmt_superblock sb{};			// the current superblock
	unsigned sb_slot = 0;
	uint64_t generation = 0;
	uint64_t dev_blocks = 0;
	std::vector<Tier> tiers;
	std::vector<dmt_volume_record> records;	// DMT_MAX_VOLUMES slots
	std::vector<uint8_t> vol_cur_slot;	// per volume block
	unsigned stale_slots = 0;		// left by a commit that did not finish
	unsigned bad_slots = 0;			// checksum or address wrong

	bool needs_check() const { return sb.flags & DMT_SB_NEEDS_CHECK; }
	uint64_t extent_sectors() const { return sb.extent_sectors; }
};

// Checksum as the kernel computes it (CRC32C of the block after its csum field).
uint32_t block_csum(const void *block, size_t len);

// Read the pool the way the kernel would activate it.  A block with no
// valid copy is reported in @problems and read as empty.  Without
// @reverse_maps only the superblock and the volume records are read (the
// tiers' rmap vectors stay empty): what activation checks need, cheaply.
Result<Pool> load(const Device &dev, std::vector<Problem> &problems, bool reverse_maps = true);

// Consistency of the loaded mappings and records.
std::vector<Problem> check(const Pool &pool);

// Check that @dev is tier @index of @pool (its label names the pool and the
// tier's UUID).  Returns an empty string when it is.
std::string check_tier_label(const Pool &pool, const Device &dev, unsigned index);
// Write tier @index's label to @dev as the kernel does when it formats a
// pool (for tests and tools).
Status write_tier_label(Device &dev, const Pool &pool, unsigned index);

// Drop what check() reports as repairable: entries naming unknown volumes,
// second mappings of a virtual extent, invalid volume records.  Returns
// what was done.
std::vector<std::string> repair(Pool &pool);

// Write @pool as a new commit (generation + 1) to the spare slots, then the
// superblock; @clear_needs_check clears the flag.
Status write(Device &dev, Pool &pool, bool clear_needs_check);

// Lay out an empty pool as the kernel formats one (for tests and tools).
Result<Pool> format(Device &dev, uint64_t extent_sectors,
		    const std::vector<uint64_t> &tier_sectors);

} // namespace dmtier::md
