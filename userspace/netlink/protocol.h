// SPDX-License-Identifier: GPL-2.0
// dm_tier generic netlink protocol: message building and parsing as pure
// functions (no socket, no kernel), so that every byte the client sends and
// every report it decodes can be unit-tested.  The contract is
// include/uapi/linux/dm-tier.h.
#pragma once

#include <linux/dm-tier.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

struct nl_msg;
struct nlattr;

namespace dmtier::nl {

// Entries per extent-command message: 2000 * 32 bytes fit one attribute
// (nla_len is 16 bits) and keep a message near 64 KiB.
inline constexpr std::size_t kMaxBatch = 2000;
// The most entries one EXTENT_CMDS attribute can carry at all.
inline constexpr std::size_t kMaxPerAttr = (0xffff - 4) / sizeof(dm_tier_extent_cmd);

// ------------------------------------------------------------ RAII

struct MsgFree {
	void operator()(nl_msg *m) const;
};

// An owned libnl message (move-only).
class Message {
public:
	Message() = default;
	explicit Message(nl_msg *m) : m_(m) {}
	// A message with room for `payload` bytes of attributes.
	[[nodiscard]] static Result<Message> alloc(std::size_t payload = 4096);

	nl_msg *get() const { return m_.get(); }
	nl_msg *release() { return m_.release(); }
	explicit operator bool() const { return bool(m_); }
	// The complete netlink message (header included), as it goes on the wire.
	const nlmsghdr *header() const;
	std::span<const std::byte> bytes() const;

private:
	std::unique_ptr<nl_msg, MsgFree> m_;
};

// A nested attribute under construction: end() closes it; destroyed while
// still open it is cancelled (removed from the message).  Move-only.
class Nest {
public:
	[[nodiscard]] static Result<Nest> start(Message &msg, int type);
	Nest(Nest &&o) noexcept : msg_(o.msg_), nest_(o.nest_) { o.nest_ = nullptr; }
	Nest &operator=(Nest &&) = delete;
	Nest(const Nest &) = delete;
	~Nest();
	Status end();

private:
	Nest(nl_msg *m, nlattr *n) : msg_(m), nest_(n) {}
	nl_msg *msg_;
	nlattr *nest_;
};

// ------------------------------------------------------------ commands

enum class Command : std::uint8_t {
	migrate = DM_TIER_CMD_MIGRATE,
	prefetch = DM_TIER_CMD_PREFETCH,
	pin = DM_TIER_CMD_PIN,
	unpin = DM_TIER_CMD_UNPIN,
	set_hint = DM_TIER_CMD_SET_HINT,
};

// A generic netlink header for `cmd` in family `family` (flags: NLM_F_*
// beyond NLM_F_REQUEST, which is always set).  Sequence and port are filled
// in when the message is sent.
[[nodiscard]] Result<Message> new_request(int family, std::uint8_t cmd, std::size_t payload = 1024,
					  int flags = 0);

[[nodiscard]] Result<Message> encode_register(int family, std::string_view pool, bool takeover);
[[nodiscard]] Result<Message> encode_pool_cmd(int family, std::uint8_t cmd, std::string_view pool);
[[nodiscard]] Result<Message> encode_get_volume(int family, std::string_view pool, std::uint32_t volume);
[[nodiscard]] Result<Message> encode_dump_heat(int family, std::string_view pool, std::uint32_t volume);

// One message of a batch: POOL and a BATCH nest of EXTENT_CMDS attributes of
// at most `per_attr` entries each.  Fails for more than kMaxBatch entries.
[[nodiscard]] Result<Message> encode_batch(int family, Command cmd, std::string_view pool,
					   std::span<const dm_tier_extent_cmd> cmds,
					   std::size_t per_attr = kMaxBatch);

// Split a batch into message-sized pieces of at most `max` entries.
std::vector<std::span<const dm_tier_extent_cmd>> split_batch(std::span<const dm_tier_extent_cmd> cmds,
							     std::size_t max = kMaxBatch);

// Pool settings (DM_TIER_PARAM_*, u32 each).
struct Param {
	std::uint16_t id;
	std::uint32_t value;
};
[[nodiscard]] Result<Message> encode_set_params(int family, std::string_view pool, std::span<const Param> params);
// "max_migrations" -> DM_TIER_PARAM_MAX_MIGRATIONS; the names of docs/dm-tier.md.
std::optional<std::uint16_t> param_by_name(std::string_view name);
std::string_view param_name(std::uint16_t id);

std::string_view command_name(std::uint8_t cmd);

// ------------------------------------------------------------ replies

struct BatchResult {
	std::uint32_t accepted = 0;
	std::uint32_t rejected = 0;
	int first_error = 0;		   // negative errno of the first rejected entry, 0 if none
	std::uint32_t first_error_index = 0; // its index in the whole batch
};

struct TierInfo {
	std::uint32_t index = 0;
	std::uint64_t used = 0;
	std::uint64_t total = 0;
};

struct PoolInfo {
	std::string pool;
	std::uint32_t nr_tiers = 0;
	std::vector<TierInfo> tiers;
	std::string mode;
	bool needs_check = false;
	std::string policy;
	std::uint32_t nr_volumes = 0;
	std::uint64_t mig_done = 0;
	std::uint64_t mig_failed = 0;
	std::uint32_t mig_queued = 0;
	std::uint64_t bytes_moved = 0;
	std::uint64_t extent_sectors = 0;
	std::uint32_t epoch = 0;
	std::uint64_t drops = 0;
};

struct VolumeInfo {
	std::uint32_t volume = 0;
	std::vector<std::uint64_t> mapped; // per tier
	dm_tier_profile profile{};
	bool tiering_enabled = false;
	std::string policy_name;
	std::string model;
};

// ------------------------------------------------------------ reports

struct HeatReport {
	std::string pool;
	std::uint32_t volume = 0;
	std::uint32_t epoch = 0;
	std::vector<dm_tier_heat_entry> heat;
};

struct ProfileReport {
	std::string pool;
	std::uint32_t volume = 0;
	std::uint32_t epoch = 0;
	dm_tier_profile profile{};
};

struct TransitionsReport {
	std::string pool;
	std::uint32_t volume = 0;
	std::vector<dm_tier_transition> transitions;
	std::uint64_t drops = 0;
};

struct MigrationDoneReport {
	std::string pool;
	std::vector<dm_tier_migration_event> migrations;
};

using Report = std::variant<HeatReport, ProfileReport, TransitionsReport, MigrationDoneReport>;

// ------------------------------------------------------------ parsing

// The attributes of one dm_tier message (generic netlink header skipped),
// validated for type and length; unknown attributes are ignored (newer
// kernels may add some).  Points into the message: keep it alive.
class Attrs {
public:
	const nlattr *get(int type) const { return type > 0 && type <= DM_TIER_ATTR_MAX ? tb_[type] : nullptr; }
	bool has(int type) const { return get(type) != nullptr; }
	// Every occurrence of the array attribute `type`, concatenated (a large
	// array may come in several attributes).
	template <typename T>
	std::vector<T> array(int type) const;

