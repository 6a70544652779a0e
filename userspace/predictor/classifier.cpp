// SPDX-License-Identifier: GPL-2.0
#include "predictor/classifier.h"

#include <algorithm>
#include <cmath>

namespace dmtier::predictor {

namespace {

// Soft "x is above c" membership with width w, as a log-likelihood term.
double above(double x, double c, double w) { return -std::log1p(std::exp(-(x - c) / w)); }
double below(double x, double c, double w) { return above(-x, -c, w); }

// The label vocabulary each class recognises (lower case substrings).
struct Prior {
	WorkloadClass cls;
	std::vector<const char *> apps;
};
const std::vector<Prior> &app_priors()
{
	static const std::vector<Prior> p = {
		{WorkloadClass::database,
		 {"postgres", "mysql", "mariadb", "oracle", "mssql", "sqlserver", "mongo", "db2",
		  "redis", "cassandra", "sqlite", "database"}},
		{WorkloadClass::web_server, {"nginx", "apache", "httpd", "iis", "web", "tomcat", "caddy"}},
		{WorkloadClass::file_server, {"samba", "smb", "nfs", "file", "nextcloud", "ftp"}},
		{WorkloadClass::development, {"gcc", "build", "git", "dev", "jenkins", "ci", "compile"}},
		{WorkloadClass::backup_streaming,
		 {"backup", "veeam", "bacula", "borg", "restic", "media", "video", "stream", "plex"}},
	};
	return p;
}

constexpr double kAppPrior = 1.5;  // log-odds a matching app label adds
constexpr double kOsPrior = 0.3;   // a matching os label (weak evidence)

} // namespace

const char *workload_name(WorkloadClass c)
{
	switch (c) {
	case WorkloadClass::database: return "database";
	case WorkloadClass::web_server: return "web_server";
	case WorkloadClass::file_server: return "file_server";
	case WorkloadClass::development: return "development";
	case WorkloadClass::backup_streaming: return "backup_streaming";
	case WorkloadClass::idle: return "idle";
	}
	return "?";
}

void ProfileBuilder::add(const trace::Record &r)
{
	if (ios_ == 0)
		first_ns_ = r.time_ns;
	last_ns_ = std::max(last_ns_, r.time_ns);
	++ios_;
	reads_ += r.op == trace::Op::read;
	writes_ += r.op == trace::Op::write;
	small_ += r.length <= 16384;
	large_ += r.length >= 131072;
	seq_ += r.offset == next_offset_;
	next_offset_ = r.offset + r.length;
	bytes_ += r.length;
	auto &n = extents_[r.offset / extent_size_];
	reused_ += n > 0;
	++n;
	std::uint64_t sec = (r.time_ns - std::min(r.time_ns, first_ns_)) / 1000000000ULL;
	if (sec < (1u << 20)) {
		if (per_second_.size() <= sec)
			per_second_.resize(sec + 1, 0);
		++per_second_[sec];
	}
}

Profile ProfileBuilder::profile() const
{
	Profile p;
	p.ios = ios_;
	if (!ios_)
		return p;
	double n = static_cast<double>(ios_);
	p.duration_s = static_cast<double>(last_ns_ - first_ns_) * 1e-9;
	p.read_ratio = reads_ + writes_ ? static_cast<double>(reads_) / (reads_ + writes_) : 0.5;
	p.mean_size_kib = bytes_ / n / 1024;
	p.small_fraction = small_ / n;
	p.large_fraction = large_ / n;
	p.sequential = ios_ > 1 ? seq_ / (n - 1) : 0;
	p.iops = n / std::max(1.0, p.duration_s);
	p.footprint_gib = static_cast<double>(extents_.size() * extent_size_) / (1u << 30);
	p.reuse = reused_ / n;
	if (per_second_.size() > 1) {
		double mean = 0, var = 0;
		for (auto c : per_second_)
			mean += c;
		mean /= per_second_.size();
		for (auto c : per_second_)
			var += (c - mean) * (c - mean);
		var /= per_second_.size();
		p.burstiness = mean > 0 ? std::sqrt(var) / mean : 0;
	}
	return p;
}

ClassDefaults class_defaults(WorkloadClass c)
{
	switch (c) {
	case WorkloadClass::database: return {2, 0.5, 0.25, "markov"};
	case WorkloadClass::web_server: return {2, 0.4, 0.2, "markov"};
	case WorkloadClass::file_server: return {4, 0.5, 0.25, "leap"};
	case WorkloadClass::development: return {2, 0.5, 0.25, "mithril"};
	case WorkloadClass::backup_streaming: return {8, 0.7, 0.4, "stride"};
	case WorkloadClass::idle: return {0, 0.9, 0.5, "none"};
	}
	return {0, 0.9, 0.5, "none"};
}

Classification classify(const Profile &p, const Labels &labels)
{
	std::array<double, kWorkloadClasses> s{};
	auto at = [&](WorkloadClass c) -> double & { return s[static_cast<std::size_t>(c)]; };
	// Each active class is the sum of soft terms on profile features.
	struct Term {
		WorkloadClass cls;
		double Profile::*feature;
		bool is_above;
		double center, width;
	};
	using W = WorkloadClass;
	static const Term kTerms[] = {
		{W::database, &Profile::small_fraction, true, 0.7, 0.08},
		{W::database, &Profile::sequential, false, 0.3, 0.08},
		{W::database, &Profile::reuse, true, 0.5, 0.1},
		{W::database, &Profile::read_ratio, false, 0.85, 0.05},
		{W::database, &Profile::read_ratio, true, 0.2, 0.05},
		{W::web_server, &Profile::read_ratio, true, 0.85, 0.04},
		{W::web_server, &Profile::small_fraction, true, 0.5, 0.1},
		{W::web_server, &Profile::reuse, true, 0.6, 0.08},
		{W::web_server, &Profile::sequential, false, 0.5, 0.1},
		{W::file_server, &Profile::read_ratio, true, 0.55, 0.08},
		{W::file_server, &Profile::mean_size_kib, true, 32, 8},
		{W::file_server, &Profile::mean_size_kib, false, 512, 64},
		{W::file_server, &Profile::sequential, true, 0.25, 0.08},
		{W::file_server, &Profile::sequential, false, 0.8, 0.08},
		{W::development, &Profile::read_ratio, false, 0.75, 0.08},
		{W::development, &Profile::small_fraction, true, 0.5, 0.1},
		{W::development, &Profile::burstiness, true, 1.0, 0.2},
		{W::development, &Profile::sequential, false, 0.5, 0.1},
		{W::backup_streaming, &Profile::large_fraction, true, 0.5, 0.08},
		{W::backup_streaming, &Profile::sequential, true, 0.7, 0.06},
		{W::backup_streaming, &Profile::reuse, false, 0.3, 0.08},
	};
	const double active = above(p.iops, 1.0, 0.3);
	s.fill(active);
	at(W::idle) = below(p.iops, 1.0, 0.3) + std::log(2.0);
	for (const Term &t : kTerms)
		at(t.cls) += t.is_above ? above(p.*t.feature, t.center, t.width)
					: below(p.*t.feature, t.center, t.width);
	std::string app = labels.app, os = labels.os;
	std::transform(app.begin(), app.end(), app.begin(), ::tolower);
	std::transform(os.begin(), os.end(), os.begin(), ::tolower);
	for (const auto &prior : app_priors())
		for (const char *word : prior.apps)
			if (!app.empty() && app.find(word) != std::string::npos) {
				at(prior.cls) += kAppPrior;
				break;
			}
	// Windows volumes are more often file shares, Linux ones servers.
	if (os.find("windows") != std::string::npos)
		at(WorkloadClass::file_server) += kOsPrior;
	Classification c;
	double mx = *std::max_element(s.begin(), s.end()), z = 0;
	for (std::size_t i = 0; i < s.size(); ++i)
		z += c.posterior[i] = std::exp(s[i] - mx);
	for (auto &x : c.posterior)
		x /= z;
	auto best = std::max_element(c.posterior.begin(), c.posterior.end()) - c.posterior.begin();
	c.cls = static_cast<WorkloadClass>(best);
	c.confidence = c.posterior[best];
	c.defaults = class_defaults(c.cls);
	return c;
}

} // namespace dmtier::predictor
