// SPDX-License-Identifier: GPL-2.0
#include "netlink/client.h"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace dmtier::nl {

void SockFree::operator()(nl_sock *s) const { nl_socket_free(s); }

static Error sys_error(const std::string &what, int err) { return make_error(what + ": " + describe_errno(err), err); }

Result<Socket> Socket::open(int rcvbuf)
{
	Socket s;
	s.sk_.reset(nl_socket_alloc());
	if (!s.sk_)
		return make_error("cannot allocate a netlink socket", ENOMEM);
	if (int rc = genl_connect(s.sk_.get()); rc < 0)
		return make_error(std::string("cannot open a generic netlink socket: ") + nl_geterror(rc), EPROTO);
	int fam = genl_ctrl_resolve(s.sk_.get(), DM_TIER_GENL_NAME);
	if (fam < 0)
		return make_error("generic netlink family " DM_TIER_GENL_NAME " not found (is dm-tier.ko loaded?)",
				  ENOENT);
	s.family_ = fam;
	int one = 1;
	int fd = nl_socket_get_fd(s.sk_.get());
	// Extended ACK is best effort (old kernels); capped ACKs keep the
	// kernel from echoing a 64 KiB batch back with each error.
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	s.buf_.resize(1 << 20);
	return s;
}

std::uint32_t Socket::port() const { return nl_socket_get_local_port(sk_.get()); }
int Socket::fd() const { return nl_socket_get_fd(sk_.get()); }

// One datagram into buf_; 0 on timeout.
Result<std::size_t> Socket::recv_datagram(int timeout_ms)
{
	for (;;) {
		pollfd p{fd(), POLLIN, 0};
		int rc = ::poll(&p, 1, timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return sys_error("poll", errno);
		if (rc == 0)
			return std::size_t(0);
		ssize_t n = ::recv(fd(), buf_.data(), buf_.size(), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ENOBUFS) {
				++overruns_;
				continue;
			}
			return sys_error("netlink receive", errno);
		}
		if (std::size_t(n) > buf_.size())
			return make_error("netlink datagram of " + std::to_string(n) + " bytes truncated", EMSGSIZE);
		if (n == 0)
			continue;
		return std::size_t(n);
	}
}

static int remaining_ms(std::chrono::steady_clock::time_point deadline)
{
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
	return left.count() < 0 ? 0 : int(left.count());
}

// Reads datagrams until the final answer to `seq`: calls on_msg for each
// dm_tier reply, queues reports, returns the final error or ACK.
template <typename F>
static Result<RawAnswer> await(Socket &s, std::vector<char> &buf, std::deque<std::vector<char>> &pending, int family,
			       std::uint32_t seq, int timeout_ms, F &&on_msg,
			       Result<std::size_t> (Socket::*recv)(int), bool *failed, Status *cb_status)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	RawAnswer ans;
	for (;;) {
		auto n = (s.*recv)(remaining_ms(deadline));
		if (!n)
			return std::move(n).take_error();
		if (*n == 0)
			return make_error("no answer from the kernel within " + std::to_string(timeout_ms) + " ms",
					  ETIMEDOUT);
		std::size_t len = *n;
		for (auto *h = reinterpret_cast<const nlmsghdr *>(buf.data()); NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq) {
				if (h->nlmsg_seq == 0 && h->nlmsg_type == family) {
					const char *b = reinterpret_cast<const char *>(h);
					pending.emplace_back(b, b + h->nlmsg_len);
				}
				continue;
			}
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
				auto e = parse_error(h, len);
				if (!e)
					return std::move(e).take_error();
				ans.error = e->error;
				ans.message = std::move(e->message);
				ans.dump_done = h->nlmsg_type == NLMSG_DONE;
				return ans;
			}
			if (h->nlmsg_type != family)
				continue;
			++ans.replies;
			if (!*failed) {
				auto a = parse_attrs(h, len);
				Status st = a ? on_msg(*a) : Status(make_error(a.error(), a.code()));
				if (!st) {
					*failed = true;
					*cb_status = std::move(st);
				}
			}
		}
	}
}

