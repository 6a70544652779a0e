// SPDX-License-Identifier: GPL-2.0
// Helpers shared by the fuzz entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include "entries.h"

namespace dmtier::fuzz {

// An anonymous in-memory file (memfd), reachable by path as
// /proc/self/fd/N for libraries that open files by name.
class MemFile {
public:
	explicit MemFile(const char *name) : fd_(memfd_create(name, MFD_CLOEXEC))
	{
		if (fd_ < 0)
			fail(name, "memfd_create failed");
	}
	~MemFile() { ::close(fd_); }
	MemFile(const MemFile &) = delete;
	MemFile &operator=(const MemFile &) = delete;

	int fd() const { return fd_; }
	std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
	void write_all(const void *p, std::size_t n, std::uint64_t off = 0)
	{
		auto *c = static_cast<const char *>(p);
		while (n) {
			ssize_t r = ::pwrite(fd_, c, n, off);
			if (r <= 0)
				fail("memfile", "pwrite failed");
			c += r;
			n -= r;
			off += r;
		}
	}

private:
	int fd_;
};

// Reads the input front to back; past its end everything reads as 0.
class Input {
public:
	Input(const std::uint8_t *d, std::size_t n) : d_(d), n_(n) {}
	std::size_t left() const { return n_ - pos_; }
	std::uint8_t u8() { return pos_ < n_ ? d_[pos_++] : 0; }
	std::uint16_t u16() { return std::uint16_t(u8() | (u8() << 8)); }
	std::uint32_t u32() { return std::uint32_t(u16()) | (std::uint32_t(u16()) << 16); }
	const std::uint8_t *take(std::size_t *n)
	{
		if (*n > left())
			*n = left();
		const std::uint8_t *p = d_ + pos_;
		pos_ += *n;
		return p;
	}
	std::string rest()
	{
		std::string s(reinterpret_cast<const char *>(d_ + pos_), n_ - pos_);
		pos_ = n_;
		return s;
	}

private:
	const std::uint8_t *d_;
	std::size_t n_;
	std::size_t pos_ = 0;
};

} // namespace dmtier::fuzz
