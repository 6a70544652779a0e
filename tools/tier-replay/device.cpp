// SPDX-License-Identifier: GPL-2.0
#include "tier-replay/device.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

namespace dmtier::replay {

namespace {
Error sys_error(const std::string &what, int e)
{
	return make_error(what + ": " + std::strerror(e), e);
}
} // namespace

Result<Device> Device::open(const std::string &path, bool writable)
{
	UniqueFd fd(::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC));
	if (!fd) {
		int e = errno;
		return sys_error("cannot open " + path + (writable ? " read-write" : " read-only") +
					 " with O_DIRECT" +
					 (e == EINVAL ? " (does it support O_DIRECT?)" : ""),
				 e);
	}
	struct stat st {};
	if (fstat(fd.get(), &st) < 0)
		return sys_error("cannot stat " + path, errno);
	std::uint64_t bytes = 0;
	std::uint32_t lbs = 512;
	bool blk = S_ISBLK(st.st_mode);
	if (blk) {
		if (ioctl(fd.get(), BLKGETSIZE64, &bytes) < 0)
			return sys_error("cannot get the size of " + path, errno);
		int ss = 0;
		if (ioctl(fd.get(), BLKSSZGET, &ss) < 0)
			return sys_error("cannot get the logical block size of " + path, errno);
		lbs = static_cast<std::uint32_t>(ss);
	} else if (S_ISREG(st.st_mode)) {
		bytes = static_cast<std::uint64_t>(st.st_size);
	} else {
		return make_error(path + " is neither a block device nor a regular file", EINVAL);
	}
	if (bytes == 0)
		return make_error(path + " has size 0: nothing to replay onto", EINVAL);
	return Device(std::move(fd), path, bytes, lbs, blk);
}

} // namespace dmtier::replay
