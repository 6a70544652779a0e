// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: on-disk metadata (format in include/dm-tier/metadata-format.h).
 *
 * Every logical metadata block has two slots on the metadata device.  A
 * commit writes each changed block to the slot that does not hold its
 * committed copy, flushes, then writes the superblock (itself in one of two
 * slots) with the new generation.  On load the valid copy with the highest
 * generation not above the superblock's wins.
 *
 * All metadata changes happen under pool->md_lock; commits hold it
 * throughout, so a commit writes exactly the state at its start.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/bitmap.h>
#include <linux/crc32c.h>
#include <linux/uuid.h>
#include <linux/ioprio.h>
#include <linux/blkdev.h>

#include "dm-tier.h"

static u32 dmt_csum(const void *buf, size_t len)
{
	return ~crc32c(~0U, buf + DMT_CSUM_SKIP, len - DMT_CSUM_SKIP);
}

static int dmt_io(struct dm_io_client *client, struct block_device *bdev,
		  blk_opf_t opf, sector_t sector, sector_t count, void *buf)
{
	struct dm_io_region where = {
		.bdev = bdev, .sector = sector, .count = count,
	};
	struct dm_io_request req = {
		.bi_opf = opf,
		.mem.type = is_vmalloc_addr(buf) ? DM_IO_VMA : DM_IO_KMEM,
		.mem.ptr.addr = buf,
		.client = client,
	};
	unsigned long error_bits;

	return dm_io(&req, 1, &where, &error_bits, IOPRIO_DEFAULT);
}

static int dmt_md_rw(struct dmt_metadata *md, blk_opf_t opf, u64 slot_block,
		     unsigned int nr, void *buf)
{
	return dmt_io(md->io, md->bdev, opf, slot_block * DMT_BLOCK_SECTORS,
		      (sector_t)nr * DMT_BLOCK_SECTORS, buf);
}

/* ------------------------------------------------------ block addressing */

static u64 dmt_vol_area_blocks(void)
{
	return DMT_VOL_BLOCKS;
}

/*
 * Logical block -> the first of its two slots; *tier: -1 for a volume
 * block, else the tier whose reverse-map block *idx it is.
 */
static int dmt_md_locate(struct dmt_pool *pool, u64 lb, u64 *slot0, int *tier, u64 *idx)
{
	struct dmt_superblock *sb = pool->md.sb;
	unsigned int i;

	if (lb < dmt_vol_area_blocks()) {
		*slot0 = le64_to_cpu(sb->vol_area_start) + 2 * lb;
		*tier = -1;
		*idx = lb;
		return 0;
	}
	for (i = 0; i < pool->nr_tiers; i++) {
		struct dmt_tier *t = &pool->tiers[i];

		if (lb >= t->md_base && lb < t->md_base + t->rmap_blocks) {
			*slot0 = le64_to_cpu(sb->tiers[i].area_start) + 2 * (lb - t->md_base);
			*tier = i;
			*idx = lb - t->md_base;
			return 0;
		}
	}
	WARN_ON_ONCE(1);
	return -EIO;
}

static enum dmt_block_type dmt_md_block_type(u64 lb)
{
	return lb < dmt_vol_area_blocks() ? DMT_BT_VOLUMES : DMT_BT_RMAP;
}

void __dmt_md_dirty_rmap(struct dmt_pool *pool, unsigned int tier, dmt_pext_t pe)
{
	struct dmt_tier *t = &pool->tiers[tier];

	__set_bit(t->md_base + from_pext(pe) / DMT_RMAP_PER_BLOCK, pool->md.dirty);
	WRITE_ONCE(pool->dirty, true);
}

void __dmt_md_dirty_volume(struct dmt_pool *pool, struct dmt_volume *vol)
{
	__set_bit(vol->slot / DMT_VOLS_PER_BLOCK, pool->md.dirty);
	WRITE_ONCE(pool->dirty, true);
}

struct dmt_volume_record *dmt_md_volume_record(struct dmt_pool *pool,
					       unsigned int slot)
{
	struct dmt_block_header *h = pool->md.vol_blocks[slot / DMT_VOLS_PER_BLOCK];

	return (struct dmt_volume_record *)(h + 1) + slot % DMT_VOLS_PER_BLOCK;
}

u64 dmt_md_blocks_used(struct dmt_pool *pool)
{
	return le64_to_cpu(pool->md.sb->meta_blocks_used);
}

