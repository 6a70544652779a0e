// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/mapping.h"

#include <random>

#include <gtest/gtest.h>

using namespace dmtier::replay;

namespace {

AddressMap make(std::uint64_t bytes, std::uint32_t lbs)
{
	auto m = AddressMap::create(bytes, lbs);
	EXPECT_TRUE(m.ok()) << m.error();
	return *m;
}

} // namespace

TEST(ReplayAddressMap, RefusesEmptyTinyAndOddDevices)
{
	auto zero = AddressMap::create(0, 512);
	ASSERT_FALSE(zero.ok());
	EXPECT_NE(zero.error().find("size 0"), std::string::npos) << zero.error();
	auto tiny = AddressMap::create(4095, 512);
	ASSERT_FALSE(tiny.ok());
	EXPECT_NE(tiny.error().find("smaller than one 4096-byte block"), std::string::npos) << tiny.error();
	EXPECT_FALSE(AddressMap::create(1 << 20, 1000).ok());
	EXPECT_FALSE(AddressMap::create(1 << 20, 1u << 21).ok());
}

TEST(ReplayAddressMap, AlignmentIsTheLogicalBlockAtLeast4K)
{
	EXPECT_EQ(make(1 << 20, 512).alignment(), 4096u);
	EXPECT_EQ(make(1 << 20, 0).alignment(), 4096u);
	EXPECT_EQ(make(1 << 20, 4096).alignment(), 4096u);
	EXPECT_EQ(make(1 << 20, 8192).alignment(), 8192u);
	// The usable size is rounded down to the alignment.
	EXPECT_EQ(make((1 << 20) + 4095, 512).usable_bytes(), 1u << 20);
	EXPECT_EQ(make((1 << 20) + 4096, 8192).usable_bytes(), 1u << 20);
}

TEST(ReplayAddressMap, InRangeAddressesStayAligned)
{
	auto m = make(1 << 20, 512);
	EXPECT_EQ(m.map(0, 4096), (MappedIo{0, 4096}));
	EXPECT_EQ(m.map(8192 + 100, 100), (MappedIo{8192, 4096}));
	EXPECT_EQ(m.map(12288, 4097), (MappedIo{12288, 8192}));
	EXPECT_EQ(m.map(512, 512), (MappedIo{0, 4096}));
}

TEST(ReplayAddressMap, ZeroLengthIsOneBlock)
{
	EXPECT_EQ(make(1 << 20, 512).map(40960, 0), (MappedIo{40960, 4096}));
}

TEST(ReplayAddressMap, OffsetsWrapModuloTheUsableSize)
{
	auto m = make((1 << 20) + 100, 512); // usable 1 MiB
	EXPECT_EQ(m.map((1 << 20) + 4096, 4096), (MappedIo{4096, 4096}));
	EXPECT_EQ(m.map(5 * (1ull << 20) + 8192 + 7, 512), (MappedIo{8192, 4096}));
	EXPECT_EQ(m.map(~0ull, 4096).offset % 4096, 0u);
}

TEST(ReplayAddressMap, AnIoPastTheEndIsMovedBackToEndThere)
{
	auto m = make(1 << 20, 512);
	EXPECT_EQ(m.map((1 << 20) - 4096, 8192), (MappedIo{(1 << 20) - 8192, 8192}));
	// Longer than the device: the whole device.
	EXPECT_EQ(m.map(12345, 4u << 20), (MappedIo{0, 1u << 20}));
}

TEST(ReplayAddressMap, LengthStaysBelow4GiB)
{
	auto m = make(16ull << 30, 512);
	auto io = m.map(0, UINT32_MAX);
	EXPECT_EQ(io.length % 4096, 0u);
	EXPECT_GE(io.length, UINT32_MAX - 4095u);
}

TEST(ReplayAddressMap, EveryMappedIoIsAlignedAndInside)
{
	std::mt19937_64 rng(9);
	for (std::uint64_t bytes : {4096ull, 65536ull + 512, 10ull << 20, (1ull << 34) + 12345}) {
		for (std::uint32_t lbs : {512u, 4096u, 16384u}) {
			auto m = AddressMap::create(bytes, lbs);
			if (!m)
				continue; // smaller than one block
			for (int i = 0; i < 2000; ++i) {
				std::uint64_t off = rng();
				auto len = static_cast<std::uint32_t>(rng() % (3u << 20));
				auto io = m->map(off, len);
				ASSERT_EQ(io.offset % m->alignment(), 0u);
				ASSERT_EQ(io.length % m->alignment(), 0u);
				ASSERT_GT(io.length, 0u);
				ASSERT_GE(io.length, std::min<std::uint64_t>(len, m->usable_bytes()));
				ASSERT_LE(io.offset + io.length, m->usable_bytes());
			}
		}
	}
}
