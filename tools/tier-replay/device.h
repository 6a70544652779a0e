// SPDX-License-Identifier: GPL-2.0
// The replay target: a block device (or a regular file, for tests) opened
// with O_DIRECT, read-only unless writes are allowed.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace dmtier::replay {

class Device {
public:
	// Fails, naming the path, when it cannot be opened with O_DIRECT, is
	// neither a block device nor a regular file, or has size 0.
	[[nodiscard]] static Result<Device> open(const std::string &path, bool writable);

	int fd() const { return fd_.get(); }
	const std::string &path() const { return path_; }
	std::uint64_t bytes() const { return bytes_; }
	// The logical block size (BLKSSZGET); 512 for a regular file.
	std::uint32_t logical_block() const { return logical_block_; }
	bool is_block_device() const { return is_block_; }

private:
	Device(UniqueFd fd, std::string path, std::uint64_t bytes, std::uint32_t lbs, bool blk)
		: fd_(std::move(fd)), path_(std::move(path)), bytes_(bytes), logical_block_(lbs),
		  is_block_(blk)
	{
	}
	UniqueFd fd_;
	std::string path_;
	std::uint64_t bytes_;
	std::uint32_t logical_block_;
	bool is_block_;
};

} // namespace dmtier::replay