	std::uint8_t cmd = 0;
	std::uint8_t version = 0;

private:
	friend Result<Attrs> parse_attrs(const nlmsghdr *, std::size_t);
	const nlattr *tb_[DM_TIER_ATTR_MAX + 1] = {};
	const char *payload_ = nullptr;
	std::size_t payload_len_ = 0;
};

// Parse a complete dm_tier netlink message of `len` bytes (len may exceed
// nlmsg_len, e.g. a receive buffer; nlmsg_len must fit in it).
[[nodiscard]] Result<Attrs> parse_attrs(const nlmsghdr *nlh, std::size_t len);

[[nodiscard]] Result<BatchResult> decode_batch_reply(const Attrs &a);
[[nodiscard]] Result<PoolInfo> decode_pool(const Attrs &a);
[[nodiscard]] Result<VolumeInfo> decode_volume(const Attrs &a);
// A DUMP_HEAT message's entries (appended to `out`).
[[nodiscard]] Status decode_heat_dump(const Attrs &a, std::vector<dm_tier_heat_entry> *out);
// A report (cmd HEAT_REPORT, PROFILE_REPORT, TRANSITIONS, MIGRATION_DONE).
[[nodiscard]] Result<Report> decode_report(const Attrs &a);
std::string_view report_name(const Report &r);

// An NLMSG_ERROR (or NLMSG_DONE of a dump) message: errno (positive, 0 for
// an ACK), the extended-ack text when the kernel sent one, and the sequence
// number of the request it answers.
struct NetlinkError {
	int error = 0;
	std::string message;		 // NLMSGERR_ATTR_MSG, may be empty
	std::optional<std::uint32_t> offset; // NLMSGERR_ATTR_OFFS
	std::uint32_t seq = 0;
};
[[nodiscard]] Result<NetlinkError> parse_error(const nlmsghdr *nlh, std::size_t len);

// "migrate: Operation not permitted (EPERM): <ext ack message>"
std::string describe_errno(int err);

} // namespace dmtier::nl
