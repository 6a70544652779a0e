// SPDX-License-Identifier: GPL-2.0
#include "netlink/protocol.h"

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include <cerrno>
#include <cstring>

namespace dmtier::nl {

void MsgFree::operator()(nl_msg *m) const { nlmsg_free(m); }

Result<Message> Message::alloc(std::size_t payload)
{
	// Room for the netlink and genetlink headers and some slack.
	nl_msg *m = nlmsg_alloc_size(payload + NLMSG_HDRLEN + GENL_HDRLEN + 64);
	if (!m)
		return make_error("cannot allocate a netlink message", ENOMEM);
	return Message(m);
}

const nlmsghdr *Message::header() const { return m_ ? nlmsg_hdr(m_.get()) : nullptr; }

std::span<const std::byte> Message::bytes() const
{
	const nlmsghdr *h = header();
	if (!h)
		return {};
	return {reinterpret_cast<const std::byte *>(h), h->nlmsg_len};
}

Result<Nest> Nest::start(Message &msg, int type)
{
	nlattr *n = nla_nest_start(msg.get(), type);
	if (!n)
		return make_error("message too small for a nest", EMSGSIZE);
	return Nest(msg.get(), n);
}

Nest::~Nest()
{
	if (nest_)
		nla_nest_cancel(msg_, nest_);
}

Status Nest::end()
{
	if (!nest_)
		return make_error("nest already closed", EINVAL);
	int rc = nla_nest_end(msg_, nest_);
	nest_ = nullptr;
	if (rc < 0)
		return make_error("cannot close a nest", EMSGSIZE);
	return {};
}

// ------------------------------------------------------------ names

std::string_view command_name(std::uint8_t cmd)
{
	switch (cmd) {
	case DM_TIER_CMD_REGISTER: return "register";
	case DM_TIER_CMD_UNREGISTER: return "unregister";
	case DM_TIER_CMD_MIGRATE: return "migrate";
	case DM_TIER_CMD_PREFETCH: return "prefetch";
	case DM_TIER_CMD_PIN: return "pin";
	case DM_TIER_CMD_UNPIN: return "unpin";
	case DM_TIER_CMD_SET_HINT: return "set_hint";
	case DM_TIER_CMD_SET_PARAMS: return "set_params";
	case DM_TIER_CMD_GET_POOL: return "get_pool";
	case DM_TIER_CMD_GET_VOLUME: return "get_volume";
	case DM_TIER_CMD_DUMP_HEAT: return "dump_heat";
	case DM_TIER_CMD_HEAT_REPORT: return "heat_report";
	case DM_TIER_CMD_PROFILE_REPORT: return "profile_report";
	case DM_TIER_CMD_TRANSITIONS: return "transitions";
	case DM_TIER_CMD_MIGRATION_DONE: return "migration_done";
	default: return "unknown";
	}
}

static const char *const kAttrNames[] = {
	"UNSPEC", "POOL", "FLAGS", "VOLUME", "BATCH", "EXTENT_CMDS", "ACCEPTED", "REJECTED",
	"FIRST_ERROR", "FIRST_ERROR_INDEX", "PARAMS", "NR_TIERS", "TIERS", "TIER", "MODE",
	"NEEDS_CHECK", "POLICY", "NR_VOLUMES", "MIG_DONE", "MIG_FAILED", "MIG_QUEUED",
	"BYTES_MOVED", "EXTENT_SECTORS", "EPOCH", "DROPS", "MAPPED", "PROFILE",
	"TIERING_ENABLED", "POLICY_NAME", "MODEL", "HEAT", "TRANSITIONS", "MIGRATIONS", "PAD",
};
static_assert(sizeof(kAttrNames) / sizeof(kAttrNames[0]) == __DM_TIER_ATTR_MAX);

static std::string attr_name(int type)
{
	if (type >= 0 && type < __DM_TIER_ATTR_MAX)
		return kAttrNames[type];
	return "attribute " + std::to_string(type);
}

static const struct {
	const char *name;
	std::uint16_t id;
} kParams[] = {
	{"migration_bandwidth_mbps", DM_TIER_PARAM_MIGRATION_BANDWIDTH_MBPS},
	{"max_migrations", DM_TIER_PARAM_MAX_MIGRATIONS},
	{"yield_depth", DM_TIER_PARAM_YIELD_DEPTH},
	{"fallback_timeout_s", DM_TIER_PARAM_FALLBACK_TIMEOUT_S},
	{"promote_threshold", DM_TIER_PARAM_PROMOTE_THRESHOLD},
	{"high_watermark", DM_TIER_PARAM_HIGH_WATERMARK},
	{"low_watermark", DM_TIER_PARAM_LOW_WATERMARK},
	{"policy_interval_ms", DM_TIER_PARAM_POLICY_INTERVAL_MS},
	{"residency_rounds", DM_TIER_PARAM_RESIDENCY_ROUNDS},
	{"prefetch_window_ms", DM_TIER_PARAM_PREFETCH_WINDOW_MS},
	{"fallback", DM_TIER_PARAM_FALLBACK},
};

std::optional<std::uint16_t> param_by_name(std::string_view name)
{
	for (const auto &p : kParams)
		if (name == p.name)
			return p.id;
	return std::nullopt;
}

std::string_view param_name(std::uint16_t id)
{
	for (const auto &p : kParams)
		if (id == p.id)
			return p.name;
	return "unknown";
}

std::string describe_errno(int err)
{
	if (err < 0)
		err = -err;
	const char *name = strerrorname_np(err);
	std::string s = std::strerror(err);
	s += " (";
	s += name ? name : ("errno " + std::to_string(err)).c_str();
	s += ")";
	return s;
}

// ------------------------------------------------------------ building

Result<Message> new_request(int family, std::uint8_t cmd, std::size_t payload, int flags)
{
	auto m = Message::alloc(payload);
	if (!m)
		return std::move(m).take_error();
	if (!genlmsg_put(m->get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags | NLM_F_REQUEST, cmd,
			 DM_TIER_GENL_VERSION))
		return make_error("cannot put the generic netlink header", EMSGSIZE);
	return m;
}

static Status put_pool(Message &m, std::string_view pool)
{
	if (pool.empty())
		return make_error("empty pool name", EINVAL);
	if (pool.find('\0') != std::string_view::npos)
		return make_error("pool name holds a NUL byte", EINVAL);
	std::string s(pool);
	if (nla_put_string(m.get(), DM_TIER_ATTR_POOL, s.c_str()) < 0)
		return make_error("pool name does not fit the message", EMSGSIZE);
	return {};
}

static Result<Message> pool_request(int family, std::uint8_t cmd, std::string_view pool, std::size_t payload = 1024,
				    int flags = 0)
{
	auto m = new_request(family, cmd, payload + pool.size(), flags);
	if (!m)
		return m;
	if (auto st = put_pool(*m, pool); !st)
		return make_error(st.error(), st.code());
	return m;
}

Result<Message> encode_pool_cmd(int family, std::uint8_t cmd, std::string_view pool)
{
	return pool_request(family, cmd, pool);
}

Result<Message> encode_register(int family, std::string_view pool, bool takeover)
{
	auto m = pool_request(family, DM_TIER_CMD_REGISTER, pool);
	if (!m)
		return m;
	if (takeover && nla_put_u32(m->get(), DM_TIER_ATTR_FLAGS, DM_TIER_F_TAKEOVER) < 0)
		return make_error("cannot put FLAGS", EMSGSIZE);
	return m;
}

Result<Message> encode_get_volume(int family, std::string_view pool, std::uint32_t volume)
{
	auto m = pool_request(family, DM_TIER_CMD_GET_VOLUME, pool);
	if (!m)
		return m;
	if (nla_put_u32(m->get(), DM_TIER_ATTR_VOLUME, volume) < 0)
		return make_error("cannot put VOLUME", EMSGSIZE);
	return m;
}

Result<Message> encode_dump_heat(int family, std::string_view pool, std::uint32_t volume)
{
	auto m = pool_request(family, DM_TIER_CMD_DUMP_HEAT, pool, 1024, NLM_F_DUMP);
	if (!m)
		return m;
	if (nla_put_u32(m->get(), DM_TIER_ATTR_VOLUME, volume) < 0)
		return make_error("cannot put VOLUME", EMSGSIZE);
	return m;
}

std::vector<std::span<const dm_tier_extent_cmd>> split_batch(std::span<const dm_tier_extent_cmd> cmds,
							     std::size_t max)
{
	std::vector<std::span<const dm_tier_extent_cmd>> out;
	if (max == 0)
		max = kMaxBatch;
	for (std::size_t i = 0; i < cmds.size(); i += max)
		out.push_back(cmds.subspan(i, std::min(max, cmds.size() - i)));
	return out;
}

Result<Message> encode_batch(int family, Command cmd, std::string_view pool, std::span<const dm_tier_extent_cmd> cmds,
			     std::size_t per_attr)
{
	if (cmds.empty())
		return make_error("empty batch", EINVAL);
	if (cmds.size() > kMaxBatch)
		return make_error("batch of " + std::to_string(cmds.size()) + " entries, at most " +
					  std::to_string(kMaxBatch) + " per message",
				  EMSGSIZE);
	if (per_attr == 0 || per_attr > kMaxPerAttr)
		return make_error("bad entries per attribute", EINVAL);
	std::size_t nattr = (cmds.size() + per_attr - 1) / per_attr;
	auto m = pool_request(family, std::uint8_t(cmd), pool, cmds.size_bytes() + nattr * NLA_HDRLEN + 64);
	if (!m)
		return m;
	auto nest = Nest::start(*m, DM_TIER_ATTR_BATCH);
	if (!nest)
		return std::move(nest).take_error();
	for (auto part : split_batch(cmds, per_attr))
		if (nla_put(m->get(), DM_TIER_ATTR_EXTENT_CMDS, int(part.size_bytes()), part.data()) < 0)
			return make_error("batch does not fit the message", EMSGSIZE);
	if (auto st = nest->end(); !st)
		return make_error(st.error(), st.code());
	return m;
}

Result<Message> encode_set_params(int family, std::string_view pool, std::span<const Param> params)
{
	if (params.empty())
		return make_error("no parameters", EINVAL);
	auto m = pool_request(family, DM_TIER_CMD_SET_PARAMS, pool, params.size() * 8 + 64);
	if (!m)
		return m;
	auto nest = Nest::start(*m, DM_TIER_ATTR_PARAMS);
	if (!nest)
		return std::move(nest).take_error();
	for (const Param &p : params) {
		if (p.id == 0 || p.id > DM_TIER_PARAM_MAX)
			return make_error("unknown parameter " + std::to_string(p.id), EINVAL);
		if (nla_put_u32(m->get(), p.id, p.value) < 0)
			return make_error("parameters do not fit the message", EMSGSIZE);
	}
	if (auto st = nest->end(); !st)
		return make_error(st.error(), st.code());
	return m;
}

// ------------------------------------------------------------ parsing

namespace {

enum class Kind { none, str, u8, u32, u64, nest, array, blob };

struct Spec {
	Kind kind;
	std::size_t elem; // array element size or blob size
};

Spec spec_of(int type)
{
	switch (type) {
	case DM_TIER_ATTR_POOL:
	case DM_TIER_ATTR_MODE:
	case DM_TIER_ATTR_POLICY:
	case DM_TIER_ATTR_POLICY_NAME:
	case DM_TIER_ATTR_MODEL: return {Kind::str, 0};
	case DM_TIER_ATTR_NEEDS_CHECK:
	case DM_TIER_ATTR_TIERING_ENABLED: return {Kind::u8, 1};
	case DM_TIER_ATTR_FLAGS:
	case DM_TIER_ATTR_VOLUME:
	case DM_TIER_ATTR_ACCEPTED:
	case DM_TIER_ATTR_REJECTED:
	case DM_TIER_ATTR_FIRST_ERROR:
	case DM_TIER_ATTR_FIRST_ERROR_INDEX:
	case DM_TIER_ATTR_NR_TIERS:
	case DM_TIER_ATTR_NR_VOLUMES:
	case DM_TIER_ATTR_MIG_QUEUED:
	case DM_TIER_ATTR_EPOCH: return {Kind::u32, 4};
	case DM_TIER_ATTR_MIG_DONE:
	case DM_TIER_ATTR_MIG_FAILED:
	case DM_TIER_ATTR_BYTES_MOVED:
	case DM_TIER_ATTR_EXTENT_SECTORS:
	case DM_TIER_ATTR_DROPS: return {Kind::u64, 8};
	case DM_TIER_ATTR_BATCH:
	case DM_TIER_ATTR_PARAMS:
	case DM_TIER_ATTR_TIERS:
	case DM_TIER_ATTR_TIER: return {Kind::nest, 0};
	case DM_TIER_ATTR_EXTENT_CMDS: return {Kind::array, sizeof(dm_tier_extent_cmd)};
	case DM_TIER_ATTR_MAPPED: return {Kind::array, sizeof(std::uint64_t)};
	case DM_TIER_ATTR_HEAT: return {Kind::array, sizeof(dm_tier_heat_entry)};
	case DM_TIER_ATTR_TRANSITIONS: return {Kind::array, sizeof(dm_tier_transition)};
	case DM_TIER_ATTR_MIGRATIONS: return {Kind::array, sizeof(dm_tier_migration_event)};
	case DM_TIER_ATTR_PROFILE: return {Kind::blob, sizeof(dm_tier_profile)};
	default: return {Kind::none, 0};
	}
}

std::size_t alen(const nlattr *a) { return a->nla_len - NLA_HDRLEN; }
const void *adata(const nlattr *a) { return reinterpret_cast<const char *>(a) + NLA_HDRLEN; }

// Walk the attributes in [p, p+len); call f(type, attr) for each; fail on
// a truncated or overlong attribute.
template <typename F>
Status walk(const char *p, std::size_t len, const std::string &where, F &&f)
{
	std::size_t off = 0;
	while (off < len) {
		if (len - off < NLA_HDRLEN)
			return make_error(where + ": " + std::to_string(len - off) + " trailing bytes, too short for an attribute",
					  EBADMSG);
		const auto *a = reinterpret_cast<const nlattr *>(p + off);
		if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off)
			return make_error(where + ": attribute " + std::to_string(a->nla_type & NLA_TYPE_MASK) +
						  " claims " + std::to_string(a->nla_len) + " bytes, " +
						  std::to_string(len - off) + " left",
					  EBADMSG);
		if (auto st = f(a->nla_type & NLA_TYPE_MASK, a); !st)
			return st;
		off += NLA_ALIGN(a->nla_len);
	}
	return {};
}

} // namespace

