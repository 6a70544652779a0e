// SPDX-License-Identifier: GPL-2.0
// dm_tier netlink client over libnl-genl-3: a request socket (Client) and a
// report socket (ReportListener), each move-only and owning its nl_sock.
// Replies, ACKs and extended ACKs are read with plain recv() and parsed by
// the pure functions of protocol.h: no libnl callback is involved, so no
// exception can cross C code.  Every call returns a Result / Status carrying
// the kernel's errno and extended-ack message.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netlink/protocol.h"

struct nl_sock;

namespace dmtier::nl {

struct SockFree {
	void operator()(nl_sock *s) const;
};

// Answer to a raw datagram (Socket::raw): the final ACK / error / DONE.
struct RawAnswer {
	int error = 0;		  // positive errno, 0 for an ACK
	std::string message;	  // extended ack, if any
	std::uint32_t replies = 0; // dm_tier messages before the final one
	bool dump_done = false;	  // ended by NLMSG_DONE
	std::optional<BatchResult> batch; // a batch reply's counts
	std::string bad_reply;		 // a reply that did not parse
};

class Socket {
public:
	// Connects, resolves the dm_tier family, turns on extended ACKs and
	// capped ACKs.  rcvbuf: receive buffer bytes (0: default).
	[[nodiscard]] static Result<Socket> open(int rcvbuf = 0);

	int family() const { return family_; }
	std::uint32_t port() const;
	int fd() const;

	using OnMessage = std::function<Status(const Attrs &)>;
	// Send `msg` (sequence number and port filled in) and read its answer:
	// each dm_tier message with the request's sequence number goes to
	// on_msg; the call ends with the ACK (or NLMSG_DONE for dumps).  Reports
	// arriving meanwhile are kept for next_report().
	[[nodiscard]] Status request(Message &msg, const OnMessage &on_msg, int timeout_ms = 30000);

	// Send a datagram as is (the fuzzer's malformed messages) and wait for
	// the final answer to sequence number `seq`.  ETIMEDOUT when none came.
	[[nodiscard]] Result<RawAnswer> raw(std::span<const std::byte> datagram, std::uint32_t seq, int timeout_ms);

	// Wait up to timeout_ms (-1: forever) for one report message; its bytes
	// go to *out.  Returns false on timeout.  ENOBUFS (reports lost because
	// the receive buffer overflowed) is counted in overruns() and skipped.
	[[nodiscard]] Result<bool> next_report(std::vector<char> *out, int timeout_ms);
	std::uint64_t overruns() const { return overruns_; }
	// Forget reports kept while waiting for answers.
	void drop_reports();
	std::size_t pending_reports() const { return pending_.size(); }

private:
	Result<std::size_t> recv_datagram(int timeout_ms);

	std::unique_ptr<nl_sock, SockFree> sk_;
	int family_ = -1;
	std::vector<char> buf_;
	std::deque<std::vector<char>> pending_;
	std::uint64_t overruns_ = 0;
};

// Requests: batches, settings, queries.
class Client {
public:
	[[nodiscard]] static Result<Client> open();

	// Registering through a Client sends the reports to this socket; a
	// controller normally registers through its ReportListener.
	[[nodiscard]] Result<PoolInfo> register_pool(std::string_view pool, bool takeover = false);
	[[nodiscard]] Status unregister_pool(std::string_view pool);

	// Batches of any size, sent as messages of at most kMaxBatch entries;
	// the counts add up over the messages and first_error_index is an index
	// into `cmds`.  A kernel error for a whole message (unknown pool, bad
	// request) ends the call with that error.
	[[nodiscard]] Result<BatchResult> batch(Command cmd, std::string_view pool,
						std::span<const dm_tier_extent_cmd> cmds);
	[[nodiscard]] Result<BatchResult> migrate(std::string_view pool, std::span<const dm_tier_extent_cmd> c)
	{
		return batch(Command::migrate, pool, c);
	}
	[[nodiscard]] Result<BatchResult> prefetch(std::string_view pool, std::span<const dm_tier_extent_cmd> c)
	{
		return batch(Command::prefetch, pool, c);
	}
	[[nodiscard]] Result<BatchResult> pin(std::string_view pool, std::span<const dm_tier_extent_cmd> c)
	{
		return batch(Command::pin, pool, c);
	}
	[[nodiscard]] Result<BatchResult> unpin(std::string_view pool, std::span<const dm_tier_extent_cmd> c)
	{
		return batch(Command::unpin, pool, c);
	}
	[[nodiscard]] Result<BatchResult> set_hint(std::string_view pool, std::span<const dm_tier_extent_cmd> c)
	{
		return batch(Command::set_hint, pool, c);
	}

	[[nodiscard]] Status set_params(std::string_view pool, std::span<const Param> params);
	[[nodiscard]] Result<PoolInfo> get_pool(std::string_view pool);
	[[nodiscard]] Result<VolumeInfo> get_volume(std::string_view pool, std::uint32_t volume);
	[[nodiscard]] Result<std::vector<dm_tier_heat_entry>> dump_heat(std::string_view pool, std::uint32_t volume);

	Socket &socket() { return sock_; }

private:
	explicit Client(Socket s) : sock_(std::move(s)) {}
	Socket sock_;
};

// The controller's report socket: registers for a pool and decodes the
// reports the kernel unicasts to it.
class ReportListener {
public:
	// rcvbuf: receive buffer (default 8 MiB, forced when privileged).
	[[nodiscard]] static Result<ReportListener> open(int rcvbuf = 8 << 20);

	[[nodiscard]] Result<PoolInfo> register_pool(std::string_view pool, bool takeover = false);
	[[nodiscard]] Status unregister_pool(std::string_view pool);

	using Callback = std::function<void(const Report &)>;
	// Wait up to timeout_ms for reports and deliver every one that arrived
	// (at least one unless the time ran out).  Malformed reports are not
	// delivered: they are counted, the last one's reason kept.  Returns the
	// number delivered.
	[[nodiscard]] Result<std::size_t> poll(int timeout_ms, const Callback &cb);

	std::uint64_t malformed() const { return malformed_; }
	const std::string &last_malformed() const { return last_malformed_; }
	std::uint64_t overruns() const { return sock_.overruns(); }
	int fd() const { return sock_.fd(); }
	std::uint32_t port() const { return sock_.port(); }

private:
	explicit ReportListener(Socket s) : sock_(std::move(s)) {}
	Socket sock_;
	std::uint64_t malformed_ = 0;
	std::string last_malformed_;
	std::vector<char> msg_;
};

} // namespace dmtier::nl
