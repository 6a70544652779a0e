// SPDX-License-Identifier: GPL-2.0
#include "netlink/protocol.h"

#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <cerrno>
#include <cstring>
#include <vector>

using namespace dmtier::nl;

namespace {

constexpr int kFamily = 0x1234;

std::vector<dm_tier_extent_cmd> make_cmds(std::size_t n)
{
	std::vector<dm_tier_extent_cmd> v(n);
	for (std::size_t i = 0; i < n; i++) {
		v[i] = {};
		v[i].volume = std::uint32_t(i % 7);
		v[i].tier = std::uint32_t(i % 3);
		v[i].extent = 1000000 + i;
	}
	return v;
}

// Copy of a message's bytes, for mutation.
std::vector<char> bytes_of(const Message &m)
{
	auto b = m.bytes();
	return std::vector<char>(reinterpret_cast<const char *>(b.data()),
				 reinterpret_cast<const char *>(b.data()) + b.size());
}

const nlmsghdr *hdr(const std::vector<char> &b) { return reinterpret_cast<const nlmsghdr *>(b.data()); }

// The EXTENT_CMDS attributes inside a batch message's BATCH nest.
std::vector<std::vector<dm_tier_extent_cmd>> batch_attrs(const Message &m, std::string *pool)
{
	std::vector<std::vector<dm_tier_extent_cmd>> out;
	nlattr *tb[DM_TIER_ATTR_MAX + 1];
	EXPECT_EQ(genlmsg_parse(const_cast<nlmsghdr *>(m.header()), 0, tb, DM_TIER_ATTR_MAX, nullptr), 0);
	if (pool && tb[DM_TIER_ATTR_POOL])
		*pool = nla_get_string(tb[DM_TIER_ATTR_POOL]);
	EXPECT_NE(tb[DM_TIER_ATTR_BATCH], nullptr);
	if (!tb[DM_TIER_ATTR_BATCH])
		return out;
	EXPECT_TRUE(tb[DM_TIER_ATTR_BATCH]->nla_type & NLA_F_NESTED);
	nlattr *a;
	int rem;
	nla_for_each_nested(a, tb[DM_TIER_ATTR_BATCH], rem)
	{
		EXPECT_EQ(nla_type(a), DM_TIER_ATTR_EXTENT_CMDS);
		std::vector<dm_tier_extent_cmd> v(nla_len(a) / sizeof(dm_tier_extent_cmd));
		EXPECT_EQ(nla_len(a) % sizeof(dm_tier_extent_cmd), 0u);
		std::memcpy(v.data(), nla_data(a), v.size() * sizeof(dm_tier_extent_cmd));
		out.push_back(std::move(v));
	}
	return out;
}

Message report(std::uint8_t cmd)
{
	auto m = new_request(kFamily, cmd, 200000);
	EXPECT_TRUE(m.ok());
	return std::move(*m);
}

void put_str(Message &m, int type, const char *s) { ASSERT_EQ(nla_put_string(m.get(), type, s), 0); }
void put_u32(Message &m, int type, std::uint32_t v) { ASSERT_EQ(nla_put_u32(m.get(), type, v), 0); }
void put_u64(Message &m, int type, std::uint64_t v) { ASSERT_EQ(nla_put_u64(m.get(), type, v), 0); }
void put_bin(Message &m, int type, const void *d, std::size_t n) { ASSERT_EQ(nla_put(m.get(), type, int(n), d), 0); }

dmtier::Result<Report> decode(const Message &m)
{
	auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
	if (!a)
		return std::move(a).take_error();
	return decode_report(*a);
}

} // namespace

// ------------------------------------------------------------ requests

TEST(Encode, HeaderAndPool)
{
	auto m = encode_pool_cmd(kFamily, DM_TIER_CMD_GET_POOL, "pool-a");
	ASSERT_TRUE(m.ok()) << m.error();
	const nlmsghdr *h = m->header();
	EXPECT_EQ(h->nlmsg_type, kFamily);
	EXPECT_TRUE(h->nlmsg_flags & NLM_F_REQUEST);
	auto *g = static_cast<const genlmsghdr *>(nlmsg_data(h));
	EXPECT_EQ(g->cmd, DM_TIER_CMD_GET_POOL);
	EXPECT_EQ(g->version, DM_TIER_GENL_VERSION);
	auto a = parse_attrs(h, h->nlmsg_len);
	ASSERT_TRUE(a.ok()) << a.error();
	ASSERT_TRUE(a->has(DM_TIER_ATTR_POOL));
	// NUL-terminated on the wire (the kernel's policy is NLA_NUL_STRING).
	const nlattr *p = a->get(DM_TIER_ATTR_POOL);
	EXPECT_EQ(nla_len(p), 7);
	EXPECT_EQ(static_cast<const char *>(nla_data(p))[6], '\0');
}

TEST(Encode, BadPoolNames)
{
	auto e = encode_pool_cmd(kFamily, DM_TIER_CMD_GET_POOL, "");
	ASSERT_FALSE(e.ok());
	EXPECT_EQ(e.code(), EINVAL);
	auto z = encode_pool_cmd(kFamily, DM_TIER_CMD_GET_POOL, std::string_view("a\0b", 3));
	ASSERT_FALSE(z.ok());
	EXPECT_NE(z.error().find("NUL"), std::string::npos);
}