Status Socket::request(Message &msg, const OnMessage &on_msg, int timeout_ms)
{
	nl_complete_msg(sk_.get(), msg.get());
	const nlmsghdr *h = msg.header();
	std::uint32_t seq = h->nlmsg_seq;
	auto *g = static_cast<const genlmsghdr *>(nlmsg_data(h));
	std::string what(command_name(g->cmd));
	if (::send(fd(), h, h->nlmsg_len, 0) < 0)
		return sys_error(what + ": netlink send", errno);
	bool failed = false;
	Status cb;
	auto ans = await(*this, buf_, pending_, family_, seq, timeout_ms, on_msg, &Socket::recv_datagram, &failed,
			 &cb);
	if (!ans)
		return make_error(what + ": " + ans.error(), ans.code());
	if (ans->error)
		return make_error(what + ": " + describe_errno(ans->error) +
					  (ans->message.empty() ? "" : ": " + ans->message),
				  ans->error);
	if (failed)
		return make_error(what + ": bad reply: " + cb.error(), cb.code() ? cb.code() : EBADMSG);
	return {};
}

Result<RawAnswer> Socket::raw(std::span<const std::byte> datagram, std::uint32_t seq, int timeout_ms)
{
	if (::send(fd(), datagram.data(), datagram.size(), 0) < 0)
		return sys_error("netlink send", errno);
	bool failed = false;
	Status cb;
	std::optional<BatchResult> batch;
	auto on = [&](const Attrs &a) -> Status {
		if (a.has(DM_TIER_ATTR_ACCEPTED)) {
			auto b = decode_batch_reply(a);
			if (!b)
				return make_error(b.error(), b.code());
			batch = *b;
		}
		return {};
	};
	auto ans = await(*this, buf_, pending_, family_, seq, timeout_ms, on, &Socket::recv_datagram, &failed, &cb);
	if (ans) {
		ans->batch = batch;
		if (failed)
			ans->bad_reply = cb.error();
	}
	return ans;
}

void Socket::drop_reports() { pending_.clear(); }

Result<bool> Socket::next_report(std::vector<char> *out, int timeout_ms)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
	for (;;) {
		if (!pending_.empty()) {
			*out = std::move(pending_.front());
			pending_.pop_front();
			return true;
		}
		auto n = recv_datagram(timeout_ms < 0 ? -1 : remaining_ms(deadline));
		if (!n)
			return std::move(n).take_error();
		if (*n == 0)
			return false;
		std::size_t len = *n;
		for (auto *h = reinterpret_cast<const nlmsghdr *>(buf_.data()); NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type != family_)
				continue; // stray ACKs, NOOP
			const char *b = reinterpret_cast<const char *>(h);
			pending_.emplace_back(b, b + h->nlmsg_len);
		}
	}
}

// ------------------------------------------------------------ Client

Result<Client> Client::open()
{
	auto s = Socket::open();
	if (!s)
		return std::move(s).take_error();
	return Client(std::move(*s));
}

static Result<PoolInfo> do_register(Socket &s, std::string_view pool, bool takeover)
{
	auto m = encode_register(s.family(), pool, takeover);
	if (!m)
		return std::move(m).take_error();
	PoolInfo info;
	bool got = false;
	Status st = s.request(*m, [&](const Attrs &a) -> Status {
		auto p = decode_pool(a);
		if (!p)
			return make_error(p.error(), p.code());
		info = std::move(*p);
		got = true;
		return {};
	});
	if (!st)
		return make_error(st.error(), st.code());
	if (!got)
		info.pool = std::string(pool); // an ACK without a reply
	return info;
}

static Status do_simple(Socket &s, std::uint8_t cmd, std::string_view pool)
{
	auto m = encode_pool_cmd(s.family(), cmd, pool);
	if (!m)
		return make_error(m.error(), m.code());
	return s.request(*m, [](const Attrs &) { return Status{}; });
}

Result<PoolInfo> Client::register_pool(std::string_view pool, bool takeover)
{
	return do_register(sock_, pool, takeover);
}

Status Client::unregister_pool(std::string_view pool) { return do_simple(sock_, DM_TIER_CMD_UNREGISTER, pool); }