Result<Attrs> parse_attrs(const nlmsghdr *nlh, std::size_t len)
{
	if (!nlh || len < NLMSG_HDRLEN)
		return make_error("message shorter than a netlink header", EBADMSG);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN || nlh->nlmsg_len > len)
		return make_error("netlink message length " + std::to_string(nlh->nlmsg_len) + " does not fit " +
					  std::to_string(len) + " bytes with a generic netlink header",
				  EBADMSG);
	const auto *g = reinterpret_cast<const genlmsghdr *>(reinterpret_cast<const char *>(nlh) + NLMSG_HDRLEN);
	Attrs out;
	out.cmd = g->cmd;
	out.version = g->version;
	std::string where(command_name(g->cmd));
	const char *p = reinterpret_cast<const char *>(g) + GENL_HDRLEN;
	std::size_t n = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	out.payload_ = p;
	out.payload_len_ = n;
	Status st = walk(p, n, where, [&](int type, const nlattr *a) -> Status {
		Spec s = spec_of(type);
		std::size_t l = alen(a);
		std::string what = where + ": " + attr_name(type);
		switch (s.kind) {
		case Kind::none: return {}; // unknown or PAD: ignored
		case Kind::str:
			// The kernel sends some strings without their NUL (a
			// volume's model may be empty); a pool has a name.
			if (type == DM_TIER_ATTR_POOL && (l == 0 || static_cast<const char *>(adata(a))[0] == '\0'))
				return make_error(what + " is empty", EBADMSG);
			break;
		case Kind::u8:
		case Kind::u32:
		case Kind::u64:
			if (l != s.elem)
				return make_error(what + " is " + std::to_string(l) + " bytes, not " + std::to_string(s.elem),
						  EBADMSG);
			break;
		case Kind::nest: {
			// Only the structure is checked here; contents by the decoders.
			Status inner = walk(static_cast<const char *>(adata(a)), l, what, [](int, const nlattr *) {
				return Status{};
			});
			if (!inner)
				return inner;
			break;
		}
		case Kind::array:
			if (l % s.elem)
				return make_error(what + " is " + std::to_string(l) + " bytes, not a multiple of " +
							  std::to_string(s.elem),
						  EBADMSG);
			break;
		case Kind::blob:
			if (l != s.elem)
				return make_error(what + " is " + std::to_string(l) + " bytes, not " + std::to_string(s.elem),
						  EBADMSG);
			break;
		}
		// Arrays may come in several attributes; the others once.
		if (out.tb_[type] && s.kind != Kind::array)
			return make_error(what + " appears twice", EBADMSG);
		if (!out.tb_[type])
			out.tb_[type] = a;
		return {};
	});
	if (!st)
		return make_error(st.error(), st.code());
	return out;
}