TEST(Encode, RegisterTakeoverFlag)
{
	for (bool takeover : {false, true}) {
		auto m = encode_register(kFamily, "p", takeover);
		ASSERT_TRUE(m.ok());
		auto a = parse_attrs(m->header(), m->header()->nlmsg_len);
		ASSERT_TRUE(a.ok());
		EXPECT_EQ(a->cmd, DM_TIER_CMD_REGISTER);
		if (takeover) {
			ASSERT_TRUE(a->has(DM_TIER_ATTR_FLAGS));
			EXPECT_EQ(nla_get_u32(const_cast<nlattr *>(a->get(DM_TIER_ATTR_FLAGS))), DM_TIER_F_TAKEOVER);
		} else {
			EXPECT_FALSE(a->has(DM_TIER_ATTR_FLAGS));
		}
	}
}

TEST(Encode, GetVolumeAndDumpHeat)
{
	auto v = encode_get_volume(kFamily, "p", 42);
	ASSERT_TRUE(v.ok());
	auto a = parse_attrs(v->header(), v->header()->nlmsg_len);
	ASSERT_TRUE(a.ok());
	EXPECT_EQ(nla_get_u32(const_cast<nlattr *>(a->get(DM_TIER_ATTR_VOLUME))), 42u);
	EXPECT_FALSE(v->header()->nlmsg_flags & NLM_F_DUMP);
	auto d = encode_dump_heat(kFamily, "p", 7);
	ASSERT_TRUE(d.ok());
	EXPECT_EQ(d->header()->nlmsg_flags & NLM_F_DUMP, NLM_F_DUMP);
	EXPECT_EQ(static_cast<const genlmsghdr *>(nlmsg_data(d->header()))->cmd, DM_TIER_CMD_DUMP_HEAT);
}

TEST(Encode, BatchRoundTrip)
{
	auto cmds = make_cmds(kMaxBatch);
	auto m = encode_batch(kFamily, Command::prefetch, "pool", cmds);
	ASSERT_TRUE(m.ok()) << m.error();
	EXPECT_EQ(static_cast<const genlmsghdr *>(nlmsg_data(m->header()))->cmd, DM_TIER_CMD_PREFETCH);
	std::string pool;
	auto attrs = batch_attrs(*m, &pool);
	EXPECT_EQ(pool, "pool");
	ASSERT_EQ(attrs.size(), 1u);
	ASSERT_EQ(attrs[0].size(), kMaxBatch);
	EXPECT_EQ(std::memcmp(attrs[0].data(), cmds.data(), cmds.size() * sizeof(cmds[0])), 0);
	// 2000 entries stay below 64 KiB of attribute.
	EXPECT_LT(m->header()->nlmsg_len, 65536u);
}

TEST(Encode, BatchSeveralAttributesInOneNest)
{
	auto cmds = make_cmds(1500);
	auto m = encode_batch(kFamily, Command::migrate, "pool", cmds, 700);
	ASSERT_TRUE(m.ok()) << m.error();
	auto attrs = batch_attrs(*m, nullptr);
	ASSERT_EQ(attrs.size(), 3u);
	EXPECT_EQ(attrs[0].size(), 700u);
	EXPECT_EQ(attrs[1].size(), 700u);
	EXPECT_EQ(attrs[2].size(), 100u);
	std::vector<dm_tier_extent_cmd> all;
	for (auto &v : attrs)
		all.insert(all.end(), v.begin(), v.end());
	EXPECT_EQ(std::memcmp(all.data(), cmds.data(), cmds.size() * sizeof(cmds[0])), 0);
}

TEST(Encode, BatchLimits)
{
	auto big = make_cmds(kMaxBatch + 1);
	auto m = encode_batch(kFamily, Command::migrate, "pool", big);
	ASSERT_FALSE(m.ok());
	EXPECT_EQ(m.code(), EMSGSIZE);
	EXPECT_NE(m.error().find("2001"), std::string::npos) << m.error();
	auto e = encode_batch(kFamily, Command::migrate, "pool", {});
	ASSERT_FALSE(e.ok());
	EXPECT_EQ(e.code(), EINVAL);
	auto one = make_cmds(1);
	EXPECT_FALSE(encode_batch(kFamily, Command::migrate, "pool", one, kMaxPerAttr + 1).ok());
	EXPECT_FALSE(encode_batch(kFamily, Command::migrate, "pool", one, 0).ok());
	// The most one attribute can hold fits nla_len.
	EXPECT_LE(kMaxPerAttr * sizeof(dm_tier_extent_cmd) + NLA_HDRLEN, 0xffffu);
	EXPECT_GE(kMaxPerAttr, kMaxBatch);
}

TEST(Split, Sizes)
{
	auto cmds = make_cmds(10000);
	auto parts = split_batch(cmds);
	ASSERT_EQ(parts.size(), 5u);
	for (auto &p : parts)
		EXPECT_EQ(p.size(), 2000u);
	EXPECT_EQ(parts[1].data(), cmds.data() + 2000);
	auto odd = split_batch(std::span(cmds).first(4001));
	ASSERT_EQ(odd.size(), 3u);
	EXPECT_EQ(odd[2].size(), 1u);
	EXPECT_EQ(odd[2].data(), cmds.data() + 4000);
	EXPECT_TRUE(split_batch({}).empty());
	auto small = split_batch(std::span(cmds).first(10), 3);
	ASSERT_EQ(small.size(), 4u);
	EXPECT_EQ(small[3].size(), 1u);
}

