// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: extent mapping.
 *
 * Each volume has a forward table (virtual extent -> tier, physical
 * extent), two-level, allocated a page at a time where the volume has
 * mapped extents, read locklessly by the map path.  Each tier has a reverse
 * map (physical extent -> volume slot, virtual extent) of six-byte entries
 * (struct dmt_rent), translated to and from the on-disk block format
 * (eight-byte entries with volume id and pinned flag) when blocks are
 * written and loaded, and an allocation bitmap.
 *
 * Freed physical extents go to a tier's pending_free bitmap; a commit moves
 * them to committing_free when it starts and releases them only once it
 * has completed, so a freed extent is never reused before the change that
 * freed it is durable.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/bitmap.h>

#include "dm-tier.h"

int dmt_vol_reserve(struct dmt_volume *vol, u64 nr_extents)
{
	u64 nr_chunks = DIV_ROUND_UP(nr_extents, DMT_CHUNK_ENTRIES);
	u64 **chunks;

	if (nr_chunks <= vol->nr_chunks)
		return 0;
	chunks = kvcalloc(nr_chunks, sizeof(*chunks), GFP_KERNEL);
	if (!chunks)
		return -ENOMEM;
	if (vol->chunks)
		memcpy(chunks, vol->chunks, vol->nr_chunks * sizeof(*chunks));
	kvfree(vol->chunks);
	vol->chunks = chunks;
	vol->nr_chunks = nr_chunks;
	return 0;
}

/* Make sure the forward-table page for @ve exists. */
int dmt_vol_prepare(struct dmt_volume *vol, dmt_vext_t ve, gfp_t gfp)
{
	u64 ci = from_vext(ve) >> DMT_CHUNK_SHIFT;
	u64 *chunk;

	if (ci >= vol->nr_chunks)
		return -ERANGE;
	if (vol->chunks[ci])
		return 0;
	chunk = (u64 *)get_zeroed_page(gfp);
	if (!chunk)
		return -ENOMEM;
	/* Only the pool worker and (suspended) setup paths add chunks. */
	if (cmpxchg(&vol->chunks[ci], NULL, chunk))
		free_page((unsigned long)chunk);
	return 0;
}

void dmt_vol_free_map(struct dmt_volume *vol)
{
	u64 i;

	for (i = 0; i < vol->nr_chunks; i++)
		if (vol->chunks[i])
			free_page((unsigned long)vol->chunks[i]);
	kvfree(vol->chunks);
	vol->chunks = NULL;
	vol->nr_chunks = 0;
}

u64 dmt_vol_map_bytes(struct dmt_volume *vol)
{
	u64 i, bytes = vol->nr_chunks * sizeof(*vol->chunks);

	for (i = 0; i < vol->nr_chunks; i++)
		if (vol->chunks[i])
			bytes += PAGE_SIZE;
	return bytes;
}

static u64 *dmt_fe_slot(struct dmt_volume *vol, dmt_vext_t ve)
{
	u64 e = from_vext(ve);

	return &vol->chunks[e >> DMT_CHUNK_SHIFT][e & (DMT_CHUNK_ENTRIES - 1)];
}

static struct dmt_rent *dmt_rent(struct dmt_tier *t, u64 p)
{
	return &t->rmap[p / DMT_RENTS_PER_PAGE][p % DMT_RENTS_PER_PAGE];
}

static u64 dmt_rent_get(struct dmt_tier *t, dmt_pext_t pe)
{
	struct dmt_rent *r = dmt_rent(t, from_pext(pe));

	return r->w[0] | (u64)r->w[1] << 16 | (u64)r->w[2] << 32;
}

/* Caller holds md_lock (all reverse-map readers and writers do). */
static void dmt_rent_set(struct dmt_tier *t, dmt_pext_t pe, struct dmt_volume *vol,
			 dmt_vext_t ve)
{
	struct dmt_rent *r = dmt_rent(t, from_pext(pe));
	u64 v = vol ? (u64)(vol->slot + 1) << DMT_RENT_VEXT_BITS | from_vext(ve) : 0;

	r->w[0] = v;
	r->w[1] = v >> 16;
	r->w[2] = v >> 32;
}

