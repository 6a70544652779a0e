// SPDX-License-Identifier: GPL-2.0
/*
 * dm-tier: the dm_tier generic netlink family (include/uapi/linux/dm-tier.h).
 *
 * Commands need CAP_SYS_ADMIN in the initial user namespace and exist only
 * in the initial network namespace.  Reports go to the registered
 * controller's port only.  A closed controller socket (NETLINK_URELEASE)
 * hands the pool back to the fallback policy at once.
 *
 * Access transitions are recorded by the map path into per-CPU rings
 * (lock-free, single producer per CPU with interrupts off; full rings
 * count drops) and sent every DMT_REPORT_MS; heat, profiles and migration
 * events follow the policy rounds.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/notifier.h>
#include <linux/netlink.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "dm-tier.h"

#define DMT_REPORT_MS 50
#define DMT_NL_MAX_BATCH 65536		/* extent commands per message */
#define DMT_NL_ARRAY_BYTES 60000	/* payload of one array attribute */

static struct genl_family dmt_genl_family;

static int dmt_nl_put_name(struct sk_buff *skb, struct dmt_pool *pool)
{
	char n[DM_NAME_LEN];

	if (dm_copy_name_and_uuid(pool->pool_md, n, NULL))
		strscpy(n, dm_device_name(pool->pool_md), sizeof(n));
	return nla_put_string(skb, DM_TIER_ATTR_POOL, n);
}

/* ------------------------------------------------------------ policies */

static const struct nla_policy dmt_nl_params_policy[DM_TIER_PARAM_MAX + 1] = {
	[DM_TIER_PARAM_MIGRATION_BANDWIDTH_MBPS] = { .type = NLA_U32 },
	[DM_TIER_PARAM_MAX_MIGRATIONS] = { .type = NLA_U32 },
	[DM_TIER_PARAM_YIELD_DEPTH] = { .type = NLA_U32 },
	[DM_TIER_PARAM_FALLBACK_TIMEOUT_S] = { .type = NLA_U32 },
	[DM_TIER_PARAM_PROMOTE_THRESHOLD] = { .type = NLA_U32 },
	[DM_TIER_PARAM_HIGH_WATERMARK] = { .type = NLA_U32 },
	[DM_TIER_PARAM_LOW_WATERMARK] = { .type = NLA_U32 },
	[DM_TIER_PARAM_POLICY_INTERVAL_MS] = { .type = NLA_U32 },
	[DM_TIER_PARAM_RESIDENCY_ROUNDS] = { .type = NLA_U32 },
	[DM_TIER_PARAM_PREFETCH_WINDOW_MS] = { .type = NLA_U32 },
	[DM_TIER_PARAM_FALLBACK] = NLA_POLICY_MAX(NLA_U32, 1),
};

/* Pool setting names, indexed by DM_TIER_PARAM_*. */
static const char *const dmt_nl_param_names[DM_TIER_PARAM_MAX + 1] = {
	[DM_TIER_PARAM_MIGRATION_BANDWIDTH_MBPS] = "migration_bandwidth_mbps",
	[DM_TIER_PARAM_MAX_MIGRATIONS] = "max_migrations",
	[DM_TIER_PARAM_YIELD_DEPTH] = "yield_depth",
	[DM_TIER_PARAM_FALLBACK_TIMEOUT_S] = "fallback_timeout_s",
	[DM_TIER_PARAM_PROMOTE_THRESHOLD] = "promote_threshold",
	[DM_TIER_PARAM_HIGH_WATERMARK] = "high_watermark",
	[DM_TIER_PARAM_LOW_WATERMARK] = "low_watermark",
	[DM_TIER_PARAM_POLICY_INTERVAL_MS] = "policy_interval_ms",
	[DM_TIER_PARAM_RESIDENCY_ROUNDS] = "residency_rounds",
	[DM_TIER_PARAM_PREFETCH_WINDOW_MS] = "prefetch_window_ms",
	[DM_TIER_PARAM_FALLBACK] = "fallback",
};

static const struct nla_policy dmt_nl_batch_policy[DM_TIER_ATTR_MAX + 1] = {
	[DM_TIER_ATTR_EXTENT_CMDS] = { .type = NLA_BINARY },
};

#define DMT_NL_POOL_ATTR \
	[DM_TIER_ATTR_POOL] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 }

static const struct nla_policy dmt_nl_pool_policy[DM_TIER_ATTR_MAX + 1] = {
	DMT_NL_POOL_ATTR,
};

static const struct nla_policy dmt_nl_register_policy[DM_TIER_ATTR_MAX + 1] = {
	DMT_NL_POOL_ATTR,
	[DM_TIER_ATTR_FLAGS] = NLA_POLICY_MASK(NLA_U32, DM_TIER_F_TAKEOVER),
};

static const struct nla_policy dmt_nl_extent_policy[DM_TIER_ATTR_MAX + 1] = {
	DMT_NL_POOL_ATTR,
	[DM_TIER_ATTR_BATCH] = NLA_POLICY_NESTED(dmt_nl_batch_policy),
};

