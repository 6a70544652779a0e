// SPDX-License-Identifier: GPL-2.0
// Line input from a plain, gzip, xz or bzip2 file. The compression is
// detected from the file's magic bytes, not its name.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trace/result.h"

namespace dmtier::trace {

enum class Compression { none, gzip, xz, bzip2 };

const char *compression_name(Compression c);
Compression detect_compression(const unsigned char *head, std::size_t n);

// A decompressing byte stream. Move-only; owns its file and codec state.
class ByteSource {
public:
	virtual ~ByteSource() = default;
	// Reads up to n bytes; 0 means end of stream.
	virtual Result<std::size_t> read(char *buf, std::size_t n) = 0;
};

[[nodiscard]] Result<std::unique_ptr<ByteSource>> open_source(const std::string &path,
							      Compression *detected = nullptr);

// Splits a ByteSource into lines ('\n', a trailing '\r' removed).
class LineReader {
public:
	explicit LineReader(std::unique_ptr<ByteSource> src);
	LineReader(LineReader &&) = default;
	LineReader &operator=(LineReader &&) = default;
	LineReader(const LineReader &) = delete;
	LineReader &operator=(const LineReader &) = delete;

	// Next line into *line (valid until the next call). false at end.
	Result<bool> next(std::string_view *line);
	std::uint64_t line_number() const { return line_no_; }

private:
	Result<bool> fill();

	std::unique_ptr<ByteSource> src_;
	std::vector<char> buf_;
	std::size_t begin_ = 0, end_ = 0;
	std::uint64_t line_no_ = 0;
	bool eof_ = false;
};

} // namespace dmtier::trace