/* The volume and virtual extent mapped to (@tier, @pe); NULL if free. */
struct dmt_volume *dmt_rmap_owner(struct dmt_pool *pool, unsigned int tier,
				  dmt_pext_t pe, dmt_vext_t *ve)
{
	u64 v = dmt_rent_get(&pool->tiers[tier], pe);

	if (!v)
		return NULL;
	*ve = to_vext(v & (DMT_MAX_VEXTS - 1));
	return pool->vol_slots[(v >> DMT_RENT_VEXT_BITS) - 1];
}

/*
 * Write reverse-map block @blk of @tier in the on-disk format into @h's
 * payload (the caller fills the header).  An entry whose volume is gone or
 * whose forward entry points elsewhere means the maps disagree: -EUCLEAN,
 * and the commit fails rather than write it.
 */
int dmt_rmap_fill_block(struct dmt_pool *pool, unsigned int tier, u64 blk,
			struct dmt_block_header *h)
{
	struct dmt_tier *t = &pool->tiers[tier];
	__le64 *out = (__le64 *)(h + 1);
	u64 p = blk * DMT_RMAP_PER_BLOCK, end = min(p + DMT_RMAP_PER_BLOCK, t->nr_extents);
	unsigned int i;

	memset(h, 0, DMT_BLOCK_SIZE);
	for (i = 0; p < end; p++, i++) {
		struct dmt_volume *vol;
		dmt_vext_t ve;
		u64 fe;

		vol = dmt_rmap_owner(pool, tier, to_pext(p), &ve);
		if (!vol) {
			if (dmt_rent_get(t, to_pext(p)))
				goto bad;
			continue;
		}
		fe = dmt_lookup(vol, ve);
		if (!dmt_fe_mapped(fe) || dmt_fe_tier(fe) != tier || from_pext(dmt_fe_pext(fe)) != p)
			goto bad;
		if (fe & DMT_FE_UNWRITTEN)
			continue;	/* free on disk until its first write is done */
		out[i] = cpu_to_le64(dmt_rmap_pack(vol->id, from_vext(ve), !!(fe & DMT_FE_PINNED)));
	}
	return 0;
bad:
	DMERR("tier %u extent %llu: reverse map disagrees with the forward map", tier, p);
	return -EUCLEAN;
}

/*
 * Load reverse-map block @blk of @tier (a valid on-disk copy) and rebuild
 * the forward entries, allocation bits and counters it implies.  Volumes
 * are loaded already.  An entry naming an unknown volume, a virtual extent
 * beyond the limit or one mapped twice means corrupt metadata.
 */
int dmt_rmap_load_block(struct dmt_pool *pool, unsigned int tier, u64 blk,
			const struct dmt_block_header *h)
{
	struct dmt_tier *t = &pool->tiers[tier];
	const __le64 *in = (const __le64 *)(h + 1);
	u64 p = blk * DMT_RMAP_PER_BLOCK, end = min(p + DMT_RMAP_PER_BLOCK, t->nr_extents);
	struct dmt_volume *vol = NULL;
	unsigned int i;
	int r;

	for (i = 0; p < end; p++, i++) {
		u64 e = le64_to_cpu(in[i]), *slot;
		dmt_vext_t ve;

		if (e == DMT_RMAP_FREE)
			continue;
		if (!vol || vol->id != dmt_rmap_volume(e))
			vol = dmt_pool_find_volume(pool, dmt_rmap_volume(e));
		if (!vol) {
			DMERR("tier %u extent %llu maps unknown volume %u",
			      tier, p, dmt_rmap_volume(e));
			return -EUCLEAN;
		}
		ve = to_vext(dmt_rmap_vext(e));
		if (from_vext(ve) >= DMT_MAX_VEXTS) {
			DMERR("tier %u extent %llu maps virtual extent %llu, beyond the limit",
			      tier, p, from_vext(ve));
			return -EUCLEAN;
		}
		r = dmt_vol_reserve(vol, from_vext(ve) + 1);
		if (!r)
			r = dmt_vol_prepare(vol, ve, GFP_KERNEL);
		if (r)
			return r;
		slot = dmt_fe_slot(vol, ve);
		if (dmt_fe_mapped(*slot)) {
			DMERR("volume %u extent %llu mapped twice", vol->id, from_vext(ve));
			return -EUCLEAN;
		}
		*slot = dmt_fe_make(tier, to_pext(p)) |
			(dmt_rmap_pinned(e) ? DMT_FE_PINNED : 0);
		dmt_rent_set(t, to_pext(p), vol, ve);
		vol->mapped[tier]++;
		__set_bit(p, t->alloc);
		t->used++;
	}
	return 0;
}

