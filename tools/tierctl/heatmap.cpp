// SPDX-License-Identifier: GPL-2.0
#include "heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace dmtier::tierctl {

using json = nlohmann::json;

namespace {

// Tier colours: ANSI foreground codes and SVG / gnuplot colours.
const int kAnsi[] = {31, 33, 34, 35, 36, 32, 37, 91};
const char *kRgb[] = {"#d62728", "#ff7f0e", "#1f77b4", "#9467bd", "#17becf", "#2ca02c", "#8c564b", "#e377c2"};

std::string tier_name(const HeatMap &m, int t)
{
	std::string n = "tier " + std::to_string(t);
	if (t >= 0 && size_t(t) < m.tier_names.size() && !m.tier_names[t].empty())
		n += " (" + m.tier_names[t] + ")";
	return n;
}

std::string fmt(const char *f, double v)
{
	char b[64];
	snprintf(b, sizeof(b), f, v);
	return b;
}

std::string xml_escape(const std::string &s)
{
	std::string o;
	for (char c : s) {
		switch (c) {
		case '<': o += "&lt;"; break;
		case '>': o += "&gt;"; break;
		case '&': o += "&amp;"; break;
		case '"': o += "&quot;"; break;
		default: o += c;
		}
	}
	return o;
}

std::string heat_unit(const HeatMap &m)
{
	return m.source == "tierd" ? "tierd's score (decayed heat + predicted accesses)"
				   : "the kernel's decayed reads + writes";
}

// Grid geometry for n cells in at most `cols` columns.
unsigned grid_cols(std::size_t n, unsigned cols) { return unsigned(std::max<std::size_t>(1, std::min<std::size_t>(n, cols))); }

struct Summary {
	std::vector<std::uint64_t> per_tier;
	std::uint64_t mapped = 0, pinned = 0, migrating = 0;
};

Summary summarize(const HeatMap &m)
{
	Summary s;
	s.per_tier.assign(m.nr_tiers, 0);
	for (auto &c : m.extents) {
		if (c.tier < 0)
			continue;
		s.mapped++;
		if (size_t(c.tier) >= s.per_tier.size())
			s.per_tier.resize(c.tier + 1, 0);
		s.per_tier[c.tier]++;
		s.pinned += c.pinned;
		s.migrating += c.migrating;
	}
	return s;
}

} // namespace

std::string human_bytes(std::uint64_t b)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = double(b);
	int i = 0;
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	char buf[32];
	if (v == std::floor(v))
		snprintf(buf, sizeof(buf), "%.0f %s", v, u[i]);
	else
		snprintf(buf, sizeof(buf), "%.1f %s", v, u[i]);
	return buf;
}

HeatMap heat_from_kernel(const std::vector<dm_tier_heat_entry> &entries, std::uint64_t nr_extents)
{
	HeatMap m;
	m.source = "kernel";
	m.extents.resize(nr_extents);
	for (auto &e : entries) {
		if (e.extent >= nr_extents)
			continue;
		HeatCell &c = m.extents[e.extent];
		c.tier = e.tier;
		c.heat = double(e.reads) + double(e.writes);
		c.pinned = e.flags & DM_TIER_HEAT_PINNED;
		c.migrating = e.flags & DM_TIER_HEAT_MIGRATING;
		c.prefetched = e.flags & DM_TIER_HEAT_PREFETCHED;
		m.nr_tiers = std::max(m.nr_tiers, unsigned(e.tier) + 1);
	}
	return m;
}

Result<HeatMap> heat_from_tierd(const json &j, std::uint64_t nr_extents)
{
	HeatMap m;
	m.source = "tierd";
	try {
		m.pool = j.value("pool", "");
		m.volume = j.value("volume", 0u);
		m.extent_bytes = j.value("extent_bytes", std::uint64_t(0));
		m.extents.resize(nr_extents);
		for (auto &e : j.at("extents")) {
			std::uint64_t x = e.at("extent").get<std::uint64_t>();
			if (x >= nr_extents)
				continue;
			HeatCell &c = m.extents[x];
			c.tier = e.at("tier").is_null() ? -1 : e.at("tier").get<int>();
			if (c.tier < -1 || c.tier > 7)
				return make_error("tierd's heat map has tier " + std::to_string(c.tier), EPROTO);
			c.heat = e.value("score", 0.0);
			c.pinned = e.value("pinned", false);
			c.migrating = e.value("migrating", false);
			if (c.tier >= 0)
				m.nr_tiers = std::max(m.nr_tiers, unsigned(c.tier) + 1);
		}
	} catch (const json::exception &e) {
		return make_error(std::string("unexpected heat map from tierd: ") + e.what(), EPROTO);
	}
	return m;
}

