// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: the tier-pool target.
 *
 * A pool (struct dmt_pool) outlives table reloads of its device: it is
 * found again by the pool's mapped_device, as dm-thin does.  The pool
 * target instance (struct pool_c) holds the devices of one table.  The
 * pool's worker allocates extents for first writes, handles flushes and
 * discards, and commits metadata.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/delay.h>

#include "dm-tier.h"

static DEFINE_MUTEX(dm_tier_pools_lock);
static LIST_HEAD(dm_tier_pools);

#define POOL_DEFAULT_COMMIT_MS 1000

struct pool_c {
	struct dm_target *ti;
	struct dmt_pool *pool;
	struct dm_dev *metadata_dev;
	sector_t extent_sectors;
	unsigned int nr_tiers;
	struct dm_dev *tier_dev[DM_TIER_MAX_TIERS];
	unsigned int commit_ms;
	bool no_fallback;
	int remove_tier;		/* reload leaves this empty tier out */

	/* Settings, see pool_settings[]. */
	unsigned int bandwidth_mbps, max_migrations, yield_depth;
	unsigned int fallback_timeout_s, promote_threshold, high_wm, low_wm;
	unsigned int policy_ms, residency_rounds, prefetch_window_ms;
};

static const char *const pool_policy_names[DMT_NR_POLICIES] = {
	[DMT_POLICY_BALANCED] = "balanced",
	[DMT_POLICY_PERFORMANCE] = "performance-optimized",
	[DMT_POLICY_COST] = "cost-optimized",
	[DMT_POLICY_STRIPED] = "striped",
};

static const char *const pool_mode_names[] = {
	[DMT_MODE_RW] = "rw", [DMT_MODE_RO] = "ro", [DMT_MODE_FAIL] = "fail",
};

/* ------------------------------------------------------------ pool state */

struct dmt_volume *dmt_pool_find_volume(struct dmt_pool *pool, u32 id)
{
	struct dmt_volume *vol;

	list_for_each_entry(vol, &pool->volumes, list)
		if (vol->id == id)
			return vol;
	return NULL;
}

/*
 * A metadata I/O error: the pool goes read-only with needs_check set (no
 * new allocation; mapped extents still work); a second error fails it.
 */
void dmt_pool_error(struct dmt_pool *pool, const char *op, int r)
{
	enum dmt_mode mode = READ_ONCE(pool->mode);

	DMERR("%s: metadata %s failed (%d): pool %s", pool->pool_md ?
	      dm_device_name(pool->pool_md) : "?", op, r,
	      mode == DMT_MODE_RW ? "read-only, needs_check" : "failed");
	pool->needs_check = true;
	WRITE_ONCE(pool->mode, mode == DMT_MODE_RW ? DMT_MODE_RO : DMT_MODE_FAIL);
}

void dmt_pool_drain_io(struct dmt_pool *pool)
{
	unsigned int old = pool->io_epoch;

	WRITE_ONCE(pool->io_epoch, !old);
	smp_mb();
	wait_event(pool->drain_wait, !atomic_read(&pool->inflight[old]));
}

void dmt_remap(struct dmt_pool *pool, struct bio *bio, u64 fe, sector_t vsector)
{
	struct dmt_tier *t = &pool->tiers[dmt_fe_tier(fe)];

	bio_set_dev(bio, t->bdev);
	bio->bi_iter.bi_sector = DMT_TIER_DATA_OFFSET +
		(from_pext(dmt_fe_pext(fe)) << pool->extent_shift) +
		(vsector & (pool->extent_sectors - 1));
}

/* Hand a bio to the worker (NULL: just wake it). */
void dmt_pool_defer_bio(struct dmt_pool *pool, struct bio *bio)
{
	unsigned long flags;

	if (bio) {
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->deferred, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
	}
	queue_work(pool->wq, &pool->worker);
}

/* -------------------------------------------------------------- worker */

/* Zero the parts of a new extent that the first write does not cover. */
static int pool_zero_around(struct dmt_pool *pool, struct block_device *bdev,
			    sector_t pstart, sector_t off, sector_t len)
{
	int r = 0;

	if (off)
		r = blkdev_issue_zeroout(bdev, pstart, off, GFP_NOIO, 0);
	if (!r && off + len < pool->extent_sectors)
		r = blkdev_issue_zeroout(bdev, pstart + off + len,
					 pool->extent_sectors - off - len, GFP_NOIO, 0);
	return r;
}

/*
 * A write to an unmapped extent: allocate, zero what the bio does not
 * cover, publish the mapping, remap.  Returns the bio status on failure.
 */
static blk_status_t pool_provision(struct dmt_pool *pool, struct bio *bio,
				   struct dmt_bio *pb)
{
	struct dmt_volume *vol = pb->vol;
	dmt_vext_t ve = to_vext(pb->vsector >> pool->extent_shift);
	sector_t off = pb->vsector & (pool->extent_sectors - 1);
	unsigned int tier;
	dmt_pext_t pe;
	int r;

	if (READ_ONCE(pool->mode) != DMT_MODE_RW)
		return BLK_STS_IOERR;
	r = dmt_vol_prepare(vol, ve, GFP_NOIO);
	if (r)
		return r == -ENOMEM ? BLK_STS_RESOURCE : BLK_STS_IOERR;
	r = __dmt_alloc(pool, vol, ve, &tier, &pe);
	if (r == -ENOSPC && __dmt_commit_for_room(pool))
		r = __dmt_alloc(pool, vol, ve, &tier, &pe);
	if (r) {
		if (!pool->out_of_space)
			DMWARN("%s: out of space on every tier",
			       dm_device_name(pool->pool_md));
		pool->out_of_space = true;
		pool->enospc++;
		return BLK_STS_NOSPC;
	}
	r = pool_zero_around(pool, pool->tiers[tier].bdev, DMT_TIER_DATA_OFFSET +
			     (from_pext(pe) << pool->extent_shift), off,
			     min_t(sector_t, bio_sectors(bio), pool->extent_sectors - off));
	if (r) {
		__dmt_unreserve(pool, tier, pe);
		return BLK_STS_IOERR;
	}
	/* dirty is set before the mapping is visible (see tier_map()). */
	__dmt_map_insert(pool, vol, ve, tier, pe);
	pool->out_of_space = false;
	return BLK_STS_OK;
}

/* Discard: whole extents are unmapped; partial ones are passed down. */
static void pool_discard(struct dmt_pool *pool, struct bio *bio, struct dmt_bio *pb)
{
	sector_t s = pb->vsector, end = s + bio_sectors(bio);
	sector_t es = pool->extent_sectors;

	while (s < end) {
		dmt_vext_t ve = to_vext(s >> pool->extent_shift);
		sector_t off = s & (es - 1), len = min(end - s, es - off);
		u64 fe = dmt_lookup(pb->vol, ve);

		if (dmt_fe_mapped(fe)) {
			if (len == es && READ_ONCE(pool->mode) == DMT_MODE_RW) {
				__dmt_map_remove(pool, pb->vol, ve);
			} else {
				struct block_device *bdev = pool->tiers[dmt_fe_tier(fe)].bdev;

				if (bdev_max_discard_sectors(bdev))
					blkdev_issue_discard(bdev, DMT_TIER_DATA_OFFSET +
						(from_pext(dmt_fe_pext(fe)) << pool->extent_shift) + off,
						len, GFP_NOIO);
			}
		}
		s += len;
	}
}

/*
 * A write or discard touching an extent that is being copied waits for the
 * copy to finish (it is then replayed against the new location); one
 * touching an extent whose first write is in flight waits for that write.
 */
static bool pool_hold(struct dmt_pool *pool, struct bio *bio, struct dmt_bio *pb)
{
	sector_t s = pb->vsector, end = s + max(bio_sectors(bio), 1U);

	if (!op_is_write(bio_op(bio)))
		return false;
	for (; s < end; s = round_up(s + 1, pool->extent_sectors)) {
		dmt_vext_t ve = to_vext(s >> pool->extent_shift);
		u64 fe = dmt_lookup(pb->vol, ve);

		if (fe & DMT_FE_MIGRATING && __dmt_mig_hold(pool, pb->vol, ve, bio))
			return true;
		if (fe & DMT_FE_UNWRITTEN && !pb->first) {
			bio_list_add(&pool->unwritten_held, bio);
			return true;
		}
	}
	return false;
}

