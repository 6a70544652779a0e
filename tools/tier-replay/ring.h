// SPDX-License-Identifier: GPL-2.0
// Ring: a move-only owner of an io_uring (liburing), with the few calls the
// replayer needs. Errors come back as Result/Status; no exceptions.
#pragma once

#include <cstdint>
#include <memory>

#include <liburing.h>

#include "common/result.h"

namespace dmtier::replay {

struct Completion {
	std::uint64_t user_data;
	int res; // bytes transferred, or -errno
};

class Ring {
public:
	[[nodiscard]] static Result<Ring> create(unsigned entries);

	Ring(Ring &&) noexcept = default;
	Ring &operator=(Ring &&) noexcept = default;

	// Queues a read or write of len bytes at offset (false: the submission
	// queue is full; submit() first).
	[[nodiscard]] bool queue_read(int fd, void *buf, unsigned len, std::uint64_t offset,
				      std::uint64_t user_data);
	[[nodiscard]] bool queue_write(int fd, const void *buf, unsigned len, std::uint64_t offset,
				       std::uint64_t user_data);
	// Submits what is queued.
	[[nodiscard]] Status submit();
	// Waits for at least one completion, at most timeout_ns (0: no limit);
	// then takes every completion available (up to max). Returns how many
	// (0: the timeout passed).
	[[nodiscard]] Result<unsigned> reap(Completion *out, unsigned max, std::uint64_t timeout_ns);

private:
	struct Deleter {
		void operator()(io_uring *r) const;
	};
	explicit Ring(std::unique_ptr<io_uring, Deleter> r) : ring_(std::move(r)) {}
	std::unique_ptr<io_uring, Deleter> ring_;
};

} // namespace dmtier::replay