int heat_level(double heat)
{
	if (!(heat > 0))
		return 0;
	if (heat <= 1)
		return 1;
	int l = 1 + int(std::ceil(std::log2(heat)));
	return std::min(l, kHeatLevels - 1);
}

char heat_glyph(int level)
{
	static const char g[] = ".:-=+*#%@";
	return g[std::clamp(level, 0, kHeatLevels - 1)];
}

std::vector<HeatCell> bucket(const std::vector<HeatCell> &extents, std::size_t max_cells, std::uint64_t *per_cell)
{
	max_cells = std::max<std::size_t>(max_cells, 1);
	std::uint64_t k = (extents.size() + max_cells - 1) / max_cells;
	k = std::max<std::uint64_t>(k, 1);
	*per_cell = k;
	if (k == 1)
		return extents;
	std::vector<HeatCell> out;
	for (std::size_t b = 0; b < extents.size(); b += k) {
		HeatCell c;
		int count[8] = {};
		for (std::size_t i = b; i < std::min<std::size_t>(b + k, extents.size()); i++) {
			const HeatCell &e = extents[i];
			if (e.tier < 0)
				continue;
			count[std::min(e.tier, 7)]++;
			c.heat = std::max(c.heat, e.heat);
			c.pinned |= e.pinned;
			c.migrating |= e.migrating;
			c.prefetched |= e.prefetched;
		}
		int best = -1;
		for (int t = 0; t < 8; t++)
			if (count[t] && (best < 0 || count[t] > count[best]))
				best = t;
		c.tier = best;
		out.push_back(c);
	}
	return out;
}

std::string render_terminal(const HeatMap &m, const TermOptions &o)
{
	std::ostringstream out;
	Summary s = summarize(m);
	std::uint64_t n = m.extents.size();
	out << "volume " << m.volume << " of " << m.pool << ": " << n << " extents of " << human_bytes(m.extent_bytes)
	    << ", " << s.mapped << " mapped";
	for (size_t t = 0; t < s.per_tier.size(); t++)
		out << (t ? ", " : " (") << tier_name(m, int(t)) << ": " << s.per_tier[t] << (t + 1 == s.per_tier.size() ? ")" : "");
	out << "\nheat: " << heat_unit(m) << (m.source == "kernel" ? " (tierd not used)" : "") << "\n";

	// Each row: the first extent's number (8 wide), then the cells; in
	// plain mode also the cells' tiers.
	unsigned label = 9;
	unsigned avail = o.columns > label + 8 ? o.columns - label : 8;
	unsigned cols = o.color ? std::min(avail, 128u) : std::min((avail - 2) / 2, 64u);
	cols = std::max(cols, 8u);
	while (cols & (cols - 1))	// a power of two: rows start at round extent numbers
		cols &= cols - 1;
	std::uint64_t per = 1;
	auto cells = bucket(m.extents, std::size_t(cols) * std::max(o.max_rows, 1u), &per);
	cols = grid_cols(cells.size(), cols);
	if (per > 1)
		out << "each cell: " << per << " extents (hottest heat, most common tier)\n";
	for (std::size_t r = 0; r * cols < cells.size(); r++) {
		char lb[32];
		snprintf(lb, sizeof(lb), "%8llu ", (unsigned long long)(r * cols * per));
		out << lb;
		std::string tiers;
		for (std::size_t i = r * cols; i < std::min<std::size_t>((r + 1) * cols, cells.size()); i++) {
			const HeatCell &c = cells[i];
			char g = c.tier < 0 ? ' ' : heat_glyph(heat_level(c.heat));
			if (o.color && c.tier >= 0)
				out << "\033[" << (c.pinned ? "4;" : "") << kAnsi[c.tier & 7] << "m" << g << "\033[0m";
			else
				out << g;
			tiers += c.tier < 0 ? '-' : char('0' + c.tier);
		}
		if (!o.color)
			out << std::string(cols - (std::min<std::size_t>((r + 1) * cols, cells.size()) - r * cols), ' ') << "  "
			    << tiers;
		out << "\n";
	}
	out << "scale:";
	for (int l = 0; l < kHeatLevels; l++) {
		std::string range = l == 0 ? "0" : l == 1 ? "<=1" : l == kHeatLevels - 1 ? ">" + std::to_string(1 << (l - 2))
										   : "<=" + std::to_string(1 << (l - 1));
		out << " " << heat_glyph(l) << " " << range;
	}
	out << "; blank: unmapped\n";
	if (o.color) {
		out << "tiers:";
		for (unsigned t = 0; t < std::max<unsigned>(m.nr_tiers, 1); t++)
			out << " \033[" << kAnsi[t & 7] << "m" << tier_name(m, int(t)) << "\033[0m";
		out << "; underlined: pinned\n";
	} else {
		out << "right: the tier of each cell ('-' unmapped)\n";
	}
	if (s.pinned || s.migrating)
		out << s.pinned << " pinned, " << s.migrating << " migrating\n";
	// The hottest extents.
	std::vector<std::uint64_t> idx;
	for (std::uint64_t i = 0; i < n; i++)
		if (m.extents[i].tier >= 0 && m.extents[i].heat > 0)
			idx.push_back(i);
	std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return m.extents[a].heat > m.extents[b].heat; });
	if (!idx.empty()) {
		out << "hottest:";
		for (size_t i = 0; i < std::min<size_t>(idx.size(), 5); i++)
			out << (i ? "," : "") << " extent " << idx[i] << " (tier " << m.extents[idx[i]].tier << ", "
			    << fmt("%g", m.extents[idx[i]].heat) << ")";
		out << "\n";
	} else {
		out << "no heat\n";
	}
	return out.str();
}

