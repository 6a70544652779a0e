// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/ring.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace dmtier::replay {

void Ring::Deleter::operator()(io_uring *r) const
{
	io_uring_queue_exit(r);
	delete r;
}

Result<Ring> Ring::create(unsigned entries)
{
	auto *raw = new io_uring{};
	int r = io_uring_queue_init(entries, raw, 0);
	if (r < 0) {
		delete raw;
		return make_error("cannot set up io_uring with " + std::to_string(entries) +
					  " entries: " + std::strerror(-r),
				  -r);
	}
	return Ring(std::unique_ptr<io_uring, Deleter>(raw));
}

bool Ring::queue_read(int fd, void *buf, unsigned len, std::uint64_t offset, std::uint64_t user_data)
{
	io_uring_sqe *sqe = io_uring_get_sqe(ring_.get());
	if (sqe) {
		io_uring_prep_read(sqe, fd, buf, len, offset);
		io_uring_sqe_set_data64(sqe, user_data);
	}
	return sqe;
}

bool Ring::queue_write(int fd, const void *buf, unsigned len, std::uint64_t offset,
		       std::uint64_t user_data)
{
	io_uring_sqe *sqe = io_uring_get_sqe(ring_.get());
	if (sqe) {
		io_uring_prep_write(sqe, fd, buf, len, offset);
		io_uring_sqe_set_data64(sqe, user_data);
	}
	return sqe;
}

Status Ring::submit()
{
	for (;;) {
		int r = io_uring_submit(ring_.get());
		if (r >= 0)
			return {};
		if (r != -EINTR && r != -EAGAIN)
			return make_error(std::string("io_uring submit failed: ") + std::strerror(-r), -r);
	}
}

Result<unsigned> Ring::reap(Completion *out, unsigned max, std::uint64_t timeout_ns)
{
	io_uring_cqe *cqe = nullptr;
	int r;
	if (timeout_ns) {
		__kernel_timespec ts{};
		ts.tv_sec = static_cast<long long>(timeout_ns / 1'000'000'000);
		ts.tv_nsec = static_cast<long long>(timeout_ns % 1'000'000'000);
		r = io_uring_wait_cqe_timeout(ring_.get(), &cqe, &ts);
		if (r == -ETIME || r == -EINTR)
			return 0u;
	} else {
		do
			r = io_uring_wait_cqe(ring_.get(), &cqe);
		while (r == -EINTR);
	}
	if (r < 0)
		return make_error(std::string("io_uring wait failed: ") + std::strerror(-r), -r);
	unsigned n = 0;
	while (n < max && io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe) {
		out[n++] = {io_uring_cqe_get_data64(cqe), cqe->res};
		io_uring_cqe_seen(ring_.get(), cqe);
	}
	return n;
}

} // namespace dmtier::replay