static u64 dmt_layout_end(struct dmt_superblock *sb, unsigned int nr_tiers)
{
	u64 end = le64_to_cpu(sb->vol_area_start) + 2 * le64_to_cpu(sb->vol_area_blocks);

	if (nr_tiers)
		end = le64_to_cpu(sb->tiers[nr_tiers - 1].area_start) +
		      2 * le64_to_cpu(sb->tiers[nr_tiers - 1].area_blocks);
	return end;
}

/*
 * Does the superblock's layout fit @dev_blocks?  The volume area follows
 * the two superblocks; each tier's reverse-map area holds exactly its
 * extents and lies after the one before (removed tiers leave gaps).  Every
 * sum is checked before it is formed, so no field can wrap past the test.
 */
static bool dmt_sb_layout_valid(struct dmt_superblock *sb, unsigned int nr_tiers,
				u64 dev_blocks)
{
	u64 start = le64_to_cpu(sb->vol_area_start);
	u64 blocks = le64_to_cpu(sb->vol_area_blocks);
	unsigned int i;

	if (start < 2 || start > dev_blocks || blocks > (dev_blocks - start) / 2)
		return false;
	for (i = 0; i < nr_tiers; i++) {
		u64 end = start + 2 * blocks;
		u64 nr = le64_to_cpu(sb->tiers[i].nr_extents);

		start = le64_to_cpu(sb->tiers[i].area_start);
		blocks = le64_to_cpu(sb->tiers[i].area_blocks);
		if (!nr || nr > DMT_MAX_PEXT + 1ULL ||
		    blocks != DIV_ROUND_UP(nr, DMT_RMAP_PER_BLOCK) ||
		    start < end || start > dev_blocks ||
		    blocks > (dev_blocks - start) / 2)
			return false;
	}
	return true;
}

/* (Re)size the per-logical-block bitmaps for the current tiers. */
static int dmt_md_resize_bitmaps(struct dmt_pool *pool)
{
	struct dmt_metadata *md = &pool->md;
	u64 nr = dmt_vol_area_blocks();
	unsigned long *dirty, *cur;
	unsigned int i;

	for (i = 0; i < pool->nr_tiers; i++) {
		pool->tiers[i].md_base = nr;
		nr += pool->tiers[i].rmap_blocks;
	}
	dirty = bitmap_zalloc(nr, GFP_KERNEL);
	cur = bitmap_zalloc(nr, GFP_KERNEL);
	if (!dirty || !cur) {
		bitmap_free(dirty);
		bitmap_free(cur);
		return -ENOMEM;
	}
	if (md->dirty) {
		bitmap_copy(dirty, md->dirty, min(md->nr_blocks, nr));
		bitmap_copy(cur, md->cur_slot, min(md->nr_blocks, nr));
		bitmap_free(md->dirty);
		bitmap_free(md->cur_slot);
	}
	md->dirty = dirty;
	md->cur_slot = cur;
	md->nr_blocks = nr;
	return 0;
}

/* --------------------------------------------------------- tier labels */

static bool dmt_is_zero(const void *buf, size_t len)
{
	return !memchr_inv(buf, 0, len);
}

static int dmt_label_read(struct dmt_pool *pool, struct block_device *bdev,
			  struct dmt_tier_label *label)
{
	void *buf = pool->md.bounce;
	int r;

	r = dmt_io(pool->md.io, bdev, REQ_OP_READ, 0, DMT_BLOCK_SECTORS, buf);
	if (r)
		return r;
	memcpy(label, buf, sizeof(*label));
	if (le32_to_cpu(label->type) != DMT_BT_LABEL ||
	    le64_to_cpu(label->magic) != DMT_LABEL_MAGIC ||
	    le32_to_cpu(label->csum) != dmt_csum(label, sizeof(*label)))
		return dmt_is_zero(buf, 512) ? -ENODATA : -EILSEQ;
	return 0;
}

static int dmt_label_write(struct dmt_pool *pool, struct block_device *bdev,
			   unsigned int tier)
{
	struct dmt_tier_label *label = pool->md.bounce;

	memset(label, 0, DMT_BLOCK_SIZE);
	label->type = cpu_to_le32(DMT_BT_LABEL);
	label->magic = cpu_to_le64(DMT_LABEL_MAGIC);
	memcpy(label->uuid, pool->md.sb->uuid, sizeof(label->uuid));
	memcpy(label->tier_uuid, pool->md.sb->tiers[tier].uuid, sizeof(label->tier_uuid));
	label->tier = cpu_to_le32(tier);
	label->version = cpu_to_le32(DMT_FORMAT_VERSION);
	label->extent_sectors = cpu_to_le64(pool->extent_sectors);
	label->csum = cpu_to_le32(dmt_csum(label, sizeof(*label)));
	return dmt_io(pool->md.io, bdev, REQ_OP_WRITE | REQ_FUA, 0,
		      DMT_BLOCK_SECTORS, label);
}