static const struct nla_policy dmt_nl_params_cmd_policy[DM_TIER_ATTR_MAX + 1] = {
	DMT_NL_POOL_ATTR,
	[DM_TIER_ATTR_PARAMS] = NLA_POLICY_NESTED(dmt_nl_params_policy),
};

static const struct nla_policy dmt_nl_volume_policy[DM_TIER_ATTR_MAX + 1] = {
	DMT_NL_POOL_ATTR,
	[DM_TIER_ATTR_VOLUME] = { .type = NLA_U32 },
};

/* ------------------------------------------------------------- helpers */

static struct dmt_pool *dmt_nl_pool(struct nlattr **attrs, struct netlink_ext_ack *extack)
{
	struct dmt_pool *pool;

	if (!attrs[DM_TIER_ATTR_POOL]) {
		NL_SET_ERR_MSG(extack, "pool name (DM_TIER_ATTR_POOL) missing");
		return ERR_PTR(-EINVAL);
	}
	pool = dmt_pool_get_by_name(nla_data(attrs[DM_TIER_ATTR_POOL]));
	if (!pool) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[DM_TIER_ATTR_POOL], "no such dm-tier pool");
		return ERR_PTR(-ENODEV);
	}
	return pool;
}

static int dmt_nl_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			   struct genl_info *info)
{
	struct dmt_pool *pool;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(info->extack, "CAP_SYS_ADMIN required");
		return -EPERM;
	}
	pool = dmt_nl_pool(info->attrs, info->extack);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	info->user_ptr[0] = pool;
	return 0;
}

static void dmt_nl_post_doit(const struct genl_ops *ops, struct sk_buff *skb,
			     struct genl_info *info)
{
	if (info->user_ptr[0])
		dmt_pool_put(info->user_ptr[0]);
}

/* Send a report to the controller; a vanished port releases the pool. */
static void dmt_nl_send(struct dmt_pool *pool, struct sk_buff *skb, u32 portid)
{
	int r = genlmsg_unicast(&init_net, skb, portid);

	if (r == -ECONNREFUSED)
		dmt_pools_release_controller(portid);
	else if (r)
		pool->report_drops++;
}

static void *dmt_nl_report_put(struct sk_buff *skb, struct dmt_pool *pool, u8 cmd)
{
	void *hdr = genlmsg_put(skb, 0, 0, &dmt_genl_family, 0, cmd);

	if (!hdr)
		return NULL;
	if (dmt_nl_put_name(skb, pool)) {
		genlmsg_cancel(skb, hdr);
		return NULL;
	}
	return hdr;
}

/* --------------------------------------------------------- pool replies */

static int dmt_nl_fill_pool(struct sk_buff *skb, struct dmt_pool *pool)
{
	struct nlattr *tiers, *tier;
	unsigned int i;

	if (dmt_nl_put_name(skb, pool) ||
	    nla_put_u32(skb, DM_TIER_ATTR_NR_TIERS, pool->nr_tiers) ||
	    nla_put_u64_64bit(skb, DM_TIER_ATTR_EXTENT_SECTORS, pool->extent_sectors,
			      DM_TIER_ATTR_PAD) ||
	    nla_put_string(skb, DM_TIER_ATTR_MODE, dmt_pool_mode_name(pool)) ||
	    nla_put_u8(skb, DM_TIER_ATTR_NEEDS_CHECK, pool->needs_check) ||
	    nla_put_string(skb, DM_TIER_ATTR_POLICY, dmt_pool_policy_state(pool)) ||
	    nla_put_u32(skb, DM_TIER_ATTR_NR_VOLUMES, pool->nr_volumes) ||
	    nla_put_u64_64bit(skb, DM_TIER_ATTR_MIG_DONE, pool->mig_done_count,
			      DM_TIER_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_TIER_ATTR_MIG_FAILED, pool->mig_failed,
			      DM_TIER_ATTR_PAD) ||
	    nla_put_u32(skb, DM_TIER_ATTR_MIG_QUEUED, pool->queue_len) ||
	    nla_put_u64_64bit(skb, DM_TIER_ATTR_BYTES_MOVED, pool->bytes_moved,
			      DM_TIER_ATTR_PAD) ||
	    nla_put_u32(skb, DM_TIER_ATTR_EPOCH, pool->policy_rounds) ||
	    nla_put_u64_64bit(skb, DM_TIER_ATTR_DROPS,
			      atomic64_read(&pool->trans_drops) + pool->report_drops,
			      DM_TIER_ATTR_PAD))
		return -EMSGSIZE;
	tiers = nla_nest_start(skb, DM_TIER_ATTR_TIERS);
	if (!tiers)
		return -EMSGSIZE;
	for (i = 0; i < pool->nr_tiers; i++) {
		tier = nla_nest_start(skb, DM_TIER_ATTR_TIER);
		if (!tier ||
		    nla_put_u32(skb, DM_TIER_TIER_INDEX, i) ||
		    nla_put_u64_64bit(skb, DM_TIER_TIER_USED, pool->tiers[i].used,
				      DM_TIER_TIER_PAD) ||
		    nla_put_u64_64bit(skb, DM_TIER_TIER_TOTAL, pool->tiers[i].nr_extents,
				      DM_TIER_TIER_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, tier);
	}
	nla_nest_end(skb, tiers);
	return 0;
}

static int dmt_nl_reply_pool(struct dmt_pool *pool, struct genl_info *info)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	void *hdr;
	int r;

	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put_reply(skb, info, &dmt_genl_family, 0, info->genlhdr->cmd);
	if (!hdr) {
		nlmsg_free(skb);
		return -EMSGSIZE;
	}
	mutex_lock(&pool->md_lock);
	r = dmt_nl_fill_pool(skb, pool);
	mutex_unlock(&pool->md_lock);
	if (r) {
		nlmsg_free(skb);
		return r;
	}
	genlmsg_end(skb, hdr);
	return genlmsg_reply(skb, info);
}

