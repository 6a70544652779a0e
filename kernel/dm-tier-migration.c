// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: background migration of extents between tiers.
 *
 * A migration, after dm-cache's: reserve the destination; mark the extent
 * MIGRATING so new writes (and discards) to it are held; drain the I/O
 * that was remapped before the mark; copy with dm-kcopyd while reads go
 * on at the source; switch the mapping (the source is freed, reusable only
 * after the next commit); release the held bios to the new location.  A
 * failed copy releases the destination and leaves the mapping untouched.
 *
 * Requests wait in a bounded queue.  Order: prefetches by nearest deadline,
 * then demotions (they make room), then the rest in arrival order.  Starts
 * are throttled by a bandwidth cap, a limit on copies in flight, and fall
 * to one at a time while foreground I/O is deep.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/jiffies.h>
#include <linux/delay.h>

#include "dm-tier.h"

#define DMT_MIG_THROTTLE_DELAY msecs_to_jiffies(20)

void dmt_mig_kick(struct dmt_pool *pool)
{
	mod_delayed_work(pool->wq, &pool->mig_work, 0);
}

static struct dmt_migration *__dmt_mig_find(struct dmt_pool *pool,
					    struct dmt_volume *vol, u64 ve)
{
	struct dmt_migration *m;

	list_for_each_entry(m, &pool->mig_active, list)
		if (m->vol == vol && from_vext(m->ve) == ve)
			return m;
	return NULL;
}

/* Hold a write or discard to an extent being copied.  Caller holds md_lock. */
bool __dmt_mig_hold(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		    struct bio *bio)
{
	struct dmt_migration *m = __dmt_mig_find(pool, vol, from_vext(ve));

	if (!m)
		return false;
	bio_list_add(&m->held, bio);
	return true;
}

/*
 * Queue a move of (@vol, @ve) to @tier.  A request already queued for the
 * extent is replaced.  Caller holds md_lock.
 */
int __dmt_mig_enqueue(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
		      unsigned int tier, enum dmt_mig_kind kind, unsigned int deadline_ms)
{
	u64 fe = dmt_lookup(vol, ve);
	struct dmt_mig_req *q = NULL;
	unsigned int i;

	if (tier >= pool->nr_tiers)
		return -EINVAL;
	if (!dmt_fe_mapped(fe))
		return -ENODATA;
	if ((fe & DMT_FE_PINNED) && kind != DMT_MIG_PIN && kind != DMT_MIG_EVACUATE)
		return -EPERM;
	if ((int)tier == pool->evacuating)
		return -EBUSY;
	if (dmt_fe_tier(fe) == tier && !(fe & DMT_FE_MIGRATING)) {
		/* Already there; a prefetch still counts for hit/miss. */
		if (kind == DMT_MIG_PREFETCH)
			return 1;
		return 0;
	}
	for (i = 0; i < pool->queue_len; i++)
		if (pool->queue[i].vol == vol && pool->queue[i].ve == from_vext(ve)) {
			q = &pool->queue[i];
			break;
		}
	if (!q) {
		if (pool->queue_len == DMT_MIG_QUEUE)
			return -ENOSPC;
		q = &pool->queue[pool->queue_len++];
	}
	q->vol = vol;
	q->ve = from_vext(ve);
	q->tier = tier;
	q->kind = kind;
	q->seq = pool->mig_seq++;
	q->deadline = jiffies + msecs_to_jiffies(deadline_ms ?: pool->prefetch_window_ms);
	return 0;
}

static void __dmt_mig_dequeue(struct dmt_pool *pool, unsigned int i)
{
	pool->queue[i] = pool->queue[--pool->queue_len];
}

unsigned int __dmt_mig_queued_for(struct dmt_pool *pool, struct dmt_volume *vol)
{
	unsigned int i, n = 0;

	for (i = 0; i < pool->queue_len; i++)
		n += pool->queue[i].vol == vol;
	return n;
}