/*
 * Check that @bdev is tier @tier of this pool: its label names this pool
 * and the tier's own UUID recorded in the superblock.  @may_be_new: a
 * device appended to the table may be blank, or carry a label of this pool
 * that no committed tier has (a grow that did not commit).  Returns 1 if
 * the device still needs its label.
 */
static int dmt_label_check(struct dmt_pool *pool, struct block_device *bdev,
			   unsigned int tier, bool may_be_new, char **error)
{
	struct dmt_superblock *sb = pool->md.sb;
	struct dmt_tier_label label;
	unsigned int j, known = le32_to_cpu(sb->nr_tiers);
	int r = dmt_label_read(pool, bdev, &label);

	if (r == -ENODATA && may_be_new)
		return 1;
	if (r == -ENODATA) {
		*error = "Tier device has no dm-tier label (missing or wrong device)";
		return -EINVAL;
	}
	if (r == -EILSEQ) {
		*error = "Tier device label is corrupt";
		return -EINVAL;
	}
	if (r) {
		*error = "Cannot read tier device label";
		return r;
	}
	if (memcmp(label.uuid, sb->uuid, sizeof(label.uuid))) {
		*error = "Tier device belongs to another pool";
		return -EINVAL;
	}
	if (!may_be_new && !memcmp(label.tier_uuid, sb->tiers[tier].uuid,
				   sizeof(label.tier_uuid)))
		return 0;
	for (j = 0; j < known; j++)
		if (!memcmp(label.tier_uuid, sb->tiers[j].uuid, sizeof(label.tier_uuid))) {
			*error = "Tier devices in the wrong order";
			return -EINVAL;
		}
	if (may_be_new)
		return 1;
	*error = "Tier device is not a current tier of this pool";
	return -EINVAL;
}

/* ------------------------------------------------------------ superblock */

static int dmt_sb_valid(struct dmt_superblock *sb)
{
	if (le32_to_cpu(sb->type) != DMT_BT_SUPER ||
	    le64_to_cpu(sb->magic) != DMT_SB_MAGIC)
		return -ENODATA;
	if (le32_to_cpu(sb->csum) != dmt_csum(sb, DMT_BLOCK_SIZE))
		return -EILSEQ;
	return 0;
}

static int dmt_sb_write(struct dmt_pool *pool, u64 generation)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_superblock *sb = md->bounce;
	unsigned int slot = generation & 1;
	int r;

	memcpy(sb, md->sb, DMT_BLOCK_SIZE);
	sb->generation = cpu_to_le64(generation);
	sb->flags = cpu_to_le32(pool->needs_check ? DMT_SB_NEEDS_CHECK : 0);
	sb->csum = cpu_to_le32(dmt_csum(sb, DMT_BLOCK_SIZE));
	r = dmt_md_rw(md, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA, slot, 1, sb);
	if (r)
		return r;
	memcpy(md->sb, sb, DMT_BLOCK_SIZE);
	md->generation = generation;
	md->sb_slot = slot;
	return 0;
}

/* Write logical block @lb's image to its spare slot with @generation. */
static int dmt_md_write_block(struct dmt_pool *pool, u64 lb, u64 generation)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_block_header *h = md->bounce;
	unsigned int spare = !test_bit(lb, md->cur_slot);
	u64 slot0, idx;
	int tier, r;

	r = dmt_md_locate(pool, lb, &slot0, &tier, &idx);
	if (r)
		return r;
	if (tier < 0)
		memcpy(h, md->vol_blocks[idx], DMT_BLOCK_SIZE);
	else {
		r = dmt_rmap_fill_block(pool, tier, idx, h);
		if (r)
			return r;
	}
	h->type = cpu_to_le32(dmt_md_block_type(lb));
	h->generation = cpu_to_le64(generation);
	h->blocknr = cpu_to_le64(slot0 + spare);
	h->reserved = 0;
	h->csum = cpu_to_le32(dmt_csum(h, DMT_BLOCK_SIZE));
	return dmt_md_rw(md, REQ_OP_WRITE, slot0 + spare, 1, h);
}

