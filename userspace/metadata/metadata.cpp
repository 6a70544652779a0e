// SPDX-License-Identifier: GPL-2.0
#include "metadata/metadata.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metadata/crc32c.h"

namespace dmtier::md {

// ---------------------------------------------------------------- Device

Result<Device> Device::open(const std::string &path, bool writable)
{
	int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return make_error("cannot open " + path + ": " + strerror(errno), errno);
	struct stat st {};
	uint64_t bytes = 0;
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			int e = errno;
			::close(fd);
			return make_error("cannot size " + path + ": " + strerror(e), e);
		}
	} else {
		bytes = st.st_size;
	}
	return Device(fd, bytes, path);
}

Device::Device(Device &&o) noexcept : fd_(o.fd_), bytes_(o.bytes_), path_(std::move(o.path_))
{
	o.fd_ = -1;
}

Device &Device::operator=(Device &&o) noexcept
{
	if (this != &o) {
		if (fd_ >= 0)
			::close(fd_);
		fd_ = o.fd_;
		bytes_ = o.bytes_;
		path_ = std::move(o.path_);
		o.fd_ = -1;
	}
	return *this;
}

Device::~Device()
{
	if (fd_ >= 0)
		::close(fd_);
}

Status Device::read_bytes(uint64_t offset, size_t n, void *buf) const
{
	auto *p = static_cast<char *>(buf);
	while (n) {
		ssize_t r = pread(fd_, p, n, offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return make_error(path_ + ": read at " + std::to_string(offset) + " failed: " +
					  (r < 0 ? strerror(errno) : "end of device"), r < 0 ? errno : EIO);
		p += r;
		offset += r;
		n -= r;
	}
	return {};
}

Status Device::read(uint64_t block, unsigned n, void *buf) const
{
	return read_bytes(block * DMT_BLOCK_SIZE, size_t(n) * DMT_BLOCK_SIZE, buf);
}

Status Device::write(uint64_t block, unsigned n, const void *buf)
{
	auto *p = static_cast<const char *>(buf);
	uint64_t offset = block * DMT_BLOCK_SIZE;
	size_t len = size_t(n) * DMT_BLOCK_SIZE;
	while (len) {
		ssize_t r = pwrite(fd_, p, len, offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return make_error(path_ + ": write failed: " + strerror(r < 0 ? errno : EIO),
					  r < 0 ? errno : EIO);
		p += r;
		offset += r;
		len -= r;
	}
	return {};
}

Status Device::sync()
{
	if (fsync(fd_) < 0)
		return make_error(path_ + ": fsync failed: " + strerror(errno), errno);
	return {};
}

// ---------------------------------------------------------------- format

uint32_t block_csum(const void *block, size_t len)
{
	return crc32c(static_cast<const char *>(block) + DMT_CSUM_SKIP, len - DMT_CSUM_SKIP);
}

namespace {

using Block = std::array<uint8_t, DMT_BLOCK_SIZE>;

uint64_t vol_area_start(const Pool &p) { return p.sb.vol_area_start; }

bool sb_valid(const dmt_superblock *sb)
{
	return sb->type == DMT_BT_SUPER && sb->magic == DMT_SB_MAGIC &&
	       sb->csum == block_csum(sb, DMT_BLOCK_SIZE);
}

bool block_valid(const Block &b, uint32_t type, uint64_t slot)
{
	auto *h = reinterpret_cast<const dmt_block_header *>(b.data());
	// The cheap fields first: a blank slot costs no checksum.
	return h->type == type && h->blocknr == slot && h->csum == block_csum(b.data(), b.size());
}

uint64_t layout_end(const dmt_superblock &sb)
{
	uint64_t end = sb.vol_area_start + 2 * sb.vol_area_blocks;
	if (sb.nr_tiers)
		end = sb.tiers[sb.nr_tiers - 1].area_start + 2 * sb.tiers[sb.nr_tiers - 1].area_blocks;
	return end;
}

// The superblock's layout against the device: the volume area after the
// superblocks, each tier's reverse map after the area before it (the
// kernel only ever appends), all inside the device.  Only the last tier's
// end used to be checked, so another tier's map could lie past the device
// (and its size be anything) or over another area.  "" when it is sound.
std::string layout_error(const dmt_superblock &sb, uint64_t dev_blocks)
{
	auto range = [](uint64_t start, uint64_t blocks) {
		return "blocks " + std::to_string(start) + "+" + std::to_string(blocks);
	};
	if (sb.vol_area_start < 2)
		return "the volume area (" + range(sb.vol_area_start, 2 * sb.vol_area_blocks) +
		       ") overlaps the superblocks";
	if (sb.vol_area_start > dev_blocks || sb.vol_area_blocks > (dev_blocks - sb.vol_area_start) / 2)
		return "the volume area (" + range(sb.vol_area_start, 2 * sb.vol_area_blocks) +
		       ") is past the end of the device (" + std::to_string(dev_blocks) + " blocks)";
	uint64_t prev_end = sb.vol_area_start + 2 * sb.vol_area_blocks;
	std::string prev = "the volume area";
	for (unsigned t = 0; t < sb.nr_tiers; t++) {
		const auto &r = sb.tiers[t];
		std::string name = "tier " + std::to_string(t) + "'s reverse map";
		if (r.area_start > dev_blocks || r.area_blocks > (dev_blocks - r.area_start) / 2)
			return name + " (" + range(r.area_start, 2 * r.area_blocks) +
			       ") is past the end of the device (" + std::to_string(dev_blocks) + " blocks)";
		if (r.area_start < prev_end)
			return name + " (" + range(r.area_start, 2 * r.area_blocks) + ") overlaps " + prev;
		uint64_t need = r.nr_extents / DMT_RMAP_PER_BLOCK + (r.nr_extents % DMT_RMAP_PER_BLOCK != 0);
		if (r.area_blocks != need)
			return name + " has " + std::to_string(r.area_blocks) + " blocks for " +
			       std::to_string(r.nr_extents) + " extents";
		prev_end = r.area_start + 2 * r.area_blocks;
		prev = name;
	}
	return "";
}

// Read one logical block's two slots; pick as the kernel does.
Result<Block> load_block(const Device &dev, Pool &pool, uint64_t slot0, uint32_t type,
			 uint8_t &cur, std::vector<Problem> &problems, const std::string &name)
{
	Block b[2];
	for (int s = 0; s < 2; s++)
		if (auto st = dev.read(slot0 + s, 1, b[s].data()); !st)
			return make_error(st.error(), st.code());
	int best = -1;
	uint64_t gen[2];
	for (int s = 0; s < 2; s++) {
		auto *h = reinterpret_cast<const dmt_block_header *>(b[s].data());
		gen[s] = h->generation;
		if (!block_valid(b[s], type, slot0 + s)) {
			bool blank = std::all_of(b[s].begin(), b[s].end(), [](uint8_t c) { return !c; });
			if (!blank)
				pool.bad_slots++;
			continue;
		}
		if (gen[s] > pool.generation) {
			pool.stale_slots++;
			continue;
		}
		if (best < 0 || gen[s] > gen[best])
			best = s;
	}
	if (best < 0) {
		problems.push_back({name + " has no valid copy (slots " + std::to_string(slot0) +
					    ", " + std::to_string(slot0 + 1) + ")", true});
		cur = 1;	// the rewrite goes to slot 0
		Block empty{};
		return empty;
	}
	cur = best;
	return b[best];
}

} // namespace

Result<Pool> load(const Device &dev, std::vector<Problem> &problems, bool reverse_maps)
{
	Pool pool;
	pool.dev_blocks = dev.blocks();
	if (pool.dev_blocks < 2)
		return make_error(dev.path() + ": too small for dm-tier metadata", EINVAL);
	Block sbs[2];
	for (int s = 0; s < 2; s++)
		if (auto st = dev.read(s, 1, sbs[s].data()); !st)
			return make_error(st.error(), st.code());
	auto *sb0 = reinterpret_cast<const dmt_superblock *>(sbs[0].data());
	auto *sb1 = reinterpret_cast<const dmt_superblock *>(sbs[1].data());
	bool v0 = sb_valid(sb0), v1 = sb_valid(sb1);
	if (!v0 && !v1) {
		bool empty = std::all_of(sbs[0].begin(), sbs[0].end(), [](uint8_t c) { return !c; }) &&
			     std::all_of(sbs[1].begin(), sbs[1].end(), [](uint8_t c) { return !c; });
		return make_error(dev.path() + (empty ? ": blank, not formatted" :
					       ": no valid dm-tier superblock (checksum or magic wrong in both slots)"),
				  empty ? ENODATA : EILSEQ);
	}
	pool.sb_slot = !v0 ? 1 : !v1 ? 0 : sb1->generation > sb0->generation;
	auto blank = [](const Block &b) { return std::all_of(b.begin(), b.end(), [](uint8_t c) { return !c; }); };
	if (v0 != v1 && !blank(sbs[v0 ? 1 : 0]))
		problems.push_back({std::string("superblock slot ") + (v0 ? "1" : "0") +
					    " is invalid (a torn write is harmless; the other slot is used)",
				    false});
	memcpy(&pool.sb, pool.sb_slot ? sb1 : sb0, sizeof(pool.sb));
	pool.generation = pool.sb.generation;
	const auto &sb = pool.sb;
	if (sb.version != DMT_FORMAT_VERSION)
		return make_error("unsupported metadata version " + std::to_string(sb.version), EINVAL);
	if (!sb.nr_tiers || sb.nr_tiers > DMT_MAX_TIERS || sb.vol_area_blocks != DMT_VOL_BLOCKS ||
	    sb.max_volumes != DMT_MAX_VOLUMES || layout_end(sb) > pool.dev_blocks ||
	    sb.extent_sectors < 256 || (sb.extent_sectors & (sb.extent_sectors - 1)))
		return make_error("superblock is inconsistent (tiers, layout or extent size)", EINVAL);
	if (std::string why = layout_error(sb, pool.dev_blocks); !why.empty())
		return make_error("superblock is inconsistent: " + why, EINVAL);

	pool.records.resize(DMT_MAX_VOLUMES);
	pool.vol_cur_slot.resize(sb.vol_area_blocks);
	for (uint64_t i = 0; i < sb.vol_area_blocks; i++) {
		auto b = load_block(dev, pool, vol_area_start(pool) + 2 * i, DMT_BT_VOLUMES,
				    pool.vol_cur_slot[i], problems, "volume block " + std::to_string(i));
		if (!b)
			return make_error(b.error(), b.code());
		auto *rec = reinterpret_cast<const dmt_volume_record *>(b->data() + sizeof(dmt_block_header));
		for (unsigned k = 0; k < DMT_VOLS_PER_BLOCK && i * DMT_VOLS_PER_BLOCK + k < DMT_MAX_VOLUMES; k++)
			pool.records[i * DMT_VOLS_PER_BLOCK + k] = rec[k];
	}
	for (unsigned t = 0; t < sb.nr_tiers; t++) {
		Tier tier;
		const auto &r = sb.tiers[t];
		memcpy(tier.uuid.data(), r.uuid, 16);
		tier.nr_extents = r.nr_extents;
		tier.area_start = r.area_start;
		tier.area_blocks = r.area_blocks;
		tier.dev_sectors = r.dev_sectors;
		if (!reverse_maps) {
			pool.tiers.push_back(std::move(tier));
			continue;
		}
		tier.rmap.resize(tier.nr_extents);
		tier.cur_slot.resize(tier.area_blocks);
		for (uint64_t j = 0; j < tier.area_blocks; j++) {
			auto b = load_block(dev, pool, tier.area_start + 2 * j, DMT_BT_RMAP, tier.cur_slot[j],
					    problems, "tier " + std::to_string(t) + " reverse-map block " + std::to_string(j));
			if (!b)
				return make_error(b.error(), b.code());
			auto *e = reinterpret_cast<const uint64_t *>(b->data() + sizeof(dmt_block_header));
			for (uint64_t k = 0; k < DMT_RMAP_PER_BLOCK && j * DMT_RMAP_PER_BLOCK + k < tier.nr_extents; k++)
				tier.rmap[j * DMT_RMAP_PER_BLOCK + k] = e[k];
		}
		pool.tiers.push_back(std::move(tier));
	}
	return pool;
}

std::vector<Problem> check(const Pool &pool)
{
	std::vector<Problem> out;
	std::map<uint32_t, unsigned> ids;
	for (unsigned s = 0; s < pool.records.size(); s++) {
		const auto &r = pool.records[s];
		if (!(r.flags & DMT_VOL_IN_USE))
			continue;
		if (r.id > DMT_MAX_VOLUME_ID || r.policy >= DMT_NR_POLICIES)
			out.push_back({"volume record " + std::to_string(s) + " is invalid (id " +
					       std::to_string(r.id) + ", policy " + std::to_string(r.policy) + ")",
				       true});
		else if (!ids.emplace(r.id, s).second)
			out.push_back({"volume " + std::to_string(r.id) + " has two records", true});
	}
	if (pool.sb.meta_blocks_used != layout_end(pool.sb))
		out.push_back({"superblock's metadata size disagrees with its layout", true});

	// Every virtual extent at most once; every owner a volume.
	std::map<std::pair<uint32_t, uint64_t>, std::pair<unsigned, uint64_t>> seen;
	for (unsigned t = 0; t < pool.tiers.size(); t++) {
		const auto &tier = pool.tiers[t];
		// Loaded without reverse maps: only the records are checked.
		for (uint64_t p = 0; p < tier.rmap.size(); p++) {
			uint64_t e = tier.rmap[p];
			if (e == DMT_RMAP_FREE)
				continue;
			uint32_t vol = dmt_rmap_volume(e);
			uint64_t ve = dmt_rmap_vext(e);
			auto where = "tier " + std::to_string(t) + " extent " + std::to_string(p);
			if (!ids.count(vol)) {
				out.push_back({where + " maps volume " + std::to_string(vol) +
						       ", which does not exist", true});
				continue;
			}
			auto [it, fresh] = seen.emplace(std::make_pair(vol, ve), std::make_pair(t, p));
			if (!fresh)
				out.push_back({"volume " + std::to_string(vol) + " extent " + std::to_string(ve) +
						       " is mapped twice: tier " + std::to_string(it->second.first) +
						       " extent " + std::to_string(it->second.second) + " and " + where,
					       true});
		}
	}
	return out;
}

std::string check_tier_label(const Pool &pool, const Device &dev, unsigned index)
{
	dmt_tier_label label{};
	if (auto st = dev.read_bytes(0, sizeof(label), &label); !st)
		return st.error();
	if (label.type != DMT_BT_LABEL || label.magic != DMT_LABEL_MAGIC ||
	    label.csum != block_csum(&label, sizeof(label)))
		return dev.path() + ": no valid dm-tier tier label";
	if (memcmp(label.uuid, pool.sb.uuid, 16))
		return dev.path() + ": belongs to another pool";
	for (unsigned t = 0; t < pool.tiers.size(); t++)
		if (!memcmp(label.tier_uuid, pool.tiers[t].uuid.data(), 16))
			return t == index ? "" : dev.path() + ": is tier " + std::to_string(t) +
							 ", not tier " + std::to_string(index) + " (wrong order)";
	return dev.path() + ": labelled by this pool but not one of its current tiers";
}

Status write_tier_label(Device &dev, const Pool &pool, unsigned index)
{
	if (index >= pool.tiers.size())
		return make_error("no tier " + std::to_string(index), EINVAL);
	std::vector<uint8_t> b(DMT_BLOCK_SIZE, 0);
	auto *label = reinterpret_cast<dmt_tier_label *>(b.data());
	label->type = DMT_BT_LABEL;
	label->magic = DMT_LABEL_MAGIC;
	memcpy(label->uuid, pool.sb.uuid, 16);
	memcpy(label->tier_uuid, pool.tiers[index].uuid.data(), 16);
	label->tier = index;
	label->version = DMT_FORMAT_VERSION;
	label->extent_sectors = pool.sb.extent_sectors;
	label->csum = block_csum(label, sizeof(*label));
	return dev.write(0, 1, b.data());
}

std::vector<std::string> repair(Pool &pool)
{
	std::vector<std::string> done;
	std::map<uint32_t, unsigned> ids;
	for (unsigned s = 0; s < pool.records.size(); s++) {
		auto &r = pool.records[s];
		if (!(r.flags & DMT_VOL_IN_USE))
			continue;
		if (r.id > DMT_MAX_VOLUME_ID || r.policy >= DMT_NR_POLICIES || !ids.emplace(r.id, s).second) {
			done.push_back("cleared volume record " + std::to_string(s));
			r = dmt_volume_record{};
		}
	}
	std::map<std::pair<uint32_t, uint64_t>, bool> seen;
	for (unsigned t = 0; t < pool.tiers.size(); t++) {
		for (uint64_t p = 0; p < pool.tiers[t].rmap.size(); p++) {
			uint64_t &e = pool.tiers[t].rmap[p];
			if (e == DMT_RMAP_FREE)
				continue;
			uint32_t vol = dmt_rmap_volume(e);
			uint64_t ve = dmt_rmap_vext(e);
			if (!ids.count(vol)) {
				done.push_back("freed tier " + std::to_string(t) + " extent " + std::to_string(p) +
					       " (unknown volume " + std::to_string(vol) + ")");
				e = DMT_RMAP_FREE;
			} else if (!seen.emplace(std::make_pair(vol, ve), true).second) {
				// Tiers are scanned fastest first: the faster copy is kept.
				done.push_back("freed tier " + std::to_string(t) + " extent " + std::to_string(p) +
					       " (second mapping of volume " + std::to_string(vol) + " extent " +
					       std::to_string(ve) + ")");
				e = DMT_RMAP_FREE;
			}
		}
	}
	if (pool.sb.meta_blocks_used != layout_end(pool.sb)) {
		pool.sb.meta_blocks_used = layout_end(pool.sb);
		done.push_back("fixed the superblock's metadata size");
	}
	return done;
}

namespace {

void seal(Block &b, uint32_t type, uint64_t generation, uint64_t slot)
{
	auto *h = reinterpret_cast<dmt_block_header *>(b.data());
	h->type = type;
	h->generation = generation;
	h->blocknr = slot;
	h->reserved = 0;
	h->csum = block_csum(b.data(), b.size());
}

} // namespace

Status write(Device &dev, Pool &pool, bool clear_needs_check)
{
	for (const auto &tier : pool.tiers)
		if (tier.rmap.size() != tier.nr_extents || tier.cur_slot.size() != tier.area_blocks)
			return make_error(dev.path() + ": the pool was loaded without its reverse maps; "
					  "it cannot be written", EINVAL);
	if (pool.records.size() != DMT_MAX_VOLUMES || pool.vol_cur_slot.size() != pool.sb.vol_area_blocks)
		return make_error(dev.path() + ": the pool's volume records are incomplete; it cannot be written",
				  EINVAL);
	uint64_t gen = pool.generation + 1;
	Block b;
	for (uint64_t i = 0; i < pool.sb.vol_area_blocks; i++) {
		b.fill(0);
		auto *rec = reinterpret_cast<dmt_volume_record *>(b.data() + sizeof(dmt_block_header));
		for (unsigned k = 0; k < DMT_VOLS_PER_BLOCK && i * DMT_VOLS_PER_BLOCK + k < DMT_MAX_VOLUMES; k++)
			rec[k] = pool.records[i * DMT_VOLS_PER_BLOCK + k];
		uint64_t slot = vol_area_start(pool) + 2 * i + !pool.vol_cur_slot[i];
		seal(b, DMT_BT_VOLUMES, gen, slot);
		if (auto st = dev.write(slot, 1, b.data()); !st)
			return st;
	}
	for (auto &tier : pool.tiers) {
		for (uint64_t j = 0; j < tier.area_blocks; j++) {
			b.fill(0);
			auto *e = reinterpret_cast<uint64_t *>(b.data() + sizeof(dmt_block_header));
			for (uint64_t k = 0; k < DMT_RMAP_PER_BLOCK && j * DMT_RMAP_PER_BLOCK + k < tier.nr_extents; k++)
				e[k] = tier.rmap[j * DMT_RMAP_PER_BLOCK + k];
			uint64_t slot = tier.area_start + 2 * j + !tier.cur_slot[j];
			seal(b, DMT_BT_RMAP, gen, slot);
			if (auto st = dev.write(slot, 1, b.data()); !st)
				return st;
		}
	}
	if (auto st = dev.sync(); !st)
		return st;
	b.fill(0);
	dmt_superblock sb = pool.sb;
	sb.generation = gen;
	if (clear_needs_check)
		sb.flags &= ~DMT_SB_NEEDS_CHECK;
	memcpy(b.data(), &sb, sizeof(sb));
	auto *bsb = reinterpret_cast<dmt_superblock *>(b.data());
	bsb->csum = block_csum(b.data(), b.size());
	if (auto st = dev.write(gen & 1, 1, b.data()); !st)
		return st;
	if (auto st = dev.sync(); !st)
		return st;
	pool.sb = *bsb;
	pool.generation = gen;
	pool.sb_slot = gen & 1;
	for (auto &c : pool.vol_cur_slot)
		c = !c;
	for (auto &tier : pool.tiers)
		for (auto &c : tier.cur_slot)
			c = !c;
	return {};
}

Result<Pool> format(Device &dev, uint64_t extent_sectors, const std::vector<uint64_t> &tier_sectors)
{
	if (tier_sectors.empty() || tier_sectors.size() > DMT_MAX_TIERS)
		return make_error("1 to 8 tiers", EINVAL);
	Pool pool;
	pool.dev_blocks = dev.blocks();
	auto &sb = pool.sb;
	sb.type = DMT_BT_SUPER;
	sb.magic = DMT_SB_MAGIC;
	sb.version = DMT_FORMAT_VERSION;
	std::random_device rd;
	for (auto &c : sb.uuid)
		c = rd();
	sb.extent_sectors = extent_sectors;
	sb.max_volumes = DMT_MAX_VOLUMES;
	sb.vol_area_start = 2;
	sb.vol_area_blocks = DMT_VOL_BLOCKS;
	sb.meta_dev_blocks = pool.dev_blocks;
	for (size_t t = 0; t < tier_sectors.size(); t++) {
		uint64_t nr = tier_sectors[t] > DMT_TIER_DATA_OFFSET ?
			      (tier_sectors[t] - DMT_TIER_DATA_OFFSET) / extent_sectors : 0;
		if (!nr)
			return make_error("tier " + std::to_string(t) + " too small for one extent", EINVAL);
		sb.nr_tiers = t;
		auto &r = sb.tiers[t];
		for (auto &c : r.uuid)
			c = rd();
		r.nr_extents = nr;
		r.area_start = layout_end(sb);
		r.area_blocks = (nr + DMT_RMAP_PER_BLOCK - 1) / DMT_RMAP_PER_BLOCK;
		r.dev_sectors = tier_sectors[t];
		sb.nr_tiers = t + 1;
		Tier tier;
		memcpy(tier.uuid.data(), r.uuid, 16);
		tier.nr_extents = nr;
		tier.area_start = r.area_start;
		tier.area_blocks = r.area_blocks;
		tier.dev_sectors = r.dev_sectors;
		tier.rmap.assign(nr, 0);
		tier.cur_slot.assign(r.area_blocks, 1);	// first write goes to slot 0
		pool.tiers.push_back(std::move(tier));
	}
	sb.meta_blocks_used = layout_end(sb);
	if (sb.meta_blocks_used > pool.dev_blocks)
		return make_error("metadata device too small", ENOSPC);
	pool.records.assign(DMT_MAX_VOLUMES, dmt_volume_record{});
	pool.vol_cur_slot.assign(DMT_VOL_BLOCKS, 1);
	pool.generation = 0;
	if (auto st = write(dev, pool, false); !st)
		return make_error(st.error(), st.code());
	return pool;
}

} // namespace dmtier::md
