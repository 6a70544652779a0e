// SPDX-License-Identifier: GPL-2.0
// tier-dmfuzz's generator: random pool messages and table lines for the
// dm-tier targets (docs/dm-tier.md), each with what the kernel must do with
// it.  Deterministic for a seed and a PoolInfo; no device-mapper calls.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/result.h"

namespace dmtier::dmfuzz {

// What the kernel must answer.
//   fail: built to be invalid: must be refused (and change nothing).
//   ok:   valid, and changes nothing the snapshot sees (a read, or a
//         setting set to the value it has): must be accepted.
//   any:  may go either way (random bytes, mutated reads).
enum class Expect { any, fail, ok };

struct Msg {
	std::string kind;	// counter name
	std::string verb;	// the documented verb it exercises ("" if none)
	std::string text;	// the message (words separated by spaces)
	Expect expect = Expect::any;
	bool to_volume = false;	// sent to a volume device (which takes no messages)
	bool commits = false;	// accepted, it may commit (generation, commits change)
	std::string undo;	// accepted, this message (which must succeed) undoes it
};

struct Table {
	std::string kind;
	std::uint64_t length = 0;
	std::string type;	// target type
	std::string params;
	Expect expect = Expect::fail;
};

// What the generator knows about the live pool.
struct PoolInfo {
	std::string pool_dev;			// the pool's device, e.g. /dev/mapper/pool
	std::uint64_t pool_len = 0;		// its table length
	std::string meta;			// metadata device as in the table line
	std::uint64_t extent_sectors = 0;
	std::vector<std::string> tiers;		// tier devices as in the table line
	std::vector<std::string> features;	// feature words (without the count)
	std::vector<std::uint32_t> active;	// ids of active volumes (--volume)
	std::vector<std::uint64_t> active_len;	// their table lengths in sectors
	std::vector<std::string> volume_devs;	// their devices (/dev/mapper/NAME)
	std::vector<std::uint32_t> existing;	// every volume id (list_volumes)
	std::map<std::uint32_t, std::vector<std::string>> settings; // get_volume words per id
	std::string new_dev;			// the name table lines are tried under
};

// Parse "<meta> <extent> <n> <tier>... [<k> <feature>...]" (a tier-pool
// table's params) into info.
Status parse_pool_params(const std::string &params, PoolInfo &info);

// The documented pool message verbs.
const std::vector<std::string> &verbs();

// Pool settings of `set` (and table features): name, min, max, default.
struct Setting {
	const char *name;
	std::uint64_t min, max, def;
};
const std::vector<Setting> &settings();

class Generator {
public:
	Generator(std::uint64_t seed, PoolInfo info);
	Msg message();
	Table table();
	const PoolInfo &info() const { return p_; }

private:
	std::mt19937_64 rng_;
	PoolInfo p_;
	std::uint64_t r(std::uint64_t n) { return n ? rng_() % n : 0; }
	bool coin(int pct) { return r(100) < std::uint64_t(pct); }
	template <typename T>
	const T &pick(const std::vector<T> &v) { return v[r(v.size())]; }

	std::uint32_t unknown_id();
	std::uint32_t existing_id();
	std::string any_id_word(bool allow_existing_inactive);
	std::string bad_u32();
	std::string bad_u64();
	std::string bad_id();
	std::string bad_tier();
	std::string odd_word();
	std::string ctrl_word();
	std::string long_word();
	std::string case_mangle(const std::string &v);
	std::string current_setting(const std::string &key);
	unsigned nr_tiers() const { return unsigned(p_.tiers.size()); }

	Msg valid_read();
	Msg valid_noop();
	Msg bad_args();
	Msg bad_count();
	Msg unknown_verb();
	Msg odd_bytes();
	Msg long_words();
	Msg random_bytes();
	Msg to_volume();
	Msg create_delete();

	std::string pool_params(const std::string &meta, std::uint64_t ext, const std::vector<std::string> &tiers,
				const std::vector<std::string> &features, bool with_count = true);
	Table pool_parse_error();
	Table pool_features_error();
	Table pool_live_devices();
	Table volume_line();
	Table odd_table();
};

// Split on blanks, as the kernel's dm_split_args does for plain words.
std::vector<std::string> split_words(const std::string &s);

} // namespace dmtier::dmfuzz