/* A slot is valid if its checksum holds and it says where it belongs. */
static bool dmt_block_valid(struct dmt_block_header *h, u64 lb, u64 slot)
{
	return le32_to_cpu(h->csum) == dmt_csum(h, DMT_BLOCK_SIZE) &&
	       le32_to_cpu(h->type) == dmt_md_block_type(lb) &&
	       le64_to_cpu(h->blocknr) == slot;
}

/*
 * Load logical block @lb: pick the valid slot with the highest generation
 * not above the superblock's; wipe slots left by a commit that did not
 * complete.  A volume block is kept as an image; a reverse-map block
 * rebuilds the mapping it holds (the volumes must be loaded first).
 */
static int dmt_md_load_block(struct dmt_pool *pool, u64 lb, void *pair)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_block_header *h[2] = { pair, pair + DMT_BLOCK_SIZE };
	u64 slot0, gen[2], idx;
	bool ok[2];
	int s, best = -1, tier, r;

	r = dmt_md_locate(pool, lb, &slot0, &tier, &idx);
	if (r)
		return r;
	r = dmt_md_rw(md, REQ_OP_READ, slot0, 2, pair);
	if (r)
		return r;
	for (s = 0; s < 2; s++) {
		ok[s] = dmt_block_valid(h[s], lb, slot0 + s);
		gen[s] = le64_to_cpu(h[s]->generation);
		if (ok[s] && gen[s] > md->generation) {
			/* Written by a commit that never completed. */
			memset(h[s], 0, DMT_BLOCK_SIZE);
			r = dmt_md_rw(md, REQ_OP_WRITE, slot0 + s, 1, h[s]);
			if (r)
				return r;
			ok[s] = false;
		}
		if (ok[s] && (best < 0 || gen[s] > gen[best]))
			best = s;
	}
	if (best < 0) {
		DMERR("metadata block %llu: no valid copy", lb);
		return -EUCLEAN;
	}
	if (best)
		__set_bit(lb, md->cur_slot);
	else
		__clear_bit(lb, md->cur_slot);
	if (tier < 0) {
		memcpy(md->vol_blocks[idx], h[best], DMT_BLOCK_SIZE);
		return 0;
	}
	return dmt_rmap_load_block(pool, tier, idx, h[best]);
}

/* ---------------------------------------------------------------- tiers */

static int dmt_tier_setup(struct dmt_pool *pool, unsigned int i,
			  struct block_device *bdev, u64 nr_extents)
{
	struct dmt_tier *t = &pool->tiers[i];

	t->bdev = bdev;
	t->nr_extents = nr_extents;
	return dmt_tier_alloc_maps(t);
}

static u64 dmt_tier_capacity(struct dmt_pool *pool, struct block_device *bdev)
{
	sector_t s = bdev_nr_sectors(bdev);

	if (s <= DMT_TIER_DATA_OFFSET)
		return 0;
	return min_t(u64, (s - DMT_TIER_DATA_OFFSET) >> pool->extent_shift,
		     DMT_MAX_PEXT + 1);
}

/* Lay out tier @i's reverse-map area after the previous areas. */
static int dmt_sb_add_tier(struct dmt_pool *pool, unsigned int i,
			   struct block_device *bdev, char **error)
{
	struct dmt_superblock *sb = pool->md.sb;
	u64 nr = dmt_tier_capacity(pool, bdev);
	u64 blocks = DIV_ROUND_UP(nr, DMT_RMAP_PER_BLOCK);
	u64 start = dmt_layout_end(sb, i);

	if (!nr) {
		*error = "Tier device too small for one extent";
		return -EINVAL;
	}
	if (start + 2 * blocks > pool->md.dev_blocks) {
		*error = "Metadata device too small";
		return -ENOSPC;
	}
	generate_random_uuid(sb->tiers[i].uuid);
	sb->tiers[i].nr_extents = cpu_to_le64(nr);
	sb->tiers[i].area_start = cpu_to_le64(start);
	sb->tiers[i].area_blocks = cpu_to_le64(blocks);
	sb->tiers[i].dev_sectors = cpu_to_le64(bdev_nr_sectors(bdev));
	sb->nr_tiers = cpu_to_le32(i + 1);
	sb->meta_blocks_used = cpu_to_le64(start + 2 * blocks);
	return 0;
}

