// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/mapping.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace dmtier::replay {

namespace {
constexpr std::uint32_t kMinAlign = 4096;
constexpr std::uint32_t kMaxAlign = 1u << 20;
} // namespace

Result<AddressMap> AddressMap::create(std::uint64_t device_bytes, std::uint32_t logical_block)
{
	if (logical_block & (logical_block - 1) || logical_block > kMaxAlign)
		return make_error("logical block size " + std::to_string(logical_block) +
				  " is not a power of two up to 1 MiB");
	std::uint32_t align = std::max(logical_block, kMinAlign);
	if (device_bytes == 0)
		return make_error("the device has size 0");
	std::uint64_t usable = device_bytes / align * align;
	if (usable == 0)
		return make_error("the device (" + std::to_string(device_bytes) +
				  " bytes) is smaller than one " + std::to_string(align) + "-byte block");
	return AddressMap(align, usable);
}

MappedIo AddressMap::map(std::uint64_t offset, std::uint32_t length) const
{
	std::uint64_t len = length == 0 ? align_ : (std::uint64_t{length} + align_ - 1) / align_ * align_;
	len = std::min({len, usable_, std::uint64_t{UINT32_MAX} / align_ * align_});
	std::uint64_t off = offset / align_ * align_ % usable_;
	if (off + len > usable_)
		off = usable_ - len;
	return {off, static_cast<std::uint32_t>(len)};
}

} // namespace dmtier::replay
