/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-tier generic netlink interface: heat reports, access transitions and
 * tiering commands between dm-tier.ko and its controller (tierd).
 *
 * Family DM_TIER_GENL_NAME, version DM_TIER_GENL_VERSION, in the initial
 * network namespace only.  Every command needs CAP_SYS_ADMIN in the initial
 * user namespace.  Requests are validated strictly (unknown attributes,
 * wrong types and lengths are refused); errors carry an extended-ack
 * message naming the problem.
 *
 * A pool is named by its device-mapper device name (DM_TIER_ATTR_POOL).
 * One controller per pool: DM_TIER_CMD_REGISTER claims it; the kernel then
 * sends that socket's port, and only it, the reports below (never a
 * multicast group: access patterns reveal what tenants do).  When the
 * socket closes the kernel notices at once and the in-kernel fallback
 * policy takes over.  Any command from the controller counts as a sign of
 * life; after fallback_timeout_s of silence the fallback policy resumes.
 *
 * Commands from the controller (all take DM_TIER_ATTR_POOL):
 *
 *   REGISTER      [FLAGS: DM_TIER_F_TAKEOVER]  claim the pool; a pool with
 *                 another live controller is refused (EBUSY) unless
 *                 TAKEOVER is set.  Reply: GET_POOL's attributes.
 *   UNREGISTER    give the pool back to the fallback policy.
 *   MIGRATE, PREFETCH, PIN, UNPIN, SET_HINT
 *                 EXTENT_CMDS: one or more binary attributes inside
 *                 DM_TIER_ATTR_BATCH, each an array of
 *                 struct dm_tier_extent_cmd (thousands per message).
 *                 MIGRATE:  volume, extent, tier
 *                 PREFETCH: volume, extent, tier, deadline_ms (0: default)
 *                 PIN:      volume, extent .. end (exclusive), tier
 *                 UNPIN:    volume, extent .. end
 *                 SET_HINT: volume, extent .. end, tier (DM_TIER_TIER_NONE
 *                           clears)
 *                 Reply: ACCEPTED, REJECTED counts and FIRST_ERROR (a
 *                 negative errno of the first rejected entry, with its
 *                 index in FIRST_ERROR_INDEX).  Entries are independent.
 *   SET_PARAMS    PARAMS: nest of DM_TIER_PARAM_* (u32 each); applied all
 *                 or none.
 *   GET_POOL      reply: POOL, NR_TIERS, TIERS (nest of TIER nests:
 *                 TIER_INDEX, TIER_USED, TIER_TOTAL), MODE, NEEDS_CHECK,
 *                 POLICY, NR_VOLUMES, MIG_DONE, MIG_FAILED, MIG_QUEUED,
 *                 BYTES_MOVED, EXTENT_SECTORS, EPOCH, DROPS.
 *   GET_VOLUME    VOLUME; reply: VOLUME, MAPPED (array of __u64 per tier),
 *                 PROFILE (struct dm_tier_profile), TIERING_ENABLED,
 *                 POLICY_NAME, MODEL.
 *   DUMP_HEAT     VOLUME (dump): messages with HEAT (array of struct
 *                 dm_tier_heat_entry) covering every mapped extent.
 *
 * Reports to the controller (unicast, seq 0):
 *
 *   HEAT_REPORT   each epoch, per volume with touched extents: POOL,
 *                 VOLUME, EPOCH, HEAT (array of struct dm_tier_heat_entry
 *                 for the extents accessed during the last epoch or
 *                 since it ended, counts decayed to EPOCH).
 *   PROFILE_REPORT each epoch, per active volume: POOL, VOLUME, EPOCH,
 *                 PROFILE (struct dm_tier_profile, cumulative counters).
 *   TRANSITIONS   POOL, VOLUME, TRANSITIONS (array of struct
 *                 dm_tier_transition), DROPS (cumulative transitions lost
 *                 because the buffers were full).
 *   MIGRATION_DONE POOL, MIGRATIONS (array of struct dm_tier_migration_event).
 */
#ifndef _UAPI_LINUX_DM_TIER_H
#define _UAPI_LINUX_DM_TIER_H

#include <linux/types.h>

#define DM_TIER_GENL_NAME "dm_tier"
#define DM_TIER_GENL_VERSION 1

