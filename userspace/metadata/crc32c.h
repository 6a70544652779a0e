// SPDX-License-Identifier: GPL-2.0
// CRC32C (Castagnoli), as the kernel module stores it in metadata blocks:
// the standard CRC-32C of the bytes (Debian 12 packages no C/C++ crc32c
// library; this is the reflected table-driven form, 0x82F63B78).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dmtier {

uint32_t crc32c(const void *data, size_t len);

} // namespace dmtier