static int dmt_nl_get_pool(struct sk_buff *skb, struct genl_info *info)
{
	struct dmt_pool *pool = info->user_ptr[0];

	if (READ_ONCE(pool->controller_portid) == info->snd_portid)
		dmt_policy_controller_seen(pool);
	return dmt_nl_reply_pool(pool, info);
}

static int dmt_nl_register(struct sk_buff *skb, struct genl_info *info)
{
	struct dmt_pool *pool = info->user_ptr[0];
	u32 flags = info->attrs[DM_TIER_ATTR_FLAGS] ?
		    nla_get_u32(info->attrs[DM_TIER_ATTR_FLAGS]) : 0;
	u32 cur;

	mutex_lock(&pool->md_lock);
	cur = READ_ONCE(pool->controller_portid);
	if (cur && cur != info->snd_portid && !(flags & DM_TIER_F_TAKEOVER)) {
		mutex_unlock(&pool->md_lock);
		NL_SET_ERR_MSG(info->extack,
			       "pool has a controller already (DM_TIER_F_TAKEOVER to replace it)");
		return -EBUSY;
	}
	WRITE_ONCE(pool->controller_portid, info->snd_portid);
	dmt_policy_controller_seen(pool);
	pool->nr_mig_events = 0;
	mutex_unlock(&pool->md_lock);
	mod_delayed_work(pool->wq, &pool->report_work, msecs_to_jiffies(DMT_REPORT_MS));
	DMINFO("%s: controller registered (port %u)%s", dm_device_name(pool->pool_md),
	       info->snd_portid, cur && cur != info->snd_portid ? ", taking over" : "");
	return dmt_nl_reply_pool(pool, info);
}

static int dmt_nl_unregister(struct sk_buff *skb, struct genl_info *info)
{
	struct dmt_pool *pool = info->user_ptr[0];

	if (READ_ONCE(pool->controller_portid) != info->snd_portid) {
		NL_SET_ERR_MSG(info->extack, "this socket is not the pool's controller");
		return -EPERM;
	}
	dmt_pools_release_controller(info->snd_portid);
	return 0;
}

/* ----------------------------------------------------- extent commands */

static int dmt_nl_extent_cmd(struct dmt_pool *pool, u8 cmd,
			     const struct dm_tier_extent_cmd *c,
			     struct dmt_volume **volp)
{
	struct dmt_volume *vol = *volp;
	int tier = c->tier == DM_TIER_TIER_NONE ? -1 : (int)c->tier;

	if (c->reserved || (c->tier >= DMT_MAX_TIERS && c->tier != DM_TIER_TIER_NONE))
		return -EINVAL;
	if (!vol || vol->id != c->volume) {
		vol = dmt_pool_find_volume(pool, c->volume);
		if (!vol)
			return -ENOENT;
		*volp = vol;
	}
	switch (cmd) {
	case DM_TIER_CMD_MIGRATE:
	case DM_TIER_CMD_PREFETCH:
		if (tier < 0 || tier >= pool->nr_tiers || c->end ||
		    (cmd == DM_TIER_CMD_MIGRATE && c->deadline_ms) ||
		    c->deadline_ms > 3600000)
			return -EINVAL;
		return __dmt_pool_migrate(pool, vol, to_vext(c->extent), tier,
					  cmd == DM_TIER_CMD_PREFETCH ? DMT_MIG_PREFETCH :
					  DMT_MIG_MOVE, c->deadline_ms);
	case DM_TIER_CMD_PIN:
		if (tier < 0 || c->deadline_ms)
			return -EINVAL;
		return __dmt_pool_pin(pool, vol, c->extent, c->end, tier);
	case DM_TIER_CMD_UNPIN:
		if (c->tier || c->deadline_ms)
			return -EINVAL;
		return __dmt_pool_pin(pool, vol, c->extent, c->end, -1);
	case DM_TIER_CMD_SET_HINT:
		if (c->deadline_ms)
			return -EINVAL;
		return __dmt_pool_hint(pool, vol, c->extent, c->end, tier);
	}
	return -EOPNOTSUPP;
}

