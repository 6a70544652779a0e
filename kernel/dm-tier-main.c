// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: storage tiering with learned prefetching.
 *
 * Module entry: registers the tier-pool and tier targets and the dm_tier
 * generic netlink family.
 */
#include <linux/module.h>

#include "dm-tier.h"

static int __init dm_tier_init(void)
{
	int r;

	BUILD_BUG_ON(sizeof(struct dmt_block_header) != 32);
	BUILD_BUG_ON(sizeof(struct dmt_volume_record) != 512);
	BUILD_BUG_ON(sizeof(struct dmt_superblock) > DMT_BLOCK_SIZE);
	BUILD_BUG_ON(sizeof(struct dmt_tier_label) > 512);
	BUILD_BUG_ON(DMT_BLOCK_SIZE != PAGE_SIZE);

	r = dm_tier_pool_register();
	if (r)
		return r;
	r = dm_tier_volume_register();
	if (r)
		goto bad_volume;
	r = dmt_netlink_register();
	if (r)
		goto bad_netlink;
	return 0;
bad_netlink:
	dm_tier_volume_unregister();
bad_volume:
	dm_tier_pool_unregister();
	return r;
}

static void __exit dm_tier_exit(void)
{
	dmt_netlink_unregister();
	dm_tier_volume_unregister();
	dm_tier_pool_unregister();
}

module_init(dm_tier_init);
module_exit(dm_tier_exit);

MODULE_DESCRIPTION(DM_NAME " tiered storage target with learned prefetching");
MODULE_AUTHOR("dm-tier developers");
MODULE_LICENSE("GPL");
