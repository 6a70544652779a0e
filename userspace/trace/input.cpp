// SPDX-License-Identifier: GPL-2.0
#include "trace/input.h"

#include <bzlib.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <lzma.h>
#include <zlib.h>

namespace dmtier::trace {

namespace {

constexpr std::size_t kChunk = 1 << 16;

struct FileCloser {
	void operator()(std::FILE *f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

class PlainSource final : public ByteSource {
public:
	PlainSource(FilePtr f, std::string path) : f_(std::move(f)), path_(std::move(path)) {}
	Result<std::size_t> read(char *buf, std::size_t n) override
	{
		std::size_t got = std::fread(buf, 1, n, f_.get());
		if (got == 0 && std::ferror(f_.get()))
			return make_error(path_ + ": read error: " + std::strerror(errno));
		return got;
	}

private:
	FilePtr f_;
	std::string path_;
};

// Shared plumbing for the streaming decoders: compressed input buffer.
class CodecSource : public ByteSource {
protected:
	CodecSource(FilePtr f, std::string path)
		: f_(std::move(f)), path_(std::move(path)), in_(kChunk)
	{
	}
	// Refills in_ if empty; returns bytes available (0 at end of file).
	Result<std::size_t> refill(const unsigned char **next, std::size_t *avail)
	{
		if (*avail)
			return *avail;
		std::size_t got = std::fread(in_.data(), 1, in_.size(), f_.get());
		if (got == 0 && std::ferror(f_.get()))
			return make_error(path_ + ": read error: " + std::strerror(errno));
		*next = in_.data();
		*avail = got;
		return got;
	}
	// After a stream end: true if no further (concatenated) stream follows.
	Result<bool> no_more_streams(const unsigned char **next, std::size_t *avail)
	{
		if (*avail)
			return false;
		auto r = refill(next, avail);
		if (!r)
			return std::move(r).take_error();
		return *r == 0;
	}
	Error corrupt(const char *codec, const std::string &detail) const
	{
		return make_error(path_ + ": corrupt " + codec + " data: " + detail);
	}

	FilePtr f_;
	std::string path_;
	std::vector<unsigned char> in_;
};

class GzipSource final : public CodecSource {
public:
	GzipSource(FilePtr f, std::string path) : CodecSource(std::move(f), std::move(path))
	{
		ok_ = inflateInit2(&z_, 15 + 32) == Z_OK; // gzip or zlib header
	}
	~GzipSource() override { inflateEnd(&z_); }

	Result<std::size_t> read(char *buf, std::size_t n) override
	{
		if (!ok_)
			return corrupt("gzip", "cannot initialise zlib");
		z_.next_out = reinterpret_cast<Bytef *>(buf);
		z_.avail_out = static_cast<uInt>(n);
		while (z_.avail_out == n && !done_) {
			const unsigned char *next = z_.next_in;
			std::size_t avail = z_.avail_in;
			auto r = refill(&next, &avail);
			if (!r)
				return std::move(r).take_error();
			if (*r == 0)
				return corrupt("gzip", "truncated stream");
			z_.next_in = const_cast<Bytef *>(next);
			z_.avail_in = static_cast<uInt>(avail);
			int rc = inflate(&z_, Z_NO_FLUSH);
			if (rc == Z_STREAM_END) {
				// Concatenated members: continue if more input follows.
				next = z_.next_in;
				avail = z_.avail_in;
				auto end = no_more_streams(&next, &avail);
				if (!end)
					return std::move(end).take_error();
				z_.next_in = const_cast<Bytef *>(next);
				z_.avail_in = static_cast<uInt>(avail);
				if (*end)
					done_ = true;
				else
					inflateReset(&z_);
			} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
				return corrupt("gzip", z_.msg ? z_.msg : "inflate failed");
			}
		}
		return n - z_.avail_out;
	}

private:
	z_stream z_{};
	bool ok_ = false;
	bool done_ = false;
};

class XzSource final : public CodecSource {
public:
	XzSource(FilePtr f, std::string path) : CodecSource(std::move(f), std::move(path))
	{
		ok_ = lzma_stream_decoder(&s_, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
	}
	~XzSource() override { lzma_end(&s_); }

	Result<std::size_t> read(char *buf, std::size_t n) override
	{
		if (!ok_)
			return corrupt("xz", "cannot initialise liblzma");
		s_.next_out = reinterpret_cast<uint8_t *>(buf);
		s_.avail_out = n;
		while (s_.avail_out == n && !done_) {
			const unsigned char *next = s_.next_in;
			std::size_t avail = s_.avail_in;
			auto r = refill(&next, &avail);
			if (!r)
				return std::move(r).take_error();
			s_.next_in = next;
			s_.avail_in = avail;
			lzma_ret rc = lzma_code(&s_, *r == 0 ? LZMA_FINISH : LZMA_RUN);
			if (rc == LZMA_STREAM_END)
				done_ = true;
			else if (rc != LZMA_OK)
				return corrupt("xz", "liblzma error " + std::to_string(rc));
			else if (*r == 0 && s_.avail_out == n)
				return corrupt("xz", "truncated stream");
		}
		return n - s_.avail_out;
	}

private:
	lzma_stream s_ = LZMA_STREAM_INIT;
	bool ok_ = false;
	bool done_ = false;
};

class Bzip2Source final : public CodecSource {
public:
	Bzip2Source(FilePtr f, std::string path) : CodecSource(std::move(f), std::move(path))
	{
		ok_ = BZ2_bzDecompressInit(&s_, 0, 0) == BZ_OK;
	}
	~Bzip2Source() override { BZ2_bzDecompressEnd(&s_); }