static int dmt_nl_batch(struct sk_buff *skb, struct genl_info *info)
{
	struct dmt_pool *pool = info->user_ptr[0];
	u8 cmd = info->genlhdr->cmd;
	struct dmt_volume *vol = NULL;
	u32 accepted = 0, rejected = 0, index = 0, first_index = 0, total = 0;
	int first_error = 0, r, rem;
	struct nlattr *a;
	struct sk_buff *reply;
	void *hdr;

	if (!info->attrs[DM_TIER_ATTR_BATCH]) {
		NL_SET_ERR_MSG(info->extack, "DM_TIER_ATTR_BATCH missing");
		return -EINVAL;
	}
	nla_for_each_nested(a, info->attrs[DM_TIER_ATTR_BATCH], rem) {
		if (nla_type(a) != DM_TIER_ATTR_EXTENT_CMDS || !nla_len(a) ||
		    nla_len(a) % sizeof(struct dm_tier_extent_cmd)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "EXTENT_CMDS must be a non-empty array of struct dm_tier_extent_cmd");
			return -EINVAL;
		}
		total += nla_len(a) / sizeof(struct dm_tier_extent_cmd);
		if (total > DMT_NL_MAX_BATCH) {
			NL_SET_ERR_MSG(info->extack, "too many extent commands in one message");
			return -E2BIG;
		}
	}
	if (!total) {
		NL_SET_ERR_MSG(info->extack, "empty batch");
		return -EINVAL;
	}

	mutex_lock(&pool->md_lock);
	if (READ_ONCE(pool->mode) != DMT_MODE_RW) {
		mutex_unlock(&pool->md_lock);
		NL_SET_ERR_MSG(info->extack, "pool is read-only");
		return -EROFS;
	}
	dmt_policy_controller_seen(pool);
	nla_for_each_nested(a, info->attrs[DM_TIER_ATTR_BATCH], rem) {
		const struct dm_tier_extent_cmd *c = nla_data(a);
		unsigned int i, n = nla_len(a) / sizeof(*c);

		for (i = 0; i < n; i++, index++) {
			struct dm_tier_extent_cmd cc;

			memcpy(&cc, c + i, sizeof(cc));	/* may be unaligned */
			r = dmt_nl_extent_cmd(pool, cmd, &cc, &vol);
			if (r < 0) {
				if (!rejected++) {
					first_error = r;
					first_index = index;
				}
			} else {
				accepted++;
			}
		}
	}
	if (accepted && (cmd == DM_TIER_CMD_PIN || cmd == DM_TIER_CMD_UNPIN))
		dmt_md_commit(pool);
	mutex_unlock(&pool->md_lock);
	dmt_mig_kick(pool);

	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &dmt_genl_family, 0, cmd);
	if (!hdr || nla_put_u32(reply, DM_TIER_ATTR_ACCEPTED, accepted) ||
	    nla_put_u32(reply, DM_TIER_ATTR_REJECTED, rejected) ||
	    nla_put_s32(reply, DM_TIER_ATTR_FIRST_ERROR, first_error) ||
	    nla_put_u32(reply, DM_TIER_ATTR_FIRST_ERROR_INDEX, first_index)) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static int dmt_nl_set_params(struct sk_buff *skb, struct genl_info *info)
{
	struct dmt_pool *pool = info->user_ptr[0];
	struct nlattr *p[DM_TIER_PARAM_MAX + 1];
	unsigned int i;
	int r, pass;

	if (!info->attrs[DM_TIER_ATTR_PARAMS]) {
		NL_SET_ERR_MSG(info->extack, "DM_TIER_ATTR_PARAMS missing");
		return -EINVAL;
	}
	r = nla_parse_nested(p, DM_TIER_PARAM_MAX, info->attrs[DM_TIER_ATTR_PARAMS],
			     dmt_nl_params_policy, info->extack);
	if (r)
		return r;
	mutex_lock(&pool->md_lock);
	/* Check every value first: all or nothing. */
	for (pass = 0; pass < 2; pass++)
		for (i = 1; i <= DM_TIER_PARAM_MAX; i++) {
			if (!p[i])
				continue;
			r = __dmt_pool_setting(pool, dmt_nl_param_names[i],
					       nla_get_u32(p[i]), pass);
			if (r) {
				mutex_unlock(&pool->md_lock);
				if (r == -EDOM)
					NL_SET_ERR_MSG_ATTR(info->extack, p[i],
							    "low_watermark must be below high_watermark");
				else
					NL_SET_ERR_MSG_ATTR(info->extack, p[i], "value out of range");
				return -EINVAL;
			}
		}
	dmt_policy_controller_seen(pool);
	mutex_unlock(&pool->md_lock);
	return 0;
}

/* ---------------------------------------------------------------- volume */

static int dmt_nl_fill_volume(struct sk_buff *skb, struct dmt_pool *pool,
			      struct dmt_volume *vol)
{
	struct dm_tier_profile prof;
	struct nlattr *a;

	dmt_profile_sum(vol, &prof);
	if (nla_put_u32(skb, DM_TIER_ATTR_VOLUME, vol->id) ||
	    nla_put_u8(skb, DM_TIER_ATTR_TIERING_ENABLED,
		       !!(le32_to_cpu(vol->rec->flags) & DMT_VOL_TIERING_ENABLED)) ||
	    nla_put_string(skb, DM_TIER_ATTR_POLICY_NAME,
			   dmt_policy_name(le32_to_cpu(vol->rec->policy))) ||
	    nla_put(skb, DM_TIER_ATTR_MODEL, strnlen(vol->rec->prediction_model, DMT_MODEL_LEN),
		    vol->rec->prediction_model) ||
	    nla_put(skb, DM_TIER_ATTR_PROFILE, sizeof(prof), &prof))
		return -EMSGSIZE;
	a = nla_reserve(skb, DM_TIER_ATTR_MAPPED, pool->nr_tiers * sizeof(u64));
	if (!a)
		return -EMSGSIZE;
	memcpy(nla_data(a), vol->mapped, pool->nr_tiers * sizeof(u64));
	return 0;
}

