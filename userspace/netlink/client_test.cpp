// SPDX-License-Identifier: GPL-2.0
// Client tests that need no kernel module: opening fails cleanly when the
// family is absent (the host has no dm-tier.ko), and the types are move-only.
#include "netlink/client.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <type_traits>

using namespace dmtier::nl;

static_assert(!std::is_copy_constructible_v<Socket>);
static_assert(std::is_move_constructible_v<Socket>);
static_assert(!std::is_copy_constructible_v<Client>);
static_assert(std::is_move_constructible_v<Client>);
static_assert(!std::is_copy_constructible_v<ReportListener>);
static_assert(std::is_move_constructible_v<ReportListener>);

static bool family_present()
{
	std::ifstream f("/proc/net/netlink"); // cheap check: the module is loaded
	std::ifstream m("/proc/modules");
	std::string line;
	while (std::getline(m, line))
		if (line.rfind("dm_tier ", 0) == 0)
			return true;
	return false;
}

TEST(Client, OpenWithoutModuleSaysWhy)
{
	if (family_present())
		GTEST_SKIP() << "dm_tier is loaded here";
	auto c = Client::open();
	ASSERT_FALSE(c.ok());
	// Either no generic netlink at all (a sandbox) or no dm_tier family.
	EXPECT_TRUE(c.error().find("dm_tier") != std::string::npos ||
		    c.error().find("generic netlink") != std::string::npos)
		<< c.error();
	EXPECT_NE(c.code(), 0);
	auto l = ReportListener::open();
	ASSERT_FALSE(l.ok());
}
