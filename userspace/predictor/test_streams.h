// SPDX-License-Identifier: GPL-2.0
// Synthetic access streams for predictor tests.
#pragma once

#include <functional>
#include <vector>

#include "predictor/predictor.h"

namespace dmtier::predictor::testing {

inline std::vector<Access> stream_of(const std::vector<Extent> &extents,
				     std::uint64_t gap_ns = 1000000)
{
	std::vector<Access> s;
	for (std::size_t i = 0; i < extents.size(); ++i)
		s.push_back({i * gap_ns, extents[i], Op::read, 4096});
	return s;
}

// Fraction of accesses in [from, end) that were in the predictor's top-k
// just before they happened.
inline double hit_rate(Predictor &p, const std::vector<Access> &s, std::size_t k,
		       std::size_t from)
{
	std::vector<Prediction> pred;
	std::size_t hits = 0, n = 0;
	for (std::size_t i = 0; i < s.size(); ++i) {
		if (i >= from) {
			p.predict(k, &pred);
			++n;
			for (const auto &x : pred)
				if (x.extent == s[i].extent) {
					++hits;
					break;
				}
		}
		p.observe(s[i]);
	}
	return n ? static_cast<double>(hits) / n : 0;
}

// A repeating cycle of extents (visiting each once per period).
inline std::vector<Extent> periodic(const std::vector<Extent> &cycle, std::size_t n)
{
	std::vector<Extent> v;
	for (std::size_t i = 0; i < n; ++i)
		v.push_back(cycle[i % cycle.size()]);
	return v;
}

// Deterministic pseudo-random extents in [0, range).
inline std::vector<Extent> random_extents(std::size_t n, Extent range, std::uint64_t seed = 7)
{
	std::vector<Extent> v;
	for (std::size_t i = 0; i < n; ++i) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		v.push_back(static_cast<Extent>((seed >> 33) % static_cast<std::uint64_t>(range)));
	}
	return v;
}

} // namespace dmtier::predictor::testing