namespace {

std::string get_str(const nlattr *a)
{
	const char *d = static_cast<const char *>(adata(a));
	std::size_t l = alen(a);
	return std::string(d, strnlen(d, l));
}
std::uint8_t get_u8(const nlattr *a) { return *static_cast<const std::uint8_t *>(adata(a)); }
std::uint32_t get_u32(const nlattr *a)
{
	std::uint32_t v;
	std::memcpy(&v, adata(a), 4);
	return v;
}
std::uint64_t get_u64(const nlattr *a)
{
	std::uint64_t v;
	std::memcpy(&v, adata(a), 8);
	return v;
}

} // namespace

template <typename T>
std::vector<T> Attrs::array(int type) const
{
	std::vector<T> out;
	(void)walk(payload_, payload_len_, "", [&](int t, const nlattr *a) {
		if (t == type) {
			std::size_t k = alen(a) / sizeof(T);
			std::size_t old = out.size();
			out.resize(old + k);
			std::memcpy(static_cast<void *>(out.data() + old), adata(a), k * sizeof(T));
		}
		return Status{};
	});
	return out;
}
template std::vector<std::uint64_t> Attrs::array(int) const;
template std::vector<dm_tier_extent_cmd> Attrs::array(int) const;
template std::vector<dm_tier_heat_entry> Attrs::array(int) const;
template std::vector<dm_tier_transition> Attrs::array(int) const;
template std::vector<dm_tier_migration_event> Attrs::array(int) const;