/* ------------------------------------------------------------ allocation */

static bool __dmt_tier_has_room(struct dmt_pool *pool, unsigned int t)
{
	return pool->tiers[t].used < pool->tiers[t].nr_extents &&
	       (int)t != pool->evacuating;
}

static int __dmt_tier_alloc(struct dmt_tier *t, dmt_pext_t *pe)
{
	unsigned long p;

	p = find_next_zero_bit(t->alloc, t->nr_extents, t->cursor);
	if (p >= t->nr_extents)
		p = find_first_zero_bit(t->alloc, t->nr_extents);
	if (p >= t->nr_extents)
		return -ENOSPC;
	__set_bit(p, t->alloc);
	t->used++;
	t->cursor = p + 1;
	*pe = to_pext(p);
	return 0;
}

/* Reserve a physical extent on one given tier. */
int __dmt_tier_reserve(struct dmt_pool *pool, unsigned int tier, dmt_pext_t *pe)
{
	if (!__dmt_tier_has_room(pool, tier))
		return -ENOSPC;
	return __dmt_tier_alloc(&pool->tiers[tier], pe);
}

/* Tier order of a fallback chain starting at @first: slower ones, then faster. */
static int __dmt_alloc_from(struct dmt_pool *pool, unsigned int first,
			    unsigned int *tier, dmt_pext_t *pe)
{
	int t;

	for (t = first; t < pool->nr_tiers; t++)
		if (__dmt_tier_has_room(pool, t) && !__dmt_tier_alloc(&pool->tiers[t], pe))
			goto found;
	for (t = (int)first - 1; t >= 0; t--)
		if (__dmt_tier_has_room(pool, t) && !__dmt_tier_alloc(&pool->tiers[t], pe))
			goto found;
	return -ENOSPC;
found:
	*tier = t;
	return 0;
}

static int __dmt_hint_tier(struct dmt_volume *vol, dmt_vext_t ve)
{
	u64 e = from_vext(ve);
	unsigned int i;

	for (i = 0; i < vol->nr_hints; i++)
		if (e >= vol->hints[i].begin && e < vol->hints[i].end)
			return vol->hints[i].tier;
	return -1;
}

/*
 * Choose and reserve a physical extent for the first write to @ve: the
 * hint's tier, else the policy's; full tiers fall back to slower ones,
 * then faster ones.  Caller holds pool->lock.
 */
int __dmt_alloc(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		unsigned int *tier, dmt_pext_t *pe)
{
	unsigned int n = pool->nr_tiers, first, i;
	int hint = __dmt_hint_tier(vol, ve);

	if (hint >= 0 && hint < n) {
		first = hint;
	} else {
		switch (le32_to_cpu(vol->rec->policy)) {
		case DMT_POLICY_PERFORMANCE:
			first = 0;
			break;
		case DMT_POLICY_COST:
			for (i = n; i-- > 0;)
				if (__dmt_tier_has_room(pool, i))
					return __dmt_alloc_from(pool, i, tier, pe);
			return -ENOSPC;
		case DMT_POLICY_STRIPED:
			for (i = 0; i < n; i++) {
				first = (vol->stripe_next + i) % n;
				if (__dmt_tier_has_room(pool, first))
					break;
			}
			vol->stripe_next = (first + 1) % n;
			break;
		case DMT_POLICY_BALANCED:
		default:
			first = n / 2;
			break;
		}
	}
	return __dmt_alloc_from(pool, first, tier, pe);
}