TEST(Encode, SetParams)
{
	std::vector<Param> ps = {{DM_TIER_PARAM_MAX_MIGRATIONS, 16}, {DM_TIER_PARAM_FALLBACK, 0}};
	auto m = encode_set_params(kFamily, "p", ps);
	ASSERT_TRUE(m.ok()) << m.error();
	nlattr *tb[DM_TIER_ATTR_MAX + 1];
	ASSERT_EQ(genlmsg_parse(const_cast<nlmsghdr *>(m->header()), 0, tb, DM_TIER_ATTR_MAX, nullptr), 0);
	ASSERT_NE(tb[DM_TIER_ATTR_PARAMS], nullptr);
	nlattr *p[DM_TIER_PARAM_MAX + 1];
	ASSERT_EQ(nla_parse_nested(p, DM_TIER_PARAM_MAX, tb[DM_TIER_ATTR_PARAMS], nullptr), 0);
	EXPECT_EQ(nla_get_u32(p[DM_TIER_PARAM_MAX_MIGRATIONS]), 16u);
	EXPECT_EQ(nla_get_u32(p[DM_TIER_PARAM_FALLBACK]), 0u);
	EXPECT_EQ(p[DM_TIER_PARAM_YIELD_DEPTH], nullptr);

	std::vector<Param> bad = {{DM_TIER_PARAM_MAX + 1, 1}};
	EXPECT_FALSE(encode_set_params(kFamily, "p", bad).ok());
	EXPECT_FALSE(encode_set_params(kFamily, "p", {}).ok());
}

TEST(Params, Names)
{
	EXPECT_EQ(param_by_name("max_migrations"), DM_TIER_PARAM_MAX_MIGRATIONS);
	EXPECT_EQ(param_by_name("fallback"), DM_TIER_PARAM_FALLBACK);
	EXPECT_FALSE(param_by_name("commit_interval_ms")); // table only
	for (int id = 1; id <= DM_TIER_PARAM_MAX; id++)
		EXPECT_EQ(param_by_name(param_name(std::uint16_t(id))), id) << id;
}

TEST(Nest, CancelledWhenNotEnded)
{
	auto m = new_request(kFamily, DM_TIER_CMD_SET_PARAMS, 1024);
	ASSERT_TRUE(m.ok());
	std::uint32_t before = m->header()->nlmsg_len;
	{
		auto n = Nest::start(*m, DM_TIER_ATTR_PARAMS);
		ASSERT_TRUE(n.ok());
		ASSERT_EQ(nla_put_u32(m->get(), DM_TIER_PARAM_YIELD_DEPTH, 3), 0);
		EXPECT_GT(m->header()->nlmsg_len, before);
	}
	EXPECT_EQ(m->header()->nlmsg_len, before);
	{
		auto n = Nest::start(*m, DM_TIER_ATTR_PARAMS);
		ASSERT_TRUE(n.ok());
		auto moved = std::move(*n);
		ASSERT_TRUE(moved.end().ok());
		EXPECT_FALSE(moved.end().ok()); // twice
	}
	// libnl drops an empty nest at its end (the kernel refuses them).
	EXPECT_EQ(m->header()->nlmsg_len, before);
}

TEST(Message, MoveOnly)
{
	static_assert(!std::is_copy_constructible_v<Message>);
	static_assert(std::is_nothrow_move_constructible_v<Message>);
	static_assert(!std::is_copy_constructible_v<Nest>);
	auto m = Message::alloc();
	ASSERT_TRUE(m.ok());
	Message a = std::move(*m);
	EXPECT_TRUE(a);
	EXPECT_FALSE(*m);
	EXPECT_TRUE(m->bytes().empty());
}

// ------------------------------------------------------------ replies

TEST(Decode, BatchReply)
{
	auto m = report(DM_TIER_CMD_MIGRATE);
	put_u32(m, DM_TIER_ATTR_ACCEPTED, 10);
	put_u32(m, DM_TIER_ATTR_REJECTED, 3);
	put_u32(m, DM_TIER_ATTR_FIRST_ERROR, std::uint32_t(-ENODATA));
	put_u32(m, DM_TIER_ATTR_FIRST_ERROR_INDEX, 4);
	auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
	ASSERT_TRUE(a.ok()) << a.error();
	auto r = decode_batch_reply(*a);
	ASSERT_TRUE(r.ok()) << r.error();
	EXPECT_EQ(r->accepted, 10u);
	EXPECT_EQ(r->rejected, 3u);
	EXPECT_EQ(r->first_error, -ENODATA);
	EXPECT_EQ(r->first_error_index, 4u);
}

