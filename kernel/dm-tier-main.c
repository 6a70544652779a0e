// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: storage tiering with learned prefetching.
 *
 * Module entry: registers the tier-pool target (and, with later issues,
 * the tier volume target and the generic netlink family).
 */
#include <linux/module.h>

#include "dm-tier.h"

static int __init dm_tier_init(void)
{
	return dm_tier_pool_register();
}

static void __exit dm_tier_exit(void)
{
	dm_tier_pool_unregister();
}

module_init(dm_tier_init);
module_exit(dm_tier_exit);

MODULE_DESCRIPTION(DM_NAME " tiered storage target with learned prefetching");
MODULE_AUTHOR("dm-tier developers");
MODULE_LICENSE("GPL");