void __dmt_map_insert(struct dmt_pool *pool, struct dmt_volume *vol,
		      dmt_vext_t ve, unsigned int tier, dmt_pext_t pe)
{
	struct dmt_tier *t = &pool->tiers[tier];

	dmt_rent_set(t, pe, vol, ve);
	__dmt_md_dirty_rmap(pool, tier, pe);
	/* pool->dirty before the mapping: see the REQ_FUA test in tier_map(). */
	smp_wmb();
	/* Unwritten (committed as free) until __dmt_map_written(). */
	WRITE_ONCE(*dmt_fe_slot(vol, ve), dmt_fe_make(tier, pe) | DMT_FE_UNWRITTEN);
	vol->mapped[tier]++;
	pool->allocations++;
}

/*
 * The first write to a newly mapped extent completed: with @ok the extent
 * becomes a normal mapping (the next commit records it); after a failed
 * write it is unmapped again and, never having been committed as mapped,
 * free at once.
 */
void __dmt_map_written(struct dmt_pool *pool, struct dmt_volume *vol,
		       dmt_vext_t ve, bool ok)
{
	u64 *slot = dmt_fe_slot(vol, ve), fe = READ_ONCE(*slot);
	unsigned int tier = dmt_fe_tier(fe);
	dmt_pext_t pe = dmt_fe_pext(fe);
	struct dmt_tier *t = &pool->tiers[tier];

	if (WARN_ON_ONCE(!(fe & DMT_FE_UNWRITTEN)))
		return;
	__dmt_md_dirty_rmap(pool, tier, pe);
	if (ok) {
		/* pool->dirty before the mapping: see tier_map(). */
		smp_wmb();
		dmt_fe_update(slot, DMT_FE_UNWRITTEN, 0);
		return;
	}
	WRITE_ONCE(*slot, 0);
	dmt_rent_set(t, pe, NULL, ve);
	__clear_bit(from_pext(pe), t->alloc);
	t->used--;
	vol->mapped[tier]--;
}

/* Release a reserved extent that was never mapped (zeroing failed). */
void __dmt_unreserve(struct dmt_pool *pool, unsigned int tier, dmt_pext_t pe)
{
	struct dmt_tier *t = &pool->tiers[tier];

	__clear_bit(from_pext(pe), t->alloc);
	t->used--;
}

void __dmt_map_remove(struct dmt_pool *pool, struct dmt_volume *vol,
		      dmt_vext_t ve)
{
	u64 *slot, fe;
	unsigned int tier;
	dmt_pext_t pe;
	struct dmt_tier *t;

	if (from_vext(ve) >> DMT_CHUNK_SHIFT >= vol->nr_chunks ||
	    !vol->chunks[from_vext(ve) >> DMT_CHUNK_SHIFT])
		return;
	slot = dmt_fe_slot(vol, ve);
	fe = *slot;
	if (!dmt_fe_mapped(fe))
		return;
	tier = dmt_fe_tier(fe);
	pe = dmt_fe_pext(fe);
	t = &pool->tiers[tier];
	WRITE_ONCE(*slot, 0);
	dmt_rent_set(t, pe, NULL, ve);
	__dmt_md_dirty_rmap(pool, tier, pe);
	/* Stays allocated until the commit that frees it completes. */
	__set_bit(from_pext(pe), t->pending_free);
	t->freeing++;
	vol->mapped[tier]--;
}

/*
 * The switch of a migration: @ve now lives at (@tier, @pe); its old
 * physical extent is freed (reusable after the next commit).  Heat and pin
 * state are kept; MIGRATING is cleared and @set_flags set.
 */
void __dmt_map_move(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		    unsigned int tier, dmt_pext_t pe, u64 set_flags)
{
	u64 *slot = dmt_fe_slot(vol, ve), fe = READ_ONCE(*slot);
	unsigned int old_tier = dmt_fe_tier(fe);
	dmt_pext_t old_pe = dmt_fe_pext(fe);
	struct dmt_tier *ot = &pool->tiers[old_tier], *nt = &pool->tiers[tier];

	dmt_rent_set(nt, pe, vol, ve);
	__dmt_md_dirty_rmap(pool, tier, pe);
	dmt_rent_set(ot, old_pe, NULL, ve);
	__dmt_md_dirty_rmap(pool, old_tier, old_pe);
	__set_bit(from_pext(old_pe), ot->pending_free);
	ot->freeing++;
	/* pool->dirty before the new location: see tier_map(). */
	smp_wmb();
	dmt_fe_update(slot, DMT_FE_LOCATION_MASK | DMT_FE_MIGRATING,
		      dmt_fe_make(tier, pe) | set_flags);
	vol->mapped[old_tier]--;
	vol->mapped[tier]++;
}

