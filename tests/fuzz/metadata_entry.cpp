// SPDX-License-Identifier: GPL-2.0
// Fuzz entry for userspace/metadata (tier_check, tier_dump, tier_repair and
// boot activation parse pool metadata with it).
//
// Input: a sparse metadata image.
//   byte 0      flags: 1 fix each written block's checksum, 2 also set its
//               header's block number (blocks >= 2), 4 load without reverse
//               maps, 8 repair, write and load again
//   bytes 1-2   device size: 2 + (u16 % 1023) blocks of 4 KiB
//   then chunks u16 block (modulo the size), u16 length (at most 4096),
//               that many bytes written at the block's start
// Everything not written reads as zeros.  Without flag 1 almost every
// block fails its checksum, so most seeds set it.
//
// Rules: load() either fails with a message or gives a pool; check() and
// repair() run on it; a repaired pool written back must load again and
// check clean.
#include <cstring>
#include <set>
#include <vector>

#include "fuzz_util.h"
#include "metadata/metadata.h"

namespace dmtier::fuzz {

int metadata(const std::uint8_t *data, std::size_t size)
{
	using namespace dmtier::md;
	Input in(data, size);
	if (size < 3)
		return 0;
	std::uint8_t flags = in.u8();
	std::uint64_t nblocks = 2 + in.u16() % 1023;
	MemFile f("fuzz-metadata");
	if (ftruncate(f.fd(), off_t(nblocks * DMT_BLOCK_SIZE)) < 0)
		fail("metadata", "ftruncate failed");
	std::set<std::uint64_t> touched;
	while (in.left() >= 4) {
		std::uint64_t block = in.u16() % nblocks;
		std::size_t len = in.u16() % (DMT_BLOCK_SIZE + 1);
		const std::uint8_t *p = in.take(&len);
		f.write_all(p, len, block * DMT_BLOCK_SIZE);
		touched.insert(block);
	}
	if (flags & 1) {
		std::vector<std::uint8_t> b(DMT_BLOCK_SIZE);
		for (std::uint64_t block : touched) {
			if (pread(f.fd(), b.data(), b.size(), off_t(block * DMT_BLOCK_SIZE)) != DMT_BLOCK_SIZE)
				fail("metadata", "pread failed");
			if ((flags & 2) && block >= 2) {
				std::uint64_t nr = block;
				std::memcpy(b.data() + offsetof(dmt_block_header, blocknr), &nr, sizeof(nr));
			}
			std::uint32_t csum = block_csum(b.data(), b.size());
			std::memcpy(b.data(), &csum, sizeof(csum));
			f.write_all(b.data(), b.size(), block * DMT_BLOCK_SIZE);
		}
	}

	auto dev = Device::open(f.path(), true);
	if (!dev)
		fail("metadata", "cannot open the memfd");
	std::vector<Problem> problems;
	bool rmaps = !(flags & 4);
	auto pool = load(*dev, problems, rmaps);
	if (!pool) {
		if (pool.error().empty())
			fail("metadata", "load() failed without a message");
		return 0;
	}
	// What tier_dump reads of a loaded pool.
	for (std::size_t t = 0; t < pool->tiers.size(); t++)
		if (rmaps && pool->tiers[t].rmap.size() != pool->tiers[t].nr_extents)
			fail("metadata", "reverse map size differs from the tier's extents");
	auto found = check(*pool);
	(void)found;
	check_tier_label(*pool, *dev, 0);
	if (!(flags & 8) || !rmaps)
		return 0;

	repair(*pool);
	if (auto st = write(*dev, *pool, true); !st)
		return 0; // a write error is an error, not a crash
	std::vector<Problem> again;
	auto back = load(*dev, again, true);
	if (!back)
		fail("metadata", ("a repaired pool does not load: " + back.error()).c_str());
	for (const auto &p : check(*back))
		if (p.repairable)
			fail("metadata", ("a repaired pool still has a problem: " + p.what).c_str());
	if (back->needs_check())
		fail("metadata", "needs_check survived a repair");
	return 0;
}

} // namespace dmtier::fuzz
