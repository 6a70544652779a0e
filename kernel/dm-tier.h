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
#include <linux/dm-kcopyd.h>
#include <linux/percpu.h>
#include <linux/llist.h>

#include "include/dm-tier/metadata-format.h"
#include "include/uapi/linux/dm-tier.h"

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
 *   [59:29]  physical extent
 *   [28]     unwritten: newly allocated, its first write still in flight;
 *            reads return zeros, other writes and discards are held, and
 *            commits record the extent as free (so after a crash it never
 *            shows an earlier owner's data where the write did not land)
 *   [27]     migrating: writes are held until the move completes
 *   [26]     pinned: never moved automatically
 *   [25]     prefetched, not accessed since
 *   [24]     recently moved (ping-pong guard)
 *   [23:16]  decayed read count
 *   [15:8]   decayed write count
 *   [7:0]    heat epoch of the counts
 * Updated with cmpxchg: the map path changes only the heat bits.
 */
#define DMT_FE_MAPPED (1ULL << 63)
#define DMT_FE_TIER_SHIFT 60
#define DMT_FE_PEXT_SHIFT 29
#define DMT_FE_PEXT_MASK 0x7fffffffULL
#define DMT_MAX_PEXT DMT_FE_PEXT_MASK
#define DMT_FE_UNWRITTEN (1ULL << 28)
#define DMT_FE_MIGRATING (1ULL << 27)
#define DMT_FE_PINNED (1ULL << 26)
#define DMT_FE_PREFETCHED (1ULL << 25)
#define DMT_FE_RECENT (1ULL << 24)
#define DMT_FE_HEAT_MASK 0xffffffULL
#define DMT_FE_LOCATION_MASK (~0ULL << DMT_FE_PEXT_SHIFT)

static inline bool dmt_fe_mapped(u64 fe) { return fe & DMT_FE_MAPPED; }
/*
 * May a bio use this entry's location?  Mapped, and written, unless the bio
 * is the extent's first write itself (@first).
 */
static inline bool dmt_fe_visible(u64 fe, bool first)
{
	return dmt_fe_mapped(fe) && (first || !(fe & DMT_FE_UNWRITTEN));
}
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

/* Atomically clear then set bits of an entry; returns the old value. */
static inline u64 dmt_fe_update(u64 *slot, u64 clear, u64 set)
{
	u64 old = READ_ONCE(*slot), prev;

	for (;;) {
		prev = cmpxchg64(slot, old, (old & ~clear) | set);
		if (prev == old)
			return old;
		old = prev;
	}
}

/* Heat counts decayed to @now (halved per epoch). */
static inline unsigned int dmt_fe_heat(u64 fe, u8 now, unsigned int *reads,
				       unsigned int *writes)
{
	unsigned int d = (u8)(now - (u8)fe);
	unsigned int r = (fe >> 16) & 0xff, w = (fe >> 8) & 0xff;

	r = d >= 8 ? 0 : r >> d;
	w = d >= 8 ? 0 : w >> d;
	if (reads)
		*reads = r;
	if (writes)
		*writes = w;
	return r + w;
}

/* Forward tables are allocated in pages of entries. */
#define DMT_CHUNK_SHIFT (PAGE_SHIFT - 3)
#define DMT_CHUNK_ENTRIES (1UL << DMT_CHUNK_SHIFT)

#define DMT_MAX_HINTS 64

struct dmt_hint {
	u64 begin, end;			/* virtual extents [begin, end) */
	unsigned int tier;
};

/* Per-volume I/O profile: struct dm_tier_profile (UAPI), per CPU. */

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

	struct dm_tier_profile __percpu *profile;
	sector_t last_end;		/* for the sequential share (racy) */
	u64 last_ve;			/* for the transition stream (racy) */
	unsigned int migrating;		/* in-flight migrations (md_lock) */

	/* Under md_lock. */
	u64 mapped[DM_TIER_MAX_TIERS];
	unsigned int stripe_next;
	unsigned int nr_hints;
	struct dmt_hint hints[DMT_MAX_HINTS];
};

