// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: the tier target, one volume of a pool.
 *
 * The map function never blocks: a mapped extent is remapped by an O(1)
 * lookup, a read of an unmapped extent returns zeros at once, and
 * everything else (first writes, flushes, discards, FUA writes while
 * metadata changes are pending) is deferred to the pool's worker.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>

#include "dm-tier.h"

struct tier_c {
	struct dm_target *ti;
	struct dm_dev *pool_dev;
	struct dmt_pool *pool;
	struct dmt_volume *vol;
	struct mapped_device *md;
};

static void tier_release_volume(struct tier_c *tc)
{
	struct dmt_pool *pool = tc->pool;

	mutex_lock(&pool->md_lock);
	if (tc->vol->active && tc->vol->active_md == tc->md && !--tc->vol->active)
		tc->vol->active_md = NULL;
	mutex_unlock(&pool->md_lock);
}

static void tier_dtr(struct dm_target *ti)
{
	struct tier_c *tc = ti->private;

	tier_release_volume(tc);
	dmt_pool_put(tc->pool);
	dm_put_device(ti, tc->pool_dev);
	kfree(tc);
}

/*
 * Construct a volume:
 *
 *   tier <pool_dev> <volume_id>
 *
 * The volume must exist (pool message create_volume).  It may be active in
 * one device at a time; a reload of that device may name it again.
 */
static int tier_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct mapped_device *pool_md;
	struct dmt_pool *pool;
	struct dmt_volume *vol;
	struct tier_c *tc;
	unsigned int id;
	int r;

	if (argc != 2) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	if (kstrtouint(argv[1], 10, &id) || id > DMT_MAX_VOLUME_ID) {
		ti->error = "Invalid volume id";
		return -EINVAL;
	}
	tc = kzalloc(sizeof(*tc), GFP_KERNEL);
	if (!tc) {
		ti->error = "Cannot allocate volume context";
		return -ENOMEM;
	}
	tc->ti = ti;
	tc->md = dm_table_get_md(ti->table);

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &tc->pool_dev);
	if (r) {
		ti->error = "Error opening pool device";
		goto bad;
	}
	pool_md = dm_get_md(tc->pool_dev->bdev->bd_dev);
	if (!pool_md) {
		ti->error = "Not a tier-pool device";
		r = -EINVAL;
		goto bad_dev;
	}
	pool = dmt_pool_get(pool_md);
	dm_put(pool_md);
	if (!pool) {
		ti->error = "Not a tier-pool device";
		r = -EINVAL;
		goto bad_dev;
	}
	tc->pool = pool;
	if (pool_md == tc->md) {
		ti->error = "Volume cannot be its own pool";
		r = -EINVAL;
		goto bad_pool;
	}

	mutex_lock(&pool->md_lock);
	vol = dmt_pool_find_volume(pool, id);
	if (!vol) {
		ti->error = "Volume does not exist";
		r = -ENOENT;
	} else if (vol->active && vol->active_md != tc->md) {
		ti->error = "Volume already active";
		r = -EBUSY;
	} else {
		vol->active++;
		vol->active_md = tc->md;
		tc->vol = vol;
	}
	mutex_unlock(&pool->md_lock);
	if (r)
		goto bad_pool;

	if ((ti->len - 1) >> pool->extent_shift >= DMT_MAX_VEXTS) {
		ti->error = "Volume too large";
		r = -EINVAL;
		tier_release_volume(tc);
		goto bad_pool;
	}
	r = dm_set_target_max_io_len(ti, pool->extent_sectors);
	if (r) {
		ti->error = "Cannot set max I/O length";
		tier_release_volume(tc);
		goto bad_pool;
	}
	ti->private = tc;
	ti->per_io_data_size = sizeof(struct dmt_bio);
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->num_discard_bios = 1;
	ti->discards_supported = true;
	return 0;

bad_pool:
	dmt_pool_put(pool);
bad_dev:
	dm_put_device(ti, tc->pool_dev);
bad:
	kfree(tc);
	return r;
}