static int dmt_nl_get_volume(struct sk_buff *skb, struct genl_info *info)
{
	struct dmt_pool *pool = info->user_ptr[0];
	struct dmt_volume *vol;
	struct sk_buff *reply;
	void *hdr;
	int r;

	if (!info->attrs[DM_TIER_ATTR_VOLUME]) {
		NL_SET_ERR_MSG(info->extack, "DM_TIER_ATTR_VOLUME missing");
		return -EINVAL;
	}
	reply = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &dmt_genl_family, 0, DM_TIER_CMD_GET_VOLUME);
	mutex_lock(&pool->md_lock);
	vol = dmt_pool_find_volume(pool, nla_get_u32(info->attrs[DM_TIER_ATTR_VOLUME]));
	r = !hdr ? -EMSGSIZE : !vol ? -ENOENT :
	    dmt_nl_put_name(reply, pool) ?:
	    dmt_nl_fill_volume(reply, pool, vol);
	mutex_unlock(&pool->md_lock);
	if (r) {
		nlmsg_free(reply);
		if (r == -ENOENT)
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[DM_TIER_ATTR_VOLUME],
					    "no such volume");
		return r;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

/* --------------------------------------------------------------- heat */

static void dmt_nl_heat_entry(struct dm_tier_heat_entry *h, u64 e, u64 fe, u8 now)
{
	unsigned int r, w;

	dmt_fe_heat(fe, now, &r, &w);
	memset(h, 0, sizeof(*h));
	h->extent = e;
	h->tier = dmt_fe_tier(fe);
	h->reads = r;
	h->writes = w;
	h->flags = (fe & DMT_FE_PINNED ? DM_TIER_HEAT_PINNED : 0) |
		   (fe & DMT_FE_MIGRATING ? DM_TIER_HEAT_MIGRATING : 0) |
		   (fe & DMT_FE_PREFETCHED ? DM_TIER_HEAT_PREFETCHED : 0);
}

/*
 * Fill a HEAT array with mapped extents of @vol from *@pos on (when
 * @only_touched, only those touched in epoch @touched or since: the epoch
 * advances before the report is built, and an extent accessed in between
 * carries the new epoch; leaving it out would hide the hottest extents
 * most often).  Returns entries written.
 */
static unsigned int dmt_nl_heat_fill(struct sk_buff *skb, struct dmt_pool *pool,
				     struct dmt_volume *vol, u64 *pos,
				     bool only_touched, u8 touched)
{
	unsigned int max = DMT_NL_ARRAY_BYTES / sizeof(struct dm_tier_heat_entry), n = 0;
	u64 end = vol->nr_chunks << DMT_CHUNK_SHIFT, e;
	u8 now = READ_ONCE(pool->heat_epoch);
	struct dm_tier_heat_entry *h;
	struct nlattr *a;

	a = nla_reserve(skb, DM_TIER_ATTR_HEAT, 0);
	if (!a)
		return 0;
	for (e = *pos; e < end && n < max; e++) {
		u64 fe;

		if (!vol->chunks[e >> DMT_CHUNK_SHIFT]) {
			e = round_up(e + 1, DMT_CHUNK_ENTRIES) - 1;
			continue;
		}
		fe = dmt_lookup(vol, to_vext(e));
		if (!dmt_fe_mapped(fe) ||
		    (only_touched && (u8)fe != touched && (u8)fe != now))
			continue;
		if (skb_tailroom(skb) < sizeof(*h))
			break;
		h = skb_put(skb, sizeof(*h));
		dmt_nl_heat_entry(h, e, fe, now);
		n++;
	}
	a->nla_len += n * sizeof(*h);
	*pos = e;
	return n;
}

struct dmt_nl_dump {
	struct dmt_pool *pool;
	u32 volume;
	u64 pos;
};

static int dmt_nl_dump_heat_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct dmt_nl_dump *d = (void *)cb->ctx;
	struct dmt_pool *pool;

	BUILD_BUG_ON(sizeof(*d) > sizeof(cb->ctx));
	if (!netlink_capable(cb->skb, CAP_SYS_ADMIN)) {
		NL_SET_ERR_MSG(cb->extack, "CAP_SYS_ADMIN required");
		return -EPERM;
	}
	if (!info->attrs[DM_TIER_ATTR_VOLUME]) {
		NL_SET_ERR_MSG(cb->extack, "DM_TIER_ATTR_VOLUME missing");
		return -EINVAL;
	}
	pool = dmt_nl_pool(info->attrs, cb->extack);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	d->pool = pool;
	d->volume = nla_get_u32(info->attrs[DM_TIER_ATTR_VOLUME]);
	d->pos = 0;
	mutex_lock(&pool->md_lock);
	if (!dmt_pool_find_volume(pool, d->volume)) {
		mutex_unlock(&pool->md_lock);
		dmt_pool_put(pool);
		d->pool = NULL;
		NL_SET_ERR_MSG(cb->extack, "no such volume");
		return -ENOENT;
	}
	mutex_unlock(&pool->md_lock);
	return 0;
}