/*
 * In-memory reverse-map entry: 48 bits, (volume record slot + 1) << 37 |
 * virtual extent; 0 = free.  Six bytes instead of the on-disk eight (the
 * volume id and the pinned flag are found through the slot and the forward
 * entry when a block is written), so that mapping + reverse map + heat stay
 * within 16 bytes per extent.
 */
struct dmt_rent {
	u16 w[3];
};
#define DMT_RENT_VEXT_BITS 37
#define DMT_MAX_VEXTS (1ULL << DMT_RENT_VEXT_BITS)	/* per volume */
#define DMT_RENTS_PER_PAGE (PAGE_SIZE / sizeof(struct dmt_rent))

struct dmt_tier {
	struct block_device *bdev;
	u64 nr_extents;
	u64 used;			/* allocated or waiting for a commit */
	u64 cursor;			/* next-fit allocation */
	unsigned long *alloc;		/* 1: mapped or pending free */
	unsigned long *pending_free;	/* freed since the last commit started */
	unsigned long *committing_free;	/* freed before the running commit */
	u64 freeing;			/* pending + committing frees */
	struct dmt_rent **rmap;		/* reverse map, DMT_RENTS_PER_PAGE a page */
	u64 rmap_pages;
	u64 rmap_blocks;		/* on-disk reverse-map blocks */
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

/* Access transitions for the controller, one ring per CPU per pool. */
#define DMT_TRANS_RING 4096
struct dmt_trans {
	u32 volume;
	struct dm_tier_transition t;
};

struct dmt_trans_ring {
	unsigned int head, tail;	/* head: producer (map path) */
	struct dmt_trans ent[DMT_TRANS_RING];
};

/* Migration requests, queued by messages, netlink and the policy. */
enum dmt_mig_kind {
	DMT_MIG_PREFETCH,		/* a promotion marked as prefetch */
	DMT_MIG_MOVE,			/* migrate command */
	DMT_MIG_PIN,			/* pin command: may move pinned extents */
	DMT_MIG_POLICY,			/* the in-kernel fallback policy */
	DMT_MIG_EVACUATE,		/* evacuate_tier */
};

struct dmt_mig_req {
	struct dmt_volume *vol;
	u64 ve;
	u64 seq;
	unsigned long deadline;		/* jiffies; prefetches */
	u8 tier;
	u8 kind;
};

struct dmt_migration {
	struct list_head list;		/* mig_active or mig_free (md_lock) */
	struct list_head start;		/* the worker's list of copies to start */
	struct llist_node done;		/* copy finished (kcopyd callback) */
	struct dmt_pool *pool;
	struct dmt_volume *vol;
	dmt_vext_t ve;
	unsigned int src_tier, dst_tier;
	dmt_pext_t src, dst;
	u8 kind;
	unsigned long deadline;
	struct bio_list held;		/* writes and discards waiting */
	int error;
};

#define DMT_MAX_MIGRATIONS 64
#define DMT_MIG_QUEUE 4096
#define DMT_MAX_PREFETCH_TRACK 4096

/* Extents moved recently, oldest first: RECENT clears residency_rounds later. */
#define DMT_MOVED_RING 16384
struct dmt_moved {
	struct dmt_volume *vol;		/* NULL: volume deleted */
	u64 ve;
	unsigned int round;
};

struct dmt_prefetch {
	struct dmt_volume *vol;
	u64 ve;
	unsigned long deadline;
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
	bool frozen;			/* tiers renumbering: map path defers */

	struct list_head volumes;	/* under md_lock */
	unsigned int nr_volumes;
	struct dmt_volume *vol_slots[DMT_MAX_VOLUMES];	/* by record slot */

	struct workqueue_struct *wq;
	struct work_struct worker;
	struct delayed_work commit_work;
	unsigned long commit_interval;	/* jiffies */
	struct bio_list deferred;	/* under lock */
	struct bio_list written;	/* first writes done (under lock) */
	struct bio_list unwritten_held;	/* waiting for a first write (md_lock) */

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

