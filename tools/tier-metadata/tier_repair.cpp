// SPDX-License-Identifier: GPL-2.0
// tier_repair: repair a dm-tier pool's metadata in place.
#include <cstdio>
#include <string>
#include <vector>

#include "metadata/metadata.h"

using namespace dmtier::md;

static int usage(FILE *f)
{
	fprintf(f,
		"usage: tier_repair [-n|--dry-run] METADATA_DEV\n"
		"\n"
		"Repairs a deactivated pool's metadata: blocks with no valid copy are\n"
		"rewritten empty (their mappings are lost: those extents read as zeros),\n"
		"mappings owned by no volume are freed, a virtual extent mapped twice keeps\n"
		"its copy on the fastest tier, invalid volume records are cleared.  The\n"
		"result is written as a new commit and needs_check is cleared.\n"
		"\n"
		"Exit status: 0 repaired or nothing to do, 1 cannot be repaired, 2 error.\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	bool dry = false;
	std::string path;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "-h" || a == "--help")
			return usage(stdout);
		if (a == "-n" || a == "--dry-run")
			dry = true;
		else if (a[0] != '-' && path.empty())
			path = a;
		else
			return usage(stderr);
	}
	if (path.empty())
		return usage(stderr);
	auto dev = Device::open(path, !dry);
	if (!dev) {
		fprintf(stderr, "tier_repair: %s\n", dev.error().c_str());
		return 2;
	}
	std::vector<Problem> problems;
	auto pool = load(*dev, problems);
	if (!pool) {
		fprintf(stderr, "tier_repair: cannot repair: %s\n", pool.error().c_str());
		return 1;
	}
	for (auto &p : problems)
		printf("%s: %s\n", p.repairable ? "rewriting" : "note", p.what.c_str());
	auto done = repair(*pool);
	for (auto &d : done)
		printf("%s\n", d.c_str());
	if (!check(*pool).empty()) {
		fprintf(stderr, "tier_repair: problems remain after repair\n");
		return 1;
	}
	if (dry) {
		printf("dry run: nothing written\n");
		return 0;
	}
	if (auto st = write(*dev, *pool, true); !st) {
		fprintf(stderr, "tier_repair: %s\n", st.error().c_str());
		return 2;
	}
	printf("%s: repaired, generation %llu\n", path.c_str(), (unsigned long long)pool->generation);
	return 0;
}
