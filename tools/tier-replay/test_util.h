// SPDX-License-Identifier: GPL-2.0
// Test helpers: a temporary directory (on the test's TMPDIR, /tmp by
// default) and whole-file reads and writes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace dmtier::replay::testing {

class TempDir {
public:
	TempDir()
	{
		const char *base = std::getenv("TMPDIR");
		std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tier-replay-test.XXXXXX";
		if (mkdtemp(tmpl.data()))
			path_ = tmpl;
	}
	~TempDir()
	{
		std::error_code ec;
		if (!path_.empty())
			std::filesystem::remove_all(path_, ec);
	}
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	bool ok() const { return !path_.empty(); }
	std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
	std::string path_;
};

inline void write_file(const std::string &path, const std::string &data)
{
	std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

inline std::string read_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Bytes 0..255 repeating, so that a changed byte shows.
inline std::string pattern(std::size_t n)
{
	std::string s(n, '\0');
	for (std::size_t i = 0; i < n; ++i)
		s[i] = static_cast<char>(i * 7 + i / 4096);
	return s;
}

} // namespace dmtier::replay::testing
