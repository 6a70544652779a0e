// SPDX-License-Identifier: GPL-2.0
// AddressMap: where a trace record's I/O lands on the replay device.
//
// The rule (docs/benchmarks.md, "tier-replay"): with A the alignment (the
// device's logical block size, at least 4 KiB) and U the device size rounded
// down to a multiple of A,
//   length = the record's length rounded up to a multiple of A (a zero
//            length becomes A), at most U (and below 4 GiB);
//   offset = (the record's offset rounded down to a multiple of A) mod U;
//            when offset + length > U the I/O is moved back to end at U.
// So every I/O is aligned for O_DIRECT and lies inside the device, and a
// trace whose addresses fit the device keeps them (aligned).
#pragma once

#include <cstdint>

#include "common/result.h"

namespace dmtier::replay {

struct MappedIo {
	std::uint64_t offset = 0;
	std::uint32_t length = 0;
	bool operator==(const MappedIo &) const = default;
};

class AddressMap {
public:
	// device_bytes: the device's size; logical_block: its logical block
	// size (a power of two; 0 or less than 4096 means 4096).
	[[nodiscard]] static Result<AddressMap> create(std::uint64_t device_bytes,
							std::uint32_t logical_block);

	MappedIo map(std::uint64_t offset, std::uint32_t length) const;

	std::uint32_t alignment() const { return align_; }
	std::uint64_t usable_bytes() const { return usable_; }

private:
	AddressMap(std::uint32_t align, std::uint64_t usable) : align_(align), usable_(usable) {}
	std::uint32_t align_;
	std::uint64_t usable_;
};

} // namespace dmtier::replay