Result<BatchResult> Client::batch(Command cmd, std::string_view pool, std::span<const dm_tier_extent_cmd> cmds)
{
	BatchResult total;
	std::size_t base = 0;
	for (auto part : split_batch(cmds)) {
		auto m = encode_batch(sock_.family(), cmd, pool, part);
		if (!m)
			return std::move(m).take_error();
		BatchResult r;
		bool got = false;
		Status st = sock_.request(*m, [&](const Attrs &a) -> Status {
			auto b = decode_batch_reply(a);
			if (!b)
				return make_error(b.error(), b.code());
			r = *b;
			got = true;
			return {};
		});
		if (!st)
			return make_error(st.error(), st.code());
		if (!got)
			return make_error(std::string(command_name(std::uint8_t(cmd))) + ": no reply with the counts",
					  EBADMSG);
		if (r.accepted + r.rejected != part.size())
			return make_error(std::string(command_name(std::uint8_t(cmd))) + ": " +
						  std::to_string(r.accepted) + " accepted + " +
						  std::to_string(r.rejected) + " rejected for " +
						  std::to_string(part.size()) + " entries",
					  EBADMSG);
		total.accepted += r.accepted;
		total.rejected += r.rejected;
		if (r.rejected && !total.first_error) {
			total.first_error = r.first_error;
			total.first_error_index = std::uint32_t(base + r.first_error_index);
		}
		base += part.size();
	}
	return total;
}

Status Client::set_params(std::string_view pool, std::span<const Param> params)
{
	auto m = encode_set_params(sock_.family(), pool, params);
	if (!m)
		return make_error(m.error(), m.code());
	return sock_.request(*m, [](const Attrs &) { return Status{}; });
}

Result<PoolInfo> Client::get_pool(std::string_view pool)
{
	auto m = encode_pool_cmd(sock_.family(), DM_TIER_CMD_GET_POOL, pool);
	if (!m)
		return std::move(m).take_error();
	PoolInfo info;
	bool got = false;
	Status st = sock_.request(*m, [&](const Attrs &a) -> Status {
		auto p = decode_pool(a);
		if (!p)
			return make_error(p.error(), p.code());
		info = std::move(*p);
		got = true;
		return {};
	});
	if (!st)
		return make_error(st.error(), st.code());
	if (!got)
		return make_error("get_pool: no reply", EBADMSG);
	return info;
}

Result<VolumeInfo> Client::get_volume(std::string_view pool, std::uint32_t volume)
{
	auto m = encode_get_volume(sock_.family(), pool, volume);
	if (!m)
		return std::move(m).take_error();
	VolumeInfo info;
	bool got = false;
	Status st = sock_.request(*m, [&](const Attrs &a) -> Status {
		auto v = decode_volume(a);
		if (!v)
			return make_error(v.error(), v.code());
		info = std::move(*v);
		got = true;
		return {};
	});
	if (!st)
		return make_error(st.error(), st.code());
	if (!got)
		return make_error("get_volume: no reply", EBADMSG);
	return info;
}

Result<std::vector<dm_tier_heat_entry>> Client::dump_heat(std::string_view pool, std::uint32_t volume)
{
	auto m = encode_dump_heat(sock_.family(), pool, volume);
	if (!m)
		return std::move(m).take_error();
	std::vector<dm_tier_heat_entry> out;
	Status st = sock_.request(*m, [&](const Attrs &a) { return decode_heat_dump(a, &out); });
	if (!st)
		return make_error(st.error(), st.code());
	return out;
}

// ------------------------------------------------------------ ReportListener

Result<ReportListener> ReportListener::open(int rcvbuf)
{
	auto s = Socket::open(rcvbuf);
	if (!s)
		return std::move(s).take_error();
	return ReportListener(std::move(*s));
}

Result<PoolInfo> ReportListener::register_pool(std::string_view pool, bool takeover)
{
	return do_register(sock_, pool, takeover);
}

Status ReportListener::unregister_pool(std::string_view pool) { return do_simple(sock_, DM_TIER_CMD_UNREGISTER, pool); }

Result<std::size_t> ReportListener::poll(int timeout_ms, const Callback &cb)
{
	std::size_t delivered = 0;
	int wait = timeout_ms;
	for (;;) {
		auto got = sock_.next_report(&msg_, wait);
		if (!got)
			return std::move(got).take_error();
		if (!*got)
			return delivered;
		wait = 0; // drain what is there, then return
		const auto *h = reinterpret_cast<const nlmsghdr *>(msg_.data());
		auto a = parse_attrs(h, msg_.size());
		if (!a) {
			++malformed_;
			last_malformed_ = a.error();
			continue;
		}
		auto r = decode_report(*a);
		if (!r) {
			++malformed_;
			last_malformed_ = r.error();
			continue;
		}
		cb(*r);
		++delivered;
	}
}

} // namespace dmtier::nl