TEST(Decode, BatchReplyBad)
{
	auto m = report(DM_TIER_CMD_MIGRATE);
	put_u32(m, DM_TIER_ATTR_ACCEPTED, 0);
	put_u32(m, DM_TIER_ATTR_REJECTED, 1);
	put_u32(m, DM_TIER_ATTR_FIRST_ERROR, 5); // not negative
	auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
	ASSERT_TRUE(a.ok());
	auto r = decode_batch_reply(*a);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("FIRST_ERROR"), std::string::npos) << r.error();

	auto n = report(DM_TIER_CMD_MIGRATE);
	put_u32(n, DM_TIER_ATTR_ACCEPTED, 0);
	auto b = parse_attrs(n.header(), n.header()->nlmsg_len);
	ASSERT_TRUE(b.ok());
	auto rb = decode_batch_reply(*b);
	ASSERT_FALSE(rb.ok());
	EXPECT_NE(rb.error().find("no REJECTED"), std::string::npos) << rb.error();
}

TEST(Decode, Pool)
{
	auto m = report(DM_TIER_CMD_GET_POOL);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_NR_TIERS, 2);
	{
		auto tiers = Nest::start(m, DM_TIER_ATTR_TIERS);
		ASSERT_TRUE(tiers.ok());
		for (std::uint32_t i = 0; i < 2; i++) {
			auto t = Nest::start(m, DM_TIER_ATTR_TIER);
			ASSERT_TRUE(t.ok());
			put_u32(m, DM_TIER_TIER_INDEX, i);
			put_u64(m, DM_TIER_TIER_USED, 10 + i);
			put_u64(m, DM_TIER_TIER_TOTAL, 100 + i);
			ASSERT_TRUE(t->end().ok());
		}
		ASSERT_TRUE(tiers->end().ok());
	}
	put_str(m, DM_TIER_ATTR_MODE, "rw");
	ASSERT_EQ(nla_put_u8(m.get(), DM_TIER_ATTR_NEEDS_CHECK, 0), 0);
	put_str(m, DM_TIER_ATTR_POLICY, "controller");
	put_u32(m, DM_TIER_ATTR_NR_VOLUMES, 3);
	put_u64(m, DM_TIER_ATTR_MIG_DONE, 1ull << 40);
	put_u64(m, DM_TIER_ATTR_MIG_FAILED, 2);
	put_u32(m, DM_TIER_ATTR_MIG_QUEUED, 5);
	put_u64(m, DM_TIER_ATTR_BYTES_MOVED, 123456789);
	put_u64(m, DM_TIER_ATTR_EXTENT_SECTORS, 2048);
	put_u32(m, DM_TIER_ATTR_EPOCH, 77);
	put_u64(m, DM_TIER_ATTR_DROPS, 9);
	put_u32(m, 200, 1); // unknown attribute of a newer kernel: ignored
	auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
	ASSERT_TRUE(a.ok()) << a.error();
	auto p = decode_pool(*a);
	ASSERT_TRUE(p.ok()) << p.error();
	EXPECT_EQ(p->pool, "pool");
	EXPECT_EQ(p->nr_tiers, 2u);
	ASSERT_EQ(p->tiers.size(), 2u);
	EXPECT_EQ(p->tiers[1].index, 1u);
	EXPECT_EQ(p->tiers[1].used, 11u);
	EXPECT_EQ(p->tiers[1].total, 101u);
	EXPECT_EQ(p->mode, "rw");
	EXPECT_FALSE(p->needs_check);
	EXPECT_EQ(p->policy, "controller");
	EXPECT_EQ(p->nr_volumes, 3u);
	EXPECT_EQ(p->mig_done, 1ull << 40);
	EXPECT_EQ(p->mig_failed, 2u);
	EXPECT_EQ(p->mig_queued, 5u);
	EXPECT_EQ(p->bytes_moved, 123456789u);
	EXPECT_EQ(p->extent_sectors, 2048u);
	EXPECT_EQ(p->epoch, 77u);
	EXPECT_EQ(p->drops, 9u);
}

TEST(Decode, PoolTierMismatch)
{
	auto m = report(DM_TIER_CMD_GET_POOL);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_NR_TIERS, 3);
	{
		auto tiers = Nest::start(m, DM_TIER_ATTR_TIERS);
		auto t = Nest::start(m, DM_TIER_ATTR_TIER);
		put_u32(m, DM_TIER_TIER_INDEX, 0);
		ASSERT_TRUE(t->end().ok());
		ASSERT_TRUE(tiers->end().ok());
	}
	auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
	ASSERT_TRUE(a.ok());
	auto p = decode_pool(*a);
	ASSERT_FALSE(p.ok());
	EXPECT_NE(p.error().find("NR_TIERS 3 but 1"), std::string::npos) << p.error();

	auto n = report(DM_TIER_CMD_GET_POOL);
	put_str(n, DM_TIER_ATTR_POOL, "pool");
	{
		auto tiers = Nest::start(n, DM_TIER_ATTR_TIERS);
		auto t = Nest::start(n, DM_TIER_ATTR_TIER);
		put_u32(n, DM_TIER_TIER_USED, 0); // u64 attribute with 4 bytes
		ASSERT_TRUE(t->end().ok());
		ASSERT_TRUE(tiers->end().ok());
	}
	auto b = parse_attrs(n.header(), n.header()->nlmsg_len);
	ASSERT_TRUE(b.ok());
	auto q = decode_pool(*b);
	ASSERT_FALSE(q.ok());
	EXPECT_NE(q.error().find("4 bytes"), std::string::npos) << q.error();
}