static int dmt_nl_dump_heat(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dmt_nl_dump *d = (void *)cb->ctx;
	struct dmt_pool *pool = d->pool;
	struct dmt_volume *vol;
	unsigned int n;
	void *hdr;

	mutex_lock(&pool->md_lock);
	vol = dmt_pool_find_volume(pool, d->volume);
	if (!vol || d->pos >= vol->nr_chunks << DMT_CHUNK_SHIFT) {
		mutex_unlock(&pool->md_lock);
		return vol ? 0 : -ENOENT;
	}
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &dmt_genl_family, NLM_F_MULTI, DM_TIER_CMD_DUMP_HEAT);
	if (!hdr || dmt_nl_put_name(skb, pool) ||
	    nla_put_u32(skb, DM_TIER_ATTR_VOLUME, vol->id)) {
		mutex_unlock(&pool->md_lock);
		return -EMSGSIZE;
	}
	n = dmt_nl_heat_fill(skb, pool, vol, &d->pos, false, 0);
	mutex_unlock(&pool->md_lock);
	genlmsg_end(skb, hdr);
	return n || d->pos ? skb->len : 0;
}

static int dmt_nl_dump_heat_done(struct netlink_callback *cb)
{
	struct dmt_nl_dump *d = (void *)cb->ctx;

	if (d->pool)
		dmt_pool_put(d->pool);
	return 0;
}

/* ------------------------------------------------------------- reports */

/* Map path: the volume's access moved to another extent. */
void dmt_netlink_transition(struct dmt_pool *pool, struct dmt_volume *vol,
			    struct bio *bio, u64 fe, bool prefetch_hit)
{
	struct dmt_bio *pb = dm_per_bio_data(bio, sizeof(*pb));
	u64 ve = pb->vsector >> pool->extent_shift;
	struct dmt_trans_ring *r;
	struct dmt_trans *t;
	unsigned long flags;
	unsigned int head;

	if (!prefetch_hit && READ_ONCE(vol->last_ve) == ve)
		return;
	WRITE_ONCE(vol->last_ve, ve);

	local_irq_save(flags);
	r = pool->trans[smp_processor_id()];
	head = r->head;
	if (head - smp_load_acquire(&r->tail) >= DMT_TRANS_RING) {
		atomic64_inc(&pool->trans_drops);
		goto out;
	}
	t = &r->ent[head % DMT_TRANS_RING];
	t->volume = vol->id;
	t->t.time_ns = ktime_get_ns();
	t->t.extent = ve;
	t->t.bytes = bio->bi_iter.bi_size;
	t->t.flags = (op_is_write(bio_op(bio)) ? DM_TIER_TR_WRITE : 0) |
		     (prefetch_hit ? DM_TIER_TR_PREFETCH_HIT : 0) |
		     (dmt_fe_mapped(fe) ? DM_TIER_TR_MAPPED : 0);
	t->t.tier = dmt_fe_mapped(fe) ? dmt_fe_tier(fe) : 0;
	t->t.reserved = 0;
	smp_store_release(&r->head, head + 1);
out:
	local_irq_restore(flags);
}

void __dmt_netlink_migration(struct dmt_pool *pool, struct dmt_migration *m)
{
	struct dm_tier_migration_event *ev;

	if (!READ_ONCE(pool->controller_portid) || !pool->mig_events)
		return;
	if (pool->nr_mig_events == DMT_MIG_QUEUE) {
		pool->report_drops++;
		return;
	}
	ev = &pool->mig_events[pool->nr_mig_events++];
	ev->extent = from_vext(m->ve);
	ev->volume = m->vol->id;
	ev->from_tier = m->src_tier;
	ev->to_tier = m->dst_tier;
	ev->flags = (m->error ? 0 : DM_TIER_MIG_OK) |
		    (m->kind == DMT_MIG_PREFETCH ? DM_TIER_MIG_PREFETCH : 0);
}

/* Send an array in messages of at most DMT_NL_ARRAY_BYTES each. */
static void dmt_nl_send_array(struct dmt_pool *pool, u32 portid, u8 cmd, int attr,
			      s64 volume, const void *data, size_t each, size_t n)
{
	size_t per = DMT_NL_ARRAY_BYTES / each, i, k;
	struct sk_buff *skb;
	void *hdr;

	for (i = 0; i < n; i += k) {
		k = min(per, n - i);
		skb = genlmsg_new(k * each + 512, GFP_NOIO);
		if (!skb) {
			pool->report_drops++;
			return;
		}
		hdr = dmt_nl_report_put(skb, pool, cmd);
		if (!hdr || (volume >= 0 && nla_put_u32(skb, DM_TIER_ATTR_VOLUME, volume)) ||
		    nla_put(skb, attr, k * each, data + i * each) ||
		    (cmd == DM_TIER_CMD_TRANSITIONS &&
		     nla_put_u64_64bit(skb, DM_TIER_ATTR_DROPS,
				       atomic64_read(&pool->trans_drops), DM_TIER_ATTR_PAD))) {
			nlmsg_free(skb);
			pool->report_drops++;
			return;
		}
		genlmsg_end(skb, hdr);
		dmt_nl_send(pool, skb, portid);
	}
}

