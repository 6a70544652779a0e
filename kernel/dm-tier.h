/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-tier: internal declarations shared by the module's files.
 */
#ifndef DM_TIER_H
#define DM_TIER_H

#include <linux/device-mapper.h>

#define DM_MSG_PREFIX "tier"

/* Tiers per pool; tier 0 is the fastest. */
#define DM_TIER_MAX_TIERS 8

/* Extent size bounds in 512-byte sectors: 128 KiB .. 1 GiB. */
#define DM_TIER_MIN_EXTENT_SECTORS (128 * 1024 >> SECTOR_SHIFT)
#define DM_TIER_MAX_EXTENT_SECTORS (1024 * 1024 * 1024 >> SECTOR_SHIFT)

int dm_tier_pool_register(void);
void dm_tier_pool_unregister(void);

#endif /* DM_TIER_H */