/* Write every block of the given logical range to slot 0 at @generation. */
static int dmt_md_write_initial(struct dmt_pool *pool, u64 first, u64 end,
				u64 generation)
{
	u64 lb;
	int r;

	for (lb = first; lb < end; lb++) {
		__set_bit(lb, pool->md.cur_slot);	/* so the spare is slot 0 */
		r = dmt_md_write_block(pool, lb, generation);
		if (r)
			return r;
		__clear_bit(lb, pool->md.cur_slot);
		__clear_bit(lb, pool->md.dirty);
	}
	return 0;
}

static int dmt_md_format(struct dmt_pool *pool, struct block_device **tiers,
			 unsigned int nr_tiers, char **error)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_superblock *sb = md->sb;
	unsigned int i;
	int r;

	memset(sb, 0, DMT_BLOCK_SIZE);
	sb->type = cpu_to_le32(DMT_BT_SUPER);
	sb->magic = cpu_to_le64(DMT_SB_MAGIC);
	sb->version = cpu_to_le32(DMT_FORMAT_VERSION);
	generate_random_uuid(sb->uuid);
	sb->extent_sectors = cpu_to_le64(pool->extent_sectors);
	sb->max_volumes = cpu_to_le32(DMT_MAX_VOLUMES);
	sb->vol_area_start = cpu_to_le64(2);
	sb->vol_area_blocks = cpu_to_le64(dmt_vol_area_blocks());
	sb->meta_blocks_used = cpu_to_le64(dmt_layout_end(sb, 0));
	sb->meta_dev_blocks = cpu_to_le64(md->dev_blocks);
	if (dmt_layout_end(sb, 0) > md->dev_blocks) {
		*error = "Metadata device too small";
		return -ENOSPC;
	}
	for (i = 0; i < nr_tiers; i++) {
		r = dmt_sb_add_tier(pool, i, tiers[i], error);
		if (r)
			return r;
		r = dmt_tier_setup(pool, i, tiers[i], le64_to_cpu(sb->tiers[i].nr_extents));
		if (r) {
			*error = "Cannot allocate tier maps";
			return r;
		}
		pool->nr_tiers = i + 1;
	}
	r = dmt_md_resize_bitmaps(pool);
	if (r) {
		*error = "Cannot allocate metadata bitmaps";
		return r;
	}
	for (i = 0; i < nr_tiers; i++) {
		r = dmt_label_write(pool, tiers[i], i);
		if (r) {
			*error = "Cannot write tier label";
			return r;
		}
	}
	md->generation = 0;
	r = dmt_md_write_initial(pool, 0, md->nr_blocks, 1);
	if (!r)
		r = dmt_sb_write(pool, 1);
	if (r) {
		*error = "Cannot write metadata";
		return r;
	}
	DMINFO("formatted a new pool: %u tiers, %llu metadata blocks",
	       nr_tiers, le64_to_cpu(sb->meta_blocks_used));
	return 0;
}

static int dmt_md_load_volumes(struct dmt_pool *pool)
{
	unsigned int slot;

	for (slot = 0; slot < DMT_MAX_VOLUMES; slot++) {
		struct dmt_volume_record *rec = dmt_md_volume_record(pool, slot);
		struct dmt_volume *vol;

		if (!(le32_to_cpu(rec->flags) & DMT_VOL_IN_USE))
			continue;
		if (le32_to_cpu(rec->id) > DMT_MAX_VOLUME_ID ||
		    le32_to_cpu(rec->policy) >= DMT_NR_POLICIES) {
			DMERR("volume record %u is invalid", slot);
			return -EUCLEAN;
		}
		vol = kzalloc(sizeof(*vol), GFP_KERNEL);
		if (!vol || dmt_profile_alloc(vol)) {
			kfree(vol);
			return -ENOMEM;
		}
		vol->id = le32_to_cpu(rec->id);
		vol->slot = slot;
		vol->rec = rec;
		pool->vol_slots[slot] = vol;
		list_add_tail(&vol->list, &pool->volumes);
		pool->nr_volumes++;
	}
	return 0;
}