/*
 * Called from tier_end_io() when the first write of a new extent is done:
 * the worker records the extent as written (or unmaps it after an error)
 * and only then completes the bio.
 */
void dmt_pool_first_write_done(struct dmt_pool *pool, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->written, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	queue_work(pool->wq, &pool->worker);
}

/*
 * First writes that completed: their extents become committable; the
 * writes they held go back to @bios.  Returns true if one was a REQ_FUA
 * write (its mapping must be committed before it completes).
 */
static bool __pool_first_writes_done(struct dmt_pool *pool, struct bio_list *written,
				     struct bio_list *bios)
{
	struct bio *bio;
	bool fua = false;

	if (bio_list_empty(written))
		return false;
	bio_list_for_each(bio, written) {
		struct dmt_bio *pb = dm_per_bio_data(bio, sizeof(*pb));

		__dmt_map_written(pool, pb->vol, to_vext(pb->vsector >> pool->extent_shift),
				  !bio->bi_status);
		pb->first = false;
		if (!bio->bi_status && bio->bi_opf & REQ_FUA)
			fua = true;
	}
	bio_list_merge_head(bios, &pool->unwritten_held);
	bio_list_init(&pool->unwritten_held);
	return fua;
}

static int pool_flush_tiers(struct dmt_pool *pool)
{
	unsigned int i;
	int r = 0;

	for (i = 0; i < pool->nr_tiers && !r; i++)
		r = blkdev_issue_flush(pool->tiers[i].bdev);
	return r;
}

static void pool_worker(struct work_struct *ws)
{
	struct dmt_pool *pool = container_of(ws, struct dmt_pool, worker);
	struct bio_list bios, flushes, after_commit, submit, written;
	struct bio *bio;
	blk_status_t st;
	bool written_fua;
	int r;

	bio_list_init(&flushes);
	bio_list_init(&after_commit);
	bio_list_init(&submit);

	spin_lock_irq(&pool->lock);
	bios = pool->deferred;
	bio_list_init(&pool->deferred);
	written = pool->written;
	bio_list_init(&pool->written);
	spin_unlock_irq(&pool->lock);
	if (bio_list_empty(&bios) && bio_list_empty(&written))
		return;

	mutex_lock(&pool->md_lock);
	written_fua = __pool_first_writes_done(pool, &written, &bios);
	while ((bio = bio_list_pop(&bios))) {
		struct dmt_bio *pb = dm_per_bio_data(bio, sizeof(*pb));
		u64 fe;

		if (bio->bi_opf & REQ_PREFLUSH) {
			bio_list_add(&flushes, bio);
			continue;
		}
		if (pool_hold(pool, bio, pb))
			continue;
		if (bio_op(bio) == REQ_OP_DISCARD) {
			pool_discard(pool, bio, pb);
			bio_endio(bio);
			continue;
		}
		fe = dmt_lookup(pb->vol, to_vext(pb->vsector >> pool->extent_shift));
		if (!dmt_fe_visible(fe, pb->first)) {
			if (bio_data_dir(bio) == READ) {
				/* Nothing acknowledged is there yet. */
				zero_fill_bio(bio);
				bio_endio(bio);
				continue;
			}
			st = pool_provision(pool, bio, pb);
			if (st) {
				bio->bi_status = st;
				bio_endio(bio);
				continue;
			}
			pb->first = true;
		}
		if (bio->bi_opf & REQ_FUA && !pb->first)
			bio_list_add(&after_commit, bio);
		else
			bio_list_add(&submit, bio);
	}

	r = 0;
	if (!bio_list_empty(&flushes) || !bio_list_empty(&after_commit) || written_fua) {
		/*
		 * In read-only mode pending changes can no longer be made
		 * durable: flushes must fail rather than claim they are.
		 */
		if (READ_ONCE(pool->dirty))
			r = dmt_md_commit(pool);
		else
			r = pool_flush_tiers(pool);
	}
	mutex_unlock(&pool->md_lock);

	while ((bio = bio_list_pop(&written))) {
		if (r && bio->bi_opf & REQ_FUA)
			bio->bi_status = BLK_STS_IOERR;
		bio_endio(bio);
	}
	bio_list_merge(&submit, &after_commit);
	while ((bio = bio_list_pop(&submit))) {
		struct dmt_bio *pb = dm_per_bio_data(bio, sizeof(*pb));
		u64 fe;

		if (r && (bio->bi_opf & REQ_FUA) && !pb->first) {
			bio_io_error(bio);
			continue;
		}
		dmt_io_enter(pool, pb);
		fe = dmt_lookup(pb->vol, to_vext(pb->vsector >> pool->extent_shift));
		if (!dmt_fe_visible(fe, pb->first) || READ_ONCE(pool->frozen) ||
		    (fe & DMT_FE_MIGRATING && op_is_write(bio_op(bio)))) {
			/* Discarded or being moved meanwhile: start over. */
			dmt_io_exit(pool, pb);
			dmt_pool_defer_bio(pool, bio);
			continue;
		}
		dmt_remap(pool, bio, fe, pb->vsector);
		submit_bio_noacct(bio);
	}
	while ((bio = bio_list_pop(&flushes))) {
		if (r)
			bio_io_error(bio);
		else
			bio_endio(bio);
	}
}

static void pool_commit_worker(struct work_struct *ws)
{
	struct dmt_pool *pool = container_of(to_delayed_work(ws), struct dmt_pool,
					     commit_work);

	mutex_lock(&pool->md_lock);
	if (READ_ONCE(pool->dirty) && READ_ONCE(pool->mode) == DMT_MODE_RW)
		dmt_md_commit(pool);
	mutex_unlock(&pool->md_lock);
	queue_delayed_work(pool->wq, &pool->commit_work, pool->commit_interval);
}

/* ----------------------------------------------------- pool lifetime */

static void pool_apply_features(struct dmt_pool *pool, struct pool_c *pc);

static void pool_free_volumes(struct dmt_pool *pool)
{
	struct dmt_volume *vol, *tmp;

	list_for_each_entry_safe(vol, tmp, &pool->volumes, list) {
		list_del(&vol->list);
		dmt_vol_free_map(vol);
		dmt_profile_free(vol);
		kfree(vol);
	}
	pool->nr_volumes = 0;
}

static void pool_destroy(struct dmt_pool *pool)
{
	unsigned int i;

	if (pool->wq) {
		dmt_policy_stop(pool);
		dmt_netlink_pool_exit(pool);
		dmt_mig_exit(pool);
		cancel_delayed_work_sync(&pool->commit_work);
		flush_workqueue(pool->wq);
		destroy_workqueue(pool->wq);
	}
	kvfree(pool->pf);
	if (pool->md.sb) {
		mutex_lock(&pool->md_lock);
		if (READ_ONCE(pool->dirty) && pool->mode == DMT_MODE_RW)
			dmt_md_commit(pool);
		mutex_unlock(&pool->md_lock);
	}
	pool_free_volumes(pool);
	for (i = 0; i < DM_TIER_MAX_TIERS; i++)
		dmt_tier_free_maps(&pool->tiers[i]);
	dmt_md_close(pool);
	kfree(pool);
}

static struct dmt_pool *pool_create(struct mapped_device *pool_md,
				    struct pool_c *pc, char **error)
{
	struct block_device *tiers[DM_TIER_MAX_TIERS];
	struct dmt_pool *pool;
	unsigned int i;
	int r;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		*error = "Cannot allocate pool";
		return ERR_PTR(-ENOMEM);
	}
	pool->pool_md = pool_md;
	pool->extent_sectors = pc->extent_sectors;
	pool->extent_shift = __ffs(pc->extent_sectors);
	spin_lock_init(&pool->lock);
	mutex_init(&pool->md_lock);
	INIT_LIST_HEAD(&pool->volumes);
	bio_list_init(&pool->deferred);
	bio_list_init(&pool->written);
	bio_list_init(&pool->unwritten_held);
	init_waitqueue_head(&pool->drain_wait);
	INIT_WORK(&pool->worker, pool_worker);
	INIT_DELAYED_WORK(&pool->commit_work, pool_commit_worker);
	pool->commit_interval = msecs_to_jiffies(pc->commit_ms);
	dmt_policy_init(pool);
	pool_apply_features(pool, pc);

	pool->wq = alloc_workqueue("dm-tier-%s", WQ_MEM_RECLAIM, 0,
				   dm_device_name(pool_md));
	if (!pool->wq) {
		*error = "Cannot create workqueue";
		r = -ENOMEM;
		goto bad;
	}
	pool->pf = kvcalloc(DMT_MAX_PREFETCH_TRACK, sizeof(*pool->pf), GFP_KERNEL);
	r = pool->pf ? dmt_mig_init(pool) : -ENOMEM;
	if (!r)
		r = dmt_netlink_pool_init(pool);
	if (r) {
		*error = "Cannot set up migration";
		goto bad;
	}
	for (i = 0; i < pc->nr_tiers; i++)
		tiers[i] = pc->tier_dev[i]->bdev;
	r = dmt_md_open(pool, pc->metadata_dev->bdev, tiers, pc->nr_tiers,
			pc->extent_sectors, error);
	if (r)
		goto bad;
	pool->ref = 1;
	list_add(&pool->list, &dm_tier_pools);
	return pool;
