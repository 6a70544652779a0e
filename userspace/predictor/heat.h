// SPDX-License-Identifier: GPL-2.0
// Heat forecast: per-extent predicted access frequency for the next window,
// as a score in [0, 1], from exponentially decayed access counts plus the
// probability mass a predictor puts on the extent. The volume's heat map.
//
// The clock is whatever the caller counts in (nanoseconds, or accesses for
// traces without time); the half-life and window are in the same unit.
#pragma once

#include <unordered_map>
#include <utility>
#include <vector>

#include "predictor/predictor.h"

namespace dmtier::predictor {

class HeatForecast {
public:
	struct Config {
		double half_life = 60e9; // decay of past accesses
		double window = 10e9;    // forecast horizon
		double reference = 1.0;  // expected accesses that score 0.5
	};
	HeatForecast() : HeatForecast(Config{}) {}
	explicit HeatForecast(Config c);

	void touch(Extent e, double now);
	// Adds predicted probability mass (decays like an access).
	void forecast(const std::vector<Prediction> &p, double now);
	// Expected accesses to e within the next window.
	double expected(Extent e, double now) const;
	// Heat score in [0, 1): expected / (expected + reference).
	double score(Extent e, double now) const;
	// The n hottest extents, hottest first.
	std::vector<std::pair<Extent, double>> hottest(std::size_t n, double now) const;
	// Forgets extents whose expected accesses fell below min.
	void prune(double now, double min);
	std::size_t size() const { return heat_.size(); }

private:
	struct Cell {
		double count = 0;    // decayed accesses at time `at`
		double forecast = 0; // decayed predicted mass at time `at`
		double at = 0;
	};
	double decay(double from, double now) const;

	Config cfg_;
	double lambda_; // ln 2 / half-life
	std::unordered_map<Extent, Cell> heat_;
};

} // namespace dmtier::predictor
