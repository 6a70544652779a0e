/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-tier: internal declarations shared by the module's files.
 *
 *   dm-tier-pool.c      the tier-pool target: table line, messages, status,
 *                       the worker that allocates and commits
 *   dm-tier-volume.c    the tier target: one volume, the map path
 *   dm-tier-mapping.c   forward tables, reverse map, allocation
 *   dm-tier-metadata.c  on-disk format: load, format, commit
 */
#ifndef DM_TIER_H
#define DM_TIER_H

#include <linux/device-mapper.h>
#include <linux/dm-io.h>
#include <linux/bio.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "include/dm-tier/metadata-format.h"

#define DM_MSG_PREFIX "tier"

/* Tiers per pool; tier 0 is the fastest. */
#define DM_TIER_MAX_TIERS DMT_MAX_TIERS

/* Extent size bounds in 512-byte sectors: 128 KiB .. 1 GiB. */
#define DM_TIER_MIN_EXTENT_SECTORS (128 * 1024 >> SECTOR_SHIFT)
#define DM_TIER_MAX_EXTENT_SECTORS (1024 * 1024 * 1024 >> SECTOR_SHIFT)

/* Typed extent numbers: virtual (in a volume) and physical (on a tier). */
typedef struct { u64 v; } dmt_vext_t;
typedef struct { u64 p; } dmt_pext_t;

static inline dmt_vext_t to_vext(u64 v) { return (dmt_vext_t){ v }; }
static inline u64 from_vext(dmt_vext_t e) { return e.v; }
static inline dmt_pext_t to_pext(u64 p) { return (dmt_pext_t){ p }; }
static inline u64 from_pext(dmt_pext_t e) { return e.p; }

/*
 * Forward map entry, 8 bytes per virtual extent:
 *   [63]     mapped
 *   [62:60]  tier
 *   [59:28]  physical extent
 *   [27:24]  flags (migration, pinning: later)
 *   [23:0]   heat (later)
 */
#define DMT_FE_MAPPED (1ULL << 63)
#define DMT_FE_TIER_SHIFT 60
#define DMT_FE_PEXT_SHIFT 28
#define DMT_FE_PEXT_MASK 0xffffffffULL
#define DMT_MAX_PEXT DMT_FE_PEXT_MASK

static inline bool dmt_fe_mapped(u64 fe) { return fe & DMT_FE_MAPPED; }
static inline unsigned int dmt_fe_tier(u64 fe) { return (fe >> DMT_FE_TIER_SHIFT) & 7; }
static inline dmt_pext_t dmt_fe_pext(u64 fe)
{
	return to_pext((fe >> DMT_FE_PEXT_SHIFT) & DMT_FE_PEXT_MASK);
}
static inline u64 dmt_fe_make(unsigned int tier, dmt_pext_t p)
{
	return DMT_FE_MAPPED | ((u64)tier << DMT_FE_TIER_SHIFT) |
	       (from_pext(p) << DMT_FE_PEXT_SHIFT);
}

/* Forward tables are allocated in pages of entries. */
#define DMT_CHUNK_SHIFT (PAGE_SHIFT - 3)
#define DMT_CHUNK_ENTRIES (1UL << DMT_CHUNK_SHIFT)

#define DMT_MAX_HINTS 64

struct dmt_hint {
	u64 begin, end;			/* virtual extents [begin, end) */
	unsigned int tier;
};

struct dmt_volume {
	struct list_head list;		/* pool->volumes */
	u32 id;
	unsigned int slot;		/* record index in the volume area */
	struct dmt_volume_record *rec;	/* inside a metadata block image */
	unsigned int active;		/* tier targets holding it (md_lock) */
	struct mapped_device *active_md;	/* ... all of this device */

	/* Forward map: chunks[i] covers extents [i << SHIFT, (i+1) << SHIFT). */
	u64 **chunks;
	u64 nr_chunks;
	u64 nr_extents;			/* table length in extents (0 inactive) */

	/* Under pool->lock. */
	u64 mapped[DM_TIER_MAX_TIERS];
	unsigned int stripe_next;
	unsigned int nr_hints;
	struct dmt_hint hints[DMT_MAX_HINTS];
};

struct dmt_tier {
	struct block_device *bdev;
	u64 nr_extents;
	u64 used;			/* allocated or waiting for a commit */
	u64 cursor;			/* next-fit allocation */
	unsigned long *alloc;		/* 1: mapped or pending free */
	unsigned long *pending_free;	/* freed since the last commit started */
	unsigned long *committing_free;	/* freed before the running commit */
	void **rmap;			/* reverse-map block images */
	u64 rmap_blocks;
	u64 md_base;			/* first logical metadata block */
};

enum dmt_mode {
	DMT_MODE_RW,
	DMT_MODE_RO,
	DMT_MODE_FAIL,
};

struct dmt_metadata {
	struct block_device *bdev;
	struct dm_io_client *io;
	struct dmt_superblock *sb;	/* last committed, in memory */
	u64 generation;
	unsigned int sb_slot;		/* slot holding the current superblock */
	u64 dev_blocks;
	u64 nr_blocks;			/* logical blocks (volume + rmap) */
	unsigned long *dirty;		/* per logical block */
	unsigned long *cur_slot;	/* per logical block: slot 1 current */
	void **vol_blocks;		/* volume block images */
	void *bounce;			/* DMT_BLOCK_SIZE, for commits */
};

struct dmt_pool {
	struct list_head list;		/* dm_tier pools */
	struct mapped_device *pool_md;
	int ref;			/* under dm_tier_pools_lock */
	struct dm_target *ti;		/* the active pool target */