static int dmt_md_load(struct dmt_pool *pool, struct block_device **tiers,
		       unsigned int nr_tiers, char **error)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_superblock *sb = md->sb;
	unsigned int i, known = le32_to_cpu(sb->nr_tiers);
	void *pair;
	u64 lb;
	int r;

	if (le32_to_cpu(sb->version) != DMT_FORMAT_VERSION) {
		*error = "Unsupported metadata version";
		return -EINVAL;
	}
	if (le64_to_cpu(sb->extent_sectors) != pool->extent_sectors) {
		*error = "Extent size differs from the pool's";
		return -EINVAL;
	}
	if (known == 0 || known > DMT_MAX_TIERS ||
	    le64_to_cpu(sb->vol_area_blocks) != dmt_vol_area_blocks() ||
	    !dmt_sb_layout_valid(sb, known, md->dev_blocks)) {
		*error = "Superblock is inconsistent";
		return -EINVAL;
	}
	if (nr_tiers < known) {
		*error = "Tier device missing";
		return -EINVAL;
	}
	pool->needs_check = le32_to_cpu(sb->flags) & DMT_SB_NEEDS_CHECK;

	for (i = 0; i < known; i++) {
		u64 nr = le64_to_cpu(sb->tiers[i].nr_extents);

		r = dmt_label_check(pool, tiers[i], i, false, error);
		if (r)
			return r;
		if (bdev_nr_sectors(tiers[i]) <
		    DMT_TIER_DATA_OFFSET + (nr << pool->extent_shift)) {
			*error = "Tier device smaller than when formatted";
			return -EINVAL;
		}
		r = dmt_tier_setup(pool, i, tiers[i], nr);
		if (r) {
			*error = "Cannot allocate tier maps";
			return r;
		}
		pool->nr_tiers = i + 1;
	}
	r = dmt_md_resize_bitmaps(pool);
	if (r) {
		*error = "Cannot allocate metadata bitmaps";
		return r;
	}

	pair = kvmalloc(2 * DMT_BLOCK_SIZE, GFP_KERNEL);
	if (!pair) {
		*error = "Cannot allocate metadata buffer";
		return -ENOMEM;
	}
	/* Volume blocks first: the reverse-map blocks name their volumes. */
	for (lb = 0; lb < dmt_vol_area_blocks() && !r; lb++)
		r = dmt_md_load_block(pool, lb, pair);
	if (!r)
		r = dmt_md_load_volumes(pool);
	for (; lb < md->nr_blocks && !r; lb++)
		r = dmt_md_load_block(pool, lb, pair);
	kvfree(pair);
	if (r) {
		*error = r == -EUCLEAN ? "Metadata is corrupt" :
			 r == -ENOMEM ? "Cannot allocate volume maps" : "Cannot read metadata";
		return r;
	}
	if (pool->needs_check) {
		/* As dm-thin: serve what is mapped, change nothing, until checked. */
		DMWARN("%s: metadata needs_check: activating read-only (run tier_check)",
		       dm_device_name(pool->pool_md));
		pool->mode = DMT_MODE_RO;
		if (nr_tiers > known) {
			*error = "Cannot add tiers while the metadata needs a check";
			return -EROFS;
		}
		return 0;
	}
	/* Tiers appended to the table: labelled and laid out now. */
	if (nr_tiers > known)
		return dmt_md_add_tiers(pool, tiers + known, nr_tiers - known, error);
	return 0;
}

/*
 * Add tiers at the end of the pool (first activation with more devices than
 * formatted, or a reload that appends devices).  Caller holds md_lock or has
 * the pool to itself.
 */
int dmt_md_add_tiers(struct dmt_pool *pool, struct block_device **tiers,
		     unsigned int nr, char **error)
{
	struct dmt_superblock *sb = pool->md.sb;
	unsigned int first = pool->nr_tiers, i;
	u64 old_blocks = pool->md.nr_blocks;
	int r;

	if (first + nr > DMT_MAX_TIERS) {
		*error = "Too many tiers";
		return -EINVAL;
	}
	for (i = 0; i < nr; i++) {
		r = dmt_label_check(pool, tiers[i], first + i, true, error);
		if (r < 0)
			return r;
	}
	for (i = 0; i < nr; i++) {
		unsigned int ti = first + i;

		r = dmt_sb_add_tier(pool, ti, tiers[i], error);
		if (r)
			goto bad;
		r = dmt_tier_setup(pool, ti, tiers[i], le64_to_cpu(sb->tiers[ti].nr_extents));
		if (r) {
			*error = "Cannot allocate tier maps";
			goto bad;
		}
		r = dmt_label_write(pool, tiers[i], ti);
		if (r) {
			*error = "Cannot write tier label";
			goto bad_tier;
		}
		/* The map path reads tiers[] below nr_tiers without locks. */
		smp_wmb();
		WRITE_ONCE(pool->nr_tiers, ti + 1);
		r = dmt_md_resize_bitmaps(pool);
		if (r) {
			*error = "Cannot allocate metadata bitmaps";
			goto bad;
		}
	}
	r = dmt_md_write_initial(pool, old_blocks, pool->md.nr_blocks,
				 pool->md.generation + 1);
	if (!r)
		r = dmt_sb_write(pool, pool->md.generation + 1);
	if (r) {
		*error = "Cannot write metadata";
		dmt_pool_error(pool, "grow", r);
		return r;
	}
	pool->out_of_space = false;
	DMINFO("pool grown to %u tiers", pool->nr_tiers);
	return 0;
bad_tier:
	dmt_tier_free_maps(&pool->tiers[first + i]);
bad:
	/* Nothing was committed: forget the new tiers. */
	for (i = first; i < pool->nr_tiers; i++)
		dmt_tier_free_maps(&pool->tiers[i]);
	pool->nr_tiers = first;
	sb->nr_tiers = cpu_to_le32(first);
	sb->meta_blocks_used = cpu_to_le64(dmt_layout_end(sb, first));
	return r;
}

