// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: the in-kernel fallback policy, prefetch accounting and tier
 * evacuation, driven by one periodic timer per pool.
 *
 * Every round the heat epoch advances (counts halve lazily).  While no
 * controller has sent a command for fallback_timeout_s (or none ever has),
 * the fallback policy scans the forward maps:
 *   - a fast tier above its high watermark demotes its coldest extents
 *     one tier down until it is projected at its low watermark;
 *   - extents on slower tiers whose decayed heat reaches promote_threshold
 *     are promoted one tier up while it is below its high watermark, or
 *     swapped with that tier's coldest extent when they are clearly
 *     hotter (more than twice, plus a margin);
 *   - an extent that moved is left alone (RECENT) for residency_rounds
 *     rounds counted from its own move, so nothing ping-pongs; pinned
 *     extents and volumes with
 *     tiering_enabled=0 never move.
 * The policy never waits on userspace; it only queues migrations.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sort.h>

#include "dm-tier.h"

#define DMT_POLICY_K 32			/* candidates kept per tier per round */

struct dmt_cand {
	struct dmt_volume *vol;
	u64 ve;
	unsigned int score;
};

/* Keep the K best candidates: hottest (@hot) or coldest. */
struct dmt_cands {
	unsigned int n;
	struct dmt_cand c[DMT_POLICY_K];
};

static void dmt_cands_add(struct dmt_cands *cs, bool hot, struct dmt_volume *vol,
			  u64 ve, unsigned int score)
{
	unsigned int i, worst = 0;

	if (cs->n < DMT_POLICY_K) {
		cs->c[cs->n++] = (struct dmt_cand){ vol, ve, score };
		return;
	}
	for (i = 1; i < DMT_POLICY_K; i++)
		if (hot ? cs->c[i].score < cs->c[worst].score :
			  cs->c[i].score > cs->c[worst].score)
			worst = i;
	if (hot ? score > cs->c[worst].score : score < cs->c[worst].score)
		cs->c[worst] = (struct dmt_cand){ vol, ve, score };
}

static int dmt_cand_hot_first(const void *a, const void *b)
{
	const struct dmt_cand *x = a, *y = b;

	return (int)y->score - (int)x->score;
}

static int dmt_cand_cold_first(const void *a, const void *b)
{
	return -dmt_cand_hot_first(a, b);
}

bool dmt_policy_fallback_active(struct dmt_pool *pool)
{
	if (!pool->fallback_enabled)
		return false;
	if (!READ_ONCE(pool->controller_seen_once))
		return true;
	return time_after(jiffies, READ_ONCE(pool->controller_seen) +
			  (unsigned long)pool->fallback_timeout_s * HZ);
}

void dmt_policy_controller_seen(struct dmt_pool *pool)
{
	WRITE_ONCE(pool->controller_seen, jiffies);
	WRITE_ONCE(pool->controller_seen_once, true);
}

static void __dmt_residency_forget_volume(struct dmt_pool *pool, struct dmt_volume *vol);

/* ------------------------------------------------------------ prefetch */

void __dmt_prefetch_track(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve,
			  unsigned long deadline)
{
	if (pool->pf_len == DMT_MAX_PREFETCH_TRACK) {
		/* Full: the oldest entry is judged now. */
		struct dmt_prefetch *p = &pool->pf[0];
		u64 *slot = dmt_lookup_slot(p->vol, to_vext(p->ve));

		if (slot && READ_ONCE(*slot) & DMT_FE_PREFETCHED &&
		    dmt_fe_update(slot, DMT_FE_PREFETCHED, 0) & DMT_FE_PREFETCHED)
			this_cpu_inc(p->vol->profile->prefetch_misses);
		memmove(pool->pf, pool->pf + 1, --pool->pf_len * sizeof(*pool->pf));
	}
	pool->pf[pool->pf_len++] = (struct dmt_prefetch){ vol, from_vext(ve), deadline };
}