void __dmt_mig_forget_volume(struct dmt_pool *pool, struct dmt_volume *vol)
{
	unsigned int i = 0;

	while (i < pool->queue_len)
		if (pool->queue[i].vol == vol)
			__dmt_mig_dequeue(pool, i);
		else
			i++;
}

/* Priority class: 0 prefetch, 1 demotion, 2 the rest. */
static unsigned int dmt_mig_class(struct dmt_mig_req *q, u64 fe)
{
	if (q->kind == DMT_MIG_PREFETCH)
		return 0;
	return q->tier > dmt_fe_tier(fe) ? 1 : 2;
}

static bool dmt_mig_before(struct dmt_mig_req *a, unsigned int ca,
			   struct dmt_mig_req *b, unsigned int cb)
{
	if (ca != cb)
		return ca < cb;
	if (ca == 0 && a->deadline != b->deadline)
		return time_before(a->deadline, b->deadline);
	return a->seq < b->seq;
}

/* Is anything queued or copying that moves data off @tier? */
static bool __dmt_mig_frees_tier(struct dmt_pool *pool, unsigned int tier)
{
	struct dmt_migration *m;
	unsigned int i;

	list_for_each_entry(m, &pool->mig_active, list)
		if (m->src_tier == tier)
			return true;
	for (i = 0; i < pool->queue_len; i++) {
		u64 fe = dmt_lookup(pool->queue[i].vol, to_vext(pool->queue[i].ve));

		if (dmt_fe_mapped(fe) && dmt_fe_tier(fe) == tier &&
		    pool->queue[i].tier != tier)
			return true;
	}
	return false;
}

/* Token bucket for the bandwidth cap.  Returns false to wait. */
static bool __dmt_mig_budget(struct dmt_pool *pool)
{
	u64 cost = (u64)pool->extent_sectors << SECTOR_SHIFT;
	u64 rate, cap;
	unsigned long now = jiffies;

	if (!pool->bandwidth_mbps)
		return true;
	rate = (u64)pool->bandwidth_mbps << 20;
	cap = max(cost, rate / 4);
	pool->tokens = min(cap, pool->tokens + rate * (now - pool->tokens_at) / HZ);
	pool->tokens_at = now;
	if (pool->tokens < cost)
		return false;
	pool->tokens -= cost;
	return true;
}

static void dmt_mig_copied(int read_err, unsigned long write_err, void *context)
{
	struct dmt_migration *m = context;
	struct dmt_pool *pool = m->pool;

	m->error = read_err || write_err ? -EIO : 0;
	llist_add(&m->done, &pool->mig_done);
	dmt_mig_kick(pool);
}

/* Finish a copied (or failed) migration.  Caller holds md_lock. */
static void __dmt_mig_finish(struct dmt_pool *pool, struct dmt_migration *m)
{
	struct bio *bio;
	u64 *slot = dmt_lookup_slot(m->vol, m->ve);
	u64 set = DMT_FE_RECENT;

	if (!m->error && READ_ONCE(pool->mode) != DMT_MODE_RW)
		m->error = -EROFS;
	if (m->error) {
		__dmt_unreserve(pool, m->dst_tier, m->dst);
		dmt_fe_update(slot, DMT_FE_MIGRATING, 0);
		pool->mig_failed++;
	} else {
		u64 fe = READ_ONCE(*slot);

		if (m->kind == DMT_MIG_PREFETCH)
			set |= DMT_FE_PREFETCHED;
		else if (fe & DMT_FE_PREFETCHED && m->dst_tier > m->src_tier) {
			/* Demoted before it was used: a prefetch miss. */
			this_cpu_inc(m->vol->profile->prefetch_misses);
			dmt_fe_update(slot, DMT_FE_PREFETCHED, 0);
		}
		__dmt_map_move(pool, m->vol, m->ve, m->dst_tier, m->dst, set);
		__dmt_residency_add(pool, m->vol, m->ve);
		if (m->kind == DMT_MIG_PREFETCH)
			__dmt_prefetch_track(pool, m->vol, m->ve, m->deadline);
		pool->mig_done_count++;
		pool->bytes_moved += (u64)pool->extent_sectors << SECTOR_SHIFT;
	}
	__dmt_netlink_migration(pool, m);
	m->vol->migrating--;
	pool->mig_in_flight--;
	while ((bio = bio_list_pop(&m->held)))
		dmt_pool_defer_bio(pool, bio);
	list_move(&m->list, &pool->mig_free);
}

