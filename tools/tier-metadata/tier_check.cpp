// SPDX-License-Identifier: GPL-2.0
// tier_check: validate a dm-tier pool's metadata offline.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "metadata/metadata.h"

using namespace dmtier::md;

static int usage(FILE *f)
{
	fprintf(f,
		"usage: tier_check [-q] [--tier DEV]... [--clear-needs-check-flag] METADATA_DEV\n"
		"\n"
		"Checks a deactivated dm-tier pool's metadata: checksums, layout, volume\n"
		"records, every virtual extent mapped at most once, every mapping owned by\n"
		"an existing volume; with --tier (in table order), each tier device's label.\n"
		"--clear-needs-check-flag clears the pool's needs_check flag if, and only if,\n"
		"the check passes.\n"
		"\n"
		"Exit status: 0 clean, 1 problems found, 2 cannot read or bad usage.\n");
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	bool quiet = false, clear = false;
	std::vector<std::string> tiers;
	std::string path;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "-h" || a == "--help")
			return usage(stdout);
		if (a == "-q" || a == "--quiet")
			quiet = true;
		else if (a == "--clear-needs-check-flag")
			clear = true;
		else if (a == "--tier" && i + 1 < argc)
			tiers.push_back(argv[++i]);
		else if (a[0] != '-' && path.empty())
			path = a;
		else
			return usage(stderr);
	}
	if (path.empty())
		return usage(stderr);

	auto dev = Device::open(path, clear);
	if (!dev) {
		fprintf(stderr, "tier_check: %s\n", dev.error().c_str());
		return 2;
	}
	std::vector<Problem> problems;
	auto pool = load(*dev, problems);
	if (!pool) {
		fprintf(stderr, "tier_check: %s\n", pool.error().c_str());
		return pool.code() == ENODATA || pool.code() == EILSEQ || pool.code() == EINVAL ? 1 : 2;
	}
	auto more = check(*pool);
	problems.insert(problems.end(), more.begin(), more.end());
	for (size_t t = 0; t < tiers.size(); t++) {
		auto d = Device::open(tiers[t], false);
		std::string why = d ? check_tier_label(*pool, *d, t) : d.error();
		if (!why.empty())
			problems.push_back({"tier " + std::to_string(t) + ": " + why, false});
	}
	if (tiers.size() && tiers.size() != pool->tiers.size())
		problems.push_back({"the pool has " + std::to_string(pool->tiers.size()) + " tiers, " +
				    std::to_string(tiers.size()) + " given", false});
	for (auto &p : problems)
		printf("%s%s\n", p.what.c_str(), p.repairable ? " (tier_repair can fix this)" : "");
	if (!quiet)
		printf("%s: generation %llu, %zu tiers, %u slots of an unfinished commit, "
		       "%u damaged slots%s: %s\n",
		       path.c_str(), (unsigned long long)pool->generation, pool->tiers.size(),
		       pool->stale_slots, pool->bad_slots, pool->needs_check() ? ", needs_check set" : "",
		       problems.empty() ? "clean" : "PROBLEMS FOUND");
	if (!problems.empty())
		return 1;
	if (clear && pool->needs_check()) {
		if (auto st = write(*dev, *pool, true); !st) {
			fprintf(stderr, "tier_check: clearing needs_check: %s\n", st.error().c_str());
			return 2;
		}
		if (!quiet)
			printf("needs_check cleared\n");
	}
	return 0;
}