#define REQUIRE(a, type, what)                                                                          \
	do {                                                                                            \
		if (!(a).has(type))                                                                     \
			return make_error(std::string(what) + ": no " + attr_name(type) + " attribute", \
					  EBADMSG);                                                     \
	} while (0)

Result<BatchResult> decode_batch_reply(const Attrs &a)
{
	const std::string what(command_name(a.cmd));
	REQUIRE(a, DM_TIER_ATTR_ACCEPTED, what);
	REQUIRE(a, DM_TIER_ATTR_REJECTED, what);
	BatchResult r;
	r.accepted = get_u32(a.get(DM_TIER_ATTR_ACCEPTED));
	r.rejected = get_u32(a.get(DM_TIER_ATTR_REJECTED));
	if (r.rejected) {
		REQUIRE(a, DM_TIER_ATTR_FIRST_ERROR, what);
		r.first_error = std::int32_t(get_u32(a.get(DM_TIER_ATTR_FIRST_ERROR)));
		if (r.first_error >= 0)
			return make_error(what + ": FIRST_ERROR " + std::to_string(r.first_error) +
						  " is no negative errno",
					  EBADMSG);
		if (a.has(DM_TIER_ATTR_FIRST_ERROR_INDEX))
			r.first_error_index = get_u32(a.get(DM_TIER_ATTR_FIRST_ERROR_INDEX));
	}
	return r;
}

