// SPDX-License-Identifier: GPL-2.0
// Versioned, checksummed container for predictor model files:
//   magic "DMTIERPM" | u32 version | u32 kind length | kind | u64 payload
//   length | payload | u32 CRC-32 of everything before it.
// All integers little-endian. Loading a truncated, corrupt or foreign file is
// a clear error, never a crash or a silently wrong model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trace/result.h"

namespace dmtier::predictor {

inline constexpr std::uint32_t kModelFileVersion = 1;

struct ModelFile {
	std::string kind;          // e.g. "lstm"
	std::vector<char> payload; // kind-specific
};

std::vector<char> encode_model_file(const ModelFile &m);
[[nodiscard]] Result<ModelFile> decode_model_file(std::string_view bytes);

[[nodiscard]] Status write_model_file(const std::string &path, const ModelFile &m);
[[nodiscard]] Result<ModelFile> read_model_file(const std::string &path);

// Little-endian payload encoding helpers.
class PayloadWriter {
public:
	void u32(std::uint32_t v);
	void u64(std::uint64_t v);
	void f64(double v);
	void str(std::string_view v);
	std::vector<char> take() { return std::move(buf_); }

private:
	std::vector<char> buf_;
};

class PayloadReader {
public:
	explicit PayloadReader(const std::vector<char> &b) : buf_(b) {}
	bool u32(std::uint32_t *v);
	bool u64(std::uint64_t *v);
	bool f64(double *v);
	bool str(std::string *v); // up to the bytes left
	bool at_end() const { return pos_ == buf_.size(); }
	std::size_t left() const { return buf_.size() - pos_; }

private:
	const std::vector<char> &buf_;
	std::size_t pos_ = 0;
};

} // namespace dmtier::predictor