TEST(Decode, Volume)
{
	auto m = report(DM_TIER_CMD_GET_VOLUME);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_VOLUME, 5);
	std::uint64_t mapped[3] = {1, 2, 3};
	put_bin(m, DM_TIER_ATTR_MAPPED, mapped, sizeof(mapped));
	dm_tier_profile prof{};
	prof.reads = 11;
	prof.size_hist[7] = 99;
	prof.prefetch_misses = 4;
	put_bin(m, DM_TIER_ATTR_PROFILE, &prof, sizeof(prof));
	ASSERT_EQ(nla_put_u8(m.get(), DM_TIER_ATTR_TIERING_ENABLED, 1), 0);
	put_str(m, DM_TIER_ATTR_POLICY_NAME, "balanced");
	put_str(m, DM_TIER_ATTR_MODEL, "auto");
	auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
	ASSERT_TRUE(a.ok()) << a.error();
	auto v = decode_volume(*a);
	ASSERT_TRUE(v.ok()) << v.error();
	EXPECT_EQ(v->volume, 5u);
	EXPECT_EQ(v->mapped, (std::vector<std::uint64_t>{1, 2, 3}));
	EXPECT_EQ(v->profile.reads, 11u);
	EXPECT_EQ(v->profile.size_hist[7], 99u);
	EXPECT_EQ(v->profile.prefetch_misses, 4u);
	EXPECT_TRUE(v->tiering_enabled);
	EXPECT_EQ(v->policy_name, "balanced");
	EXPECT_EQ(v->model, "auto");
}

TEST(Decode, HeatDumpAppends)
{
	std::vector<dm_tier_heat_entry> out;
	for (int msg = 0; msg < 2; msg++) {
		auto m = report(DM_TIER_CMD_DUMP_HEAT);
		put_str(m, DM_TIER_ATTR_POOL, "pool");
		put_u32(m, DM_TIER_ATTR_VOLUME, 1);
		dm_tier_heat_entry e[2] = {};
		e[0].extent = msg * 2;
		e[1].extent = msg * 2 + 1;
		e[1].flags = DM_TIER_HEAT_PINNED;
		put_bin(m, DM_TIER_ATTR_HEAT, e, sizeof(e));
		auto a = parse_attrs(m.header(), m.header()->nlmsg_len);
		ASSERT_TRUE(a.ok());
		ASSERT_TRUE(decode_heat_dump(*a, &out).ok());
	}
	ASSERT_EQ(out.size(), 4u);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(out[i].extent, std::uint64_t(i));
	EXPECT_EQ(out[3].flags, DM_TIER_HEAT_PINNED);
}

// ------------------------------------------------------------ reports

TEST(Report, Heat)
{
	auto m = report(DM_TIER_CMD_HEAT_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_VOLUME, 3);
	put_u32(m, DM_TIER_ATTR_EPOCH, 12);
	std::vector<dm_tier_heat_entry> heat(5000); // more than one attribute holds
	for (std::size_t i = 0; i < heat.size(); i++) {
		heat[i] = {};
		heat[i].extent = i * 3;
		heat[i].tier = std::uint8_t(i % 3);
		heat[i].reads = std::uint8_t(i);
		heat[i].writes = std::uint8_t(255 - i % 256);
	}
	put_bin(m, DM_TIER_ATTR_HEAT, heat.data(), 3000 * sizeof(heat[0]));
	put_bin(m, DM_TIER_ATTR_HEAT, heat.data() + 3000, 2000 * sizeof(heat[0]));
	auto r = decode(m);
	ASSERT_TRUE(r.ok()) << r.error();
	ASSERT_TRUE(std::holds_alternative<HeatReport>(*r));
	auto &h = std::get<HeatReport>(*r);
	EXPECT_EQ(report_name(*r), "heat");
	EXPECT_EQ(h.pool, "pool");
	EXPECT_EQ(h.volume, 3u);
	EXPECT_EQ(h.epoch, 12u);
	ASSERT_EQ(h.heat.size(), 5000u);
	EXPECT_EQ(std::memcmp(h.heat.data(), heat.data(), heat.size() * sizeof(heat[0])), 0);
}

TEST(Report, Profile)
{
	auto m = report(DM_TIER_CMD_PROFILE_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_VOLUME, 3);
	put_u32(m, DM_TIER_ATTR_EPOCH, 4);
	dm_tier_profile p{};
	p.writes = 8;
	p.write_bytes = 8 << 12;
	p.sequential = 7;
	p.size_hist[0] = 8;
	put_bin(m, DM_TIER_ATTR_PROFILE, &p, sizeof(p));
	auto r = decode(m);
	ASSERT_TRUE(r.ok()) << r.error();
	auto &pr = std::get<ProfileReport>(*r);
	EXPECT_EQ(pr.epoch, 4u);
	EXPECT_EQ(std::memcmp(&pr.profile, &p, sizeof(p)), 0);
}