enum dm_tier_cmd {
	DM_TIER_CMD_UNSPEC,
	DM_TIER_CMD_REGISTER,
	DM_TIER_CMD_UNREGISTER,
	DM_TIER_CMD_MIGRATE,
	DM_TIER_CMD_PREFETCH,
	DM_TIER_CMD_PIN,
	DM_TIER_CMD_UNPIN,
	DM_TIER_CMD_SET_HINT,
	DM_TIER_CMD_SET_PARAMS,
	DM_TIER_CMD_GET_POOL,
	DM_TIER_CMD_GET_VOLUME,
	DM_TIER_CMD_DUMP_HEAT,
	DM_TIER_CMD_HEAT_REPORT,
	DM_TIER_CMD_PROFILE_REPORT,
	DM_TIER_CMD_TRANSITIONS,
	DM_TIER_CMD_MIGRATION_DONE,
	__DM_TIER_CMD_MAX,
};
#define DM_TIER_CMD_MAX (__DM_TIER_CMD_MAX - 1)

enum dm_tier_attr {
	DM_TIER_ATTR_UNSPEC,
	DM_TIER_ATTR_POOL,		/* string: dm device name */
	DM_TIER_ATTR_FLAGS,		/* u32: DM_TIER_F_* */
	DM_TIER_ATTR_VOLUME,		/* u32 */
	DM_TIER_ATTR_BATCH,		/* nest of DM_TIER_ATTR_EXTENT_CMDS */
	DM_TIER_ATTR_EXTENT_CMDS,	/* binary: struct dm_tier_extent_cmd[] */
	DM_TIER_ATTR_ACCEPTED,		/* u32 */
	DM_TIER_ATTR_REJECTED,		/* u32 */
	DM_TIER_ATTR_FIRST_ERROR,	/* s32: -errno */
	DM_TIER_ATTR_FIRST_ERROR_INDEX,	/* u32 */
	DM_TIER_ATTR_PARAMS,		/* nest of DM_TIER_PARAM_* */
	DM_TIER_ATTR_NR_TIERS,		/* u32 */
	DM_TIER_ATTR_TIERS,		/* nest of DM_TIER_ATTR_TIER */
	DM_TIER_ATTR_TIER,		/* nest of DM_TIER_TIER_* */
	DM_TIER_ATTR_MODE,		/* string: rw | ro | fail */
	DM_TIER_ATTR_NEEDS_CHECK,	/* u8 */
	DM_TIER_ATTR_POLICY,		/* string: fallback | controller | off */
	DM_TIER_ATTR_NR_VOLUMES,	/* u32 */
	DM_TIER_ATTR_MIG_DONE,		/* u64 */
	DM_TIER_ATTR_MIG_FAILED,	/* u64 */
	DM_TIER_ATTR_MIG_QUEUED,	/* u32 */
	DM_TIER_ATTR_BYTES_MOVED,	/* u64 */
	DM_TIER_ATTR_EXTENT_SECTORS,	/* u64 */
	DM_TIER_ATTR_EPOCH,		/* u32: heat epoch (policy rounds) */
	DM_TIER_ATTR_DROPS,		/* u64 */
	DM_TIER_ATTR_MAPPED,		/* binary: __u64[nr_tiers] */
	DM_TIER_ATTR_PROFILE,		/* binary: struct dm_tier_profile */
	DM_TIER_ATTR_TIERING_ENABLED,	/* u8 */
	DM_TIER_ATTR_POLICY_NAME,	/* string: the volume's tiering_policy */
	DM_TIER_ATTR_MODEL,		/* string: the volume's prediction_model */
	DM_TIER_ATTR_HEAT,		/* binary: struct dm_tier_heat_entry[] */
	DM_TIER_ATTR_TRANSITIONS,	/* binary: struct dm_tier_transition[] */
	DM_TIER_ATTR_MIGRATIONS,	/* binary: struct dm_tier_migration_event[] */
	DM_TIER_ATTR_PAD,
	__DM_TIER_ATTR_MAX,
};
#define DM_TIER_ATTR_MAX (__DM_TIER_ATTR_MAX - 1)

/* Inside DM_TIER_ATTR_TIER. */
enum dm_tier_tier_attr {
	DM_TIER_TIER_UNSPEC,
	DM_TIER_TIER_INDEX,		/* u32 */
	DM_TIER_TIER_USED,		/* u64: extents */
	DM_TIER_TIER_TOTAL,		/* u64: extents */
	DM_TIER_TIER_PAD,
	__DM_TIER_TIER_MAX,
};
#define DM_TIER_TIER_MAX (__DM_TIER_TIER_MAX - 1)