Result<PoolInfo> decode_pool(const Attrs &a)
{
	const std::string what(command_name(a.cmd));
	REQUIRE(a, DM_TIER_ATTR_POOL, what);
	PoolInfo p;
	p.pool = get_str(a.get(DM_TIER_ATTR_POOL));
	if (auto x = a.get(DM_TIER_ATTR_NR_TIERS))
		p.nr_tiers = get_u32(x);
	if (auto x = a.get(DM_TIER_ATTR_MODE))
		p.mode = get_str(x);
	if (auto x = a.get(DM_TIER_ATTR_NEEDS_CHECK))
		p.needs_check = get_u8(x);
	if (auto x = a.get(DM_TIER_ATTR_POLICY))
		p.policy = get_str(x);
	if (auto x = a.get(DM_TIER_ATTR_NR_VOLUMES))
		p.nr_volumes = get_u32(x);
	if (auto x = a.get(DM_TIER_ATTR_MIG_DONE))
		p.mig_done = get_u64(x);
	if (auto x = a.get(DM_TIER_ATTR_MIG_FAILED))
		p.mig_failed = get_u64(x);
	if (auto x = a.get(DM_TIER_ATTR_MIG_QUEUED))
		p.mig_queued = get_u32(x);
	if (auto x = a.get(DM_TIER_ATTR_BYTES_MOVED))
		p.bytes_moved = get_u64(x);
	if (auto x = a.get(DM_TIER_ATTR_EXTENT_SECTORS))
		p.extent_sectors = get_u64(x);
	if (auto x = a.get(DM_TIER_ATTR_EPOCH))
		p.epoch = get_u32(x);
	if (auto x = a.get(DM_TIER_ATTR_DROPS))
		p.drops = get_u64(x);
	if (const nlattr *tiers = a.get(DM_TIER_ATTR_TIERS)) {
		Status st = walk(static_cast<const char *>(adata(tiers)), alen(tiers), what + ": TIERS",
				 [&](int type, const nlattr *t) -> Status {
					 if (type != DM_TIER_ATTR_TIER)
						 return {};
					 TierInfo ti;
					 bool have_index = false;
					 Status in = walk(static_cast<const char *>(adata(t)), alen(t),
							  what + ": TIER", [&](int k, const nlattr *x) -> Status {
								  std::size_t want = k == DM_TIER_TIER_INDEX ? 4 : 8;
								  if (k < DM_TIER_TIER_INDEX || k > DM_TIER_TIER_TOTAL)
									  return {};
								  if (alen(x) != want)
									  return make_error(what + ": TIER attribute " +
												    std::to_string(k) + " is " +
												    std::to_string(alen(x)) +
												    " bytes",
											    EBADMSG);
								  if (k == DM_TIER_TIER_INDEX) {
									  ti.index = get_u32(x);
									  have_index = true;
								  } else if (k == DM_TIER_TIER_USED) {
									  ti.used = get_u64(x);
								  } else {
									  ti.total = get_u64(x);
								  }
								  return {};
							  });
					 if (!in)
						 return in;
					 if (!have_index)
						 return make_error(what + ": TIER without TIER_INDEX", EBADMSG);
					 p.tiers.push_back(ti);
					 return {};
				 });
		if (!st)
			return make_error(st.error(), st.code());
	}
	if (!p.tiers.empty() && p.nr_tiers && p.tiers.size() != p.nr_tiers)
		return make_error(what + ": NR_TIERS " + std::to_string(p.nr_tiers) + " but " +
					  std::to_string(p.tiers.size()) + " TIER nests",
				  EBADMSG);
	return p;
}