	/* Migration (dm-tier-migration.c), under md_lock unless noted. */
	struct dm_kcopyd_client *kcopyd;
	struct delayed_work mig_work;
	struct dmt_mig_req *queue;
	unsigned int queue_len;
	u64 mig_seq;
	struct list_head mig_active;	/* marked MIGRATING, copying */
	struct list_head mig_free;
	struct llist_head mig_done;	/* copied, not yet switched */
	unsigned int mig_in_flight;
	struct dmt_migration mig_slots[DMT_MAX_MIGRATIONS];
	unsigned int max_migrations;
	unsigned int bandwidth_mbps;	/* 0: unlimited */
	unsigned int yield_depth;	/* 0: never yield */
	u64 tokens;
	unsigned long tokens_at;
	u64 mig_done_count, mig_failed, mig_throttled, bytes_moved;

	/* Heat and the fallback policy (dm-tier-policy.c). */
	u8 heat_epoch;
	struct delayed_work policy_work;
	unsigned int policy_ms;
	unsigned int policy_rounds;
	bool fallback_enabled;
	bool controller_seen_once;
	unsigned long controller_seen;	/* jiffies of the last command */
	unsigned int fallback_timeout_s;
	unsigned int promote_threshold;
	unsigned int high_wm, low_wm;	/* percent of a tier */
	unsigned int residency_rounds;
	unsigned int prefetch_window_ms;
	struct dmt_prefetch *pf;
	unsigned int pf_len;
	struct dmt_moved *moved;	/* ring, md_lock */
	unsigned int moved_head, moved_len;
	int evacuating;			/* tier being drained, or -1 */
	u64 evac_cursor;