/*
 * Drop empty tier @r from the pool and commit the new layout.  The other
 * tiers keep their labels (they name the tier's UUID, not its index) and
 * their reverse-map areas; @r's area is left unused.  Caller holds md_lock,
 * everything is committed and the map path is frozen.
 */
int dmt_md_remove_tier(struct dmt_pool *pool, unsigned int r)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_superblock *sb = md->sb;
	unsigned long *old_cur = md->cur_slot, *old_dirty = md->dirty;
	u64 old_base[DM_TIER_MAX_TIERS], lb;
	unsigned int i, n = pool->nr_tiers;
	int err;

	for (i = 0; i < n; i++)
		old_base[i] = pool->tiers[i].md_base;
	dmt_tier_free_maps(&pool->tiers[r]);
	memmove(&pool->tiers[r], &pool->tiers[r + 1], (n - r - 1) * sizeof(pool->tiers[0]));
	memset(&pool->tiers[n - 1], 0, sizeof(pool->tiers[0]));
	memmove(&old_base[r], &old_base[r + 1], (n - r - 1) * sizeof(old_base[0]));
	memmove(&sb->tiers[r], &sb->tiers[r + 1], (n - r - 1) * sizeof(sb->tiers[0]));
	memset(&sb->tiers[n - 1], 0, sizeof(sb->tiers[0]));
	sb->nr_tiers = cpu_to_le32(n - 1);
	sb->meta_blocks_used = cpu_to_le64(dmt_layout_end(sb, n - 1));
	WRITE_ONCE(pool->nr_tiers, n - 1);

	/* Fresh per-block bitmaps with the remaining blocks' current slots. */
	md->dirty = NULL;
	md->cur_slot = NULL;
	err = dmt_md_resize_bitmaps(pool);
	if (err) {
		md->dirty = old_dirty;
		md->cur_slot = old_cur;
		return err;
	}
	for (lb = 0; lb < dmt_vol_area_blocks(); lb++)
		if (test_bit(lb, old_cur))
			__set_bit(lb, md->cur_slot);
	for (i = 0; i + 1 < n; i++)
		for (lb = 0; lb < pool->tiers[i].rmap_blocks; lb++)
			if (test_bit(old_base[i] + lb, old_cur))
				__set_bit(pool->tiers[i].md_base + lb, md->cur_slot);
	bitmap_free(old_cur);
	bitmap_free(old_dirty);

	err = dmt_sb_write(pool, md->generation + 1);
	if (err)
		dmt_pool_error(pool, "remove tier", err);
	return err;
}

