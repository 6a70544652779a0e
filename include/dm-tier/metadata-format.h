/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-tier on-disk metadata format, shared by the kernel module and the
 * userspace metadata tools.  See docs/dm-tier.md, "Metadata format".
 *
 * All integers are little-endian.  Every block is DMT_BLOCK_SIZE bytes and
 * begins with a checksum (CRC32C, seed ~0, of the block from byte 4 on,
 * stored inverted like dm-persistent-data's).
 *
 * Metadata device:
 *   block 0, 1          superblock slots (the valid one with the higher
 *                       generation wins)
 *   vol_area_start ...  2 slots per volume block: block i at start + 2i + s
 *   tier areas          2 slots per reverse-map block, one area per tier
 *
 * Tier device: a label in sector 0; extents start at DMT_TIER_DATA_OFFSET.
 */
#ifndef DM_TIER_METADATA_FORMAT_H
#define DM_TIER_METADATA_FORMAT_H

#include <linux/types.h>

#define DMT_BLOCK_SIZE 4096
#define DMT_BLOCK_SECTORS (DMT_BLOCK_SIZE >> 9)

#define DMT_SB_MAGIC 0x52454954544d44ULL	/* "DMTTIER" */
#define DMT_LABEL_MAGIC 0x4c42414c54544d44ULL	/* "DMTTLABL" */
#define DMT_FORMAT_VERSION 1

#define DMT_MAX_TIERS 8
#define DMT_MAX_VOLUMES 1024
#define DMT_MAX_VOLUME_ID 0x7ffffeU		/* ids 0 .. 2^23 - 2 */
#define DMT_MAX_LABELS 6

/* Tier devices: label at sector 0, data from 1 MiB on. */
#define DMT_TIER_DATA_OFFSET 2048		/* sectors */

/* Superblock flags. */
#define DMT_SB_NEEDS_CHECK (1U << 0)

/* Block types, in every block header. */
enum dmt_block_type {
	DMT_BT_SUPER = 1,
	DMT_BT_VOLUMES = 2,
	DMT_BT_RMAP = 3,
	DMT_BT_LABEL = 4,
};

/* Header of every metadata block but the superblock. */
struct dmt_block_header {
	__le32 csum;
	__le32 type;			/* enum dmt_block_type */
	__le64 generation;		/* commit that wrote this copy */
	__le64 blocknr;			/* the slot's own block number */
	__le64 reserved;
};

struct dmt_tier_record {
	__u8 uuid[16];			/* the tier's, also in its label */
	__le64 nr_extents;		/* physical extents on the tier */
	__le64 area_start;		/* first slot block of its reverse map */
	__le64 area_blocks;		/* logical reverse-map blocks */
	__le64 dev_sectors;		/* tier device size when labelled */
};

struct dmt_superblock {
	__le32 csum;
	__le32 type;			/* DMT_BT_SUPER */
	__le64 magic;			/* DMT_SB_MAGIC */
	__le32 version;			/* DMT_FORMAT_VERSION */
	__le32 flags;			/* DMT_SB_* */
	__le64 generation;		/* last completed commit */
	__u8 uuid[16];			/* pool identity, also in tier labels */
	__le64 extent_sectors;
	__le32 nr_tiers;
	__le32 max_volumes;		/* DMT_MAX_VOLUMES */
	__le64 vol_area_start;
	__le64 vol_area_blocks;		/* logical volume blocks */
	__le64 meta_blocks_used;	/* slots in use, superblocks included */
	__le64 meta_dev_blocks;		/* metadata device size when formatted */
	struct dmt_tier_record tiers[DMT_MAX_TIERS];
};

/* Tier device label, sector 0 of each tier device. */
struct dmt_tier_label {
	__le32 csum;
	__le32 type;			/* DMT_BT_LABEL */
	__le64 magic;			/* DMT_LABEL_MAGIC */
	__u8 uuid[16];			/* the pool's */
	__u8 tier_uuid[16];		/* the tier's own (survives renumbering) */
	__le32 tier;			/* index when labelled (informative) */
	__le32 version;
	__le64 extent_sectors;
};

/* Volume records. */
#define DMT_VOL_IN_USE (1U << 0)
#define DMT_VOL_TIERING_ENABLED (1U << 1)

enum dmt_policy {
	DMT_POLICY_BALANCED = 0,
	DMT_POLICY_PERFORMANCE = 1,
	DMT_POLICY_COST = 2,
	DMT_POLICY_STRIPED = 3,
	DMT_NR_POLICIES,
};

#define DMT_MODEL_LEN 32
#define DMT_LABEL_KEY_LEN 16
#define DMT_LABEL_VALUE_LEN 48

struct dmt_label {
	char key[DMT_LABEL_KEY_LEN];	/* NUL-terminated, "" = unused */
	char value[DMT_LABEL_VALUE_LEN];
};

struct dmt_volume_record {
	__le32 flags;			/* DMT_VOL_* */
	__le32 id;
	__le32 policy;			/* enum dmt_policy */
	__le32 reserved0;
	__le64 created_generation;
	char prediction_model[DMT_MODEL_LEN];
	struct dmt_label labels[DMT_MAX_LABELS];
	__u8 reserved[512 - 24 - DMT_MODEL_LEN - DMT_MAX_LABELS * 64];
};

#define DMT_VOLS_PER_BLOCK \
	((DMT_BLOCK_SIZE - sizeof(struct dmt_block_header)) / sizeof(struct dmt_volume_record))
#define DMT_VOL_BLOCKS \
	((DMT_MAX_VOLUMES + DMT_VOLS_PER_BLOCK - 1) / DMT_VOLS_PER_BLOCK)

/*
 * Reverse map: one entry per physical extent.
 *   [63]     pinned (never moved automatically)
 *   [62:40]  volume id + 1 (0: free)
 *   [39:0]   virtual extent
 */
#define DMT_RMAP_PER_BLOCK \
	((DMT_BLOCK_SIZE - sizeof(struct dmt_block_header)) / sizeof(__le64))
#define DMT_RMAP_FREE 0ULL
#define DMT_RMAP_PINNED (1ULL << 63)
#define DMT_RMAP_VE_BITS 40
#define DMT_RMAP_VE_MASK ((1ULL << DMT_RMAP_VE_BITS) - 1)
#define DMT_RMAP_VOL_MASK 0x7fffffULL

static inline __u64 dmt_rmap_pack(__u32 volume_id, __u64 vext, int pinned)
{
	return (pinned ? DMT_RMAP_PINNED : 0) |
	       ((__u64)(volume_id + 1) << DMT_RMAP_VE_BITS) | vext;
}

static inline __u32 dmt_rmap_volume(__u64 e)
{
	return (__u32)((e >> DMT_RMAP_VE_BITS) & DMT_RMAP_VOL_MASK) - 1;
}

static inline int dmt_rmap_pinned(__u64 e)
{
	return !!(e & DMT_RMAP_PINNED);
}

static inline __u64 dmt_rmap_vext(__u64 e)
{
	return e & DMT_RMAP_VE_MASK;
}

/* Offset of the checksummed part of a block. */
#define DMT_CSUM_SKIP 4

#ifdef __cplusplus
static_assert(sizeof(struct dmt_block_header) == 32);
static_assert(sizeof(struct dmt_volume_record) == 512);
static_assert(sizeof(struct dmt_superblock) <= DMT_BLOCK_SIZE);
static_assert(sizeof(struct dmt_tier_label) <= 512);
#elif !defined(__KERNEL__)
_Static_assert(sizeof(struct dmt_block_header) == 32, "block header");
_Static_assert(sizeof(struct dmt_volume_record) == 512, "volume record");
#endif

#endif /* DM_TIER_METADATA_FORMAT_H */
