// SPDX-License-Identifier: GPL-2.0
#include "predictor/classifier.h"

#include <cmath>
#include <gtest/gtest.h>

namespace dmtier::predictor {
namespace {

using trace::Op;
using trace::Record;

struct Gen {
	std::uint64_t seed = 1;
	std::uint64_t next(std::uint64_t range)
	{
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		return (seed >> 33) % range;
	}
};

// n I/Os over `seconds`, with a given read share, size, sequential share
// and hot-set share (reuse), optionally in bursts.
Profile synth(std::size_t n, double seconds, double reads, std::uint32_t size, double seq,
	      double hot, bool bursty = false, std::uint64_t seed = 1)
{
	Gen g{seed};
	ProfileBuilder b;
	std::uint64_t off = 0;
	for (std::size_t i = 0; i < n; ++i) {
		Record r;
		double frac = static_cast<double>(i) / n;
		if (bursty) // all I/O in the first tenth of each 10 s
			frac = (std::floor(frac * seconds / 10) * 10 + std::fmod(frac * seconds, 10) / 10) /
			       seconds;
		r.time_ns = static_cast<std::uint64_t>(frac * seconds * 1e9);
		r.op = g.next(1000) < reads * 1000 ? Op::read : Op::write;
		r.length = size;
		if (g.next(1000) < seq * 1000)
			r.offset = off;
		else if (g.next(1000) < hot * 1000)
			r.offset = g.next(64) << 20;
		else
			r.offset = (1ull << 30) + (g.next(1ull << 24) << 16);
		off = r.offset + r.length;
		b.add(r);
	}
	return b.profile();
}

TEST(Profile, MeasuresTheBasics)
{
	ProfileBuilder b;
	b.add({0, 0, 4096, 0, Op::read});
	b.add({500000000, 4096, 4096, 0, Op::read});       // sequential, same extent
	b.add({1000000000, 1ull << 30, 131072, 0, Op::write});
	b.add({2000000000, 0, 4096, 0, Op::read});           // reuse
	Profile p = b.profile();
	EXPECT_EQ(p.ios, 4u);
	EXPECT_DOUBLE_EQ(p.read_ratio, 0.75);
	EXPECT_DOUBLE_EQ(p.small_fraction, 0.75);
	EXPECT_DOUBLE_EQ(p.large_fraction, 0.25);
	EXPECT_NEAR(p.sequential, 1.0 / 3, 1e-12);
	EXPECT_DOUBLE_EQ(p.reuse, 0.5);
	EXPECT_DOUBLE_EQ(p.duration_s, 2.0);
	EXPECT_NEAR(p.footprint_gib, 2.0 / 1024, 1e-12);
}

TEST(Classifier, NamesCanonicalWorkloads)
{
	struct Case {
		Profile p;
		WorkloadClass want;
	};
	const Case cases[] = {
		{synth(50000, 600, 0.6, 8192, 0.05, 0.9), WorkloadClass::database},
		{synth(50000, 600, 0.97, 8192, 0.1, 0.95), WorkloadClass::web_server},
		{synth(50000, 600, 0.8, 65536, 0.5, 0.4), WorkloadClass::file_server},
		{synth(50000, 600, 0.4, 4096, 0.2, 0.3, true), WorkloadClass::development},
		{synth(50000, 600, 0.1, 1 << 20, 0.95, 0.0), WorkloadClass::backup_streaming},
		{synth(100, 3600, 0.5, 4096, 0.1, 0.5), WorkloadClass::idle},
	};
	for (const auto &c : cases) {
		auto r = classify(c.p);
		EXPECT_EQ(workload_name(r.cls), std::string(workload_name(c.want)))
			<< "iops " << c.p.iops << " reads " << c.p.read_ratio << " seq " << c.p.sequential
			<< " reuse " << c.p.reuse << " burst " << c.p.burstiness;
		EXPECT_GT(r.confidence, 0.3);
	}
}

TEST(Classifier, AppLabelDecidesAnAmbiguousProfile)
{
	// Bursty small mixed random I/O with reuse: database or development.
	Profile p = synth(50000, 600, 0.65, 8192, 0.1, 0.6, true);
	auto db = classify(p, {"linux", "postgresql-15"});
	auto dev = classify(p, {"linux", "jenkins-agent"});
	EXPECT_EQ(db.cls, WorkloadClass::database);
	EXPECT_EQ(dev.cls, WorkloadClass::development)
		<< "db " << db.posterior[0] << " dev " << db.posterior[3];
	// Labels are priors, not overrides: a backup stream stays one.
	Profile stream = synth(50000, 600, 0.1, 1 << 20, 0.95, 0.0);
	EXPECT_EQ(classify(stream, {"linux", "nginx"}).cls, WorkloadClass::backup_streaming);
}

TEST(Classifier, PosteriorIsADistributionAndDefaultsFollowTheClass)
{
	auto r = classify(synth(50000, 600, 0.1, 1 << 20, 0.95, 0.0));
	double sum = 0;
	for (double x : r.posterior)
		sum += x;
	EXPECT_NEAR(sum, 1.0, 1e-12);
	EXPECT_GT(r.defaults.prefetch_depth, class_defaults(WorkloadClass::database).prefetch_depth);
	EXPECT_EQ(class_defaults(WorkloadClass::idle).prefetch_depth, 0u);
	EXPECT_EQ(classify(Profile{}).cls, WorkloadClass::idle);
}

} // namespace
} // namespace dmtier::predictor