/*
 * Pick the best startable request, check it and reserve its destination.
 * Returns a migration marked MIGRATING, or NULL.  *wants_room: a request
 * waits for extents that only a commit will release.
 */
static struct dmt_migration *__dmt_mig_next(struct dmt_pool *pool, bool *wants_room)
{
	struct dmt_mig_req *best = NULL;
	unsigned int i, bi = 0, bc = 0;
	struct dmt_migration *m;

	for (i = 0; i < pool->queue_len; i++) {
		struct dmt_mig_req *q = &pool->queue[i];
		u64 fe = dmt_lookup(q->vol, to_vext(q->ve));
		unsigned int c;

		if (!dmt_fe_mapped(fe) || dmt_fe_tier(fe) == q->tier ||
		    (fe & DMT_FE_PINNED && q->kind != DMT_MIG_PIN &&
		     q->kind != DMT_MIG_EVACUATE)) {
			/* Gone, already there, or pinned since: drop it. */
			__dmt_mig_dequeue(pool, i--);
			continue;
		}
		if (fe & (DMT_FE_MIGRATING | DMT_FE_UNWRITTEN))
			continue;	/* busy: try again later */
		if (pool->tiers[q->tier].used >= pool->tiers[q->tier].nr_extents) {
			if (__dmt_mig_frees_tier(pool, q->tier))
				continue;	/* room is on its way */
			if (pool->tiers[q->tier].freeing) {
				*wants_room = true;
				continue;
			}
			__dmt_mig_dequeue(pool, i--);
			pool->mig_failed++;
			continue;
		}
		c = dmt_mig_class(q, fe);
		if (!best || dmt_mig_before(q, c, best, bc)) {
			best = q;
			bi = i;
			bc = c;
		}
	}
	if (!best || list_empty(&pool->mig_free))
		return NULL;

	m = list_first_entry(&pool->mig_free, struct dmt_migration, list);
	m->vol = best->vol;
	m->ve = to_vext(best->ve);
	m->dst_tier = best->tier;
	m->kind = best->kind;
	m->deadline = best->deadline;
	if (__dmt_tier_reserve(pool, m->dst_tier, &m->dst)) {
		__dmt_mig_dequeue(pool, bi);
		pool->mig_failed++;
		return NULL;
	}
	__dmt_mig_dequeue(pool, bi);
	{
		u64 old = dmt_fe_update(dmt_lookup_slot(m->vol, m->ve), 0, DMT_FE_MIGRATING);

		m->src_tier = dmt_fe_tier(old);
		m->src = dmt_fe_pext(old);
	}
	m->error = 0;
	bio_list_init(&m->held);
	m->vol->migrating++;
	pool->mig_in_flight++;
	list_move_tail(&m->list, &pool->mig_active);
	return m;
}

