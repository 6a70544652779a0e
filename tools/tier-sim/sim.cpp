// SPDX-License-Identifier: GPL-2.0
#include "tier-sim/sim.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "predictor/predictor.h"
#include "tier-sim/policies.h"

namespace dmtier::tiersim {

namespace {

struct Prepared {
	std::vector<std::uint32_t> id;       // per access
	std::vector<predictor::Extent> extent; // per access: extent within its volume
	std::vector<std::uint32_t> bytes;    // per access: bytes of the record in the extent
	std::vector<std::uint32_t> record;   // per access
	std::vector<std::uint8_t> transition; // per access: a transition of its volume
	std::vector<double> arrival;         // per record, seconds
	std::vector<std::uint32_t> heat_bin; // per id
	Future future;
	std::size_t footprint = 0;
};

// Arrival times in seconds from the first record, non-decreasing; runs of
// equal timestamps (coarse clocks) are spread evenly up to the next one.
std::vector<double> arrivals(const trace::Trace &t, double speedup, double pace)
{
	std::vector<double> a(t.records.size());
	if (pace > 0) {
		for (std::size_t i = 0; i < a.size(); ++i)
			a[i] = static_cast<double>(i) / pace;
		return a;
	}
	std::uint64_t t0 = t.records.empty() ? 0 : t.records[0].time_ns, last = t0;
	for (std::size_t i = 0; i < a.size(); ++i) {
		last = std::max(last, t.records[i].time_ns);
		a[i] = static_cast<double>(last - t0) * 1e-9 / speedup;
	}
	for (std::size_t i = 0; i < a.size();) {
		std::size_t j = i;
		while (j < a.size() && a[j] == a[i])
			++j;
		if (j < a.size() && j - i > 1)
			for (std::size_t k = i; k < j; ++k)
				a[k] = a[i] + (a[j] - a[i]) * static_cast<double>(k - i) / (j - i);
		i = j;
	}
	return a;
}

Prepared prepare(const trace::Trace &t, const SimConfig &cfg, IdMap *ids)
{
	Prepared p;
	const std::uint64_t es = cfg.extent_size;
	std::vector<predictor::TransitionFilter> filters(t.volumes.size() + 1);
	p.future.transitions.resize(t.volumes.size() + 1);
	std::vector<std::uint64_t> keys;
	for (std::size_t r = 0; r < t.records.size(); ++r) {
		const auto &rec = t.records[r];
		std::uint64_t first = rec.offset / es;
		std::uint64_t end = rec.offset + std::max<std::uint32_t>(rec.length, 1);
		std::uint64_t last = (end - 1) / es;
		for (std::uint64_t e = first; e <= last; ++e) {
			std::uint64_t lo = std::max(rec.offset, e * es), hi = std::min(end, (e + 1) * es);
			std::uint64_t key = IdMap::key(rec.volume, static_cast<predictor::Extent>(e));
			std::size_t before = ids->size();
			std::uint32_t id = ids->get(key);
			if (ids->size() > before)
				keys.push_back(key);
			p.id.push_back(id);
			p.extent.push_back(static_cast<predictor::Extent>(e));
			p.bytes.push_back(rec.length ? static_cast<std::uint32_t>(hi - lo) : 0);
			p.record.push_back(static_cast<std::uint32_t>(r));
			bool tr = filters[rec.volume].accept(
				{rec.time_ns, static_cast<predictor::Extent>(e), rec.op, rec.length});
			p.transition.push_back(tr);
			if (tr)
				p.future.transitions[rec.volume].push_back(static_cast<predictor::Extent>(e));
		}
	}
	p.footprint = ids->size();
	p.arrival = arrivals(t, cfg.speedup, cfg.pace);
	// Oracle knowledge: next use of every access, first use of every id.
	p.future.time.resize(p.id.size());
	for (std::size_t i = 0; i < p.id.size(); ++i)
		p.future.time[i] = p.arrival[p.record[i]];
	p.future.next_use.assign(p.id.size(), UINT32_MAX);
	p.future.first_use.assign(p.footprint, UINT32_MAX);
	for (std::size_t i = p.id.size(); i-- > 0;) {
		std::uint32_t id = p.id[i];
		p.future.next_use[i] = p.future.first_use[id];
		p.future.first_use[id] = static_cast<std::uint32_t>(i);
	}
	// Heat-map bins by address rank (sparse address spaces stay visible).
	std::vector<std::uint32_t> order(p.footprint);
	for (std::uint32_t i = 0; i < order.size(); ++i)
		order[i] = i;
	std::sort(order.begin(), order.end(), [&](auto a, auto b) { return keys[a] < keys[b]; });
	p.heat_bin.resize(p.footprint);
	for (std::size_t rank = 0; rank < order.size(); ++rank)
		p.heat_bin[order[rank]] =
			static_cast<std::uint32_t>(rank * cfg.heat_bins / std::max<std::size_t>(1, order.size()));
	return p;
}

double percentile(std::vector<double> v, double q)
{
	if (v.empty())
		return 0;
	auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
	std::nth_element(v.begin(), v.begin() + k, v.end());
	return v[k];
}

} // namespace

Result<SimResult> simulate(const trace::Trace &t, const SimConfig &cfg)
{
	auto wall0 = std::chrono::steady_clock::now();
	if (t.records.empty())
		return make_error("trace has no records");
	if (cfg.extent_size == 0 || (cfg.extent_size & (cfg.extent_size - 1)))
		return make_error("extent size must be a power of two");
	IdMap ids;
	Prepared p = prepare(t, cfg, &ids);
	SimResult r;
	r.policy = cfg.policy;
	r.records = t.records.size();
	r.accesses = p.id.size();
	r.footprint_extents = p.footprint;
	r.tier0_extents = cfg.tier0_extents
				  ? cfg.tier0_extents
				  : std::max<std::uint64_t>(1, static_cast<std::uint64_t>(
								       cfg.tier0_fraction * p.footprint));
	Pool pool(cfg, r.tier0_extents);
	pool.grow(ids.size());
	PolicyContext ctx{cfg, pool, ids, p.future};
	auto policy = make_policy(cfg.policy, ctx);
	if (!policy)
		return std::move(policy).take_error();

	const std::size_t buckets = std::max<std::size_t>(1, cfg.timeline_buckets);
	const std::size_t per_bucket = (p.id.size() + buckets - 1) / buckets;
	r.heat.assign(buckets, std::vector<std::uint32_t>(cfg.heat_bins, 0));
	std::vector<double> latency(t.records.size(), 0);
	r.per_volume.resize(t.volumes.size() + 1);
	std::uint64_t bucket_hits = 0, bucket_n = 0, misses = 0;
	for (std::size_t i = 0; i < p.id.size(); ++i) {
		const std::uint32_t id = p.id[i];
		const std::uint32_t rec = p.record[i];
		const double now = p.arrival[rec];
		pool.grow(ids.size());
		pool.refill_budget();
		bool resident = pool.resident(id);
		bool hit = resident && pool.ready_at(id) <= now;
		if (resident && pool.prefetched(id)) {
			(hit ? r.prefetch_used : r.prefetch_late) += 1;
			pool.clear_prefetched(id);
		}
		r.hits += hit;
		misses += !hit;
		auto &pv = r.per_volume[t.records[rec].volume];
		++pv.accesses;
		pv.hits += hit;
		pv.transitions += p.transition[i];
		double done = pool.device(hit ? 0 : 1).serve(now, p.bytes[i]);
		latency[rec] = std::max(latency[rec], done - now);
		(*policy)->on_access(id, i, hit, now);
		if (p.transition[i]) {
			++r.transitions;
			const auto &tr = t.records[rec];
			predictor::Access a{tr.time_ns, p.extent[i], tr.op, tr.length};
			(*policy)->on_transition(tr.volume, a, now);
		}
		bucket_hits += hit;
		++bucket_n;
		std::size_t b = i / per_bucket;
		if (p.heat_bin.size() > id)
			++r.heat[b][p.heat_bin[id]];
		if (bucket_n == per_bucket || i + 1 == p.id.size()) {
			r.timeline.push_back({i + 1, static_cast<double>(bucket_hits) / bucket_n, now});
			bucket_hits = bucket_n = 0;
		}
	}
	r.heat.resize(r.timeline.size());

	const auto &c = pool.counters();
	r.hit_ratio = static_cast<double>(r.hits) / r.accesses;
	double sum = 0;
	for (double l : latency)
		sum += l;
	r.mean_latency_us = 1e6 * sum / latency.size();
	r.p99_latency_us = 1e6 * percentile(latency, 0.99);
	r.promotions = c.promotions;
	r.demotions = c.demotions;
	r.bytes_migrated = (c.promotions + c.demotions) * cfg.extent_size;
	r.budget_denied = c.budget_denied;
	r.prefetches = c.prefetches;
	r.prefetch_precision =
		c.prefetches ? static_cast<double>(r.prefetch_used + r.prefetch_late) / c.prefetches : 0;
	r.prefetch_coverage = r.prefetch_used + misses
				      ? static_cast<double>(r.prefetch_used) / (r.prefetch_used + misses)
				      : 0;
	r.prefetch_lateness = r.prefetch_used + r.prefetch_late
				      ? static_cast<double>(r.prefetch_late) /
						(r.prefetch_used + r.prefetch_late)
				      : 0;
	const double gb = 1e9;
	double foot_gb = static_cast<double>(p.footprint * cfg.extent_size) / gb;
	double t0_gb = static_cast<double>(r.tier0_extents * cfg.extent_size) / gb;
	r.cost_per_gb_month = (t0_gb * cfg.tier0.price_gb_month +
			       std::max(0.0, foot_gb - t0_gb) * cfg.tier1.price_gb_month) /
			      foot_gb;
	auto ps = (*policy)->stats();
	r.predictions = ps.predictions;
	r.predict_seconds = ps.predict_seconds;
	r.model_bytes_max = ps.model_bytes_max;
	r.volumes = ps.volumes;
	r.selector_choice = ps.selector_choice;
	for (std::size_t v = 0; v < ps.volume_models.size() && v < r.per_volume.size(); ++v)
		r.per_volume[v].model = ps.volume_models[v];
	r.wall_seconds =
		std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
	return r;
}

std::string csv_header()
{
	return "trace,policy,records,accesses,footprint_extents,tier0_extents,hit_ratio,"
	       "mean_latency_us,p99_latency_us,promotions,demotions,bytes_migrated,budget_denied,"
	       "prefetches,prefetch_precision,prefetch_coverage,prefetch_lateness,"
	       "cost_per_gb_month,predictions,predictions_per_s,model_bytes_max,wall_s,selector";
}

std::string csv_row(const std::string &trace_name, const SimResult &r)
{
	char buf[1024];
	std::snprintf(buf, sizeof buf,
		      "%s,%s,%llu,%llu,%llu,%llu,%.4f,%.1f,%.1f,%llu,%llu,%llu,%llu,%llu,%.4f,%.4f,"
		      "%.4f,%.4f,%llu,%.0f,%zu,%.2f,%s",
		      trace_name.c_str(), r.policy.c_str(), (unsigned long long)r.records,
		      (unsigned long long)r.accesses, (unsigned long long)r.footprint_extents,
		      (unsigned long long)r.tier0_extents, r.hit_ratio, r.mean_latency_us,
		      r.p99_latency_us, (unsigned long long)r.promotions,
		      (unsigned long long)r.demotions, (unsigned long long)r.bytes_migrated,
		      (unsigned long long)r.budget_denied, (unsigned long long)r.prefetches,
		      r.prefetch_precision, r.prefetch_coverage, r.prefetch_lateness,
		      r.cost_per_gb_month, (unsigned long long)r.predictions,
		      r.predict_seconds > 0 ? r.predictions / r.predict_seconds : 0.0,
		      r.model_bytes_max, r.wall_seconds, r.selector_choice.c_str());
	return buf;
}

} // namespace dmtier::tiersim