int dmt_md_open(struct dmt_pool *pool, struct block_device *meta,
		struct block_device **tiers, unsigned int nr_tiers,
		sector_t extent_sectors, char **error)
{
	struct dmt_metadata *md = &pool->md;
	struct dmt_superblock *sb[2];
	int v[2], best, r;
	unsigned int i;

	md->bdev = meta;
	md->dev_blocks = bdev_nr_sectors(meta) / DMT_BLOCK_SECTORS;
	md->io = dm_io_client_create();
	md->sb = kmalloc(DMT_BLOCK_SIZE, GFP_KERNEL);
	md->bounce = kmalloc(2 * DMT_BLOCK_SIZE, GFP_KERNEL);
	md->vol_blocks = kcalloc(dmt_vol_area_blocks(), sizeof(void *), GFP_KERNEL);
	if (IS_ERR(md->io)) {
		md->io = NULL;
		r = -ENOMEM;
		goto nomem;
	}
	if (!md->sb || !md->bounce || !md->vol_blocks) {
		r = -ENOMEM;
		goto nomem;
	}
	for (i = 0; i < dmt_vol_area_blocks(); i++) {
		md->vol_blocks[i] = (void *)get_zeroed_page(GFP_KERNEL);
		if (!md->vol_blocks[i]) {
			r = -ENOMEM;
			goto nomem;
		}
	}
	if (md->dev_blocks < 2) {
		*error = "Metadata device too small";
		return -ENOSPC;
	}

	r = dmt_md_rw(md, REQ_OP_READ, 0, 2, md->bounce);
	if (r) {
		*error = "Cannot read superblock";
		return r;
	}
	sb[0] = md->bounce;
	sb[1] = md->bounce + DMT_BLOCK_SIZE;
	v[0] = dmt_sb_valid(sb[0]);
	v[1] = dmt_sb_valid(sb[1]);
	if (v[0] == -ENODATA && v[1] == -ENODATA) {
		if (!dmt_is_zero(md->bounce, 2 * DMT_BLOCK_SIZE)) {
			*error = "Metadata device holds something else (wipe it to format)";
			return -EINVAL;
		}
		return dmt_md_format(pool, tiers, nr_tiers, error);
	}
	if (v[0] && v[1]) {
		*error = "Superblock checksum mismatch";
		return -EILSEQ;
	}
	best = v[0] ? 1 : v[1] ? 0 :
	       le64_to_cpu(sb[1]->generation) > le64_to_cpu(sb[0]->generation);
	memcpy(md->sb, sb[best], DMT_BLOCK_SIZE);
	md->generation = le64_to_cpu(md->sb->generation);
	md->sb_slot = best;
	return dmt_md_load(pool, tiers, nr_tiers, error);
nomem:
	*error = "Cannot allocate metadata buffers";
	return r;
}

void dmt_md_close(struct dmt_pool *pool)
{
	struct dmt_metadata *md = &pool->md;
	unsigned int i;

	if (md->vol_blocks)
		for (i = 0; i < dmt_vol_area_blocks(); i++)
			free_page((unsigned long)md->vol_blocks[i]);
	kfree(md->vol_blocks);
	kfree(md->sb);
	kfree(md->bounce);
	bitmap_free(md->dirty);
	bitmap_free(md->cur_slot);
	if (md->io)
		dm_io_client_destroy(md->io);
	memset(md, 0, sizeof(*md));
}

/*
 * Commit: make every change so far durable.  Caller holds md_lock.
 *   1. flush every tier, so data the new mappings point at is stable;
 *   2. write each dirty block to its spare slot;
 *   3. flush the metadata device and write the superblock (FUA);
 *   4. release the extents freed before the commit.
 */
int dmt_md_commit(struct dmt_pool *pool)
{
	struct dmt_metadata *md = &pool->md;
	u64 gen = md->generation + 1, lb;
	unsigned int i;
	u64 freeing;
	int r = 0;

	if (!READ_ONCE(pool->dirty))
		return 0;
	if (pool->mode != DMT_MODE_RW)
		return -EROFS;

	spin_lock_irq(&pool->lock);
	freeing = __dmt_commit_begin_frees(pool);
	spin_unlock_irq(&pool->lock);

	for (i = 0; i < pool->nr_tiers && !r; i++)
		r = blkdev_issue_flush(pool->tiers[i].bdev);
	for_each_set_bit(lb, md->dirty, md->nr_blocks) {
		if (r)
			break;
		r = dmt_md_write_block(pool, lb, gen);
	}
	if (!r)
		r = dmt_sb_write(pool, gen);
	if (r) {
		dmt_pool_error(pool, "commit", r);
		return r;
	}
	for_each_set_bit(lb, md->dirty, md->nr_blocks)
		__change_bit(lb, md->cur_slot);
	bitmap_zero(md->dirty, md->nr_blocks);
	WRITE_ONCE(pool->dirty, false);

	if (freeing)
		dmt_pool_drain_io(pool);
	spin_lock_irq(&pool->lock);
	__dmt_commit_end_frees(pool);
	pool->commits++;
	spin_unlock_irq(&pool->lock);
	return 0;
}
