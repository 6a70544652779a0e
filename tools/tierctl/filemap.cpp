// SPDX-License-Identifier: GPL-2.0
#include "filemap.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace dmtier::tierctl {

Result<std::vector<ExtentRange>> extent_ranges(const std::string &path, const std::vector<FileExtent> &fe,
					       std::uint64_t extent_bytes, std::uint64_t volume_bytes)
{
	if (!extent_bytes)
		return make_error("extent size 0", EINVAL);
	std::vector<ExtentRange> r;
	for (auto &e : fe) {
		if (e.flags & (FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_UNKNOWN))
			return make_error(path + ": bytes " + std::to_string(e.logical) + "+" + std::to_string(e.length) +
						  " are not on the device yet (delayed allocation): run 'sync " + path +
						  "' and try again",
					  EAGAIN);
		if (e.flags & (FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_NOT_ALIGNED))
			return make_error(path + ": its data is stored inline in the filesystem's metadata, not in "
						 "extents of its own (a small file): nothing to place",
					  EINVAL);
		if (e.flags & FIEMAP_EXTENT_UNWRITTEN)
			return make_error(path + ": bytes " + std::to_string(e.logical) + "+" + std::to_string(e.length) +
						  " are preallocated but never written (fallocate): the volume has not "
						  "mapped them; write the file's data first",
					  EINVAL);
		if (!e.length)
			continue;
		if (e.physical + e.length < e.physical ||
		    (volume_bytes && e.physical + e.length > volume_bytes))
			return make_error(path + ": an extent at byte " + std::to_string(e.physical) +
						  " lies past the end of the volume (" + std::to_string(volume_bytes) +
						  " bytes): the filesystem is not directly on the volume",
					  ERANGE);
		r.push_back({e.physical / extent_bytes, (e.physical + e.length - 1) / extent_bytes + 1});
	}
	if (r.empty())
		return make_error(path + " has no data on the device (an empty or sparse file): nothing to place",
				  ENODATA);
	std::sort(r.begin(), r.end(), [](auto &a, auto &b) { return a.begin < b.begin; });
	std::vector<ExtentRange> m;
	for (auto &x : r) {
		if (!m.empty() && x.begin <= m.back().end)
			m.back().end = std::max(m.back().end, x.end);
		else
			m.push_back(x);
	}
	return m;
}

std::uint64_t count_extents(const std::vector<ExtentRange> &r)
{
	std::uint64_t n = 0;
	for (auto &x : r)
		n += x.end - x.begin;
	return n;
}

std::string format_ranges(const std::vector<ExtentRange> &r)
{
	std::string s;
	for (auto &x : r) {
		if (!s.empty())
			s += ", ";
		char b[48];
		if (x.end - x.begin > 1)
			snprintf(b, sizeof(b), "%llu-%llu", (unsigned long long)x.begin, (unsigned long long)(x.end - 1));
		else
			snprintf(b, sizeof(b), "%llu", (unsigned long long)x.begin);
		s += b;
	}
	return s;
}

namespace {

std::string fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: return "ext2/3/4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0xF2F52010: return "f2fs";
	case 0x01021994: return "tmpfs";
	case 0x858458f6: return "ramfs";
	case 0x01021997: return "9p";
	case 0x6969: return "nfs";
	case 0xFF534D42: return "cifs";
	case 0x794c7630: return "overlayfs";
	case 0x4d44: return "vfat";
	case 0x65735546: return "fuse";
	default: {
		char b[32];
		snprintf(b, sizeof(b), "type 0x%lx", (unsigned long)type);
		return b;
	}
	}
}

} // namespace

Result<std::vector<FileExtent>> file_extents(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
		fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return make_error("cannot open " + path + ": " + strerror(errno), errno);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return make_error(path + " is not a regular file: --file takes a file on a filesystem mounted "
					 "from a dm-tier volume",
				  EINVAL);
	}
	constexpr unsigned kBatch = 256;
	std::vector<char> buf(sizeof(struct fiemap) + kBatch * sizeof(struct fiemap_extent));
	std::vector<FileExtent> out;
	std::uint64_t start = 0;
	bool sync = true;
	for (;;) {
		std::fill(buf.begin(), buf.end(), 0);
		auto *fm = reinterpret_cast<struct fiemap *>(buf.data());
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = sync ? FIEMAP_FLAG_SYNC : 0;	// flush delayed allocations once
		fm->fm_extent_count = kBatch;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
			int e = errno;
			struct statfs sf {};
			std::string fs = fstatfs(fd, &sf) == 0 ? fs_name(sf.f_type) : "?";
			close(fd);
			if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL)
				return make_error(path + " is on a filesystem (" + fs +
							  ") without FIEMAP: its blocks cannot be found; use the "
							  "extent-range form",
						  EOPNOTSUPP);
			return make_error("FIEMAP on " + path + " failed: " + strerror(e), e);
		}
		sync = false;
		if (!fm->fm_mapped_extents)
			break;
		bool last = false;
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
			auto &x = fm->fm_extents[i];
			out.push_back({x.fe_logical, x.fe_physical, x.fe_length, x.fe_flags});
			last = x.fe_flags & FIEMAP_EXTENT_LAST;
		}
		auto &l = fm->fm_extents[fm->fm_mapped_extents - 1];
		if (last || l.fe_logical + l.fe_length <= start)
			break;
		start = l.fe_logical + l.fe_length;
	}
	close(fd);
	return out;
}

} // namespace dmtier::tierctl