/* Every DMT_REPORT_MS while a controller is registered. */
static void dmt_nl_report_worker(struct work_struct *ws)
{
	struct dmt_pool *pool = container_of(to_delayed_work(ws), struct dmt_pool,
					     report_work);
	u32 portid = READ_ONCE(pool->controller_portid);
	struct dm_tier_transition *buf;
	u32 *vols;
	unsigned int n = 0, cpu, i, j, k;

	if (!portid)
		return;
	buf = kvmalloc_array(num_possible_cpus() * DMT_TRANS_RING,
			     sizeof(*buf) + sizeof(u32), GFP_NOIO);
	if (!buf)
		goto again;
	vols = (u32 *)(buf + num_possible_cpus() * DMT_TRANS_RING);
	for_each_possible_cpu(cpu) {
		struct dmt_trans_ring *r = pool->trans[cpu];
		unsigned int head = smp_load_acquire(&r->head), tail = r->tail;

		for (; tail != head; tail++, n++) {
			buf[n] = r->ent[tail % DMT_TRANS_RING].t;
			vols[n] = r->ent[tail % DMT_TRANS_RING].volume;
		}
		smp_store_release(&r->tail, tail);
	}
	/* One message series per volume, in order of first appearance. */
	for (i = 0; i < n; i = j) {
		u32 v = vols[i];

		for (j = i, k = i; k < n; k++)
			if (vols[k] == v) {
				swap(buf[j], buf[k]);
				swap(vols[j], vols[k]);
				j++;
			}
		dmt_nl_send_array(pool, portid, DM_TIER_CMD_TRANSITIONS,
				  DM_TIER_ATTR_TRANSITIONS, v, buf + i, sizeof(*buf), j - i);
	}
	kvfree(buf);

	mutex_lock(&pool->md_lock);
	if (pool->nr_mig_events) {
		dmt_nl_send_array(pool, portid, DM_TIER_CMD_MIGRATION_DONE,
				  DM_TIER_ATTR_MIGRATIONS, -1, pool->mig_events,
				  sizeof(*pool->mig_events), pool->nr_mig_events);
		pool->nr_mig_events = 0;
	}
	mutex_unlock(&pool->md_lock);
again:
	if (READ_ONCE(pool->controller_portid))
		queue_delayed_work(pool->wq, &pool->report_work,
				   msecs_to_jiffies(DMT_REPORT_MS));
}

/* After each policy round: heat of the extents touched, and profiles. */
void dmt_netlink_epoch(struct dmt_pool *pool)
{
	u32 portid = READ_ONCE(pool->controller_portid);
	u8 touched = READ_ONCE(pool->heat_epoch) - 1;
	struct dmt_volume *vol;
	struct sk_buff *skb;
	void *hdr;

	if (!portid)
		return;
	mutex_lock(&pool->md_lock);
	list_for_each_entry(vol, &pool->volumes, list) {
		struct dm_tier_profile prof;
		u64 pos = 0, end = vol->nr_chunks << DMT_CHUNK_SHIFT;

		while (pos < end) {
			u64 from = pos;
			unsigned int n;

			skb = genlmsg_new(DMT_NL_ARRAY_BYTES + 512, GFP_NOIO);
			if (!skb)
				break;
			hdr = dmt_nl_report_put(skb, pool, DM_TIER_CMD_HEAT_REPORT);
			if (!hdr || nla_put_u32(skb, DM_TIER_ATTR_VOLUME, vol->id) ||
			    nla_put_u32(skb, DM_TIER_ATTR_EPOCH, pool->policy_rounds)) {
				nlmsg_free(skb);
				break;
			}
			n = dmt_nl_heat_fill(skb, pool, vol, &pos, true, touched);
			if (!n) {
				nlmsg_free(skb);
				if (pos == from)
					break;
				continue;
			}
			genlmsg_end(skb, hdr);
			dmt_nl_send(pool, skb, portid);
		}
		if (!vol->active)
			continue;
		dmt_profile_sum(vol, &prof);
		skb = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
		if (!skb)
			continue;
		hdr = dmt_nl_report_put(skb, pool, DM_TIER_CMD_PROFILE_REPORT);
		if (!hdr || nla_put_u32(skb, DM_TIER_ATTR_VOLUME, vol->id) ||
		    nla_put_u32(skb, DM_TIER_ATTR_EPOCH, pool->policy_rounds) ||
		    nla_put(skb, DM_TIER_ATTR_PROFILE, sizeof(prof), &prof)) {
			nlmsg_free(skb);
			continue;
		}
		genlmsg_end(skb, hdr);
		dmt_nl_send(pool, skb, portid);
	}
	mutex_unlock(&pool->md_lock);
}

