// SPDX-License-Identifier: GPL-2.0
#include "trace/input.h"

#include <bzlib.h>
#include <cstdio>
#include <cstdlib>
#include <gtest/gtest.h>
#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

#include "trace/test_files.h"

namespace dmtier::trace::testing {

std::string compress(const std::string &data, Compression c)
{
	std::string out;
	switch (c) {
	case Compression::none:
		return data;
	case Compression::gzip: {
		z_stream z{};
		deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
		out.resize(deflateBound(&z, data.size()) + 64);
		z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
		z.avail_in = data.size();
		z.next_out = reinterpret_cast<Bytef *>(out.data());
		z.avail_out = out.size();
		deflate(&z, Z_FINISH);
		out.resize(z.total_out);
		deflateEnd(&z);
		return out;
	}
	case Compression::xz: {
		out.resize(lzma_stream_buffer_bound(data.size()));
		size_t pos = 0;
		lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr,
					reinterpret_cast<const uint8_t *>(data.data()), data.size(),
					reinterpret_cast<uint8_t *>(out.data()), &pos, out.size());
		out.resize(pos);
		return out;
	}
	case Compression::bzip2: {
		unsigned len = data.size() + data.size() / 100 + 700;
		out.resize(len);
		BZ2_bzBuffToBuffCompress(out.data(), &len, const_cast<char *>(data.data()), data.size(), 9,
					 0, 0);
		out.resize(len);
		return out;
	}
	}
	return out;
}

TempFile::TempFile(const std::string &data, Compression c, const std::string &suffix)
{
	std::string tmpl = std::string(::testing::TempDir()) + "dmtier-trace-XXXXXX" + suffix;
	int fd = mkstemps(tmpl.data(), static_cast<int>(suffix.size()));
	path_ = tmpl;
	std::string bytes = compress(data, c);
	if (fd >= 0) {
		ssize_t w = write(fd, bytes.data(), bytes.size());
		(void)w;
		close(fd);
	}
}

TempFile::~TempFile() { std::remove(path_.c_str()); }

namespace {

std::vector<std::string> read_lines(const std::string &path, Compression *c, std::string *err)
{
	std::vector<std::string> lines;
	auto src = open_source(path, c);
	if (!src) {
		*err = src.error();
		return lines;
	}
	LineReader r(std::move(*src));
	std::string_view l;
	for (;;) {
		auto more = r.next(&l);
		if (!more) {
			*err = more.error();
			break;
		}
		if (!*more)
			break;
		lines.emplace_back(l);
	}
	return lines;
}

class CompressionTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CompressionTest, RoundTripsLinesOfAnyLength)
{
	std::string data;
	std::vector<std::string> want;
	for (int i = 0; i < 20000; ++i) {
		want.push_back(std::to_string(i * 7919) + std::string(i % 97, 'x'));
		data += want.back() + (i % 3 ? "\n" : "\r\n");
	}
	data += "last-without-newline";
	want.push_back("last-without-newline");
	TempFile f(data, GetParam(), ".bin"); // suffix deliberately unrelated
	Compression seen;
	std::string err;
	auto lines = read_lines(f.path(), &seen, &err);
	EXPECT_EQ(err, "");
	EXPECT_EQ(seen, GetParam());
	EXPECT_EQ(lines, want);
}

class CodecTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CodecTest, TruncatedCompressedFileIsAnError)
{
	std::string data;
	for (int i = 0; i < 5000; ++i)
		data += std::to_string(i) + "\n";
	std::string z = compress(data, GetParam());
	TempFile f(z.substr(0, z.size() / 2));
	// Write raw (already compressed) bytes.
	std::string err;
	Compression seen;
	read_lines(f.path(), &seen, &err);
	EXPECT_EQ(seen, GetParam());
	EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
	EXPECT_NE(err.find(f.path()), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(All, CompressionTest,
			 ::testing::Values(Compression::none, Compression::gzip, Compression::xz,
					   Compression::bzip2),
			 [](const auto &info) { return std::string(compression_name(info.param)); });

INSTANTIATE_TEST_SUITE_P(Compressed, CodecTest,
			 ::testing::Values(Compression::gzip, Compression::xz, Compression::bzip2),
			 [](const auto &info) { return std::string(compression_name(info.param)); });

TEST(Input, MissingFileNamesThePath)
{
	auto src = open_source("/nonexistent/dmtier/trace.csv");
	ASSERT_FALSE(src.ok());
	EXPECT_NE(src.error().find("/nonexistent/dmtier/trace.csv"), std::string::npos);
}

TEST(Input, DetectsMagicBytes)
{
	const unsigned char gz[] = {0x1f, 0x8b, 8};
	const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
	const unsigned char bz[] = {'B', 'Z', 'h', '9'};
	const unsigned char txt[] = {'1', '2', '3'};
	EXPECT_EQ(detect_compression(gz, 3), Compression::gzip);
	EXPECT_EQ(detect_compression(xz, 6), Compression::xz);
	EXPECT_EQ(detect_compression(bz, 4), Compression::bzip2);
	EXPECT_EQ(detect_compression(txt, 3), Compression::none);
	EXPECT_EQ(detect_compression(gz, 1), Compression::none);
}

} // namespace
} // namespace dmtier::trace::testing