	Result<std::size_t> read(char *buf, std::size_t n) override
	{
		if (!ok_)
			return corrupt("bzip2", "cannot initialise libbz2");
		s_.next_out = buf;
		s_.avail_out = static_cast<unsigned>(n);
		while (s_.avail_out == n && !done_) {
			const unsigned char *next = reinterpret_cast<const unsigned char *>(s_.next_in);
			std::size_t avail = s_.avail_in;
			auto r = refill(&next, &avail);
			if (!r)
				return std::move(r).take_error();
			if (*r == 0)
				return corrupt("bzip2", "truncated stream");
			s_.next_in = const_cast<char *>(reinterpret_cast<const char *>(next));
			s_.avail_in = static_cast<unsigned>(avail);
			int rc = BZ2_bzDecompress(&s_);
			if (rc == BZ_STREAM_END) {
				// Concatenated streams (pbzip2) restart the decoder.
				next = reinterpret_cast<const unsigned char *>(s_.next_in);
				avail = s_.avail_in;
				auto end = no_more_streams(&next, &avail);
				if (!end)
					return std::move(end).take_error();
				s_.next_in = const_cast<char *>(reinterpret_cast<const char *>(next));
				s_.avail_in = static_cast<unsigned>(avail);
				if (*end) {
					done_ = true;
				} else {
					char *in = s_.next_in;
					unsigned left = s_.avail_in;
					char *out = s_.next_out;
					unsigned room = s_.avail_out;
					BZ2_bzDecompressEnd(&s_);
					s_ = bz_stream{};
					if (BZ2_bzDecompressInit(&s_, 0, 0) != BZ_OK)
						return corrupt("bzip2", "cannot restart decoder");
					s_.next_in = in;
					s_.avail_in = left;
					s_.next_out = out;
					s_.avail_out = room;
				}
			} else if (rc != BZ_OK) {
				return corrupt("bzip2", "libbz2 error " + std::to_string(rc));
			}
		}
		return n - s_.avail_out;
	}

private:
	bz_stream s_{};
	bool ok_ = false;
	bool done_ = false;
};

} // namespace

const char *compression_name(Compression c)
{
	switch (c) {
	case Compression::none: return "none";
	case Compression::gzip: return "gzip";
	case Compression::xz: return "xz";
	case Compression::bzip2: return "bzip2";
	}
	return "?";
}

Compression detect_compression(const unsigned char *h, std::size_t n)
{
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return Compression::gzip;
	if (n >= 6 && std::memcmp(h, "\xfd" "7zXZ\0", 6) == 0)
		return Compression::xz;
	if (n >= 4 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h' && h[3] >= '1' && h[3] <= '9')
		return Compression::bzip2;
	return Compression::none;
}

Result<std::unique_ptr<ByteSource>> open_source(const std::string &path, Compression *detected)
{
	FilePtr f(std::fopen(path.c_str(), "rb"));
	if (!f)
		return make_error(path + ": cannot open: " + std::strerror(errno));
	unsigned char head[6] = {};
	std::size_t n = std::fread(head, 1, sizeof head, f.get());
	if (std::ferror(f.get()) || std::fseek(f.get(), 0, SEEK_SET) != 0)
		return make_error(path + ": cannot read: " + std::strerror(errno));
	Compression c = detect_compression(head, n);
	if (detected)
		*detected = c;
	std::unique_ptr<ByteSource> src;
	switch (c) {
	case Compression::none: src = std::make_unique<PlainSource>(std::move(f), path); break;
	case Compression::gzip: src = std::make_unique<GzipSource>(std::move(f), path); break;
	case Compression::xz: src = std::make_unique<XzSource>(std::move(f), path); break;
	case Compression::bzip2: src = std::make_unique<Bzip2Source>(std::move(f), path); break;
	}
	return src;
}

LineReader::LineReader(std::unique_ptr<ByteSource> src) : src_(std::move(src)), buf_(kChunk) {}

Result<bool> LineReader::fill()
{
	if (begin_ > 0) {
		std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
		end_ -= begin_;
		begin_ = 0;
	}
	if (end_ == buf_.size())
		buf_.resize(buf_.size() * 2);
	auto got = src_->read(buf_.data() + end_, buf_.size() - end_);
	if (!got)
		return std::move(got).take_error();
	end_ += *got;
	return *got > 0;
}

Result<bool> LineReader::next(std::string_view *line)
{
	for (;;) {
		const char *start = buf_.data() + begin_;
		const void *nl = std::memchr(start, '\n', end_ - begin_);
		if (nl || (eof_ && begin_ < end_)) {
			std::size_t len = nl ? static_cast<const char *>(nl) - start : end_ - begin_;
			begin_ += nl ? len + 1 : len;
			if (len && start[len - 1] == '\r')
				--len;
			*line = std::string_view(start, len);
			++line_no_;
			return true;
		}
		if (eof_)
			return false;
		auto more = fill();
		if (!more)
			return std::move(more).take_error();
		if (!*more)
			eof_ = true;
	}
}

} // namespace dmtier::trace