bad:
	pool_destroy(pool);
	return ERR_PTR(r);
}

static struct dmt_pool *__pool_lookup(struct mapped_device *md)
{
	struct dmt_pool *pool;

	list_for_each_entry(pool, &dm_tier_pools, list)
		if (pool->pool_md == md)
			return pool;
	return NULL;
}

/* Find a pool by its device-mapper name, for netlink; takes a reference. */
struct dmt_pool *dmt_pool_get_by_name(const char *name)
{
	struct dmt_pool *pool;
	char n[DM_NAME_LEN];

	mutex_lock(&dm_tier_pools_lock);
	list_for_each_entry(pool, &dm_tier_pools, list)
		if (!dm_copy_name_and_uuid(pool->pool_md, n, NULL) && !strcmp(n, name)) {
			pool->ref++;
			mutex_unlock(&dm_tier_pools_lock);
			return pool;
		}
	mutex_unlock(&dm_tier_pools_lock);
	return NULL;
}

/* Netlink sockets closed: pools they controlled go back to the fallback. */
void dmt_pools_release_controller(u32 portid)
{
	struct dmt_pool *pool;

	mutex_lock(&dm_tier_pools_lock);
	list_for_each_entry(pool, &dm_tier_pools, list)
		if (READ_ONCE(pool->controller_portid) == portid) {
			WRITE_ONCE(pool->controller_portid, 0);
			WRITE_ONCE(pool->controller_seen_once, false);
			DMINFO("%s: controller gone, fallback policy takes over",
			       dm_device_name(pool->pool_md));
		}
	mutex_unlock(&dm_tier_pools_lock);
}

const char *dmt_pool_mode_name(struct dmt_pool *pool)
{
	return pool_mode_names[READ_ONCE(pool->mode)];
}

const char *dmt_policy_name(unsigned int policy)
{
	return policy < DMT_NR_POLICIES ? pool_policy_names[policy] : "?";
}

const char *dmt_pool_policy_state(struct dmt_pool *pool)
{
	if (dmt_policy_fallback_active(pool))
		return "fallback";
	/* Fallback on but standing back: a controller spoke lately. */
	return pool->fallback_enabled || READ_ONCE(pool->controller_portid) ?
	       "controller" : "off";
}

/* Find the pool of a pool device, for a volume; takes a reference. */
struct dmt_pool *dmt_pool_get(struct mapped_device *pool_md)
{
	struct dmt_pool *pool;

	mutex_lock(&dm_tier_pools_lock);
	pool = __pool_lookup(pool_md);
	if (pool)
		pool->ref++;
	mutex_unlock(&dm_tier_pools_lock);
	return pool;
}

void dmt_pool_put(struct dmt_pool *pool)
{
	bool last;

	mutex_lock(&dm_tier_pools_lock);
	last = !--pool->ref;
	if (last)
		list_del(&pool->list);
	mutex_unlock(&dm_tier_pools_lock);
	if (last)
		pool_destroy(pool);
}

/* ------------------------------------------------------ table parsing */

static int pool_parse_extent_sectors(struct dm_arg_set *as, sector_t *result,
				     char **error)
{
	const char *arg = dm_shift_arg(as);
	unsigned long long v;

	if (!arg || kstrtoull(arg, 10, &v)) {
		*error = "Invalid extent size";
		return -EINVAL;
	}
	if (v < DM_TIER_MIN_EXTENT_SECTORS || v > DM_TIER_MAX_EXTENT_SECTORS ||
	    !is_power_of_2(v)) {
		*error = "Extent size must be a power of 2 from 256 to 2097152 sectors";
		return -EINVAL;
	}
	*result = v;
	return 0;
}

/*
 * Pool settings: feature arguments of the table line and `set` messages.
 * A value of a pool_c is copied to the pool at create and preresume.
 */
struct pool_setting {
	const char *name;
	struct dm_arg range;
	size_t pc_off;			/* in struct pool_c */
	size_t pool_off;		/* in struct dmt_pool */
	unsigned int def;
};

#define PS(n, lo, hi, field, def) \
	{ #n, { lo, hi, "Invalid " #n }, offsetof(struct pool_c, field), \
	  offsetof(struct dmt_pool, field), def }

static const struct pool_setting pool_settings[] = {
	PS(migration_bandwidth_mbps, 0, 1000000, bandwidth_mbps, 0),
	PS(max_migrations, 1, DMT_MAX_MIGRATIONS, max_migrations, 4),
	PS(yield_depth, 0, 100000, yield_depth, 64),
	PS(fallback_timeout_s, 1, 86400, fallback_timeout_s, 30),
	PS(promote_threshold, 1, 510, promote_threshold, 4),
	PS(high_watermark, 1, 100, high_wm, 90),
	PS(low_watermark, 0, 99, low_wm, 80),
	PS(policy_interval_ms, 100, 60000, policy_ms, 1000),
	PS(residency_rounds, 1, 10000, residency_rounds, 10),
	PS(prefetch_window_ms, 100, 3600000, prefetch_window_ms, 10000),
};

static unsigned int *pool_setting_pc(struct pool_c *pc, const struct pool_setting *ps)
{
	return (unsigned int *)((char *)pc + ps->pc_off);
}

static unsigned int *pool_setting_pool(struct dmt_pool *pool, const struct pool_setting *ps)
{
	return (unsigned int *)((char *)pool + ps->pool_off);
}

static const struct pool_setting *pool_find_setting(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pool_settings); i++)
		if (!strcasecmp(name, pool_settings[i].name))
			return &pool_settings[i];
	return NULL;
}

static void pool_apply_features(struct dmt_pool *pool, struct pool_c *pc)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pool_settings); i++)
		*pool_setting_pool(pool, &pool_settings[i]) =
			*pool_setting_pc(pc, &pool_settings[i]);
	pool->fallback_enabled = !pc->no_fallback;
	pool->commit_interval = msecs_to_jiffies(pc->commit_ms);
}

/*
 * dm_read_arg() with overflow checking: dm_read_arg() parses with
 * sscanf("%u"), which wraps values of 2^32 and above into range.
 */
static int pool_read_arg(const struct dm_arg *a, struct dm_arg_set *as,
			 unsigned int *v, char **error)
{
	const char *arg = dm_shift_arg(as);

	if (!arg || kstrtouint(arg, 10, v) || *v < a->min || *v > a->max) {
		*error = a->error;
		return -EINVAL;
	}
	return 0;
}

static int pool_parse_features(struct dm_arg_set *as, struct pool_c *pc,
			       char **error)
{
	static const struct dm_arg _args[] = {
		{0, 64, "Invalid number of feature arguments"},
		{100, 60000, "Invalid commit_interval_ms"},
	};
	const struct pool_setting *ps;
	unsigned int argc, i;
	const char *name;
	int r;

	for (i = 0; i < ARRAY_SIZE(pool_settings); i++)
		*pool_setting_pc(pc, &pool_settings[i]) = pool_settings[i].def;
	if (!as->argc)
		return 0;
	r = pool_read_arg(_args, as, &argc, error);
	if (r)
		return r;
	if (argc > as->argc) {
		*error = _args[0].error;
		return -EINVAL;
	}
	while (argc) {
		name = dm_shift_arg(as);
		argc--;
		ps = pool_find_setting(name);
		if (!strcasecmp(name, "no_fallback")) {
			pc->no_fallback = true;
		} else if (!strcasecmp(name, "commit_interval_ms") && argc) {
			r = pool_read_arg(_args + 1, as, &pc->commit_ms, error);
			if (r)
				return r;
			argc--;
		} else if (ps && argc) {
			r = pool_read_arg(&ps->range, as, pool_setting_pc(pc, ps), error);
			if (r)
				return r;
			argc--;
		} else {
			*error = "Unknown feature argument";
			return -EINVAL;
		}
	}
	if (pc->low_wm >= pc->high_wm) {
		*error = "low_watermark must be below high_watermark";
		return -EINVAL;
	}
	return 0;
}