TEST(Report, Transitions)
{
	auto m = report(DM_TIER_CMD_TRANSITIONS);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_VOLUME, 9);
	dm_tier_transition t[3] = {};
	for (int i = 0; i < 3; i++) {
		t[i].time_ns = 1000 + i;
		t[i].extent = 40 + i;
		t[i].bytes = 4096;
		t[i].flags = DM_TIER_TR_MAPPED | (i == 1 ? DM_TIER_TR_WRITE : 0);
		t[i].tier = 2;
	}
	put_bin(m, DM_TIER_ATTR_TRANSITIONS, t, sizeof(t));
	put_u64(m, DM_TIER_ATTR_DROPS, 17);
	auto r = decode(m);
	ASSERT_TRUE(r.ok()) << r.error();
	auto &tr = std::get<TransitionsReport>(*r);
	EXPECT_EQ(tr.volume, 9u);
	EXPECT_EQ(tr.drops, 17u);
	ASSERT_EQ(tr.transitions.size(), 3u);
	EXPECT_EQ(tr.transitions[1].flags, DM_TIER_TR_MAPPED | DM_TIER_TR_WRITE);
	EXPECT_EQ(tr.transitions[2].time_ns, 1002u);
}

TEST(Report, MigrationDone)
{
	auto m = report(DM_TIER_CMD_MIGRATION_DONE);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	dm_tier_migration_event ev[2] = {};
	ev[0] = {5, 1, 2, 0, DM_TIER_MIG_OK};
	ev[1] = {6, 1, 2, 1, DM_TIER_MIG_PREFETCH};
	put_bin(m, DM_TIER_ATTR_MIGRATIONS, ev, sizeof(ev));
	auto r = decode(m);
	ASSERT_TRUE(r.ok()) << r.error();
	auto &md = std::get<MigrationDoneReport>(*r);
	ASSERT_EQ(md.migrations.size(), 2u);
	EXPECT_EQ(md.migrations[0].to_tier, 0);
	EXPECT_EQ(md.migrations[1].flags, DM_TIER_MIG_PREFETCH);
}

// ------------------------------------------------------------ malformed reports

TEST(Malformed, TruncatedArrays)
{
	struct Case {
		std::uint8_t cmd;
		int attr;
		std::size_t bytes;
		const char *want;
	} cases[] = {
		{DM_TIER_CMD_HEAT_REPORT, DM_TIER_ATTR_HEAT, 17, "HEAT is 17 bytes, not a multiple of 16"},
		{DM_TIER_CMD_TRANSITIONS, DM_TIER_ATTR_TRANSITIONS, 47, "TRANSITIONS is 47 bytes, not a multiple of 24"},
		{DM_TIER_CMD_MIGRATION_DONE, DM_TIER_ATTR_MIGRATIONS, 8, "MIGRATIONS is 8 bytes, not a multiple of 16"},
		{DM_TIER_CMD_PROFILE_REPORT, DM_TIER_ATTR_PROFILE, 112, "PROFILE is 112 bytes, not 120"},
		{DM_TIER_CMD_PROFILE_REPORT, DM_TIER_ATTR_PROFILE, 128, "PROFILE is 128 bytes, not 120"},
	};
	for (const auto &c : cases) {
		auto m = report(c.cmd);
		put_str(m, DM_TIER_ATTR_POOL, "pool");
		put_u32(m, DM_TIER_ATTR_VOLUME, 1);
		put_u32(m, DM_TIER_ATTR_EPOCH, 1);
		std::vector<char> junk(c.bytes, 'x');
		put_bin(m, c.attr, junk.data(), junk.size());
		auto r = decode(m);
		ASSERT_FALSE(r.ok()) << c.want;
		EXPECT_NE(r.error().find(c.want), std::string::npos) << r.error();
		EXPECT_EQ(r.code(), EBADMSG);
	}
}

TEST(Malformed, WrongScalarSizes)
{
	auto m = report(DM_TIER_CMD_HEAT_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	ASSERT_EQ(nla_put_u16(m.get(), DM_TIER_ATTR_VOLUME, 1), 0);
	auto r = decode(m);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("heat_report: VOLUME is 2 bytes, not 4"), std::string::npos) << r.error();

	auto d = report(DM_TIER_CMD_TRANSITIONS);
	put_str(d, DM_TIER_ATTR_POOL, "pool");
	put_u32(d, DM_TIER_ATTR_VOLUME, 1);
	put_u32(d, DM_TIER_ATTR_DROPS, 1); // u64 field
	auto rd = decode(d);
	ASSERT_FALSE(rd.ok());
	EXPECT_NE(rd.error().find("DROPS is 4 bytes, not 8"), std::string::npos) << rd.error();

	auto s = report(DM_TIER_CMD_HEAT_REPORT);
	put_bin(s, DM_TIER_ATTR_POOL, "", 0);
	auto rs = decode(s);
	ASSERT_FALSE(rs.ok());
	EXPECT_NE(rs.error().find("POOL is empty"), std::string::npos) << rs.error();
}

TEST(Malformed, MissingAttributes)
{
	auto m = report(DM_TIER_CMD_HEAT_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_VOLUME, 1);
	put_u32(m, DM_TIER_ATTR_EPOCH, 1);
	auto r = decode(m);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("heat_report: no HEAT attribute"), std::string::npos) << r.error();

	auto n = report(DM_TIER_CMD_MIGRATION_DONE);
	dm_tier_migration_event ev{};
	put_bin(n, DM_TIER_ATTR_MIGRATIONS, &ev, sizeof(ev));
	auto rn = decode(n);
	ASSERT_FALSE(rn.ok());
	EXPECT_NE(rn.error().find("no POOL attribute"), std::string::npos) << rn.error();

	auto t = report(DM_TIER_CMD_TRANSITIONS);
	put_str(t, DM_TIER_ATTR_POOL, "pool");
	put_u32(t, DM_TIER_ATTR_VOLUME, 1);
	auto rt = decode(t);
	ASSERT_FALSE(rt.ok());
	EXPECT_NE(rt.error().find("neither TRANSITIONS nor DROPS"), std::string::npos) << rt.error();
}