Result<VolumeInfo> decode_volume(const Attrs &a)
{
	const std::string what(command_name(a.cmd));
	REQUIRE(a, DM_TIER_ATTR_VOLUME, what);
	VolumeInfo v;
	v.volume = get_u32(a.get(DM_TIER_ATTR_VOLUME));
	v.mapped = a.array<std::uint64_t>(DM_TIER_ATTR_MAPPED);
	if (auto x = a.get(DM_TIER_ATTR_PROFILE))
		std::memcpy(&v.profile, adata(x), sizeof(v.profile));
	if (auto x = a.get(DM_TIER_ATTR_TIERING_ENABLED))
		v.tiering_enabled = get_u8(x);
	if (auto x = a.get(DM_TIER_ATTR_POLICY_NAME))
		v.policy_name = get_str(x);
	if (auto x = a.get(DM_TIER_ATTR_MODEL))
		v.model = get_str(x);
	return v;
}

Status decode_heat_dump(const Attrs &a, std::vector<dm_tier_heat_entry> *out)
{
	const std::string what(command_name(a.cmd));
	REQUIRE(a, DM_TIER_ATTR_HEAT, what);
	auto v = a.array<dm_tier_heat_entry>(DM_TIER_ATTR_HEAT);
	out->insert(out->end(), v.begin(), v.end());
	return {};
}

static Result<std::string> report_pool(const Attrs &a, const std::string &what)
{
	REQUIRE(a, DM_TIER_ATTR_POOL, what);
	return get_str(a.get(DM_TIER_ATTR_POOL));
}