static bool pool_dev_in_use(struct pool_c *pc, struct block_device *bdev)
{
	unsigned int i;

	if (pc->metadata_dev && pc->metadata_dev->bdev == bdev)
		return true;
	for (i = 0; i < pc->nr_tiers; i++)
		if (pc->tier_dev[i] && pc->tier_dev[i]->bdev == bdev)
			return true;
	return false;
}

/*
 * Does another pool (not the one of @pool_md) use one of @pc's devices?
 * Two pools on one metadata device or tier would overwrite each other.
 * Caller holds dm_tier_pools_lock.
 */
static bool __pool_devs_taken(struct mapped_device *pool_md, struct pool_c *pc)
{
	struct dmt_pool *p;
	unsigned int i;

	list_for_each_entry(p, &dm_tier_pools, list) {
		if (p->pool_md == pool_md)
			continue;
		if (pool_dev_in_use(pc, p->md.bdev))
			return true;
		for (i = 0; i < p->nr_tiers; i++)
			if (pool_dev_in_use(pc, p->tiers[i].bdev))
				return true;
	}
	return false;
}

static int pool_get_dev(struct dm_target *ti, struct pool_c *pc,
			const char *path, struct dm_dev **result, char **error)
{
	struct dm_dev *dev;
	int r;

	r = dm_get_device(ti, path, dm_table_get_mode(ti->table), &dev);
	if (r) {
		*error = "Error opening device";
		return r;
	}
	if (pool_dev_in_use(pc, dev->bdev)) {
		dm_put_device(ti, dev);
		*error = "Device given twice";
		return -EINVAL;
	}
	*result = dev;
	return 0;
}

static void pool_put_devs(struct pool_c *pc)
{
	unsigned int i;

	for (i = 0; i < DM_TIER_MAX_TIERS; i++)
		if (pc->tier_dev[i])
			dm_put_device(pc->ti, pc->tier_dev[i]);
	if (pc->metadata_dev)
		dm_put_device(pc->ti, pc->metadata_dev);
}

static void pool_dtr(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;

	if (pc->pool) {
		if (pc->pool->ti == ti)
			pc->pool->ti = NULL;
		dmt_pool_put(pc->pool);
	}
	pool_put_devs(pc);
	kfree(pc);
}

/* A reload of an existing pool: same metadata device, existing tiers in order. */
/*
 * A reload of an existing pool: same metadata device and extent size; the
 * tiers in the same order, except that one empty tier may be left out and
 * new ones may be appended.
 */
static int pool_check_reload(struct dmt_pool *pool, struct pool_c *pc, char **error)
{
	unsigned int i = 0, j = 0;
	int removed = -1;

	if (pool->md.bdev != pc->metadata_dev->bdev) {
		*error = "Metadata device cannot change on reload";
		return -EINVAL;
	}
	if (pool->extent_sectors != pc->extent_sectors) {
		*error = "Extent size differs from the pool's";
		return -EINVAL;
	}
	while (i < pool->nr_tiers) {
		if (j < pc->nr_tiers && pool->tiers[i].bdev == pc->tier_dev[j]->bdev) {
			i++;
			j++;
			continue;
		}
		if (removed >= 0) {
			*error = "Tier devices cannot change on reload (one empty tier may be removed)";
			return -EINVAL;
		}
		removed = i++;
	}
	if (removed >= 0 && pool->tiers[removed].used) {
		*error = "Tier device missing or still holds extents (evacuate_tier first)";
		return -EBUSY;
	}
	if (removed >= 0 && j == 0 && pc->nr_tiers == 0) {
		*error = "Cannot remove the last tier";
		return -EINVAL;
	}
	pc->remove_tier = removed;
	return 0;
}

/* Wait, without md_lock, for migrations in flight to finish. */
static void __pool_wait_migrations(struct dmt_pool *pool)
{
	while (pool->mig_in_flight) {
		mutex_unlock(&pool->md_lock);
		flush_delayed_work(&pool->mig_work);
		msleep(10);
		mutex_lock(&pool->md_lock);
	}
}

/*
 * Remove empty tier @r: freeze the map path, drain, renumber the tiers
 * above it in every forward entry, queue and hint, and commit the new
 * layout.  Caller holds md_lock.
 */
static int __pool_remove_tier(struct dmt_pool *pool, unsigned int r)
{
	struct dmt_volume *vol;
	unsigned int i, j;
	u64 ci, e;
	int err;

	__pool_wait_migrations(pool);
	err = dmt_md_commit(pool);
	if (err)
		return err;
	if (pool->tiers[r].used || READ_ONCE(pool->mode) != DMT_MODE_RW)
		return -EBUSY;

	WRITE_ONCE(pool->frozen, true);
	smp_mb();
	dmt_pool_drain_io(pool);

	list_for_each_entry(vol, &pool->volumes, list) {
		for (ci = 0; ci < vol->nr_chunks; ci++) {
			u64 *chunk = vol->chunks[ci];

			if (!chunk)
				continue;
			for (e = 0; e < DMT_CHUNK_ENTRIES; e++) {
				u64 fe = READ_ONCE(chunk[e]);
				unsigned int t = dmt_fe_tier(fe);

				if (dmt_fe_mapped(fe) && t > r)
					dmt_fe_update(&chunk[e], 7ULL << DMT_FE_TIER_SHIFT,
						      (u64)(t - 1) << DMT_FE_TIER_SHIFT);
			}
		}
		for (i = j = 0; i < vol->nr_hints; i++) {
			if (vol->hints[i].tier == r)
				continue;
			vol->hints[j] = vol->hints[i];
			if (vol->hints[j].tier > r)
				vol->hints[j].tier--;
			j++;
		}
		vol->nr_hints = j;
		for (i = r; i + 1 < DM_TIER_MAX_TIERS; i++)
			vol->mapped[i] = vol->mapped[i + 1];
		vol->mapped[DM_TIER_MAX_TIERS - 1] = 0;
	}
	for (i = j = 0; i < pool->queue_len; i++) {
		if (pool->queue[i].tier == r)
			continue;
		pool->queue[j] = pool->queue[i];
		if (pool->queue[j].tier > r)
			pool->queue[j].tier--;
		j++;
	}
	pool->queue_len = j;
	if (pool->evacuating == (int)r)
		pool->evacuating = -1;
	else if (pool->evacuating > (int)r)
		pool->evacuating--;

	err = dmt_md_remove_tier(pool, r);
	WRITE_ONCE(pool->frozen, false);
	return err;
}
/*
 * Construct a tier pool:
 *
 *   tier-pool <metadata_dev> <extent_sectors> <nr_tiers> <tier_dev_0> ...
 *             <tier_dev_n-1> [<#feature_args> <feature_arg>...]
 *
 * extent_sectors: power of two, 256 (128 KiB) to 2097152 (1 GiB).
 * nr_tiers: 1 to DM_TIER_MAX_TIERS; tier 0 is the fastest.
 * Features: commit_interval_ms <100..60000>.
 */