static void dmt_mig_worker(struct work_struct *ws)
{
	struct dmt_pool *pool = container_of(to_delayed_work(ws), struct dmt_pool,
					     mig_work);
	struct dmt_migration *m, *tmp;
	struct llist_node *done;
	LIST_HEAD(started);
	unsigned int limit, fg;
	bool throttled = false, wants_room = false, committed = false;

	done = llist_del_all(&pool->mig_done);

	mutex_lock(&pool->md_lock);
	llist_for_each_entry_safe(m, tmp, done, done)
		__dmt_mig_finish(pool, m);

	/* Yield to foreground I/O: one copy at a time while it is deep. */
	fg = atomic_read(&pool->inflight[0]) + atomic_read(&pool->inflight[1]);
	limit = pool->yield_depth && fg > pool->yield_depth ? 1 : pool->max_migrations;
again:
	while (pool->queue_len && READ_ONCE(pool->mode) == DMT_MODE_RW) {
		if (pool->mig_in_flight >= limit) {
			throttled = limit < pool->max_migrations;
			break;
		}
		if (!__dmt_mig_budget(pool)) {
			throttled = true;
			break;
		}
		m = __dmt_mig_next(pool, &wants_room);
		if (!m)
			break;
		list_add_tail(&m->start, &started);
	}
	/*
	 * A request waits for room that extents freed by earlier moves (a
	 * swap's demotion) will give once committed: commit now rather than
	 * at the next periodic commit, and try again (once).
	 */
	if (wants_room && !committed && !throttled && list_empty(&started)) {
		committed = true;
		wants_room = false;
		if (__dmt_commit_for_room(pool))
			goto again;
	}
	if (throttled)
		pool->mig_throttled++;
	/*
	 * Writes remapped before the MIGRATING marks may still be in flight
	 * to the sources: wait for them before copying.
	 */
	if (!list_empty(&started))
		dmt_pool_drain_io(pool);
	mutex_unlock(&pool->md_lock);

	/*
	 * Start the copies outside md_lock (kcopyd may call back at once).
	 * Only this worker finishes migrations, so they stay valid here.
	 */
	list_for_each_entry_safe(m, tmp, &started, start) {
		struct dm_io_region from = {
			.bdev = pool->tiers[m->src_tier].bdev,
			.sector = DMT_TIER_DATA_OFFSET + (from_pext(m->src) << pool->extent_shift),
			.count = pool->extent_sectors,
		};
		struct dm_io_region to = {
			.bdev = pool->tiers[m->dst_tier].bdev,
			.sector = DMT_TIER_DATA_OFFSET + (from_pext(m->dst) << pool->extent_shift),
			.count = pool->extent_sectors,
		};

		list_del_init(&m->start);
		dm_kcopyd_copy(pool->kcopyd, &from, 1, &to, 0, dmt_mig_copied, m);
	}
	if (throttled)
		mod_delayed_work(pool->wq, &pool->mig_work, DMT_MIG_THROTTLE_DELAY);
}

int dmt_mig_init(struct dmt_pool *pool)
{
	unsigned int i;

	INIT_DELAYED_WORK(&pool->mig_work, dmt_mig_worker);
	INIT_LIST_HEAD(&pool->mig_active);
	INIT_LIST_HEAD(&pool->mig_free);
	init_llist_head(&pool->mig_done);
	for (i = 0; i < DMT_MAX_MIGRATIONS; i++) {
		pool->mig_slots[i].pool = pool;
		list_add_tail(&pool->mig_slots[i].list, &pool->mig_free);
	}
	pool->tokens_at = jiffies;
	pool->queue = kvcalloc(DMT_MIG_QUEUE, sizeof(*pool->queue), GFP_KERNEL);
	pool->moved = kvcalloc(DMT_MOVED_RING, sizeof(*pool->moved), GFP_KERNEL);
	if (!pool->queue || !pool->moved)
		return -ENOMEM;
	pool->kcopyd = dm_kcopyd_client_create(NULL);
	if (IS_ERR(pool->kcopyd)) {
		int r = PTR_ERR(pool->kcopyd);

		pool->kcopyd = NULL;
		return r;
	}
	return 0;
}

/* Called with no I/O left: waits for copies in flight, then stops. */
void dmt_mig_exit(struct dmt_pool *pool)
{
	if (pool->kcopyd) {
		while (READ_ONCE(pool->mig_in_flight)) {
			flush_delayed_work(&pool->mig_work);
			msleep(10);
		}
		cancel_delayed_work_sync(&pool->mig_work);
		dm_kcopyd_client_destroy(pool->kcopyd);
		pool->kcopyd = NULL;
	}
	kvfree(pool->queue);
	kvfree(pool->moved);
	pool->queue = NULL;
	pool->moved = NULL;
}