std::string render_svg(const HeatMap &m)
{
	const unsigned cell = 10, cols_max = 64, left = 70, top = 50;
	std::uint64_t per = 1;
	auto cells = bucket(m.extents, std::size_t(cols_max) * 256, &per);
	unsigned cols = grid_cols(cells.size(), cols_max);
	unsigned rows = unsigned((cells.size() + cols - 1) / cols);
	unsigned legend_y = top + rows * cell + 25;
	unsigned w = std::max(left + cols * cell + 20, 560u);
	unsigned h = legend_y + 20 * (std::max<unsigned>(m.nr_tiers, 1) + 2) + 10;
	std::ostringstream o;
	o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	  << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
	  << " " << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
	  << "<title>" << xml_escape("heat map of volume " + std::to_string(m.volume) + " of " + m.pool) << "</title>\n"
	  << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
	  << "<text x=\"10\" y=\"20\" font-size=\"15\">"
	  << xml_escape("volume " + std::to_string(m.volume) + " of " + m.pool + ": " + std::to_string(m.extents.size()) +
			" extents of " + human_bytes(m.extent_bytes))
	  << "</text>\n<text x=\"10\" y=\"38\">"
	  << xml_escape("heat: " + heat_unit(m) + (per > 1 ? "; each cell " + std::to_string(per) + " extents" : ""))
	  << "</text>\n";
	for (std::size_t i = 0; i < cells.size(); i++) {
		const HeatCell &c = cells[i];
		unsigned x = left + unsigned(i % cols) * cell, y = top + unsigned(i / cols) * cell;
		if (i % cols == 0)
			o << "<text x=\"" << left - 6 << "\" y=\"" << y + cell - 1 << "\" font-size=\"9\" text-anchor=\"end\">"
			  << (i * per) << "</text>\n";
		std::uint64_t first = i * per;
		std::string tip = per > 1 ? "extents " + std::to_string(first) + "-" + std::to_string(first + per - 1)
					  : "extent " + std::to_string(first);
		if (c.tier < 0) {
			o << "<rect class=\"unmapped\" x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\""
			  << cell << "\" fill=\"#eeeeee\" stroke=\"#ffffff\" stroke-width=\"0.5\"><title>" << tip
			  << ": unmapped</title></rect>\n";
			continue;
		}
		int l = heat_level(c.heat);
		o << "<rect class=\"tier" << c.tier << "\" x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell
		  << "\" height=\"" << cell << "\" fill=\"" << kRgb[c.tier & 7] << "\" fill-opacity=\""
		  << fmt("%.2f", 0.15 + 0.85 * l / (kHeatLevels - 1)) << "\" stroke=\"" << (c.pinned ? "#000000" : "#ffffff")
		  << "\" stroke-width=\"" << (c.pinned ? "1" : "0.5") << "\"><title>" << tip << ": tier " << c.tier << ", heat "
		  << fmt("%g", c.heat) << (c.pinned ? ", pinned" : "") << (c.migrating ? ", migrating" : "")
		  << "</title></rect>\n";
	}
	unsigned y = legend_y;
	for (unsigned t = 0; t < std::max<unsigned>(m.nr_tiers, 1); t++, y += 20)
		o << "<rect x=\"10\" y=\"" << y - 10 << "\" width=\"12\" height=\"12\" fill=\"" << kRgb[t & 7]
		  << "\"/><text x=\"28\" y=\"" << y << "\">" << xml_escape(tier_name(m, int(t))) << "</text>\n";
	o << "<rect x=\"10\" y=\"" << y - 10 << "\" width=\"12\" height=\"12\" fill=\"#eeeeee\"/><text x=\"28\" y=\"" << y
	  << "\">unmapped; black outline: pinned</text>\n";
	y += 20;
	o << "<text x=\"10\" y=\"" << y << "\">heat (opacity, log2):</text>\n";
	for (int l = 0; l < kHeatLevels; l++)
		o << "<rect x=\"" << 150 + l * 34 << "\" y=\"" << y - 10 << "\" width=\"12\" height=\"12\" fill=\"#444444\" fill-opacity=\""
		  << fmt("%.2f", 0.15 + 0.85 * l / (kHeatLevels - 1)) << "\"/><text x=\"" << 164 + l * 34 << "\" y=\"" << y
		  << "\" font-size=\"9\">" << (l == 0 ? "0" : l == kHeatLevels - 1 ? ">64" : std::to_string(1 << (l - 1)))
		  << "</text>\n";
	o << "</svg>\n";
	return o.str();
}