static int pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	static const struct dm_arg _nr_tiers = {
		1, DM_TIER_MAX_TIERS, "Invalid number of tiers"
	};
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct mapped_device *pool_md = dm_table_get_md(ti->table);
	struct dmt_pool *pool;
	struct pool_c *pc;
	unsigned int i, nr_tiers;
	int r;

	if (argc < 4) {
		ti->error = "Not enough arguments";
		return -EINVAL;
	}

	pc = kzalloc(sizeof(*pc), GFP_KERNEL);
	if (!pc) {
		ti->error = "Cannot allocate pool context";
		return -ENOMEM;
	}
	pc->ti = ti;
	pc->commit_ms = POOL_DEFAULT_COMMIT_MS;
	pc->remove_tier = -1;

	r = pool_get_dev(ti, pc, dm_shift_arg(&as), &pc->metadata_dev, &ti->error);
	if (r)
		goto bad;
	r = pool_parse_extent_sectors(&as, &pc->extent_sectors, &ti->error);
	if (r)
		goto bad;
	r = pool_read_arg(&_nr_tiers, &as, &nr_tiers, &ti->error);
	if (r)
		goto bad;
	if (as.argc < nr_tiers) {
		ti->error = "Not enough tier devices";
		r = -EINVAL;
		goto bad;
	}
	for (i = 0; i < nr_tiers; i++) {
		r = pool_get_dev(ti, pc, dm_shift_arg(&as), &pc->tier_dev[i], &ti->error);
		if (r)
			goto bad;
		pc->nr_tiers = i + 1;
	}
	r = pool_parse_features(&as, pc, &ti->error);
	if (r)
		goto bad;
	if (as.argc) {
		ti->error = "Too many arguments";
		r = -EINVAL;
		goto bad;
	}

	mutex_lock(&dm_tier_pools_lock);
	pool = __pool_lookup(pool_md);
	if (__pool_devs_taken(pool_md, pc)) {
		ti->error = "Device in use by another pool";
		r = -EBUSY;
	} else if (pool) {
		r = pool_check_reload(pool, pc, &ti->error);
		if (!r)
			pool->ref++;
	} else {
		pool = pool_create(pool_md, pc, &ti->error);
		r = IS_ERR(pool) ? PTR_ERR(pool) : 0;
	}
	mutex_unlock(&dm_tier_pools_lock);
	if (r)
		goto bad;
	pc->pool = pool;

	ti->private = pc;
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	return 0;
bad:
	pool_put_devs(pc);
	kfree(pc);
	return r;
}

/* The pool device carries no data: reads see zeros, writes fail. */
static int pool_map(struct dm_target *ti, struct bio *bio)
{
	if (bio->bi_opf & REQ_PREFLUSH && !bio_sectors(bio)) {
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio_op(bio) == REQ_OP_READ) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	return DM_MAPIO_KILL;
}

static int pool_preresume(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;
	struct dmt_pool *pool = pc->pool;
	struct block_device *extra[DM_TIER_MAX_TIERS];
	unsigned int i, n = 0;
	char *error = NULL;
	int r = 0;

	mutex_lock(&pool->md_lock);
	if (pc->remove_tier >= 0) {
		r = __pool_remove_tier(pool, pc->remove_tier);
		if (r) {
			DMERR("%s: cannot remove tier %d (%d)", dm_device_name(pool->pool_md),
			      pc->remove_tier, r);
			goto out;
		}
		DMINFO("%s: tier %d removed", dm_device_name(pool->pool_md), pc->remove_tier);
		pc->remove_tier = -1;
		dmt_pool_defer_bio(pool, NULL);
	}
	for (i = pool->nr_tiers; i < pc->nr_tiers; i++)
		extra[n++] = pc->tier_dev[i]->bdev;
	if (n) {
		r = dmt_md_commit(pool);
		if (!r)
			r = dmt_md_add_tiers(pool, extra, n, &error);
		if (r)
			DMERR("%s: cannot add tiers: %s", dm_device_name(pool->pool_md),
			      error ? error : "metadata error");
	}
	pool->ti = ti;
	pool_apply_features(pool, pc);
out:
	mutex_unlock(&pool->md_lock);
	return r;
}

static void pool_resume(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;

	mod_delayed_work(pc->pool->wq, &pc->pool->commit_work,
			 pc->pool->commit_interval);
	dmt_policy_start(pc->pool);
	dmt_mig_kick(pc->pool);
}

static void pool_postsuspend(struct dm_target *ti)
{
	struct pool_c *pc = ti->private;
	struct dmt_pool *pool = pc->pool;

	cancel_delayed_work_sync(&pool->commit_work);
	dmt_policy_stop(pool);
	mutex_lock(&pool->md_lock);
	dmt_md_commit(pool);
	mutex_unlock(&pool->md_lock);
}

/* ------------------------------------------------------------ messages */

static int pool_parse_volume_id(const char *arg, u32 *id)
{
	unsigned int v;

	if (kstrtouint(arg, 10, &v) || v > DMT_MAX_VOLUME_ID) {
		DMWARN("invalid volume id '%s' (0 to %u)", arg, DMT_MAX_VOLUME_ID);
		return -EINVAL;
	}
	*id = v;
	return 0;
}

static struct dmt_volume *pool_volume_arg(struct dmt_pool *pool, const char *arg)
{
	struct dmt_volume *vol;
	u32 id;

	if (pool_parse_volume_id(arg, &id))
		return ERR_PTR(-EINVAL);
	vol = dmt_pool_find_volume(pool, id);
	if (!vol) {
		DMWARN("volume %u does not exist", id);
		return ERR_PTR(-ENOENT);
	}
	return vol;
}

static int __pool_commit_or_fail(struct dmt_pool *pool)
{
	int r = dmt_md_commit(pool);

	if (r)
		DMWARN("%s: commit failed (%d)", dm_device_name(pool->pool_md), r);
	return r;
}

static int pool_create_volume(struct dmt_pool *pool, const char *arg)
{
	struct dmt_volume_record *rec = NULL;
	struct dmt_volume *vol;
	unsigned int slot;
	u32 id;

	if (pool_parse_volume_id(arg, &id))
		return -EINVAL;
	if (dmt_pool_find_volume(pool, id)) {
		DMWARN("volume %u exists", id);
		return -EEXIST;
	}
	for (slot = 0; slot < DMT_MAX_VOLUMES; slot++) {
		rec = dmt_md_volume_record(pool, slot);
		if (!(le32_to_cpu(rec->flags) & DMT_VOL_IN_USE))
			break;
	}
	if (slot == DMT_MAX_VOLUMES) {
		DMWARN("no room for another volume (%u at most)", DMT_MAX_VOLUMES);
		return -ENOSPC;
	}
	vol = kzalloc(sizeof(*vol), GFP_KERNEL);
	if (!vol || dmt_profile_alloc(vol)) {
		kfree(vol);
		return -ENOMEM;
	}
	memset(rec, 0, sizeof(*rec));
	rec->flags = cpu_to_le32(DMT_VOL_IN_USE | DMT_VOL_TIERING_ENABLED);
	rec->id = cpu_to_le32(id);
	rec->policy = cpu_to_le32(DMT_POLICY_BALANCED);
	rec->created_generation = cpu_to_le64(pool->md.generation + 1);
	strscpy(rec->prediction_model, "auto", sizeof(rec->prediction_model));
	vol->id = id;
	vol->slot = slot;
	vol->rec = rec;
	pool->vol_slots[slot] = vol;
	list_add_tail(&vol->list, &pool->volumes);
	pool->nr_volumes++;
	__dmt_md_dirty_volume(pool, vol);
	return __pool_commit_or_fail(pool);
}

static int pool_delete_volume(struct dmt_pool *pool, const char *arg)
{
	struct dmt_volume *vol = pool_volume_arg(pool, arg);
	u64 i, e;

	if (IS_ERR(vol))
		return PTR_ERR(vol);
	if (vol->active) {
		DMWARN("volume %u is active", vol->id);
		return -EBUSY;
	}
	if (vol->migrating) {
		DMWARN("volume %u has migrations in flight", vol->id);
		return -EBUSY;
	}
	__dmt_mig_forget_volume(pool, vol);
	__dmt_prefetch_forget_volume(pool, vol);
	for (i = 0; i < vol->nr_chunks; i++) {
		if (!vol->chunks[i])
			continue;
		for (e = 0; e < DMT_CHUNK_ENTRIES; e++)
			__dmt_map_remove(pool, vol, to_vext((i << DMT_CHUNK_SHIFT) + e));
	}
	memset(vol->rec, 0, sizeof(*vol->rec));
	__dmt_md_dirty_volume(pool, vol);
	pool->vol_slots[vol->slot] = NULL;
	list_del(&vol->list);
	pool->nr_volumes--;
	dmt_vol_free_map(vol);
	dmt_profile_free(vol);
	kfree(vol);
	return __pool_commit_or_fail(pool);
}

static bool pool_valid_chars(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if (!isalnum(*s) && !strchr(extra, *s))
			return false;
	return true;
}