TEST(Malformed, NotAReport)
{
	auto m = report(DM_TIER_CMD_GET_POOL);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	auto r = decode(m);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("is no report"), std::string::npos) << r.error();
}

TEST(Malformed, DuplicateScalar)
{
	auto m = report(DM_TIER_CMD_PROFILE_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "a");
	put_str(m, DM_TIER_ATTR_POOL, "b");
	auto r = decode(m);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().find("POOL appears twice"), std::string::npos) << r.error();
}

TEST(Malformed, AttributeOverrunsMessage)
{
	auto m = report(DM_TIER_CMD_HEAT_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	put_u32(m, DM_TIER_ATTR_VOLUME, 1);
	auto b = bytes_of(m);
	// The VOLUME attribute (last) claims 4 more bytes than there are.
	auto *vol = reinterpret_cast<nlattr *>(b.data() + b.size() - 8);
	ASSERT_EQ(vol->nla_type, DM_TIER_ATTR_VOLUME);
	vol->nla_len = 12;
	auto a = parse_attrs(hdr(b), b.size());
	ASSERT_FALSE(a.ok());
	EXPECT_NE(a.error().find("claims 12 bytes, 8 left"), std::string::npos) << a.error();
	// An attribute header shorter than itself.
	vol->nla_len = 2;
	auto a2 = parse_attrs(hdr(b), b.size());
	ASSERT_FALSE(a2.ok());
	// Trailing bytes too short for an attribute header.
	vol->nla_len = 8;
	b.resize(b.size() + 4, 0);
	const_cast<nlmsghdr *>(hdr(b))->nlmsg_len += 2; // 2 stray bytes
	auto a3 = parse_attrs(hdr(b), b.size());
	ASSERT_FALSE(a3.ok());
	EXPECT_NE(a3.error().find("trailing bytes"), std::string::npos) << a3.error();
}

TEST(Malformed, TruncatedNest)
{
	auto m = report(DM_TIER_CMD_GET_POOL);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	{
		auto tiers = Nest::start(m, DM_TIER_ATTR_TIERS);
		auto t = Nest::start(m, DM_TIER_ATTR_TIER);
		put_u32(m, DM_TIER_TIER_INDEX, 0);
		ASSERT_TRUE(t->end().ok());
		ASSERT_TRUE(tiers->end().ok());
	}
	auto b = bytes_of(m);
	// Inner TIER nest (after POOL "pool\0" = 12 bytes and TIERS' header)
	// claims more than its parent holds.
	std::size_t off = NLMSG_HDRLEN + GENL_HDRLEN + 12 + NLA_HDRLEN;
	auto *tier = reinterpret_cast<nlattr *>(b.data() + off);
	ASSERT_EQ(tier->nla_type & NLA_TYPE_MASK, DM_TIER_ATTR_TIER);
	tier->nla_len += 8;
	auto a = parse_attrs(hdr(b), b.size());
	ASSERT_FALSE(a.ok());
	EXPECT_NE(a.error().find("get_pool: TIERS"), std::string::npos) << a.error();
}

TEST(Malformed, MessageLength)
{
	auto m = report(DM_TIER_CMD_HEAT_REPORT);
	put_str(m, DM_TIER_ATTR_POOL, "pool");
	auto b = bytes_of(m);
	// nlmsg_len beyond the received bytes.
	EXPECT_FALSE(parse_attrs(hdr(b), b.size() - 1).ok());
	// Shorter than the generic netlink header.
	const_cast<nlmsghdr *>(hdr(b))->nlmsg_len = NLMSG_HDRLEN + 2;
	auto a = parse_attrs(hdr(b), b.size());
	ASSERT_FALSE(a.ok());
	EXPECT_NE(a.error().find("generic netlink header"), std::string::npos) << a.error();
	EXPECT_FALSE(parse_attrs(nullptr, 0).ok());
	EXPECT_FALSE(parse_attrs(hdr(b), 8).ok());
}

// ------------------------------------------------------------ ACKs and errors

namespace {

// An NLMSG_ERROR as the kernel builds it for `req`: capped or with the
// request's payload echoed, then (optionally) extended-ack TLVs.
std::vector<char> kernel_error(const nlmsghdr *req, int err, bool capped, const char *msg, std::uint32_t offs = 0)
{
	std::vector<char> b(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr)));
	std::size_t echo = capped ? 0 : NLMSG_ALIGN(req->nlmsg_len - NLMSG_HDRLEN);
	std::size_t at = b.size();
	b.resize(at + echo);
	if (echo)
		std::memcpy(b.data() + at, reinterpret_cast<const char *>(req) + NLMSG_HDRLEN, req->nlmsg_len - NLMSG_HDRLEN);
	auto tlv = [&](int type, const void *d, std::size_t n) {
		std::size_t o = b.size();
		b.resize(o + NLA_ALIGN(NLA_HDRLEN + n), 0);
		auto *a = reinterpret_cast<nlattr *>(b.data() + o);
		a->nla_type = std::uint16_t(type);
		a->nla_len = std::uint16_t(NLA_HDRLEN + n);
		std::memcpy(b.data() + o + NLA_HDRLEN, d, n);
	};
	if (msg)
		tlv(NLMSGERR_ATTR_MSG, msg, std::strlen(msg) + 1);
	if (offs)
		tlv(NLMSGERR_ATTR_OFFS, &offs, 4);
	auto *h = reinterpret_cast<nlmsghdr *>(b.data());
	h->nlmsg_len = std::uint32_t(b.size());
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_flags = std::uint16_t((capped ? NLM_F_CAPPED : 0) | (msg || offs ? NLM_F_ACK_TLVS : 0));
	h->nlmsg_seq = req->nlmsg_seq;
	nlmsgerr e{};
	e.error = -err;
	e.msg = *req;
	std::memcpy(b.data() + NLMSG_HDRLEN, &e, sizeof(e));
	return b;
}

} // namespace