static int tier_map(struct dm_target *ti, struct bio *bio)
{
	struct tier_c *tc = ti->private;
	struct dmt_pool *pool = tc->pool;
	struct dmt_bio *pb = dm_per_bio_data(bio, sizeof(*pb));
	u64 fe, *slot;

	pb->vol = tc->vol;
	pb->epoch = -1;
	pb->first = false;
	pb->vsector = dm_target_offset(ti, bio->bi_iter.bi_sector);

	if (unlikely(READ_ONCE(pool->mode) == DMT_MODE_FAIL))
		return DM_MAPIO_KILL;
	if (bio->bi_opf & REQ_PREFLUSH || bio_op(bio) == REQ_OP_DISCARD) {
		dmt_pool_defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}

	dmt_io_enter(pool, pb);
	if (unlikely(READ_ONCE(pool->frozen))) {
		dmt_io_exit(pool, pb);
		dmt_pool_defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	slot = dmt_lookup_slot(tc->vol, to_vext(pb->vsector >> pool->extent_shift));
	fe = slot ? READ_ONCE(*slot) : 0;
	if (!dmt_fe_visible(fe, false)) {
		/*
		 * Unmapped, or its first write is in flight: nothing
		 * acknowledged is there, reads return zeros.
		 */
		dmt_io_exit(pool, pb);
		dmt_heat_account(pool, tc->vol, bio, NULL);
		if (bio_data_dir(bio) == READ) {
			zero_fill_bio(bio);
			bio_endio(bio);
		} else {
			dmt_pool_defer_bio(pool, bio);
		}
		return DM_MAPIO_SUBMITTED;
	}
	dmt_heat_account(pool, tc->vol, bio, slot);
	if (fe & DMT_FE_MIGRATING && op_is_write(bio_op(bio))) {
		/* Held by the worker until the copy completes. */
		dmt_io_exit(pool, pb);
		dmt_pool_defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio->bi_opf & REQ_FUA) {
		/* Pairs with smp_wmb() in __dmt_map_insert(). */
		smp_rmb();
		if (READ_ONCE(pool->dirty)) {
			dmt_io_exit(pool, pb);
			dmt_pool_defer_bio(pool, bio);
			return DM_MAPIO_SUBMITTED;
		}
	}
	dmt_remap(pool, bio, fe, pb->vsector);
	return DM_MAPIO_REMAPPED;
}

static int tier_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *err)
{
	struct tier_c *tc = ti->private;
	struct dmt_bio *pb = dm_per_bio_data(bio, sizeof(*pb));

	dmt_io_exit(tc->pool, pb);
	if (unlikely(pb->first)) {
		/* Completed by the worker once the extent is marked written. */
		dmt_pool_first_write_done(tc->pool, bio);
		return DM_ENDIO_INCOMPLETE;
	}
	return DM_ENDIO_DONE;
}

static int tier_preresume(struct dm_target *ti)
{
	struct tier_c *tc = ti->private;
	struct dmt_pool *pool = tc->pool;
	u64 nr = DIV_ROUND_UP_SECTOR_T(ti->len, pool->extent_sectors);
	int r;

	/* No I/O of this volume runs while it is suspended. */
	mutex_lock(&pool->md_lock);
	r = dmt_vol_reserve(tc->vol, nr);
	if (!r)
		tc->vol->nr_extents = nr;
	mutex_unlock(&pool->md_lock);
	if (r)
		DMERR("%s: cannot allocate the volume map", dm_device_name(tc->md));
	return r;
}

static void tier_status(struct dm_target *ti, status_type_t type,
			unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct tier_c *tc = ti->private;
	unsigned int sz = 0, i;

	switch (type) {
	case STATUSTYPE_INFO:
		for (i = 0; i < tc->pool->nr_tiers; i++)
			DMEMIT("%s%llu", i ? " " : "", tc->vol->mapped[i]);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %u", tc->pool_dev->name, tc->vol->id);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int tier_iterate_devices(struct dm_target *ti,
				iterate_devices_callout_fn fn, void *data)
{
	struct tier_c *tc = ti->private;

	return fn(ti, tc->pool_dev, 0, bdev_nr_sectors(tc->pool_dev->bdev), data);
}

static void tier_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct tier_c *tc = ti->private;
	sector_t es = tc->pool->extent_sectors;

	limits->discard_granularity = es << SECTOR_SHIFT;
	limits->max_discard_sectors = min_t(sector_t, es * 64, UINT_MAX >> SECTOR_SHIFT);
}

static struct target_type tier_target = {
	.name = "tier",
	.version = {0, 2, 0},
	.module = THIS_MODULE,
	.ctr = tier_ctr,
	.dtr = tier_dtr,
	.map = tier_map,
	.end_io = tier_end_io,
	.preresume = tier_preresume,
	.status = tier_status,
	.iterate_devices = tier_iterate_devices,
	.io_hints = tier_io_hints,
};

int dm_tier_volume_register(void)
{
	return dm_register_target(&tier_target);
}

void dm_tier_volume_unregister(void)
{
	dm_unregister_target(&tier_target);
}