/* ------------------------------------------------------------- family */

#define DMT_NL_DOIT(_cmd, _fn, _policy) {			\
	.cmd = _cmd, .doit = _fn, .policy = _policy,		\
	.maxattr = DM_TIER_ATTR_MAX,				\
}

static const struct genl_ops dmt_nl_ops[] = {
	DMT_NL_DOIT(DM_TIER_CMD_REGISTER, dmt_nl_register, dmt_nl_register_policy),
	DMT_NL_DOIT(DM_TIER_CMD_UNREGISTER, dmt_nl_unregister, dmt_nl_pool_policy),
	DMT_NL_DOIT(DM_TIER_CMD_MIGRATE, dmt_nl_batch, dmt_nl_extent_policy),
	DMT_NL_DOIT(DM_TIER_CMD_PREFETCH, dmt_nl_batch, dmt_nl_extent_policy),
	DMT_NL_DOIT(DM_TIER_CMD_PIN, dmt_nl_batch, dmt_nl_extent_policy),
	DMT_NL_DOIT(DM_TIER_CMD_UNPIN, dmt_nl_batch, dmt_nl_extent_policy),
	DMT_NL_DOIT(DM_TIER_CMD_SET_HINT, dmt_nl_batch, dmt_nl_extent_policy),
	DMT_NL_DOIT(DM_TIER_CMD_SET_PARAMS, dmt_nl_set_params, dmt_nl_params_cmd_policy),
	DMT_NL_DOIT(DM_TIER_CMD_GET_POOL, dmt_nl_get_pool, dmt_nl_pool_policy),
	DMT_NL_DOIT(DM_TIER_CMD_GET_VOLUME, dmt_nl_get_volume, dmt_nl_volume_policy),
	{
		.cmd = DM_TIER_CMD_DUMP_HEAT,
		.start = dmt_nl_dump_heat_start,
		.dumpit = dmt_nl_dump_heat,
		.done = dmt_nl_dump_heat_done,
		.policy = dmt_nl_volume_policy,
		.maxattr = DM_TIER_ATTR_MAX,
	},
};

static struct genl_family dmt_genl_family __ro_after_init = {
	.name = DM_TIER_GENL_NAME,
	.version = DM_TIER_GENL_VERSION,
	.maxattr = DM_TIER_ATTR_MAX,
	.netnsok = false,
	.pre_doit = dmt_nl_pre_doit,
	.post_doit = dmt_nl_post_doit,
	.ops = dmt_nl_ops,
	.n_ops = ARRAY_SIZE(dmt_nl_ops),
	.resv_start_op = DM_TIER_CMD_REGISTER,
	.module = THIS_MODULE,
};

static int dmt_nl_notify(struct notifier_block *nb, unsigned long state, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (state == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    net_eq(n->net, &init_net) && n->portid)
		dmt_pools_release_controller(n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block dmt_nl_notifier = {
	.notifier_call = dmt_nl_notify,
};

int dmt_netlink_pool_init(struct dmt_pool *pool)
{
	unsigned int cpu;

	INIT_DELAYED_WORK(&pool->report_work, dmt_nl_report_worker);
	atomic64_set(&pool->trans_drops, 0);
	pool->mig_events = kvcalloc(DMT_MIG_QUEUE, sizeof(*pool->mig_events), GFP_KERNEL);
	pool->trans = kcalloc(nr_cpu_ids, sizeof(*pool->trans), GFP_KERNEL);
	if (!pool->trans || !pool->mig_events)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		pool->trans[cpu] = kvzalloc(sizeof(struct dmt_trans_ring), GFP_KERNEL);
		if (!pool->trans[cpu])
			return -ENOMEM;
	}
	return 0;
}

void dmt_netlink_pool_exit(struct dmt_pool *pool)
{
	unsigned int cpu;

	WRITE_ONCE(pool->controller_portid, 0);
	if (pool->report_work.work.func)	/* initialised */
		cancel_delayed_work_sync(&pool->report_work);
	if (pool->trans)
		for_each_possible_cpu(cpu)
			kvfree(pool->trans[cpu]);
	kfree(pool->trans);
	kvfree(pool->mig_events);
	pool->trans = NULL;
	pool->mig_events = NULL;
}

int dmt_netlink_register(void)
{
	int r;

	BUILD_BUG_ON(sizeof(struct dm_tier_extent_cmd) != 32);
	BUILD_BUG_ON(sizeof(struct dm_tier_heat_entry) != 16);
	BUILD_BUG_ON(sizeof(struct dm_tier_transition) != 24);
	BUILD_BUG_ON(sizeof(struct dm_tier_profile) != 120);
	BUILD_BUG_ON(sizeof(struct dm_tier_migration_event) != 16);

	r = netlink_register_notifier(&dmt_nl_notifier);
	if (r)
		return r;
	r = genl_register_family(&dmt_genl_family);
	if (r)
		netlink_unregister_notifier(&dmt_nl_notifier);
	return r;
}

void dmt_netlink_unregister(void)
{
	genl_unregister_family(&dmt_genl_family);
	netlink_unregister_notifier(&dmt_nl_notifier);
}