	sector_t extent_sectors;
	unsigned int extent_shift;
	unsigned int nr_tiers;
	struct dmt_tier tiers[DM_TIER_MAX_TIERS];

	spinlock_t lock;		/* deferred bios, free bitmaps, counters */
	struct mutex md_lock;		/* every metadata change and commit */
	struct dmt_metadata md;
	bool dirty;			/* uncommitted changes */
	enum dmt_mode mode;
	bool needs_check;
	bool out_of_space;

	struct list_head volumes;	/* under md_lock */
	unsigned int nr_volumes;

	struct workqueue_struct *wq;
	struct work_struct worker;
	struct delayed_work commit_work;
	unsigned long commit_interval;	/* jiffies */
	struct bio_list deferred;	/* under lock */

	/*
	 * I/O remapped to a physical extent counts in inflight[io_epoch]; a
	 * commit that frees extents flips the epoch and waits for the old
	 * one to drain before the extents can be reused.
	 */
	unsigned int io_epoch;
	atomic_t inflight[2];
	wait_queue_head_t drain_wait;

	/* Counters (under lock). */
	u64 commits;
	u64 allocations;
	u64 enospc;
};

/* Per-bio data of a volume. */
struct dmt_bio {
	struct dmt_volume *vol;
	sector_t vsector;		/* target-relative start */
	int epoch;			/* -1: not counted */
};

static inline void dmt_io_enter(struct dmt_pool *pool, struct dmt_bio *pb)
{
	pb->epoch = READ_ONCE(pool->io_epoch);
	atomic_inc(&pool->inflight[pb->epoch]);
	/* Order the count before the mapping lookup that follows. */
	smp_mb__after_atomic();
}

static inline void dmt_io_exit(struct dmt_pool *pool, struct dmt_bio *pb)
{
	if (pb->epoch < 0)
		return;
	if (atomic_dec_and_test(&pool->inflight[pb->epoch]) &&
	    wq_has_sleeper(&pool->drain_wait))
		wake_up(&pool->drain_wait);
	pb->epoch = -1;
}

/* dm-tier-pool.c */
int dm_tier_pool_register(void);
void dm_tier_pool_unregister(void);
struct dmt_pool *dmt_pool_get(struct mapped_device *pool_md);
void dmt_pool_put(struct dmt_pool *pool);
void dmt_pool_defer_bio(struct dmt_pool *pool, struct bio *bio);
void dmt_pool_error(struct dmt_pool *pool, const char *op, int r);
void dmt_pool_drain_io(struct dmt_pool *pool);
struct dmt_volume *dmt_pool_find_volume(struct dmt_pool *pool, u32 id);
void dmt_remap(struct dmt_pool *pool, struct bio *bio, u64 fe, sector_t vsector);

/* dm-tier-volume.c */
int dm_tier_volume_register(void);
void dm_tier_volume_unregister(void);

/* dm-tier-mapping.c */
static inline u64 dmt_lookup(struct dmt_volume *vol, dmt_vext_t ve)
{
	u64 e = from_vext(ve), ci = e >> DMT_CHUNK_SHIFT;
	u64 *chunk;

	if (ci >= READ_ONCE(vol->nr_chunks))
		return 0;
	chunk = READ_ONCE(vol->chunks[ci]);
	if (!chunk)
		return 0;
	return READ_ONCE(chunk[e & (DMT_CHUNK_ENTRIES - 1)]);
}

int dmt_vol_reserve(struct dmt_volume *vol, u64 nr_extents);
int dmt_vol_prepare(struct dmt_volume *vol, dmt_vext_t ve, gfp_t gfp);
void dmt_vol_free_map(struct dmt_volume *vol);
u64 dmt_vol_map_bytes(struct dmt_volume *vol);
int __dmt_alloc(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		unsigned int *tier, dmt_pext_t *pe);
void __dmt_map_insert(struct dmt_pool *pool, struct dmt_volume *vol,
		      dmt_vext_t ve, unsigned int tier, dmt_pext_t pe);
void __dmt_map_remove(struct dmt_pool *pool, struct dmt_volume *vol,
		      dmt_vext_t ve);
void __dmt_unreserve(struct dmt_pool *pool, unsigned int tier, dmt_pext_t pe);
u64 __dmt_commit_begin_frees(struct dmt_pool *pool);
void __dmt_commit_end_frees(struct dmt_pool *pool);
int dmt_tier_alloc_maps(struct dmt_tier *t);
void dmt_tier_free_maps(struct dmt_tier *t);
int dmt_rebuild_forward(struct dmt_pool *pool);
u64 *dmt_rmap_entry(struct dmt_tier *t, dmt_pext_t pe);

/* dm-tier-metadata.c */
int dmt_md_open(struct dmt_pool *pool, struct block_device *meta,
		struct block_device **tiers, unsigned int nr_tiers,
		sector_t extent_sectors, char **error);
int dmt_md_add_tiers(struct dmt_pool *pool, struct block_device **tiers,
		     unsigned int nr_tiers, char **error);
void dmt_md_close(struct dmt_pool *pool);
int dmt_md_commit(struct dmt_pool *pool);
void __dmt_md_dirty_rmap(struct dmt_pool *pool, unsigned int tier, dmt_pext_t pe);
void __dmt_md_dirty_volume(struct dmt_pool *pool, struct dmt_volume *vol);
struct dmt_volume_record *dmt_md_volume_record(struct dmt_pool *pool,
					       unsigned int slot);
u64 dmt_md_blocks_used(struct dmt_pool *pool);

#endif /* DM_TIER_H */