	/* The netlink controller (dm-tier-netlink.c). */
	u32 controller_portid;		/* 0: none */
	struct dmt_trans_ring **trans;	/* one per possible CPU */
	atomic64_t trans_drops;
	struct delayed_work report_work;
	struct dm_tier_migration_event *mig_events;	/* md_lock */
	unsigned int nr_mig_events;
	u64 report_drops;		/* reports the socket refused */
};

/* Per-bio data of a volume. */
struct dmt_bio {
	struct dmt_volume *vol;
	sector_t vsector;		/* target-relative start */
	int epoch;			/* -1: not counted */
	bool first;			/* the first write of a new extent */
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
void dmt_pool_first_write_done(struct dmt_pool *pool, struct bio *bio);
void dmt_pool_error(struct dmt_pool *pool, const char *op, int r);
void dmt_pool_drain_io(struct dmt_pool *pool);
struct dmt_volume *dmt_pool_find_volume(struct dmt_pool *pool, u32 id);
struct dmt_pool *dmt_pool_get_by_name(const char *name);
void dmt_pools_release_controller(u32 portid);
int __dmt_pool_hint(struct dmt_pool *pool, struct dmt_volume *vol, u64 begin,
		    u64 end, int tier);
int __dmt_pool_pin(struct dmt_pool *pool, struct dmt_volume *vol, u64 begin,
		   u64 end, int tier);
int __dmt_pool_setting(struct dmt_pool *pool, const char *key, unsigned int v,
		       bool apply);
int __dmt_pool_migrate(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		       unsigned int tier, enum dmt_mig_kind kind, unsigned int deadline_ms);
const char *dmt_mig_error_str(int r);
const char *dmt_pool_mode_name(struct dmt_pool *pool);
const char *dmt_policy_name(unsigned int policy);
const char *dmt_pool_policy_state(struct dmt_pool *pool);
void dmt_remap(struct dmt_pool *pool, struct bio *bio, u64 fe, sector_t vsector);

/* dm-tier-volume.c */
int dm_tier_volume_register(void);
void dm_tier_volume_unregister(void);

/* dm-tier-mapping.c */
static inline u64 *dmt_lookup_slot(struct dmt_volume *vol, dmt_vext_t ve)
{
	u64 e = from_vext(ve), ci = e >> DMT_CHUNK_SHIFT;
	u64 *chunk;

	if (ci >= READ_ONCE(vol->nr_chunks))
		return NULL;
	chunk = READ_ONCE(vol->chunks[ci]);
	if (!chunk)
		return NULL;
	return &chunk[e & (DMT_CHUNK_ENTRIES - 1)];
}

static inline u64 dmt_lookup(struct dmt_volume *vol, dmt_vext_t ve)
{
	u64 *slot = dmt_lookup_slot(vol, ve);

	return slot ? READ_ONCE(*slot) : 0;
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
void __dmt_map_written(struct dmt_pool *pool, struct dmt_volume *vol,
		       dmt_vext_t ve, bool ok);
u64 __dmt_commit_begin_frees(struct dmt_pool *pool);
void __dmt_commit_end_frees(struct dmt_pool *pool);
bool __dmt_commit_for_room(struct dmt_pool *pool);
int dmt_tier_alloc_maps(struct dmt_tier *t);
void dmt_tier_free_maps(struct dmt_tier *t);
int dmt_rmap_load_block(struct dmt_pool *pool, unsigned int tier, u64 blk,
			const struct dmt_block_header *h);
int dmt_rmap_fill_block(struct dmt_pool *pool, unsigned int tier, u64 blk,
			struct dmt_block_header *h);
struct dmt_volume *dmt_rmap_owner(struct dmt_pool *pool, unsigned int tier,
				  dmt_pext_t pe, dmt_vext_t *ve);

void __dmt_map_move(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		    unsigned int tier, dmt_pext_t pe, u64 set_flags);
void __dmt_set_pinned(struct dmt_pool *pool, struct dmt_volume *vol,
		      dmt_vext_t ve, bool pinned);
int __dmt_tier_reserve(struct dmt_pool *pool, unsigned int tier, dmt_pext_t *pe);

/* dm-tier-migration.c */
int dmt_mig_init(struct dmt_pool *pool);
void dmt_mig_exit(struct dmt_pool *pool);
void dmt_mig_kick(struct dmt_pool *pool);
int __dmt_mig_enqueue(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		      unsigned int tier, enum dmt_mig_kind kind, unsigned int deadline_ms);
bool __dmt_mig_hold(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		    struct bio *bio);
unsigned int __dmt_mig_queued_for(struct dmt_pool *pool, struct dmt_volume *vol);
void __dmt_mig_forget_volume(struct dmt_pool *pool, struct dmt_volume *vol);

/* dm-tier-heat.c */
void dmt_heat_account(struct dmt_pool *pool, struct dmt_volume *vol,
		      struct bio *bio, u64 *slot);
int dmt_profile_alloc(struct dmt_volume *vol);
void dmt_profile_free(struct dmt_volume *vol);
void dmt_profile_sum(struct dmt_volume *vol, struct dm_tier_profile *sum);

/* dm-tier-policy.c */
void dmt_policy_init(struct dmt_pool *pool);
void dmt_policy_start(struct dmt_pool *pool);
void dmt_policy_stop(struct dmt_pool *pool);
bool dmt_policy_fallback_active(struct dmt_pool *pool);
void dmt_policy_controller_seen(struct dmt_pool *pool);
void __dmt_prefetch_track(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
			  unsigned long deadline);
void __dmt_prefetch_forget_volume(struct dmt_pool *pool, struct dmt_volume *vol);
void __dmt_residency_add(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve);
int __dmt_evacuate(struct dmt_pool *pool, unsigned int tier);

/* dm-tier-netlink.c */
int dmt_netlink_register(void);
void dmt_netlink_unregister(void);
int dmt_netlink_pool_init(struct dmt_pool *pool);
void dmt_netlink_pool_exit(struct dmt_pool *pool);
void dmt_netlink_epoch(struct dmt_pool *pool);
void __dmt_netlink_migration(struct dmt_pool *pool, struct dmt_migration *m);
void dmt_netlink_transition(struct dmt_pool *pool, struct dmt_volume *vol,
			    struct bio *bio, u64 fe, bool prefetch_hit);

/* dm-tier-metadata.c */
int dmt_md_open(struct dmt_pool *pool, struct block_device *meta,
		struct block_device **tiers, unsigned int nr_tiers,
		sector_t extent_sectors, char **error);
int dmt_md_remove_tier(struct dmt_pool *pool, unsigned int r);
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
