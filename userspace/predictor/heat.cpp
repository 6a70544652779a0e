// SPDX-License-Identifier: GPL-2.0
#include "predictor/heat.h"

#include <algorithm>
#include <cmath>

namespace dmtier::predictor {

HeatForecast::HeatForecast(Config c) : cfg_(c), lambda_(std::log(2.0) / c.half_life) {}

double HeatForecast::decay(double from, double now) const
{
	return now > from ? std::exp(-lambda_ * (now - from)) : 1.0;
}

void HeatForecast::touch(Extent e, double now)
{
	Cell &c = heat_[e];
	double d = decay(c.at, now);
	c.count = c.count * d + 1;
	c.forecast *= d;
	c.at = std::max(c.at, now);
}

void HeatForecast::forecast(const std::vector<Prediction> &p, double now)
{
	for (const auto &x : p) {
		Cell &c = heat_[x.extent];
		double d = decay(c.at, now);
		c.count *= d;
		// Predicted mass is a probability of the next access: cap at 1.
		c.forecast = std::min(1.0, c.forecast * d + x.probability);
		c.at = std::max(c.at, now);
	}
}

double HeatForecast::expected(Extent e, double now) const
{
	auto it = heat_.find(e);
	if (it == heat_.end())
		return 0;
	double d = decay(it->second.at, now);
	// A decayed count n approximates rate / lambda; over the window that is
	// n * lambda * window accesses. The forecast adds its own mass.
	return it->second.count * d * lambda_ * cfg_.window + it->second.forecast * d;
}

double HeatForecast::score(Extent e, double now) const
{
	double x = expected(e, now);
	return x / (x + cfg_.reference);
}

std::vector<std::pair<Extent, double>> HeatForecast::hottest(std::size_t n, double now) const
{
	std::vector<std::pair<Extent, double>> v;
	v.reserve(heat_.size());
	for (const auto &[e, c] : heat_)
		v.emplace_back(e, score(e, now));
	n = std::min(n, v.size());
	std::partial_sort(v.begin(), v.begin() + n, v.end(), [](auto &a, auto &b) {
		return a.second > b.second || (a.second == b.second && a.first < b.first);
	});
	v.resize(n);
	return v;
}

void HeatForecast::prune(double now, double min)
{
	std::erase_if(heat_, [&](const auto &kv) { return expected(kv.first, now) < min; });
}

} // namespace dmtier::predictor
