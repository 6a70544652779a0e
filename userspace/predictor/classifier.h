// SPDX-License-Identifier: GPL-2.0
// Workload classifier: names a volume's workload from its I/O profile, with
// the volume's os/app labels as priors, and gives per-class defaults for
// prefetching and promotion thresholds.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace/record.h"

namespace dmtier::predictor {

enum class WorkloadClass { database, web_server, file_server, development, backup_streaming, idle };
inline constexpr std::size_t kWorkloadClasses = 6;
const char *workload_name(WorkloadClass c);

struct Profile {
	std::uint64_t ios = 0;
	double duration_s = 0;
	double read_ratio = 0;     // reads / (reads + writes)
	double mean_size_kib = 0;
	double small_fraction = 0; // I/Os of at most 16 KiB
	double large_fraction = 0; // I/Os of at least 128 KiB
	double sequential = 0;     // fraction starting where the previous one ended
	double iops = 0;
	double footprint_gib = 0;  // distinct extents touched x extent size
	double burstiness = 0;     // coefficient of variation of per-second I/O counts
	double reuse = 0;          // fraction of I/Os to an extent touched before
};

// Builds a Profile from a volume's records.
class ProfileBuilder {
public:
	explicit ProfileBuilder(std::uint64_t extent_size = 1 << 20) : extent_size_(extent_size) {}
	void add(const trace::Record &r);
	Profile profile() const;

private:
	std::uint64_t extent_size_;
	std::uint64_t ios_ = 0, reads_ = 0, writes_ = 0, small_ = 0, large_ = 0, seq_ = 0, reused_ = 0;
	double bytes_ = 0;
	std::uint64_t first_ns_ = 0, last_ns_ = 0, next_offset_ = UINT64_MAX;
	std::unordered_map<std::uint64_t, std::uint32_t> extents_;
	std::vector<std::uint32_t> per_second_;
};

struct Labels {
	std::string os;  // e.g. linux, windows
	std::string app; // e.g. postgres, nginx, samba, gcc, veeam
};

struct ClassDefaults {
	std::size_t prefetch_depth; // predictions acted on per transition
	double promote_score;       // heat score a promotion must beat
	double demote_score;        // heat score below which an extent may be demoted
	const char *initial_model;  // the selector's starting model
};
ClassDefaults class_defaults(WorkloadClass c);

struct Classification {
	WorkloadClass cls = WorkloadClass::idle;
	double confidence = 0;                       // posterior of cls
	std::array<double, kWorkloadClasses> posterior{};
	ClassDefaults defaults{};
};

Classification classify(const Profile &p, const Labels &labels = {});

} // namespace dmtier::predictor
