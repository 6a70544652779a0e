// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: heat and per-volume profiles.
 *
 * Heat lives in the low 24 bits of each forward-map entry: decayed read and
 * write counts (8 bits each, saturating) and the heat epoch they were last
 * decayed to.  The pool's policy timer advances the epoch; counts halve
 * once per epoch, lazily, when an extent is next touched or scanned.
 *
 * Profiles are per-CPU counters per volume: reads, writes, bytes, a request
 * size histogram, the sequential share and prefetch hits / misses.
 */
#include <linux/percpu.h>
#include <linux/log2.h>

#include "dm-tier.h"

static unsigned int dmt_size_bucket(unsigned int bytes)
{
	unsigned int b;

	if (bytes <= 4096)
		return 0;
	b = ilog2(bytes - 1) + 1 - 12;	/* 8K -> 1, 16K -> 2, ... */
	return min(b, DM_TIER_SIZE_BUCKETS - 1);
}

/*
 * Account one data bio of @vol; @slot is its extent's forward entry when
 * mapped (NULL otherwise).  Never blocks.
 */
void dmt_heat_account(struct dmt_pool *pool, struct dmt_volume *vol,
		      struct bio *bio, u64 *slot)
{
	bool write = op_is_write(bio_op(bio));
	unsigned int bytes = bio->bi_iter.bi_size;
	sector_t start = bio->bi_iter.bi_sector;
	u8 now = READ_ONCE(pool->heat_epoch);
	u64 old, new = 0, prev;
	bool hit;

	/* Single per-CPU operations: no preemption toggling on the map path. */
	if (write) {
		this_cpu_inc(vol->profile->writes);
		this_cpu_add(vol->profile->write_bytes, bytes);
	} else {
		this_cpu_inc(vol->profile->reads);
		this_cpu_add(vol->profile->read_bytes, bytes);
	}
	this_cpu_inc(vol->profile->size_hist[dmt_size_bucket(bytes)]);
	if (READ_ONCE(vol->last_end) == start)
		this_cpu_inc(vol->profile->sequential);
	WRITE_ONCE(vol->last_end, start + bio_sectors(bio));

	if (!slot) {
		if (READ_ONCE(pool->controller_portid))
			dmt_netlink_transition(pool, vol, bio, 0, false);
		return;
	}
	old = READ_ONCE(*slot);
	for (;;) {
		unsigned int r, w;

		if (!dmt_fe_mapped(old))
			return;
		dmt_fe_heat(old, now, &r, &w);
		if (write)
			w = min(w + 1, 255U);
		else
			r = min(r + 1, 255U);
		new = (old & ~(DMT_FE_HEAT_MASK | DMT_FE_PREFETCHED)) |
		      ((u64)r << 16) | ((u64)w << 8) | now;
		if (new == old)
			break;
		prev = cmpxchg64(slot, old, new);
		if (prev == old)
			break;
		old = prev;
	}
	/* The first access to a prefetched extent is a prefetch hit. */
	hit = new != old && old & DMT_FE_PREFETCHED;
	if (hit)
		this_cpu_inc(vol->profile->prefetch_hits);
	if (READ_ONCE(pool->controller_portid))
		dmt_netlink_transition(pool, vol, bio, old, hit);
}

int dmt_profile_alloc(struct dmt_volume *vol)
{
	vol->profile = alloc_percpu(struct dm_tier_profile);
	return vol->profile ? 0 : -ENOMEM;
}

void dmt_profile_free(struct dmt_volume *vol)
{
	free_percpu(vol->profile);
	vol->profile = NULL;
}

void dmt_profile_sum(struct dmt_volume *vol, struct dm_tier_profile *sum)
{
	int cpu;
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct dm_tier_profile *p = per_cpu_ptr(vol->profile, cpu);

		sum->reads += p->reads;
		sum->writes += p->writes;
		sum->read_bytes += p->read_bytes;
		sum->write_bytes += p->write_bytes;
		sum->sequential += p->sequential;
		for (i = 0; i < DM_TIER_SIZE_BUCKETS; i++)
			sum->size_hist[i] += p->size_hist[i];
		sum->prefetch_hits += p->prefetch_hits;
		sum->prefetch_misses += p->prefetch_misses;
	}
}