void __dmt_set_pinned(struct dmt_pool *pool, struct dmt_volume *vol,
		      dmt_vext_t ve, bool pinned)
{
	u64 *slot = dmt_fe_slot(vol, ve), fe = READ_ONCE(*slot);
	unsigned int tier = dmt_fe_tier(fe);
	dmt_pext_t pe = dmt_fe_pext(fe);

	if (!dmt_fe_mapped(fe) || !!(fe & DMT_FE_PINNED) == pinned)
		return;
	/* The block written at commit takes the flag from the forward entry. */
	dmt_fe_update(slot, DMT_FE_PINNED, pinned ? DMT_FE_PINNED : 0);
	__dmt_md_dirty_rmap(pool, tier, pe);
}

/* Returns how many extents the running commit will release. */
u64 __dmt_commit_begin_frees(struct dmt_pool *pool)
{
	unsigned int i;
	u64 n = 0;

	for (i = 0; i < pool->nr_tiers; i++) {
		struct dmt_tier *t = &pool->tiers[i];

		bitmap_or(t->committing_free, t->committing_free,
			  t->pending_free, t->nr_extents);
		bitmap_zero(t->pending_free, t->nr_extents);
		n += bitmap_weight(t->committing_free, t->nr_extents);
	}
	return n;
}

/*
 * Extents freed since the last commit (a discard, a delete, a migration's
 * source) stay allocated until a commit completes.  When an allocation
 * finds no room, commit now if that would release any.  Returns true if
 * it did (the caller tries again).  Caller holds md_lock.
 */
bool __dmt_commit_for_room(struct dmt_pool *pool)
{
	unsigned int i;

	for (i = 0; i < pool->nr_tiers; i++)
		if (pool->tiers[i].freeing)
			return !dmt_md_commit(pool);
	return false;
}

void __dmt_commit_end_frees(struct dmt_pool *pool)
{
	unsigned int i;

	for (i = 0; i < pool->nr_tiers; i++) {
		struct dmt_tier *t = &pool->tiers[i];
		unsigned int freed = bitmap_weight(t->committing_free, t->nr_extents);

		if (!freed)
			continue;
		bitmap_andnot(t->alloc, t->alloc, t->committing_free, t->nr_extents);
		bitmap_zero(t->committing_free, t->nr_extents);
		t->used -= freed;
		t->freeing -= freed;
		pool->out_of_space = false;
	}
}

int dmt_tier_alloc_maps(struct dmt_tier *t)
{
	u64 i;

	t->alloc = bitmap_zalloc(t->nr_extents, GFP_KERNEL);
	t->pending_free = bitmap_zalloc(t->nr_extents, GFP_KERNEL);
	t->committing_free = bitmap_zalloc(t->nr_extents, GFP_KERNEL);
	t->rmap_blocks = DIV_ROUND_UP(t->nr_extents, DMT_RMAP_PER_BLOCK);
	t->rmap_pages = DIV_ROUND_UP(t->nr_extents, DMT_RENTS_PER_PAGE);
	t->rmap = kvcalloc(t->rmap_pages, sizeof(*t->rmap), GFP_KERNEL);
	if (!t->alloc || !t->pending_free || !t->committing_free || !t->rmap)
		goto bad;
	for (i = 0; i < t->rmap_pages; i++) {
		t->rmap[i] = (void *)get_zeroed_page(GFP_KERNEL);
		if (!t->rmap[i])
			goto bad;
	}
	return 0;
bad:
	dmt_tier_free_maps(t);
	return -ENOMEM;
}

void dmt_tier_free_maps(struct dmt_tier *t)
{
	u64 i;

	if (t->rmap)
		for (i = 0; i < t->rmap_pages; i++)
			free_page((unsigned long)t->rmap[i]);
	kvfree(t->rmap);
	bitmap_free(t->alloc);
	bitmap_free(t->pending_free);
	bitmap_free(t->committing_free);
	t->rmap = NULL;
	t->alloc = t->pending_free = t->committing_free = NULL;
}
