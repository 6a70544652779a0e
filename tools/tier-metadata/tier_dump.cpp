// SPDX-License-Identifier: GPL-2.0
// tier_dump: print a dm-tier pool's metadata readably.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "metadata/metadata.h"

using namespace dmtier::md;

static const char *policy_name(uint32_t p)
{
	static const char *names[] = {"balanced", "performance-optimized", "cost-optimized", "striped"};
	return p < DMT_NR_POLICIES ? names[p] : "?";
}

static std::string hex(const uint8_t *u, size_t n)
{
	std::string s;
	char b[3];
	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%02x", u[i]);
		s += b;
	}
	return s;
}

int main(int argc, char **argv)
{
	bool mappings = false;
	std::string path;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "-h" || a == "--help") {
			printf("usage: tier_dump [--mappings] METADATA_DEV\n\n"
			       "Prints the superblock, tiers and volume records of a deactivated pool;\n"
			       "--mappings adds one line per mapped extent:\n"
			       "  map <tier> <physical extent> <volume> <virtual extent> [pinned]\n");
			return 0;
		}
		if (a == "--mappings")
			mappings = true;
		else if (a[0] != '-' && path.empty())
			path = a;
		else {
			fprintf(stderr, "usage: tier_dump [--mappings] METADATA_DEV\n");
			return 2;
		}
	}
	if (path.empty()) {
		fprintf(stderr, "usage: tier_dump [--mappings] METADATA_DEV\n");
		return 2;
	}
	auto dev = Device::open(path, false);
	if (!dev) {
		fprintf(stderr, "tier_dump: %s\n", dev.error().c_str());
		return 2;
	}
	std::vector<Problem> problems;
	auto pool = load(*dev, problems);
	if (!pool) {
		fprintf(stderr, "tier_dump: %s\n", pool.error().c_str());
		return 2;
	}
	const auto &sb = pool->sb;
	printf("pool %s version %u generation %" PRIu64 " superblock-slot %u%s\n",
	       hex(sb.uuid, 16).c_str(), sb.version, pool->generation, pool->sb_slot,
	       pool->needs_check() ? " needs_check" : "");
	printf("extent_sectors %" PRIu64 " metadata_blocks %" PRIu64 "/%" PRIu64 "\n",
	       (uint64_t)sb.extent_sectors, (uint64_t)sb.meta_blocks_used, pool->dev_blocks);
	for (size_t t = 0; t < pool->tiers.size(); t++) {
		const auto &tier = pool->tiers[t];
		uint64_t used = 0;
		for (auto e : tier.rmap)
			used += e != DMT_RMAP_FREE;
		printf("tier %zu uuid %s extents %" PRIu64 "/%" PRIu64 " device_sectors %" PRIu64
		       " rmap_area %" PRIu64 "+%" PRIu64 "\n", t, hex(tier.uuid.data(), 16).c_str(), used,
		       tier.nr_extents, tier.dev_sectors, tier.area_start, 2 * tier.area_blocks);
	}
	for (size_t s = 0; s < pool->records.size(); s++) {
		const auto &r = pool->records[s];
		if (!(r.flags & DMT_VOL_IN_USE))
			continue;
		printf("volume %u slot %zu tiering_enabled=%d tiering_policy=%s prediction_model=%.*s", r.id, s,
		       !!(r.flags & DMT_VOL_TIERING_ENABLED), policy_name(r.policy), DMT_MODEL_LEN,
		       r.prediction_model);
		for (const auto &l : r.labels)
			if (l.key[0])
				printf(" %.*s=%.*s", DMT_LABEL_KEY_LEN, l.key, DMT_LABEL_VALUE_LEN, l.value);
		printf("\n");
	}
	if (mappings)
		for (size_t t = 0; t < pool->tiers.size(); t++)
			for (uint64_t p = 0; p < pool->tiers[t].nr_extents; p++) {
				uint64_t e = pool->tiers[t].rmap[p];
				if (e != DMT_RMAP_FREE)
					printf("map %zu %" PRIu64 " %u %" PRIu64 "%s\n", t, p, dmt_rmap_volume(e),
					       (uint64_t)dmt_rmap_vext(e), dmt_rmap_pinned(e) ? " pinned" : "");
			}
	for (auto &p : problems)
		printf("problem %s\n", p.what.c_str());
	return 0;
}