static int pool_set_label(struct dmt_volume *vol, const char *key, const char *value)
{
	struct dmt_volume_record *rec = vol->rec;
	struct dmt_label *free_label = NULL;
	unsigned int i;
	const char *c;

	if (!pool_valid_chars(key, DMT_LABEL_KEY_LEN, "_")) {
		DMWARN("invalid key '%s'", key);
		return -EINVAL;
	}
	for (c = key; *c; c++)
		if (isupper(*c)) {
			DMWARN("invalid key '%s'", key);
			return -EINVAL;
		}
	if (strcmp(value, "-")) {
		if (strlen(value) >= DMT_LABEL_VALUE_LEN) {
			DMWARN("label value too long");
			return -EINVAL;
		}
		for (c = value; *c; c++)
			if (!isgraph(*c)) {
				DMWARN("label value must be printable without spaces");
				return -EINVAL;
			}
	}
	for (i = 0; i < DMT_MAX_LABELS; i++) {
		struct dmt_label *l = &rec->labels[i];

		if (!l->key[0]) {
			if (!free_label)
				free_label = l;
			continue;
		}
		if (strncmp(l->key, key, DMT_LABEL_KEY_LEN))
			continue;
		if (!strcmp(value, "-"))
			memset(l, 0, sizeof(*l));
		else
			strscpy(l->value, value, sizeof(l->value));
		return 0;
	}
	if (!strcmp(value, "-"))
		return 0;
	if (!free_label) {
		DMWARN("volume %u has %u labels already", vol->id, DMT_MAX_LABELS);
		return -ENOSPC;
	}
	strscpy(free_label->key, key, sizeof(free_label->key));
	strscpy(free_label->value, value, sizeof(free_label->value));
	return 0;
}

static int pool_set_volume(struct dmt_pool *pool, char **argv)
{
	struct dmt_volume *vol = pool_volume_arg(pool, argv[0]);
	const char *key = argv[1], *value = argv[2];
	struct dmt_volume_record *rec;
	unsigned int i;
	int r;

	if (IS_ERR(vol))
		return PTR_ERR(vol);
	rec = vol->rec;
	if (!strcmp(key, "tiering_enabled")) {
		bool on;

		if (strcmp(value, "0") && strcmp(value, "1")) {
			DMWARN("tiering_enabled takes 0 or 1");
			return -EINVAL;
		}
		on = value[0] == '1';
		rec->flags = cpu_to_le32((le32_to_cpu(rec->flags) & ~DMT_VOL_TIERING_ENABLED) |
					 (on ? DMT_VOL_TIERING_ENABLED : 0));
	} else if (!strcmp(key, "tiering_policy")) {
		for (i = 0; i < DMT_NR_POLICIES; i++)
			if (!strcmp(value, pool_policy_names[i]))
				break;
		if (i == DMT_NR_POLICIES) {
			DMWARN("unknown tiering_policy '%s'", value);
			return -EINVAL;
		}
		rec->policy = cpu_to_le32(i);
	} else if (!strcmp(key, "prediction_model")) {
		if (!pool_valid_chars(value, DMT_MODEL_LEN, "._/-")) {
			DMWARN("invalid prediction_model '%s'", value);
			return -EINVAL;
		}
		memset(rec->prediction_model, 0, sizeof(rec->prediction_model));
		strscpy(rec->prediction_model, value, sizeof(rec->prediction_model));
	} else {
		r = pool_set_label(vol, key, value);
		if (r)
			return r;
	}
	__dmt_md_dirty_volume(pool, vol);
	return __pool_commit_or_fail(pool);
}

/* Allocation hints for [begin, end): @tier, or -1 to clear.  md_lock held. */
int __dmt_pool_hint(struct dmt_pool *pool, struct dmt_volume *vol, u64 begin,
		    u64 end, int tier)
{
	unsigned int i, j;

	if (begin >= end || end > DMT_MAX_VEXTS)
		return -EINVAL;
	if (tier >= (int)pool->nr_tiers)
		return -EINVAL;
	/* Drop the ranges the new one overlaps (the allocator reads under md_lock). */
	for (i = j = 0; i < vol->nr_hints; i++)
		if (vol->hints[i].end <= begin || vol->hints[i].begin >= end)
			vol->hints[j++] = vol->hints[i];
	vol->nr_hints = j;
	if (tier >= 0) {
		if (vol->nr_hints == DMT_MAX_HINTS)
			return -ENOSPC;
		vol->hints[vol->nr_hints++] = (struct dmt_hint){ begin, end, tier };
	}
	return 0;
}

/* set_hint <id> <begin_extent> <end_extent> <tier|-> */
static int pool_set_hint(struct dmt_pool *pool, char **argv)
{
	struct dmt_volume *vol = pool_volume_arg(pool, argv[0]);
	unsigned long long begin, end;
	unsigned int tier = 0;
	bool clear = !strcmp(argv[3], "-");
	int r;

	if (IS_ERR(vol))
		return PTR_ERR(vol);
	if (kstrtoull(argv[1], 10, &begin) || kstrtoull(argv[2], 10, &end) ||
	    begin >= end || end > DMT_MAX_VEXTS) {
		DMWARN("invalid hint range");
		return -EINVAL;
	}
	if (!clear && (kstrtouint(argv[3], 10, &tier) || tier >= pool->nr_tiers)) {
		DMWARN("invalid hint tier '%s'", argv[3]);
		return -EINVAL;
	}
	dmt_policy_controller_seen(pool);
	r = __dmt_pool_hint(pool, vol, begin, end, clear ? -1 : (int)tier);
	if (r == -ENOSPC)
		DMWARN("volume %u has %u hints already", vol->id, DMT_MAX_HINTS);
	return r;
}

static int pool_parse_u64(const char *arg, u64 *v, const char *what)
{
	if (kstrtoull(arg, 10, v)) {
		DMWARN("invalid %s '%s'", what, arg);
		return -EINVAL;
	}
	return 0;
}

static int pool_parse_tier(struct dmt_pool *pool, const char *arg, unsigned int *tier)
{
	if (kstrtouint(arg, 10, tier) || *tier >= pool->nr_tiers) {
		DMWARN("invalid tier '%s' (0 to %u)", arg, pool->nr_tiers - 1);
		return -EINVAL;
	}
	return 0;
}

const char *dmt_mig_error_str(int r)
{
	switch (r) {
	case -ENODATA: return "extent is not mapped";
	case -EPERM: return "extent is pinned";
	case -EBUSY: return "tier is being evacuated";
	case -ENOSPC: return "migration queue full";
	default: return "invalid request";
	}
}

/*
 * Queue a migration or prefetch of one extent; a prefetch of an extent
 * already on the tier is only tracked for hit/miss accounting.  md_lock held.
 */
int __dmt_pool_migrate(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		       unsigned int tier, enum dmt_mig_kind kind, unsigned int deadline_ms)
{
	int r = __dmt_mig_enqueue(pool, vol, ve, tier, kind, deadline_ms);

	if (r == 1) {
		__dmt_prefetch_track(pool, vol, ve, jiffies +
				     msecs_to_jiffies(deadline_ms ?: pool->prefetch_window_ms));
		dmt_fe_update(dmt_lookup_slot(vol, ve), 0, DMT_FE_PREFETCHED);
		r = 0;
	}
	return r;
}

/* migrate <id> <extent> <tier> | prefetch <id> <extent> <tier> [<deadline_ms>] */
static int pool_migrate(struct dmt_pool *pool, unsigned int argc, char **argv,
			enum dmt_mig_kind kind)
{
	struct dmt_volume *vol = pool_volume_arg(pool, argv[0]);
	unsigned int tier, deadline_ms = 0;
	u64 ve;
	int r;

	if (IS_ERR(vol))
		return PTR_ERR(vol);
	if (pool_parse_u64(argv[1], &ve, "extent") || pool_parse_tier(pool, argv[2], &tier))
		return -EINVAL;
	if (argc == 4 && (kstrtouint(argv[3], 10, &deadline_ms) || !deadline_ms ||
			  deadline_ms > 3600000)) {
		DMWARN("invalid deadline_ms '%s' (1 to 3600000)", argv[3]);
		return -EINVAL;
	}
	dmt_policy_controller_seen(pool);
	r = __dmt_pool_migrate(pool, vol, to_vext(ve), tier, kind, deadline_ms);
	if (r < 0) {
		DMWARN("%s %u %llu: %s", kind == DMT_MIG_PREFETCH ? "prefetch" : "migrate",
		       vol->id, ve, dmt_mig_error_str(r));
		return r;
	}
	dmt_mig_kick(pool);
	return 0;
}