Result<Report> decode_report(const Attrs &a)
{
	const std::string what(command_name(a.cmd));
	auto pool = report_pool(a, what);
	if (!pool)
		return std::move(pool).take_error();
	switch (a.cmd) {
	case DM_TIER_CMD_HEAT_REPORT: {
		REQUIRE(a, DM_TIER_ATTR_VOLUME, what);
		REQUIRE(a, DM_TIER_ATTR_EPOCH, what);
		REQUIRE(a, DM_TIER_ATTR_HEAT, what);
		HeatReport r;
		r.pool = std::move(*pool);
		r.volume = get_u32(a.get(DM_TIER_ATTR_VOLUME));
		r.epoch = get_u32(a.get(DM_TIER_ATTR_EPOCH));
		r.heat = a.array<dm_tier_heat_entry>(DM_TIER_ATTR_HEAT);
		return Report(std::move(r));
	}
	case DM_TIER_CMD_PROFILE_REPORT: {
		REQUIRE(a, DM_TIER_ATTR_VOLUME, what);
		REQUIRE(a, DM_TIER_ATTR_PROFILE, what);
		ProfileReport r;
		r.pool = std::move(*pool);
		r.volume = get_u32(a.get(DM_TIER_ATTR_VOLUME));
		if (auto x = a.get(DM_TIER_ATTR_EPOCH))
			r.epoch = get_u32(x);
		std::memcpy(&r.profile, adata(a.get(DM_TIER_ATTR_PROFILE)), sizeof(r.profile));
		return Report(std::move(r));
	}
	case DM_TIER_CMD_TRANSITIONS: {
		REQUIRE(a, DM_TIER_ATTR_VOLUME, what);
		TransitionsReport r;
		r.pool = std::move(*pool);
		r.volume = get_u32(a.get(DM_TIER_ATTR_VOLUME));
		r.transitions = a.array<dm_tier_transition>(DM_TIER_ATTR_TRANSITIONS);
		if (auto x = a.get(DM_TIER_ATTR_DROPS))
			r.drops = get_u64(x);
		if (r.transitions.empty() && !a.has(DM_TIER_ATTR_DROPS))
			return make_error(what + ": neither TRANSITIONS nor DROPS", EBADMSG);
		return Report(std::move(r));
	}
	case DM_TIER_CMD_MIGRATION_DONE: {
		REQUIRE(a, DM_TIER_ATTR_MIGRATIONS, what);
		MigrationDoneReport r;
		r.pool = std::move(*pool);
		r.migrations = a.array<dm_tier_migration_event>(DM_TIER_ATTR_MIGRATIONS);
		return Report(std::move(r));
	}
	default:
		return make_error("command " + std::to_string(a.cmd) + " (" + what + ") is no report", EBADMSG);
	}
}

std::string_view report_name(const Report &r)
{
	static constexpr std::string_view names[] = {"heat", "profile", "transitions", "migration_done"};
	return names[r.index()];
}

Result<NetlinkError> parse_error(const nlmsghdr *nlh, std::size_t len)
{
	if (!nlh || len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
		return make_error("truncated netlink message", EBADMSG);
	NetlinkError e;
	e.seq = nlh->nlmsg_seq;
	const char *base = reinterpret_cast<const char *>(nlh);
	std::size_t tlv;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr))
			return make_error("truncated netlink error message", EBADMSG);
		nlmsgerr err;
		std::memcpy(&err, base + NLMSG_HDRLEN, sizeof(err));
		e.error = -err.error;
		tlv = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err.msg.nlmsg_len > NLMSG_HDRLEN)
			tlv += NLMSG_ALIGN(err.msg.nlmsg_len - NLMSG_HDRLEN);
	} else if (nlh->nlmsg_type == NLMSG_DONE) {
		int v = 0;
		if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
			std::memcpy(&v, base + NLMSG_HDRLEN, sizeof(int));
		e.error = -v;
		tlv = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));
	} else {
		return make_error("not an error message (type " + std::to_string(nlh->nlmsg_type) + ")", EINVAL);
	}
	if (e.error < 0)
		return make_error("netlink error " + std::to_string(e.error) + " is no negative errno", EBADMSG);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || tlv >= nlh->nlmsg_len)
		return e;
	Status st = walk(base + tlv, nlh->nlmsg_len - tlv, "extended ack", [&](int type, const nlattr *a) -> Status {
		if (type == NLMSGERR_ATTR_MSG && alen(a) > 0)
			e.message = get_str(a);
		else if (type == NLMSGERR_ATTR_OFFS && alen(a) == 4)
			e.offset = get_u32(a);
		return {};
	});
	if (!st)
		return make_error(st.error(), st.code());
	return e;
}

} // namespace dmtier::nl
