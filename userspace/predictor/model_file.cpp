// SPDX-License-Identifier: GPL-2.0
#include "predictor/model_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <zlib.h>

namespace dmtier::predictor {

namespace {

constexpr char kMagic[8] = {'D', 'M', 'T', 'I', 'E', 'R', 'P', 'M'};
constexpr std::uint32_t kMaxKind = 64;

void put(std::vector<char> *b, std::uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; ++i)
		b->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get(const char *p, int bytes)
{
	std::uint64_t v = 0;
	for (int i = 0; i < bytes; ++i)
		v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
	return v;
}

std::uint32_t crc(const char *p, std::size_t n)
{
	return static_cast<std::uint32_t>(
		crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef *>(p), static_cast<uInt>(n)));
}

} // namespace

std::vector<char> encode_model_file(const ModelFile &m)
{
	std::vector<char> b(kMagic, kMagic + sizeof kMagic);
	put(&b, kModelFileVersion, 4);
	put(&b, m.kind.size(), 4);
	b.insert(b.end(), m.kind.begin(), m.kind.end());
	put(&b, m.payload.size(), 8);
	b.insert(b.end(), m.payload.begin(), m.payload.end());
	put(&b, crc(b.data(), b.size()), 4);
	return b;
}

Result<ModelFile> decode_model_file(std::string_view b)
{
	if (b.size() < sizeof kMagic || std::memcmp(b.data(), kMagic, sizeof kMagic) != 0)
		return make_error("not a dm-tier predictor model file (bad magic)");
	if (b.size() < sizeof kMagic + 8)
		return make_error("model file truncated (header)");
	auto version = static_cast<std::uint32_t>(get(b.data() + 8, 4));
	if (version != kModelFileVersion)
		return make_error("unsupported model file version " + std::to_string(version) +
				  " (this build reads version " + std::to_string(kModelFileVersion) + ")");
	auto kind_len = get(b.data() + 12, 4);
	if (kind_len > kMaxKind || b.size() < 16 + kind_len + 8)
		return make_error("model file truncated or corrupt (kind)");
	std::size_t pos = 16 + kind_len;
	auto payload_len = get(b.data() + pos, 8);
	pos += 8;
	if (payload_len > b.size() || b.size() - pos < payload_len + 4)
		return make_error("model file truncated (payload of " + std::to_string(payload_len) +
				  " bytes, file has " + std::to_string(b.size()) + ")");
	if (b.size() != pos + payload_len + 4)
		return make_error("model file has trailing bytes");
	auto want = static_cast<std::uint32_t>(get(b.data() + pos + payload_len, 4));
	if (crc(b.data(), pos + payload_len) != want)
		return make_error("model file checksum mismatch: the file is corrupt");
	ModelFile m;
	m.kind.assign(b.data() + 16, kind_len);
	m.payload.assign(b.data() + pos, b.data() + pos + payload_len);
	return m;
}

Status write_model_file(const std::string &path, const ModelFile &m)
{
	auto bytes = encode_model_file(m);
	std::string tmp = path + ".tmp";
	{
		std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
		if (!f)
			return make_error(path + ": cannot write: " + std::strerror(errno));
		f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
		if (!f.flush())
			return make_error(path + ": write failed: " + std::strerror(errno));
	}
	if (std::rename(tmp.c_str(), path.c_str()) != 0)
		return make_error(path + ": cannot replace: " + std::strerror(errno));
	return {};
}

Result<ModelFile> read_model_file(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	if (!f)
		return make_error(path + ": cannot open: " + std::strerror(errno));
	std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
	auto m = decode_model_file(bytes);
	if (!m)
		return make_error(path + ": " + m.error());
	return m;
}

void PayloadWriter::u32(std::uint32_t v) { put(&buf_, v, 4); }
void PayloadWriter::u64(std::uint64_t v) { put(&buf_, v, 8); }
void PayloadWriter::f64(double v)
{
	std::uint64_t u;
	std::memcpy(&u, &v, sizeof u);
	put(&buf_, u, 8);
}

void PayloadWriter::str(std::string_view v)
{
	u64(v.size());
	buf_.insert(buf_.end(), v.begin(), v.end());
}

bool PayloadReader::str(std::string *v)
{
	std::uint64_t n;
	if (!u64(&n) || n > buf_.size() - pos_)
		return false;
	v->assign(buf_.data() + pos_, n);
	pos_ += n;
	return true;
}

bool PayloadReader::u32(std::uint32_t *v)
{
	if (buf_.size() - pos_ < 4)
		return false;
	*v = static_cast<std::uint32_t>(get(buf_.data() + pos_, 4));
	pos_ += 4;
	return true;
}

bool PayloadReader::u64(std::uint64_t *v)
{
	if (buf_.size() - pos_ < 8)
		return false;
	*v = get(buf_.data() + pos_, 8);
	pos_ += 8;
	return true;
}

bool PayloadReader::f64(double *v)
{
	std::uint64_t u;
	if (!u64(&u))
		return false;
	std::memcpy(v, &u, sizeof u);
	return true;
}

} // namespace dmtier::predictor