/* Prefetched extents not used by their deadline are misses. */
static void __dmt_prefetch_expire(struct dmt_pool *pool)
{
	unsigned int i = 0, j = 0;

	for (i = 0; i < pool->pf_len; i++) {
		struct dmt_prefetch *p = &pool->pf[i];
		u64 *slot = dmt_lookup_slot(p->vol, to_vext(p->ve));

		if (!slot || !(READ_ONCE(*slot) & DMT_FE_PREFETCHED))
			continue;	/* hit (counted at access) or gone */
		if (time_before(jiffies, p->deadline)) {
			pool->pf[j++] = *p;
			continue;
		}
		if (dmt_fe_update(slot, DMT_FE_PREFETCHED, 0) & DMT_FE_PREFETCHED)
			this_cpu_inc(p->vol->profile->prefetch_misses);
	}
	pool->pf_len = j;
}

void __dmt_prefetch_forget_volume(struct dmt_pool *pool, struct dmt_volume *vol)
{
	unsigned int i, j = 0;

	__dmt_residency_forget_volume(pool, vol);
	for (i = 0; i < pool->pf_len; i++)
		if (pool->pf[i].vol != vol)
			pool->pf[j++] = pool->pf[i];
	pool->pf_len = j;
}

/* ------------------------------------------------------------ residency */

static void __dmt_residency_pop(struct dmt_pool *pool)
{
	struct dmt_moved *m = &pool->moved[pool->moved_head];
	u64 *slot = m->vol ? dmt_lookup_slot(m->vol, to_vext(m->ve)) : NULL;

	if (slot)
		dmt_fe_update(slot, DMT_FE_RECENT, 0);
	pool->moved_head = (pool->moved_head + 1) % DMT_MOVED_RING;
	pool->moved_len--;
}

/* A move just finished: the extent stays put for residency_rounds rounds. */
void __dmt_residency_add(struct dmt_pool *pool, struct dmt_volume *vol, dmt_vext_t ve)
{
	struct dmt_moved *m;

	if (!pool->moved)
		return;
	if (pool->moved_len == DMT_MOVED_RING)
		__dmt_residency_pop(pool);	/* the oldest is released early */
	m = &pool->moved[(pool->moved_head + pool->moved_len++) % DMT_MOVED_RING];
	m->vol = vol;
	m->ve = from_vext(ve);
	m->round = pool->policy_rounds;
}

static void __dmt_residency_expire(struct dmt_pool *pool)
{
	while (pool->moved_len &&
	       pool->policy_rounds - pool->moved[pool->moved_head].round >= pool->residency_rounds)
		__dmt_residency_pop(pool);
}

static void __dmt_residency_forget_volume(struct dmt_pool *pool, struct dmt_volume *vol)
{
	unsigned int i;

	for (i = 0; i < pool->moved_len; i++) {
		struct dmt_moved *m = &pool->moved[(pool->moved_head + i) % DMT_MOVED_RING];

		if (m->vol == vol)
			m->vol = NULL;
	}
}

/* ---------------------------------------------------------- evacuation */

/* Nearest other tier with room: slower ones first. */
static int __dmt_evac_dest(struct dmt_pool *pool, unsigned int from)
{
	unsigned int d;

	for (d = 1; d < pool->nr_tiers; d++) {
		if (from + d < pool->nr_tiers &&
		    pool->tiers[from + d].used < pool->tiers[from + d].nr_extents)
			return from + d;
		if (from >= d && pool->tiers[from - d].used < pool->tiers[from - d].nr_extents)
			return from - d;
	}
	return -1;
}

int __dmt_evacuate(struct dmt_pool *pool, unsigned int tier)
{
	u64 room = 0;
	unsigned int i;

	if (tier >= pool->nr_tiers || pool->nr_tiers < 2)
		return -EINVAL;
	if (pool->evacuating >= 0 && pool->evacuating != tier)
		return -EBUSY;
	for (i = 0; i < pool->nr_tiers; i++)
		if (i != tier)
			room += pool->tiers[i].nr_extents - pool->tiers[i].used;
	if (room < pool->tiers[tier].used)
		return -ENOSPC;
	pool->evacuating = tier;
	pool->evac_cursor = 0;
	return 0;
}