/*
 * Pin (@tier >= 0: and move to @tier) or unpin (@tier < 0) the mapped
 * extents of [begin, end).  md_lock held; the caller commits.
 */
int __dmt_pool_pin(struct dmt_pool *pool, struct dmt_volume *vol, u64 begin,
		   u64 end, int tier)
{
	u64 e;
	int r;

	if (begin >= end || end > DMT_MAX_VEXTS || tier >= (int)pool->nr_tiers)
		return -EINVAL;
	if (tier >= 0 && tier == pool->evacuating)
		return -EBUSY;
	end = min(end, vol->nr_chunks << DMT_CHUNK_SHIFT);
	for (e = begin; e < end; e++) {
		u64 fe = dmt_lookup(vol, to_vext(e));

		if (!dmt_fe_mapped(fe))
			continue;
		__dmt_set_pinned(pool, vol, to_vext(e), tier >= 0);
		if (tier >= 0 && dmt_fe_tier(fe) != tier) {
			r = __dmt_mig_enqueue(pool, vol, to_vext(e), tier, DMT_MIG_PIN, 0);
			if (r < 0)
				return r;
		}
	}
	dmt_mig_kick(pool);
	return 0;
}

/* pin <id> <begin> <end> <tier> | unpin <id> <begin> <end> */
static int pool_pin(struct dmt_pool *pool, unsigned int argc, char **argv, bool pin)
{
	struct dmt_volume *vol = pool_volume_arg(pool, argv[0]);
	unsigned int tier = 0;
	u64 begin, end;
	int r, c;

	if (IS_ERR(vol))
		return PTR_ERR(vol);
	if (pool_parse_u64(argv[1], &begin, "begin extent") ||
	    pool_parse_u64(argv[2], &end, "end extent"))
		return -EINVAL;
	if (begin >= end || end > DMT_MAX_VEXTS) {
		DMWARN("invalid extent range %llu-%llu", begin, end);
		return -EINVAL;
	}
	if (pin && pool_parse_tier(pool, argv[3], &tier))
		return -EINVAL;
	dmt_policy_controller_seen(pool);
	r = __dmt_pool_pin(pool, vol, begin, end, pin ? (int)tier : -1);
	if (r < 0)
		DMWARN("pin %u %llu-%llu: %s", vol->id, begin, end, dmt_mig_error_str(r));
	c = __pool_commit_or_fail(pool);
	return r ?: c;
}

/*
 * Check (@apply false) or set a pool setting: the pool_settings[] names and
 * "fallback" (0 or 1).  md_lock held.
 */
int __dmt_pool_setting(struct dmt_pool *pool, const char *key, unsigned int v,
		       bool apply)
{
	const struct pool_setting *ps = pool_find_setting(key);
	struct pool_c *pc = pool->ti ? pool->ti->private : NULL;

	if (!strcasecmp(key, "fallback")) {
		if (v > 1)
			return -EINVAL;
		if (apply) {
			pool->fallback_enabled = v;
			if (pc)
				pc->no_fallback = !v;
		}
		return 0;
	}
	if (!ps)
		return -ENOENT;
	if (v < ps->range.min || v > ps->range.max)
		return -ERANGE;
	if ((ps->pool_off == offsetof(struct dmt_pool, low_wm) && v >= pool->high_wm) ||
	    (ps->pool_off == offsetof(struct dmt_pool, high_wm) && v <= pool->low_wm))
		return -EDOM;
	if (apply) {
		*pool_setting_pool(pool, ps) = v;
		if (pc)
			*pool_setting_pc(pc, ps) = v;
		dmt_mig_kick(pool);
	}
	return 0;
}

/* set <key> <value> */
static int pool_set(struct dmt_pool *pool, const char *key, const char *value)
{
	unsigned int v;
	int r;

	if (kstrtouint(value, 10, &v)) {
		DMWARN("invalid value '%s' for %s", value, key);
		return -EINVAL;
	}
	r = __dmt_pool_setting(pool, key, v, true);
	if (r == -ENOENT)
		DMWARN("unknown setting '%s'", key);
	else if (r == -EDOM)
		DMWARN("low_watermark must be below high_watermark");
	else if (r)
		DMWARN("invalid %s '%s'", key, value);
	return r ? -EINVAL : 0;
}

static void pool_emit_profile(struct dmt_pool *pool, struct dmt_volume *vol,
			      char *result, unsigned int maxlen)
{
	struct dm_tier_profile p;
	unsigned int sz = 0, i;

	dmt_profile_sum(vol, &p);
	DMEMIT("reads=%llu writes=%llu read_bytes=%llu write_bytes=%llu sequential=%llu size_hist=",
	       p.reads, p.writes, p.read_bytes, p.write_bytes, p.sequential);
	for (i = 0; i < DM_TIER_SIZE_BUCKETS; i++)
		DMEMIT("%s%llu", i ? "," : "", p.size_hist[i]);
	DMEMIT(" prefetch_hits=%llu prefetch_misses=%llu queued=%u migrating=%u\n",
	       p.prefetch_hits, p.prefetch_misses, __dmt_mig_queued_for(pool, vol),
	       vol->migrating);
}

/*
 * dump_heat <id> [<begin> [<count>]]: "<extent> <tier> <reads> <writes>
 * <flags>" lines; when the reply buffer fills up first, a last line
 * "more <extent>" says where to go on.
 */
static int pool_dump_heat(struct dmt_pool *pool, unsigned int argc, char **argv,
			  char *result, unsigned int maxlen)
{
	struct dmt_volume *vol = pool_volume_arg(pool, argv[0]);
	u64 begin = 0, count = ~0ULL, e, end;
	unsigned int sz = 0, r, w;

	if (IS_ERR(vol))
		return PTR_ERR(vol);
	if ((argc > 1 && pool_parse_u64(argv[1], &begin, "begin extent")) ||
	    (argc > 2 && pool_parse_u64(argv[2], &count, "count")))
		return -EINVAL;
	end = vol->nr_chunks << DMT_CHUNK_SHIFT;
	if (count < end - min(begin, end))
		end = begin + count;
	for (e = begin; e < end && sz + 64 < maxlen; e++) {
		u64 fe = dmt_lookup(vol, to_vext(e));

		if (!dmt_fe_mapped(fe))
			continue;
		dmt_fe_heat(fe, READ_ONCE(pool->heat_epoch), &r, &w);
		DMEMIT("%llu %u %u %u %s%s%s%s\n", e, dmt_fe_tier(fe), r, w,
		       fe & DMT_FE_PINNED ? "p" : "", fe & DMT_FE_MIGRATING ? "m" : "",
		       fe & DMT_FE_PREFETCHED ? "f" : "",
		       fe & (DMT_FE_PINNED | DMT_FE_MIGRATING | DMT_FE_PREFETCHED) ? "" : "-");
	}
	if (e < end)
		DMEMIT("more %llu\n", e);
	return 1;
}

static void pool_emit_volume(struct dmt_volume *vol, char *result, unsigned int maxlen)
{
	struct dmt_volume_record *rec = vol->rec;
	unsigned int sz = 0, i, policy = le32_to_cpu(rec->policy);

	DMEMIT("tiering_enabled=%u tiering_policy=%s prediction_model=%.*s",
	       !!(le32_to_cpu(rec->flags) & DMT_VOL_TIERING_ENABLED),
	       dmt_policy_name(policy),
	       DMT_MODEL_LEN, rec->prediction_model);
	for (i = 0; i < DMT_MAX_LABELS; i++)
		if (rec->labels[i].key[0])
			DMEMIT(" %.*s=%.*s", DMT_LABEL_KEY_LEN, rec->labels[i].key,
			       DMT_LABEL_VALUE_LEN, rec->labels[i].value);
	DMEMIT("\n");
}

static void pool_emit_stats(struct dmt_pool *pool, char *result, unsigned int maxlen)
{
	struct dmt_volume *vol;
	unsigned int sz = 0, i;
	u64 bytes = 0, mapped = 0;

	list_for_each_entry(vol, &pool->volumes, list) {
		bytes += sizeof(*vol) + dmt_vol_map_bytes(vol);
		for (i = 0; i < pool->nr_tiers; i++)
			mapped += vol->mapped[i];
	}
	for (i = 0; i < pool->nr_tiers; i++) {
		struct dmt_tier *t = &pool->tiers[i];

		bytes += t->rmap_pages * (PAGE_SIZE + sizeof(void *)) +
			 3 * BITS_TO_LONGS(t->nr_extents) * sizeof(long);
	}
	DMEMIT("mapped_extents=%llu mapping_bytes=%llu commits=%llu allocations=%llu enospc=%llu generation=%llu\n",
	       mapped, bytes, pool->commits, pool->allocations, pool->enospc,
	       pool->md.generation);
}