TEST(Errors, ExtendedAck)
{
	auto req = encode_batch(kFamily, Command::migrate, "pool", make_cmds(100));
	ASSERT_TRUE(req.ok());
	const_cast<nlmsghdr *>(req->header())->nlmsg_seq = 77;
	for (bool capped : {true, false}) {
		auto b = kernel_error(req->header(), EPERM, capped, "CAP_SYS_ADMIN required", 20);
		auto e = parse_error(hdr(b), b.size());
		ASSERT_TRUE(e.ok()) << e.error();
		EXPECT_EQ(e->error, EPERM);
		EXPECT_EQ(e->seq, 77u);
		EXPECT_EQ(e->message, "CAP_SYS_ADMIN required");
		ASSERT_TRUE(e->offset);
		EXPECT_EQ(*e->offset, 20u);
	}
}

TEST(Errors, PlainAckAndErrorWithoutTlvs)
{
	auto req = encode_pool_cmd(kFamily, DM_TIER_CMD_UNREGISTER, "pool");
	ASSERT_TRUE(req.ok());
	auto ack = kernel_error(req->header(), 0, true, nullptr);
	auto e = parse_error(hdr(ack), ack.size());
	ASSERT_TRUE(e.ok());
	EXPECT_EQ(e->error, 0);
	EXPECT_TRUE(e->message.empty());
	auto busy = kernel_error(req->header(), EBUSY, false, nullptr);
	auto b = parse_error(hdr(busy), busy.size());
	ASSERT_TRUE(b.ok());
	EXPECT_EQ(b->error, EBUSY);
	EXPECT_FALSE(b->offset);
}

TEST(Errors, DumpDone)
{
	std::vector<char> b(NLMSG_HDRLEN + 4);
	auto *h = reinterpret_cast<nlmsghdr *>(b.data());
	h->nlmsg_type = NLMSG_DONE;
	h->nlmsg_len = std::uint32_t(b.size());
	h->nlmsg_seq = 5;
	int err = -ENOENT;
	std::memcpy(b.data() + NLMSG_HDRLEN, &err, 4);
	const char msg[] = "no such volume";
	std::size_t o = b.size();
	b.resize(o + NLA_ALIGN(NLA_HDRLEN + sizeof(msg)));
	auto *a = reinterpret_cast<nlattr *>(b.data() + o);
	a->nla_type = NLMSGERR_ATTR_MSG;
	a->nla_len = NLA_HDRLEN + sizeof(msg);
	std::memcpy(b.data() + o + NLA_HDRLEN, msg, sizeof(msg));
	h = reinterpret_cast<nlmsghdr *>(b.data());
	h->nlmsg_len = std::uint32_t(b.size());
	h->nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
	auto e = parse_error(h, b.size());
	ASSERT_TRUE(e.ok()) << e.error();
	EXPECT_EQ(e->error, ENOENT);
	EXPECT_EQ(e->message, "no such volume");
	EXPECT_EQ(e->seq, 5u);
}

TEST(Errors, Malformed)
{
	auto req = encode_pool_cmd(kFamily, DM_TIER_CMD_UNREGISTER, "pool");
	ASSERT_TRUE(req.ok());
	auto b = kernel_error(req->header(), EINVAL, true, "bad");
	// Truncated below struct nlmsgerr.
	auto *h = reinterpret_cast<nlmsghdr *>(b.data());
	h->nlmsg_len = NLMSG_HDRLEN + 8;
	EXPECT_FALSE(parse_error(h, b.size()).ok());
	// A positive "errno" in the error field is no errno.
	auto p = kernel_error(req->header(), -3, true, nullptr);
	EXPECT_FALSE(parse_error(hdr(p), p.size()).ok());
	// A TLV overrunning the message.
	auto t = kernel_error(req->header(), EINVAL, true, "bad");
	reinterpret_cast<nlattr *>(t.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr)))->nla_len = 200;
	auto te = parse_error(hdr(t), t.size());
	ASSERT_FALSE(te.ok());
	EXPECT_NE(te.error().find("extended ack"), std::string::npos) << te.error();
	// Not an error message at all.
	EXPECT_FALSE(parse_error(req->header(), req->header()->nlmsg_len).ok());
}

TEST(Errors, Describe)
{
	EXPECT_EQ(describe_errno(EPERM), "Operation not permitted (EPERM)");
	EXPECT_EQ(describe_errno(-EBUSY), "Device or resource busy (EBUSY)");
}