/* Queue the next extents of the tier being evacuated. */
static void __dmt_evac_refill(struct dmt_pool *pool)
{
	struct dmt_tier *t;
	u64 p;

	if (pool->evacuating < 0)
		return;
	t = &pool->tiers[pool->evacuating];
	for (p = pool->evac_cursor; p < t->nr_extents; p++) {
		struct dmt_volume *vol;
		dmt_vext_t ve;
		int dest;

		if (pool->queue_len >= DMT_MIG_QUEUE / 2)
			break;
		vol = dmt_rmap_owner(pool, pool->evacuating, to_pext(p), &ve);
		if (!vol)
			continue;
		dest = __dmt_evac_dest(pool, pool->evacuating);
		if (dest < 0)
			break;
		if (__dmt_mig_enqueue(pool, vol, ve, dest, DMT_MIG_EVACUATE, 0) == -ENOSPC)
			break;
	}
	/* Wrap: extents whose move failed are found again. */
	pool->evac_cursor = p < t->nr_extents ? p : 0;
}

/* ------------------------------------------------------ fallback policy */

static void __dmt_policy_scan(struct dmt_pool *pool, struct dmt_cands *hot,
			      struct dmt_cands *cold)
{
	u8 now = pool->heat_epoch;
	struct dmt_volume *vol;
	u64 ci, i;

	list_for_each_entry(vol, &pool->volumes, list) {
		bool enabled = le32_to_cpu(vol->rec->flags) & DMT_VOL_TIERING_ENABLED;

		for (ci = 0; ci < vol->nr_chunks; ci++) {
			u64 *chunk = vol->chunks[ci];

			if (!chunk)
				continue;
			for (i = 0; i < DMT_CHUNK_ENTRIES; i++) {
				u64 fe = READ_ONCE(chunk[i]);
				unsigned int tier, score;

				if (!dmt_fe_mapped(fe))
					continue;
				if (!enabled ||
				    fe & (DMT_FE_PINNED | DMT_FE_MIGRATING | DMT_FE_RECENT |
					   DMT_FE_UNWRITTEN))
					continue;
				tier = dmt_fe_tier(fe);
				score = dmt_fe_heat(fe, now, NULL, NULL);
				if (tier > 0 && score >= pool->promote_threshold)
					dmt_cands_add(&hot[tier], true, vol,
						      (ci << DMT_CHUNK_SHIFT) + i, score);
				if (tier + 1 < pool->nr_tiers)
					dmt_cands_add(&cold[tier], false, vol,
						      (ci << DMT_CHUNK_SHIFT) + i, score);
			}
		}
	}
}

static u64 dmt_wm(struct dmt_tier *t, unsigned int pct)
{
	return div_u64(t->nr_extents * pct, 100);
}

static void __dmt_policy_act(struct dmt_pool *pool, struct dmt_cands *hot,
			     struct dmt_cands *cold)
{
	s64 projected[DM_TIER_MAX_TIERS];
	unsigned int used_cold[DM_TIER_MAX_TIERS] = { 0 };
	unsigned int t, i;

	for (t = 0; t < pool->nr_tiers; t++) {
		/* Extents freed by earlier moves count as room: the migration
		 * engine commits to release them when a move needs the space. */
		projected[t] = pool->tiers[t].used - pool->tiers[t].freeing;
		sort(hot[t].c, hot[t].n, sizeof(hot[t].c[0]), dmt_cand_hot_first, NULL);
		sort(cold[t].c, cold[t].n, sizeof(cold[t].c[0]), dmt_cand_cold_first, NULL);
	}