/* Inside DM_TIER_ATTR_PARAMS: the pool settings of docs/dm-tier.md. */
enum dm_tier_param {
	DM_TIER_PARAM_UNSPEC,
	DM_TIER_PARAM_MIGRATION_BANDWIDTH_MBPS,
	DM_TIER_PARAM_MAX_MIGRATIONS,
	DM_TIER_PARAM_YIELD_DEPTH,
	DM_TIER_PARAM_FALLBACK_TIMEOUT_S,
	DM_TIER_PARAM_PROMOTE_THRESHOLD,
	DM_TIER_PARAM_HIGH_WATERMARK,
	DM_TIER_PARAM_LOW_WATERMARK,
	DM_TIER_PARAM_POLICY_INTERVAL_MS,
	DM_TIER_PARAM_RESIDENCY_ROUNDS,
	DM_TIER_PARAM_PREFETCH_WINDOW_MS,
	DM_TIER_PARAM_FALLBACK,		/* 0 or 1 */
	__DM_TIER_PARAM_MAX,
};
#define DM_TIER_PARAM_MAX (__DM_TIER_PARAM_MAX - 1)

#define DM_TIER_F_TAKEOVER (1U << 0)

#define DM_TIER_TIER_NONE 0xffffffffU

/* One command of a batch.  Fields a command does not use must be zero. */
struct dm_tier_extent_cmd {
	__u32 volume;
	__u32 tier;
	__u64 extent;
	__u64 end;			/* ranges: exclusive end; else 0 */
	__u32 deadline_ms;		/* PREFETCH */
	__u32 reserved;
};

/* Heat of one extent: decayed counts, 0..255. */
#define DM_TIER_HEAT_PINNED (1U << 0)
#define DM_TIER_HEAT_MIGRATING (1U << 1)
#define DM_TIER_HEAT_PREFETCHED (1U << 2)

struct dm_tier_heat_entry {
	__u64 extent;
	__u8 tier;
	__u8 reads;
	__u8 writes;
	__u8 flags;			/* DM_TIER_HEAT_* */
	__u32 reserved;
};

/* The access moved to another extent. */
#define DM_TIER_TR_WRITE (1U << 0)
#define DM_TIER_TR_PREFETCH_HIT (1U << 1)	/* first use of a prefetch */
#define DM_TIER_TR_MAPPED (1U << 2)		/* extent was mapped */

struct dm_tier_transition {
	__u64 time_ns;			/* ktime_get_ns() */
	__u64 extent;
	__u32 bytes;
	__u16 flags;			/* DM_TIER_TR_* */
	__u8 tier;			/* when mapped */
	__u8 reserved;
};

#define DM_TIER_SIZE_BUCKETS 8		/* <=4K, 8K, 16K, 32K, 64K, 128K, 256K, more */

struct dm_tier_profile {
	__u64 reads;
	__u64 writes;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 sequential;		/* bios starting where the previous ended */
	__u64 size_hist[DM_TIER_SIZE_BUCKETS];
	__u64 prefetch_hits;
	__u64 prefetch_misses;
};

#define DM_TIER_MIG_OK (1U << 0)
#define DM_TIER_MIG_PREFETCH (1U << 1)

struct dm_tier_migration_event {
	__u64 extent;
	__u32 volume;
	__u8 from_tier;
	__u8 to_tier;
	__u16 flags;			/* DM_TIER_MIG_* */
};

#ifdef __cplusplus
static_assert(sizeof(struct dm_tier_extent_cmd) == 32, "wire struct");
static_assert(sizeof(struct dm_tier_heat_entry) == 16, "wire struct");
static_assert(sizeof(struct dm_tier_transition) == 24, "wire struct");
static_assert(sizeof(struct dm_tier_profile) == 120, "wire struct");
static_assert(sizeof(struct dm_tier_migration_event) == 16, "wire struct");
#elif !defined(__KERNEL__) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct dm_tier_extent_cmd) == 32, "wire struct");
_Static_assert(sizeof(struct dm_tier_heat_entry) == 16, "wire struct");
_Static_assert(sizeof(struct dm_tier_transition) == 24, "wire struct");
_Static_assert(sizeof(struct dm_tier_profile) == 120, "wire struct");
_Static_assert(sizeof(struct dm_tier_migration_event) == 16, "wire struct");
#endif

#endif /* _UAPI_LINUX_DM_TIER_H */
