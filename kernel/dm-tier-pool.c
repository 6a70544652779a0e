// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: the tier-pool target.
 *
 * At this stage the pool parses and validates its full table line and
 * remaps I/O linearly onto tier 0; thin extent mapping, metadata and the
 * per-volume "tier" target replace the linear remap in the next step.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>

#include "dm-tier.h"

struct pool_c {
	struct dm_target *ti;
	struct dm_dev *metadata_dev;
	sector_t extent_sectors;
	unsigned int nr_tiers;
	struct dm_dev *tier_dev[DM_TIER_MAX_TIERS];
};

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

static int pool_parse_features(struct dm_arg_set *as, char **error)
{
	static const struct dm_arg _args[] = {
		{0, 0, "Invalid number of feature arguments"},
	};
	unsigned int argc;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(_args, as, &argc, error);
	if (r)
		return r;
	/* No optional features are defined yet. */
	return 0;
}

static bool pool_dev_in_use(struct pool_c *pc, struct dm_dev *dev)
{
	unsigned int i;

	if (pc->metadata_dev && pc->metadata_dev->bdev == dev->bdev)
		return true;
	for (i = 0; i < pc->nr_tiers; i++)
		if (pc->tier_dev[i] && pc->tier_dev[i]->bdev == dev->bdev)
			return true;
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
	if (pool_dev_in_use(pc, dev)) {
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

	pool_put_devs(pc);
	kfree(pc);
}

/*
 * Construct a tier pool:
 *
 *   tier-pool <metadata_dev> <extent_sectors> <nr_tiers> <tier_dev_0> ...
 *             <tier_dev_n-1> [<#feature_args> <feature_arg>...]
 *
 * extent_sectors: power of two, 256 (128 KiB) to 2097152 (1 GiB).
 * nr_tiers: 1 to DM_TIER_MAX_TIERS; tier 0 is the fastest.
 */
static int pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	static const struct dm_arg _nr_tiers = {
		1, DM_TIER_MAX_TIERS, "Invalid number of tiers"
	};
	struct dm_arg_set as = { .argc = argc, .argv = argv };
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

	r = pool_get_dev(ti, pc, dm_shift_arg(&as), &pc->metadata_dev, &ti->error);
	if (r)
		goto bad;
	r = pool_parse_extent_sectors(&as, &pc->extent_sectors, &ti->error);
	if (r)
		goto bad;
	r = dm_read_arg(&_nr_tiers, &as, &nr_tiers, &ti->error);
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
	r = pool_parse_features(&as, &ti->error);
	if (r)
		goto bad;
	if (as.argc) {
		ti->error = "Too many arguments";
		r = -EINVAL;
		goto bad;
	}

	/* Interim linear remap onto tier 0: the target must fit on it. */
	if (ti->len > bdev_nr_sectors(pc->tier_dev[0]->bdev)) {
		ti->error = "Device is larger than tier 0";
		r = -EINVAL;
		goto bad;
	}

	ti->private = pc;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	return 0;
bad:
	pool_put_devs(pc);
	kfree(pc);
	return r;
}

static int pool_map(struct dm_target *ti, struct bio *bio)
{
	struct pool_c *pc = ti->private;

	bio_set_dev(bio, pc->tier_dev[0]->bdev);
	if (bio_sectors(bio) || op_is_zone_mgmt(bio_op(bio)))
		bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	return DM_MAPIO_REMAPPED;
}

static void pool_status(struct dm_target *ti, status_type_t type,
			unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct pool_c *pc = ti->private;
	unsigned int sz = 0, i;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u", pc->nr_tiers);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu %u", pc->metadata_dev->name,
		       (unsigned long long)pc->extent_sectors, pc->nr_tiers);
		for (i = 0; i < pc->nr_tiers; i++)
			DMEMIT(" %s", pc->tier_dev[i]->name);
		DMEMIT(" 0");
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

	return fn(ti, pc->tier_dev[0], 0, ti->len, data);
}

static struct target_type pool_target = {
	.name = "tier-pool",
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = pool_ctr,
	.dtr = pool_dtr,
	.map = pool_map,
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