	/* Fast tiers over the high watermark: demote the coldest. */
	for (t = 0; t + 1 < pool->nr_tiers; t++) {
		struct dmt_tier *tt = &pool->tiers[t];

		if ((int)t == pool->evacuating || projected[t] <= dmt_wm(tt, pool->high_wm))
			continue;
		while (used_cold[t] < cold[t].n && projected[t] > dmt_wm(tt, pool->low_wm)) {
			struct dmt_cand *c = &cold[t].c[used_cold[t]++];

			if (projected[t + 1] >= pool->tiers[t + 1].nr_extents)
				break;
			if (!__dmt_mig_enqueue(pool, c->vol, to_vext(c->ve), t + 1,
					       DMT_MIG_POLICY, 0)) {
				projected[t]--;
				projected[t + 1]++;
			}
		}
	}

	/* Hot extents on slower tiers: promote one tier up. */
	for (t = 1; t < pool->nr_tiers; t++) {
		unsigned int up = t - 1;
		struct dmt_tier *ut = &pool->tiers[up];

		if ((int)up == pool->evacuating)
			continue;
		for (i = 0; i < hot[t].n; i++) {
			struct dmt_cand *h = &hot[t].c[i];

			if (projected[up] < dmt_wm(ut, pool->high_wm)) {
				if (!__dmt_mig_enqueue(pool, h->vol, to_vext(h->ve), up,
						       DMT_MIG_POLICY, 0)) {
					projected[up]++;
					projected[t]--;
				}
				continue;
			}
			/* Full: swap with the coldest there if clearly hotter. */
			if (used_cold[up] >= cold[up].n)
				break;
			if (h->score <= 2 * cold[up].c[used_cold[up]].score + 2)
				break;
			if (__dmt_mig_enqueue(pool, cold[up].c[used_cold[up]].vol,
					      to_vext(cold[up].c[used_cold[up]].ve), t,
					      DMT_MIG_POLICY, 0))
				break;
			used_cold[up]++;
			__dmt_mig_enqueue(pool, h->vol, to_vext(h->ve), up, DMT_MIG_POLICY, 0);
		}
	}
}

static void dmt_policy_worker(struct work_struct *ws)
{
	struct dmt_pool *pool = container_of(to_delayed_work(ws), struct dmt_pool,
					     policy_work);
	struct dmt_cands *hot, *cold;
	bool act;

	WRITE_ONCE(pool->heat_epoch, pool->heat_epoch + 1);
	pool->policy_rounds++;
	act = dmt_policy_fallback_active(pool) && READ_ONCE(pool->mode) == DMT_MODE_RW;

	hot = kcalloc(2 * DM_TIER_MAX_TIERS, sizeof(*hot), GFP_NOIO);
	if (!hot)
		goto out;
	cold = hot + DM_TIER_MAX_TIERS;

	mutex_lock(&pool->md_lock);
	__dmt_prefetch_expire(pool);
	__dmt_residency_expire(pool);
	__dmt_evac_refill(pool);
	if (act) {
		__dmt_policy_scan(pool, hot, cold);
		__dmt_policy_act(pool, hot, cold);
	}
	mutex_unlock(&pool->md_lock);
	kfree(hot);
	if (pool->queue_len)
		dmt_mig_kick(pool);
	dmt_netlink_epoch(pool);
out:
	queue_delayed_work(pool->wq, &pool->policy_work,
			   msecs_to_jiffies(pool->policy_ms));
}

void dmt_policy_init(struct dmt_pool *pool)
{
	INIT_DELAYED_WORK(&pool->policy_work, dmt_policy_worker);
	pool->policy_ms = 1000;
	pool->fallback_enabled = true;
	pool->fallback_timeout_s = 30;
	pool->promote_threshold = 4;
	pool->high_wm = 90;
	pool->low_wm = 80;
	pool->residency_rounds = 10;
	pool->prefetch_window_ms = 10000;
	pool->evacuating = -1;
}

void dmt_policy_start(struct dmt_pool *pool)
{
	mod_delayed_work(pool->wq, &pool->policy_work, msecs_to_jiffies(pool->policy_ms));
}

void dmt_policy_stop(struct dmt_pool *pool)
{
	cancel_delayed_work_sync(&pool->policy_work);
}