static int pool_message(struct dm_target *ti, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct pool_c *pc = ti->private;
	struct dmt_pool *pool = pc->pool;
	struct dmt_volume *vol;
	int r = -EINVAL;

	static const char *const changes[] = {
		"create_volume", "delete_volume", "set_volume", "commit",
		"migrate", "prefetch", "pin", "unpin", "evacuate_tier",
	};
	unsigned int i;

	mutex_lock(&pool->md_lock);
	for (i = 0; argc && i < ARRAY_SIZE(changes); i++)
		if (!strcasecmp(argv[0], changes[i]) &&
		    READ_ONCE(pool->mode) != DMT_MODE_RW) {
			DMWARN("%s: pool is read-only", dm_device_name(pool->pool_md));
			r = -EROFS;
			goto out;
		}
	if (argc == 2 && !strcasecmp(argv[0], "create_volume")) {
		r = pool_create_volume(pool, argv[1]);
	} else if (argc == 2 && !strcasecmp(argv[0], "delete_volume")) {
		r = pool_delete_volume(pool, argv[1]);
	} else if (argc == 4 && !strcasecmp(argv[0], "set_volume")) {
		r = pool_set_volume(pool, argv + 1);
	} else if (argc == 5 && !strcasecmp(argv[0], "set_hint")) {
		r = pool_set_hint(pool, argv + 1);
	} else if (argc == 2 && !strcasecmp(argv[0], "get_volume")) {
		vol = pool_volume_arg(pool, argv[1]);
		r = PTR_ERR_OR_ZERO(vol);
		if (!r) {
			pool_emit_volume(vol, result, maxlen);
			r = 1;	/* result holds data */
		}
	} else if (argc == 1 && !strcasecmp(argv[0], "list_volumes")) {
		unsigned int sz = 0;

		list_for_each_entry(vol, &pool->volumes, list)
			DMEMIT("%u\n", vol->id);
		r = 1;
	} else if (argc == 1 && !strcasecmp(argv[0], "commit")) {
		r = __pool_commit_or_fail(pool);
	} else if ((argc == 4 || argc == 5) && !strcasecmp(argv[0], "prefetch")) {
		r = pool_migrate(pool, argc - 1, argv + 1, DMT_MIG_PREFETCH);
	} else if (argc == 4 && !strcasecmp(argv[0], "migrate")) {
		r = pool_migrate(pool, argc - 1, argv + 1, DMT_MIG_MOVE);
	} else if (argc == 5 && !strcasecmp(argv[0], "pin")) {
		r = pool_pin(pool, argc - 1, argv + 1, true);
	} else if (argc == 4 && !strcasecmp(argv[0], "unpin")) {
		r = pool_pin(pool, argc - 1, argv + 1, false);
	} else if (argc == 3 && !strcasecmp(argv[0], "set")) {
		r = pool_set(pool, argv[1], argv[2]);
	} else if (argc == 2 && !strcasecmp(argv[0], "evacuate_tier")) {
		unsigned int tier;

		r = pool_parse_tier(pool, argv[1], &tier);
		if (!r)
			r = __dmt_evacuate(pool, tier);
		if (r == -ENOSPC)
			DMWARN("not enough room on the other tiers to evacuate tier %s", argv[1]);
		else if (r == -EBUSY)
			DMWARN("tier %d is being evacuated already", pool->evacuating);
		else if (r == -EINVAL)
			DMWARN("cannot evacuate tier %s", argv[1]);
		if (!r)
			dmt_mig_kick(pool);
	} else if (argc == 2 && !strcasecmp(argv[0], "get_profile")) {
		vol = pool_volume_arg(pool, argv[1]);
		r = PTR_ERR_OR_ZERO(vol);
		if (!r) {
			pool_emit_profile(pool, vol, result, maxlen);
			r = 1;
		}
	} else if (argc >= 2 && argc <= 4 && !strcasecmp(argv[0], "dump_heat")) {
		r = pool_dump_heat(pool, argc - 1, argv + 1, result, maxlen);
	} else if (argc == 1 && !strcasecmp(argv[0], "stats")) {
		pool_emit_stats(pool, result, maxlen);
		r = 1;
	} else {
		DMWARN("unknown message '%s' or wrong number of arguments (%u)",
		       argc ? argv[0] : "", argc);
	}
out:
	mutex_unlock(&pool->md_lock);
	return r;
}

/* -------------------------------------------------------------- status */

/* Feature arguments that differ from the defaults, as a table line wants them. */
static void pool_emit_features(struct pool_c *pc, char *result, unsigned int maxlen,
			       unsigned int *szp)
{
	unsigned int sz = *szp, n = 0, i;

	n += pc->no_fallback;
	n += 2 * (pc->commit_ms != POOL_DEFAULT_COMMIT_MS);
	for (i = 0; i < ARRAY_SIZE(pool_settings); i++)
		n += 2 * (*pool_setting_pc(pc, &pool_settings[i]) != pool_settings[i].def);
	DMEMIT(" %u", n);
	if (pc->no_fallback)
		DMEMIT(" no_fallback");
	if (pc->commit_ms != POOL_DEFAULT_COMMIT_MS)
		DMEMIT(" commit_interval_ms %u", pc->commit_ms);
	for (i = 0; i < ARRAY_SIZE(pool_settings); i++)
		if (*pool_setting_pc(pc, &pool_settings[i]) != pool_settings[i].def)
			DMEMIT(" %s %u", pool_settings[i].name,
			       *pool_setting_pc(pc, &pool_settings[i]));
	*szp = sz;
}

static void pool_status(struct dm_target *ti, status_type_t type,
			unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct pool_c *pc = ti->private;
	struct dmt_pool *pool = pc->pool;
	unsigned int sz = 0, i;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u %llu/%llu", pool->nr_tiers, dmt_md_blocks_used(pool),
		       pool->md.dev_blocks);
		for (i = 0; i < pool->nr_tiers; i++)
			DMEMIT(" %llu/%llu", pool->tiers[i].used, pool->tiers[i].nr_extents);
		DMEMIT(" %u %s %s %s", pool->nr_volumes,
		       dmt_pool_mode_name(pool),
		       pool->needs_check ? "needs_check" : "-",
		       pool->out_of_space ? "out_of_space" : "-");
		DMEMIT(" %s %llu %llu %u %u %llu %llu", dmt_pool_policy_state(pool),
		       pool->mig_done_count, pool->mig_failed, pool->queue_len,
		       pool->mig_in_flight, pool->mig_throttled, pool->bytes_moved);
		if (pool->evacuating < 0)
			DMEMIT(" -");
		else
			DMEMIT(" %s:%d:%llu", pool->tiers[pool->evacuating].used ?
			       "evacuating" : "evacuated", pool->evacuating,
			       pool->tiers[pool->evacuating].used);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %u", pc->metadata_dev->name,
		       (unsigned long long)pc->extent_sectors, pc->nr_tiers);
		for (i = 0; i < pc->nr_tiers; i++)
			DMEMIT(" %s", pc->tier_dev[i]->name);
		pool_emit_features(pc, result, maxlen, &sz);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int pool_iterate_devices(struct dm_target *ti,
				iterate_devices_callout_fn fn, void *data)
{
	struct pool_c *pc = ti->private;
	unsigned int i;
	int r = 0;

	for (i = 0; i < pc->nr_tiers && !r; i++)
		r = fn(ti, pc->tier_dev[i], 0,
		       bdev_nr_sectors(pc->tier_dev[i]->bdev), data);
	return r;
}

static struct target_type pool_target = {
	.name = "tier-pool",
	.version = {0, 2, 0},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
	.dtr = pool_dtr,
	.map = pool_map,
	.preresume = pool_preresume,
	.resume = pool_resume,
	.postsuspend = pool_postsuspend,
	.message = pool_message,
	.status = pool_status,
	.iterate_devices = pool_iterate_devices,
};

int dm_tier_pool_register(void)
{
	return dm_register_target(&pool_target);
}

void dm_tier_pool_unregister(void)
{
	dm_unregister_target(&pool_target);
}
