// SPDX-License-Identifier: GPL-2.0
// tierctl heatmap: a volume's per-extent heat and tier, from tierd's heat
// map (GET /v1/pools/{pool}/volumes/{id}/heat) or from the kernel's
// (DM_TIER_CMD_DUMP_HEAT), rendered for a terminal, as SVG, or as a gnuplot
// script for PNG.  Pure functions: main.cpp fetches, these render.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <linux/dm-tier.h>
#include <nlohmann/json.hpp>

#include "common/result.h"

namespace dmtier::tierctl {

struct HeatCell {
	int tier = -1;		// -1: unmapped (or unknown to tierd)
	double heat = 0;	// kernel: decayed reads + writes; tierd: score
	bool pinned = false, migrating = false, prefetched = false;
};

struct HeatMap {
	std::string pool;
	std::uint32_t volume = 0;
	std::string source;		// "tierd" or "kernel"
	std::uint64_t extent_bytes = 0;
	unsigned nr_tiers = 0;
	std::vector<std::string> tier_names;	// optional, tier 0 first
	std::vector<HeatCell> extents;		// one per virtual extent of the volume
};

// From the kernel's dump (entries of mapped extents only).  Entries past
// nr_extents are ignored.
HeatMap heat_from_kernel(const std::vector<dm_tier_heat_entry> &entries, std::uint64_t nr_extents);
// From tierd's heat JSON (openapi.yaml); nr_extents from the volume's size.
[[nodiscard]] Result<HeatMap> heat_from_tierd(const nlohmann::json &j, std::uint64_t nr_extents);

// The heat scale, log2: 0 for no heat, 1 for (0, 1], 2 for (1, 2],
// 3 for (2, 4], ... 8 for above 64.
int heat_level(double heat);
inline constexpr int kHeatLevels = 9;
// Glyph of a level (' ' is unmapped): ". : - = + * # % @".
char heat_glyph(int level);

// At most max_cells cells, each covering per_cell consecutive extents: the
// cell's heat is the hottest, its tier the one most of its mapped extents
// are on (-1 when none is mapped), pinned / migrating if any is.
std::vector<HeatCell> bucket(const std::vector<HeatCell> &extents, std::size_t max_cells, std::uint64_t *per_cell);

struct TermOptions {
	unsigned columns = 80;	// terminal width
	unsigned max_rows = 32;	// grid rows at most (extents are bucketed beyond)
	bool color = false;	// ANSI colours: tier as colour; else a tier column
};
std::string render_terminal(const HeatMap &m, const TermOptions &o);
std::string render_svg(const HeatMap &m);
// A gnuplot script (data inline) that writes a PNG of heat and tier to png.
std::string gnuplot_script(const HeatMap &m, const std::string &png);
nlohmann::json heat_json(const HeatMap &m);

// "128 KiB", "1 MiB", "1.5 GiB"
std::string human_bytes(std::uint64_t b);

} // namespace dmtier::tierctl
