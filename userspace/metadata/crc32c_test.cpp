// SPDX-License-Identifier: GPL-2.0
#include "metadata/crc32c.h"

#include <gtest/gtest.h>

#include <string>

using dmtier::crc32c;

TEST(Crc32c, KnownVectors)
{
	// RFC 3720 (iSCSI) check value and test vectors.
	std::string s = "123456789";
	EXPECT_EQ(crc32c(s.data(), s.size()), 0xE3069283u);
	unsigned char zeros[32] = {};
	EXPECT_EQ(crc32c(zeros, sizeof(zeros)), 0x8A9136AAu);
	unsigned char ones[32];
	for (auto &c : ones)
		c = 0xff;
	EXPECT_EQ(crc32c(ones, sizeof(ones)), 0x62A8AB43u);
}