std::string gnuplot_script(const HeatMap &m, const std::string &png)
{
	const unsigned cols_max = 64;
	std::uint64_t per = 1;
	auto cells = bucket(m.extents, std::size_t(cols_max) * 512, &per);
	unsigned cols = grid_cols(cells.size(), cols_max);
	unsigned rows = unsigned((cells.size() + cols - 1) / cols);
	auto quote = [](const std::string &s) {
		std::string o = "'";
		for (char c : s)
			o += c == '\'' ? std::string("''") : std::string(1, c);
		return o + "'";
	};
	std::ostringstream o;
	auto block = [&](const char *name, auto value) {
		o << "$" << name << " << EOD\n";
		for (unsigned r = 0; r < rows; r++) {
			for (unsigned c = 0; c < cols; c++) {
				std::size_t i = std::size_t(r) * cols + c;
				o << (c ? " " : "") << (i < cells.size() ? value(cells[i]) : -1);
			}
			o << "\n";
		}
		o << "EOD\n";
	};
	block("heat", [](const HeatCell &c) { return c.tier < 0 ? -1 : heat_level(c.heat); });
	block("tier", [](const HeatCell &c) { return c.tier; });
	unsigned height = std::min(200 + rows * 2 * 12, 4000u);
	o << "set terminal pngcairo size 900," << height << "\n"
	  << "set output " << quote(png) << "\n"
	  << "set multiplot layout 2,1 title "
	  << quote("volume " + std::to_string(m.volume) + " of " + m.pool + ": " + std::to_string(m.extents.size()) +
		   " extents of " + human_bytes(m.extent_bytes) + (per > 1 ? ", " + std::to_string(per) + " per cell" : ""))
	  << "\n"
	  << "unset key\nset size ratio -1\nset xrange [-0.5:" << cols - 0.5 << "]\nset yrange [" << rows - 0.5
	  << ":-0.5]\nset ylabel 'row (" << cols * per << " extents)'\n"
	  << "set title " << quote("heat: " + heat_unit(m) + ", log2 levels (-1 unmapped)") << "\n"
	  << "set cbrange [-1:" << kHeatLevels - 1 << "]\nset cbtics 1\n"
	  << "set palette defined (-1 '#eeeeee', -0.01 '#eeeeee', 0 '#fff5eb', 4 '#fd8d3c', 8 '#7f2704')\n"
	  << "plot $heat matrix with image\n"
	  << "set title 'tier (-1 unmapped)'\n"
	  << "set cbrange [-1:" << std::max<unsigned>(m.nr_tiers, 1) - 1 << "]\n"
	  << "set palette maxcolors " << std::max<unsigned>(m.nr_tiers, 1) + 1 << "\n"
	  << "set palette defined (-1 '#eeeeee'";
	for (unsigned t = 0; t < std::max<unsigned>(m.nr_tiers, 1); t++)
		o << ", " << t << " '" << kRgb[t & 7] << "'";
	o << ")\nplot $tier matrix with image\nunset multiplot\nset output\n";
	return o.str();
}

json heat_json(const HeatMap &m)
{
	Summary s = summarize(m);
	json ext = json::array();
	for (std::uint64_t i = 0; i < m.extents.size(); i++) {
		const HeatCell &c = m.extents[i];
		if (c.tier < 0)
			continue;
		ext.push_back({{"extent", i},
			       {"tier", c.tier},
			       {"heat", c.heat},
			       {"pinned", c.pinned},
			       {"migrating", c.migrating}});
	}
	return {{"pool", m.pool},
		{"volume", m.volume},
		{"source", m.source},
		{"heat_unit", m.source == "tierd" ? "score" : "decayed_reads_writes"},
		{"extent_bytes", m.extent_bytes},
		{"nr_extents", m.extents.size()},
		{"mapped_per_tier", s.per_tier},
		{"extents", ext}};
}

} // namespace dmtier::tierctl
