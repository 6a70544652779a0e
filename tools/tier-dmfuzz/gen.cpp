// SPDX-License-Identifier: GPL-2.0
#include "tier-dmfuzz/gen.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <sstream>

namespace dmtier::dmfuzz {

namespace {

constexpr std::uint32_t kMaxVolumeId = 8388606;
constexpr std::uint64_t kMaxVexts = 1ULL << 37;
constexpr unsigned kMaxTiers = 8;

bool num(const std::string &s, std::uint64_t &v)
{
	auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string lower(std::string s)
{
	for (auto &c : s)
		c = char(std::tolower(static_cast<unsigned char>(c)));
	return s;
}

std::string join(const std::vector<std::string> &w)
{
	std::string s;
	for (const auto &x : w)
		s += (s.empty() ? "" : " ") + x;
	return s;
}

// Bytes that stay inside a word for the kernel's dm_split_args (not
// whitespace: 9-13, 32 and 160 are) and that no number, key or name
// accepts.
const unsigned char kOdd[] = {1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 27, 28, 31, 127, 0x80, 0x85, 0x9f, 0xc3, 0xff,
			      '%', '"', '\'', '*', ';', '$', '`', '|', '&', '<', '>', '(', '{', '#', '!', '?'};

} // namespace

std::vector<std::string> split_words(const std::string &s)
{
	std::istringstream in(s);
	std::vector<std::string> w;
	for (std::string x; in >> x;)
		w.push_back(x);
	return w;
}

const std::vector<std::string> &verbs()
{
	static const std::vector<std::string> v = {
		"create_volume", "delete_volume", "set_volume", "set_hint",      "get_volume",  "list_volumes",
		"commit",        "stats",         "migrate",    "prefetch",      "pin",         "unpin",
		"set",           "evacuate_tier", "get_profile", "dump_heat",
	};
	return v;
}

const std::vector<Setting> &settings()
{
	static const std::vector<Setting> s = {
		{"migration_bandwidth_mbps", 0, 1000000, 0}, {"max_migrations", 1, 64, 4},
		{"yield_depth", 0, 100000, 64},              {"fallback_timeout_s", 1, 86400, 30},
		{"promote_threshold", 1, 510, 4},            {"high_watermark", 1, 100, 90},
		{"low_watermark", 0, 99, 80},                {"policy_interval_ms", 100, 60000, 1000},
		{"residency_rounds", 1, 10000, 10},          {"prefetch_window_ms", 100, 3600000, 10000},
	};
	return s;
}

Status parse_pool_params(const std::string &params, PoolInfo &info)
{
	auto w = split_words(params);
	std::uint64_t ext = 0, n = 0;
	auto bad = [&](const char *why) { return make_error(std::string("tier-pool table (") + why + "): " + params, EINVAL); };
	if (w.size() < 4 || !num(w[1], ext) || !num(w[2], n) || n == 0 || n > kMaxTiers)
		return bad("header");
	if (w.size() < 3 + n)
		return bad("tier devices");
	info.meta = w[0];
	info.extent_sectors = ext;
	info.tiers.assign(w.begin() + 3, w.begin() + 3 + long(n));
	info.features.clear();
	if (w.size() > 3 + n) {
		std::uint64_t k = 0;
		if (!num(w[3 + n], k) || w.size() != 4 + n + k)
			return bad("features");
		info.features.assign(w.begin() + 4 + long(n), w.end());
	}
	return {};
}

Generator::Generator(std::uint64_t seed, PoolInfo info) : rng_(seed), p_(std::move(info))
{
	std::sort(p_.existing.begin(), p_.existing.end());
}

// ------------------------------------------------------------ words

std::uint32_t Generator::unknown_id()
{
	for (;;) {
		std::uint32_t v = coin(30) ? std::uint32_t(r(64)) : std::uint32_t(r(kMaxVolumeId + 1));
		if (!std::binary_search(p_.existing.begin(), p_.existing.end(), v))
			return v;
	}
}

std::uint32_t Generator::existing_id()
{
	return p_.existing.empty() ? unknown_id() : pick(p_.existing);
}

// A volume id word that names no volume, or is no id at all.  Existing
// inactive volumes are never named when a message could delete them.
std::string Generator::any_id_word(bool allow_existing)
{
	if (allow_existing && !p_.existing.empty() && coin(30))
		return std::to_string(existing_id());
	return coin(50) ? std::to_string(unknown_id()) : bad_id();
}

std::string Generator::bad_u64()
{
	static const char *w[] = {"-1", "-0", "abc", "1x", "x1", "0x10", "1e3", "1.5", "18446744073709551616",
				  "99999999999999999999", "340282366920938463463374607431768211456", "--1", "0b1",
				  "١", "%s%n", "1,000", "0-1"};
	switch (r(4)) {
	case 0:
		return odd_word();
	case 1:
		return std::string(21 + r(60), char('1' + r(9))); // overflows
	default:
		return w[r(std::size(w))];
	}
}

std::string Generator::bad_u32()
{
	static const char *w[] = {"4294967296", "4294967297", "18446744073709551615", "9999999999"};
	return coin(40) ? w[r(std::size(w))] : bad_u64();
}

std::string Generator::bad_id()
{
	static const char *w[] = {"8388607", "8388608", "16777215", "2147483648"};
	return coin(40) ? w[r(std::size(w))] : bad_u32();
}

std::string Generator::bad_tier()
{
	if (coin(50))
		return std::to_string(nr_tiers() + r(coin(70) ? kMaxTiers + 1 - nr_tiers() : 100000));
	return bad_u32();
}

// A number with odd bytes in it: one word for the kernel, no valid number.
std::string Generator::odd_word()
{
	std::string s = std::to_string(r(100));
	for (int i = 0, k = 1 + int(r(3)); i < k; i++)
		s.insert(r(s.size() + 1), 1, char(kOdd[r(std::size(kOdd))]));
	if (coin(25)) // an escaped blank: one word holding a space or a tab
		s.insert(r(s.size() + 1), coin(50) ? "\\ " : "\\\t");
	return s;
}

// A word with a byte no label value takes (a control byte or a blank).
std::string Generator::ctrl_word()
{
	static const unsigned char ctrl[] = {1, 2, 7, 8, 14, 27, 31, 127, 0x80, 0x85, 0x9f};
	std::string s = "v" + std::to_string(r(100));
	if (coin(25))
		s.insert(r(s.size() + 1), coin(50) ? "\\ " : "\\\t");
	else
		s.insert(r(s.size() + 1), 1, char(ctrl[r(std::size(ctrl))]));
	return s;
}

std::string Generator::long_word()
{
	std::size_t n = coin(85) ? 64 + r(4096) : coin(80) ? 4096 + r(65536) : 65536 + r(256 * 1024);
	switch (r(3)) {
	case 0:
		return std::string(n, char('1' + r(9)));
	case 1:
		return std::string(n, char('a' + r(26)));
	default: {
		// printable, no blank; no capitals either: the kernel log shows
		// the word, and the test runner looks for "BUG:", "Oops", ...
		std::string s(n, 'x');
		for (auto &c : s) {
			c = char(33 + r(94));
			if (std::isupper(static_cast<unsigned char>(c)))
				c = char(std::tolower(static_cast<unsigned char>(c)));
		}
		if (s[n - 1] == '\\')
			s[n - 1] = 'x';
		return s;
	}
	}
}

std::string Generator::case_mangle(const std::string &v)
{
	std::string s = v;
	if (coin(70))
		return s;
	for (auto &c : s)
		if (coin(50))
			c = char(std::toupper(static_cast<unsigned char>(c)));
	return s;
}

std::string Generator::current_setting(const std::string &key)
{
	if (key == "fallback")
		return std::find(p_.features.begin(), p_.features.end(), "no_fallback") != p_.features.end() ? "0" : "1";
	for (std::size_t i = 0; i + 1 < p_.features.size(); i++)
		if (lower(p_.features[i]) == key)
			return p_.features[i + 1];
	for (const auto &s : settings())
		if (key == s.name)
			return std::to_string(s.def);
	return "0";
}

// ------------------------------------------------------------ messages

Msg Generator::valid_read()
{
	Msg m;
	m.expect = Expect::ok;
	m.kind = "valid-read";
	std::uint32_t id = existing_id();
	bool have = !p_.existing.empty();
	switch (have ? r(5) : 1 + r(2)) {
	case 0:
		m.verb = "get_volume";
		m.text = case_mangle(m.verb) + " " + std::to_string(id);
		break;
	case 1:
		m.verb = "list_volumes";
		m.text = case_mangle(m.verb);
		break;
	case 2:
		m.verb = "stats";
		m.text = case_mangle(m.verb);
		break;
	case 3:
		m.verb = "get_profile";
		m.text = case_mangle(m.verb) + " " + std::to_string(id);
		break;
	default: {
		m.verb = "dump_heat";
		m.text = case_mangle(m.verb) + " " + std::to_string(id);
		int k = int(r(3));
		for (int i = 0; i < k; i++)
			m.text += " " + std::to_string(coin(70) ? r(4096) : rng_());
		break;
	}
	}
	return m;
}

// Valid messages that change nothing the snapshot holds.
Msg Generator::valid_noop()
{
	Msg m;
	m.expect = Expect::ok;
	m.kind = "valid-noop";
	switch (r(4)) {
	case 0:
		m.verb = "commit";
		m.text = case_mangle("commit");
		m.commits = true;
		return m;
	case 1: { // a pool setting set to the value it has
		m.verb = "set";
		std::string key = coin(15) ? "fallback" : pick(settings()).name;
		m.text = "set " + (coin(20) ? case_mangle(key) : key) + " " + current_setting(lower(key));
		return m;
	}
	case 2: // clearing hints (memory only)
		if (p_.existing.empty())
			break;
		{
			std::uint64_t b = r(1 << 20);
			m.verb = "set_hint";
			m.text = "set_hint " + std::to_string(existing_id()) + " " + std::to_string(b) + " " +
				 std::to_string(b + 1 + r(1 << 20)) + " -";
			return m;
		}
	default: { // a volume setting or label set to the value it has
		std::uint32_t id = existing_id();
		auto it = p_.settings.find(id);
		if (it == p_.settings.end() || it->second.empty())
			break;
		const std::string &kv = pick(it->second);
		auto eq = kv.find('=');
		if (eq == std::string::npos || eq == 0 || eq + 1 >= kv.size())
			break;
		m.verb = "set_volume";
		m.text = "set_volume " + std::to_string(id) + " " + kv.substr(0, eq) + " " + kv.substr(eq + 1);
		m.commits = true;
		return m;
	}
	}
	m.verb = "list_volumes";
	m.text = "list_volumes";
	return m;
}

// A documented verb with a word count it does not take.
Msg Generator::bad_count()
{
	static const std::map<std::string, std::vector<int>> ok = {
		{"create_volume", {1}}, {"delete_volume", {1}}, {"set_volume", {3}}, {"set_hint", {4}},
		{"get_volume", {1}},    {"list_volumes", {0}},  {"commit", {0}},     {"stats", {0}},
		{"migrate", {3}},       {"prefetch", {3, 4}},   {"pin", {4}},        {"unpin", {3}},
		{"set", {2}},           {"evacuate_tier", {1}}, {"get_profile", {1}}, {"dump_heat", {1, 2, 3}},
	};
	Msg m;
	m.kind = "bad-count";
	m.expect = Expect::fail;
	m.verb = pick(verbs());
	const auto &good = ok.at(m.verb);
	int n;
	do
		n = int(r(coin(90) ? 7 : 40));
	while (std::find(good.begin(), good.end(), n) != good.end());
	m.text = case_mangle(m.verb);
	for (int i = 0; i < n; i++)
		m.text += " " + (coin(60) ? std::to_string(coin(50) ? existing_id() : r(8)) : std::string("-"));
	return m;
}

// A documented verb with the right word count and at least one bad word.
Msg Generator::bad_args()
{
	Msg m;
	m.kind = "bad-args";
	m.expect = Expect::fail;
	m.verb = pick(verbs());
	std::vector<std::string> w{case_mangle(m.verb)};
	auto ex = [&] { return std::to_string(existing_id()); };
	auto ext = [&] { return std::to_string(coin(80) ? r(4096) : r(kMaxVexts)); };
	auto tier = [&] { return std::to_string(r(nr_tiers())); };
	bool have = !p_.existing.empty();
	const std::string &v = m.verb;
	if (v == "create_volume") {
		w.push_back(have && coin(40) ? ex() : bad_id());
	} else if (v == "delete_volume") {
		// an active volume (busy), an unknown id or no id: never an
		// existing inactive volume
		if (!p_.active.empty() && coin(40))
			w.push_back(std::to_string(pick(p_.active)));
		else
			w.push_back(coin(50) ? std::to_string(unknown_id()) : bad_id());
	} else if (v == "set_volume") {
		static const char *keys[] = {"tiering_enabled", "tiering_policy", "prediction_model"};
		if (!have || coin(25)) {
			w.push_back(any_id_word(false));
			w.push_back(coin(70) ? keys[r(3)] : "os");
			w.push_back(coin(50) ? "1" : "balanced");
		} else {
			w.push_back(ex());
			switch (r(5)) {
			case 0: {
				static const char *b[] = {"2", "yes", "-1", "01", "true", "-", "10"};
				w.push_back("tiering_enabled");
				w.push_back(coin(80) ? b[r(std::size(b))] : odd_word());
				break;
			}
			case 1: {
				static const char *b[] = {"fastest", "Balanced", "balanced-", "-", "performance",
							  "cost_optimized", "STRIPED", "none"};
				w.push_back("tiering_policy");
				w.push_back(coin(80) ? b[r(std::size(b))] : long_word());
				break;
			}
			case 2: {
				static const char *b[] = {"a*b", "a;b", "a\\ b", "%s%s", "a=b", "m+1", "~", "a,b"};
				w.push_back("prediction_model");
				w.push_back(coin(50) ? b[r(std::size(b))] : std::string(32 + r(200), 'm'));
				break;
			}
			case 3: { // a label key that is not one
				static const char *b[] = {"OS", "o-s", "o.s", "Os", "o/s", "o:s", "o%s", "é"};
				w.push_back(coin(60) ? b[r(std::size(b))] : std::string(16 + r(100), 'k'));
				w.push_back("linux");
				break;
			}
			default: // a label value that is not one
				w.push_back("fz");
				w.push_back(coin(50) ? std::string(48 + r(200), 'v') : ctrl_word());
				break;
			}
		}
	} else if (v == "set_hint") {
		if (!have || coin(25)) {
			w.insert(w.end(), {any_id_word(false), "0", "10", "0"});
		} else {
			w.push_back(ex());
			std::uint64_t b = r(1 << 20);
			switch (r(4)) {
			case 0: // empty or reversed range
				w.insert(w.end(), {std::to_string(b + r(100)), std::to_string(b), tier()});
				break;
			case 1: // past the largest volume
				w.insert(w.end(), {std::to_string(b), std::to_string(kMaxVexts + 1 + r(1ULL << 40)),
						   coin(50) ? tier() : "-"});
				break;
			case 2:
				w.insert(w.end(), {coin(50) ? bad_u64() : std::to_string(b),
						   coin(50) ? bad_u64() : std::to_string(b + 10), tier()});
				if (num(w[2], b) && num(w[3], b)) // both valid by chance
					w[2] = bad_u64();
				break;
			default: // bad tier
				w.insert(w.end(), {std::to_string(b), std::to_string(b + 1), bad_tier()});
				break;
			}
		}
	} else if (v == "get_volume" || v == "get_profile") {
		w.push_back(any_id_word(false));
	} else if (v == "migrate" || v == "prefetch") {
		bool pre = v == "prefetch";
		if (!have || coin(25)) {
			w.insert(w.end(), {any_id_word(false), ext(), tier()});
		} else {
			w.push_back(ex());
			switch (r(pre ? 4 : 3)) {
			case 0:
				w.insert(w.end(), {bad_u64(), tier()});
				break;
			case 1:
				w.insert(w.end(), {ext(), bad_tier()});
				break;
			case 2: // no volume is that long: unmapped
				w.insert(w.end(), {std::to_string(kMaxVexts + r(1ULL << 62)), tier()});
				break;
			default: { // a bad deadline
				static const char *b[] = {"0", "3600001", "4294967295", "4294967296", "-5"};
				w.insert(w.end(), {ext(), tier(), coin(60) ? b[r(std::size(b))] : bad_u32()});
				break;
			}
			}
		}
		if (pre && w.size() == 4 && coin(30))
			w.push_back(std::to_string(1 + r(3600000)));
	} else if (v == "pin" || v == "unpin") {
		bool pin = v == "pin";
		if (!have || coin(25)) {
			w.insert(w.end(), {any_id_word(false), "0", "10"});
			if (pin)
				w.push_back(tier());
		} else {
			w.push_back(ex());
			std::uint64_t b = r(4096);
			switch (r(pin ? 4 : 3)) {
			case 0:
				w.insert(w.end(), {std::to_string(b + r(10)), std::to_string(b)});
				break;
			case 1:
				w.insert(w.end(), {std::to_string(b), std::to_string(kMaxVexts + 1 + r(1ULL << 40))});
				break;
			case 2:
				w.insert(w.end(), {bad_u64(), std::to_string(b + 1)});
				break;
			default:
				w.insert(w.end(), {std::to_string(b), std::to_string(b + 1 + r(64)), bad_tier()});
				break;
			}
			if (pin && w.size() == 4)
				w.push_back(tier());
		}
	} else if (v == "set") {
		static const char *unknown[] = {"commit_interval_ms", "no_fallback", "fallbacks", "high-watermark",
						"watermark", "max_migration", "", "tiering_policy", "x"};
		switch (r(5)) {
		case 0: {
			std::string k = unknown[r(std::size(unknown))];
			w.push_back(k.empty() ? long_word() : k);
			w.push_back("1");
			break;
		}
		case 1: { // out of range
			const Setting &s = pick(settings());
			std::vector<std::string> b = {std::to_string(s.max + 1 + (coin(30) ? r(1000000) : 0)), "4294967296",
						      "-1"};
			if (s.min > 0)
				b.push_back(std::to_string(r(s.min)));
			w.push_back(coin(20) ? case_mangle(s.name) : s.name);
			w.push_back(coin(80) ? pick(b) : bad_u32());
			break;
		}
		case 2:
			w.push_back("fallback");
			w.push_back(coin(70) ? std::to_string(2 + r(100000)) : bad_u32());
			break;
		case 3: { // watermarks crossing the other one
			std::uint64_t hi = std::stoull(current_setting("high_watermark"));
			std::uint64_t lo = std::stoull(current_setting("low_watermark"));
			if (coin(50) && hi <= 99) {
				w.push_back("low_watermark");
				w.push_back(std::to_string(hi + r(100 - hi)));
			} else {
				w.push_back("high_watermark");
				w.push_back(std::to_string(1 + r(lo)));
				if (lo == 0)
					w.back() = "0";
			}
			break;
		}
		default:
			w.push_back(pick(settings()).name);
			w.push_back(bad_u32());
			break;
		}
	} else if (v == "evacuate_tier") {
		w.push_back(bad_tier());
	} else if (v == "dump_heat") {
		if (!have || coin(40)) {
			w.push_back(any_id_word(false));
			for (int i = 0, k = int(r(3)); i < k; i++)
				w.push_back(std::to_string(r(100)));
		} else {
			w.push_back(ex());
			if (coin(50)) {
				w.push_back(bad_u64());
			} else {
				w.push_back(std::to_string(r(100)));
				w.push_back(bad_u64());
			}
		}
	} else { // list_volumes, commit, stats: only the count can be wrong
		Msg c = bad_count();
		c.kind = "bad-args";
		return c;
	}
	m.text = join(w);
	return m;
}

Msg Generator::unknown_verb()
{
	static const char *near[] = {"create-volume", "createvolume", "create_volumes", "delete", "set_volumes",
				     "sethint",       "get_volumes",  "list_volume",    "list",   "commits",
				     "stat",          "migrated",     "prefetch_",      "pins",   "un_pin",
				     "sets",          "evacuate",     "evacuate_tiers", "get_profiles", "dump",
				     "heat",          "help",         "status",         "create_volume_", "_stats"};
	Msg m;
	m.kind = "unknown-verb";
	m.expect = Expect::fail;
	std::string verb;
	switch (r(4)) {
	case 0:
		verb = near[r(std::size(near))];
		break;
	case 1: { // a random word
		verb.resize(1 + r(20));
		for (auto &c : verb)
			c = char('a' + r(26));
		break;
	}
	case 2: // a documented verb with one character changed
	{
		verb = pick(verbs());
		std::size_t at = r(verb.size());
		verb[at] = char(verb[at] == 'z' ? 'y' : verb[at] + 1);
		break;
	}
	default:
		if (coin(50)) { // nothing at all, or only blanks
			m.text = coin(50) ? "" : std::string(1 + r(5), ' ');
			return m;
		}
		verb = pick(verbs()) + char(kOdd[r(std::size(kOdd))]);
		break;
	}
	for (const auto &v : verbs())
		if (lower(verb) == v)
			verb += "_";
	m.text = verb;
	for (int i = 0, k = int(r(5)); i < k; i++)
		m.text += " " + std::to_string(r(8));
	return m;
}

// Odd bytes inside a word where a number or a name must be.
Msg Generator::odd_bytes()
{
	Msg m;
	m.kind = "odd-bytes";
	m.expect = Expect::fail;
	static const std::vector<std::string> one_id = {"create_volume", "delete_volume", "get_volume", "get_profile",
							"evacuate_tier"};
	m.verb = pick(one_id);
	m.text = m.verb + " " + odd_word();
	if (coin(30)) { // or the verb itself
		std::string v = pick(verbs());
		v.insert(r(v.size() + 1), 1, char(kOdd[r(std::size(kOdd))]));
		m.verb = "";
		m.text = v;
	}
	return m;
}

Msg Generator::long_words()
{
	Msg m;
	m.kind = "long-word";
	m.expect = Expect::fail;
	switch (r(4)) {
	case 0: // a long verb
		m.text = long_word();
		for (const auto &v : verbs())
			if (lower(m.text) == v)
				m.text += "_";
		break;
	case 1: { // a long word where a number goes
		static const std::vector<std::string> v1 = {"create_volume", "get_volume", "get_profile", "evacuate_tier",
							    "delete_volume"};
		m.verb = pick(v1);
		std::string lw = long_word();
		if (lw.find_first_not_of("0123456789") == std::string::npos && lw.size() < 21)
			lw += "x";
		m.text = m.verb + " " + lw;
		break;
	}
	case 2: // a long label key, value or model
		m.verb = "set_volume";
		if (coin(34))
			m.text = "set_volume " + std::to_string(existing_id()) + " " + long_word() + " v";
		else if (coin(50))
			m.text = "set_volume " + std::to_string(existing_id()) + " fz " + long_word();
		else
			m.text = "set_volume " + std::to_string(existing_id()) + " prediction_model " + long_word();
		if (p_.existing.empty())
			m.expect = Expect::fail; // unknown volume
		break;
	default: // a long key for set
		m.verb = "set";
		m.text = "set " + long_word() + " 1";
		break;
	}
	return m;
}

Msg Generator::random_bytes()
{
	Msg m;
	m.kind = "random-bytes";
	m.expect = Expect::any;
	m.text.resize(1 + r(coin(90) ? 64 : 2000));
	for (auto &c : m.text)
		c = char(1 + r(255));
	return m;
}

Msg Generator::to_volume()
{
	if (p_.volume_devs.empty())
		return unknown_verb();
	Msg m = coin(50) ? valid_read() : bad_args();
	m.kind = "to-volume";
	m.expect = Expect::fail; // the tier target takes no messages
	m.to_volume = true;
	m.commits = false;
	return m;
}

Msg Generator::create_delete()
{
	Msg m;
	m.kind = "create-delete";
	m.verb = "create_volume";
	std::uint32_t id = unknown_id();
	m.text = "create_volume " + std::to_string(id);
	m.undo = "delete_volume " + std::to_string(id);
	m.expect = Expect::any; // ENOSPC at 1024 volumes
	m.commits = true;
	return m;
}

Msg Generator::message()
{
	switch (r(20)) {
	case 0:
	case 1:
		return valid_read();
	case 2:
	case 3:
		return valid_noop();
	case 4:
	case 5:
	case 6:
		return bad_count();
	case 7:
	case 8:
	case 9:
	case 10:
	case 11:
	case 12:
		return bad_args();
	case 13:
		return unknown_verb();
	case 14:
	case 15:
		return odd_bytes();
	case 16:
		return long_words();
	case 17:
		return random_bytes();
	case 18:
		return to_volume();
	default:
		return coin(20) ? create_delete() : bad_args();
	}
}

// ------------------------------------------------------------ tables
//
// Safety: the live pool's metadata and tier devices are never given in a
// role that would write to them should the kernel accept the line: the
// metadata position holds the live metadata device or something that
// cannot be opened (a live tier or volume there could be taken as blank
// and formatted), and no line names more tier devices than the live pool
// has (appended tiers are labelled and added).

std::string Generator::pool_params(const std::string &meta, std::uint64_t ext, const std::vector<std::string> &tiers,
				   const std::vector<std::string> &features, bool with_count)
{
	std::vector<std::string> w{meta, std::to_string(ext), std::to_string(tiers.size())};
	w.insert(w.end(), tiers.begin(), tiers.end());
	if (with_count && (!features.empty() || coin(30))) {
		w.push_back(std::to_string(features.size()));
		w.insert(w.end(), features.begin(), features.end());
	}
	return join(w);
}

namespace {
std::vector<std::string> bad_devices(const std::string &self)
{
	return {"/dev/nonexistent-dmfuzz", "0:0", "4095:1048575", "/dev/null", "/etc/passwd", "/", "junk",
		"/dev/mapper/" + self, "/dev/mapper/nonexistent-dmfuzz", "-1:5", "253:", ":1"};
}
} // namespace

Table Generator::pool_parse_error()
{
	Table t;
	t.type = "tier-pool";
	t.length = coin(80) ? p_.pool_len : 1 + r(1ULL << 40);
	std::vector<std::string> w = split_words(pool_params(p_.meta, p_.extent_sectors, p_.tiers, p_.features));
	const std::size_t n = nr_tiers();
	switch (r(7)) {
	case 0: // too few arguments
		t.kind = "tbl-too-few";
		w.resize(r(4));
		break;
	case 1: { // bad extent size
		t.kind = "tbl-bad-extent";
		static const char *b[] = {"0", "1", "128", "255", "257", "3000", "4194304", "2097153", "-2048", "2048x",
					  "0x800", "18446744073709551616", "1099511627776", "4096.0"};
		w[1] = coin(80) ? b[r(std::size(b))] : coin(50) ? bad_u64() : odd_word();
		break;
	}
	case 2: { // bad number of tiers
		t.kind = "tbl-bad-nr-tiers";
		std::vector<std::string> b = {"0", "9", "99999999999999999999", "-1", "two", "4294967297"};
		if (n > 1)
			b.push_back(std::to_string(n - 1)); // a tier device left over where the feature count goes
		if (n < kMaxTiers && !p_.features.empty())
			b.push_back(std::to_string(n + 1)); // the feature count taken for a device
		if (n < kMaxTiers && p_.features.empty())
			b.push_back(std::to_string(n + 1 + r(kMaxTiers - n))); // not enough tier devices
		w[2] = coin(85) ? pick(b) : odd_word();
		// without features, n - 1 leaves a device word last: it is read as
		// a feature count and refused
		break;
	}
	case 3: { // a device that cannot be opened, as metadata or as a tier
		t.kind = "tbl-bad-device";
		auto b = bad_devices(p_.new_dev);
		std::string d = coin(85) ? pick(b) : "/dev/" + odd_word();
		w[coin(30) ? 0 : 3 + r(n)] = d;
		break;
	}
	case 4: // a device given twice
		t.kind = "tbl-dup-device";
		if (n > 1 && coin(50)) { // two tiers the same
			std::size_t i = r(n), j = (i + 1 + r(n - 1)) % n;
			w[3 + j] = w[3 + i];
		} else { // a tier the metadata device
			w[3 + r(n)] = p_.meta;
		}
		break;
	case 5: // zero length
		t.kind = "tbl-zero-length";
		t.length = 0;
		break;
	default: { // an unknown target type
		t.kind = "tbl-unknown-target";
		static const char *b[] = {"tier-pools", "tier_pool", "Tier-pool", "tierpool", "tier-"};
		t.type = b[r(std::size(b))];
		break;
	}
	}
	t.params = join(w);
	return t;
}

Table Generator::pool_features_error()
{
	Table t;
	t.type = "tier-pool";
	t.length = p_.pool_len;
	std::vector<std::string> f = p_.features;
	std::string count;
	static const std::vector<std::string> valued = [] {
		std::vector<std::string> v{"commit_interval_ms"};
		for (const auto &s : settings())
			v.push_back(s.name);
		return v;
	}();
	switch (r(7)) {
	case 0: { // a count that does not match
		t.kind = "tbl-feature-count";
		std::vector<std::string> b = {std::to_string(f.size() + 1 + r(3)), "65", "99999", "-1", "x",
					      "4294967296"};
		if (!f.empty())
			b.push_back(std::to_string(r(f.size())));
		count = pick(b);
		break;
	}
	case 1: { // an unknown feature
		t.kind = "tbl-unknown-feature";
		static const char *b[] = {"foo", "no-fallback", "commit_interval", "fallback", "no_fallbacks",
					  "discard_passdown", "skip_block_zeroing", "read_only", "1"};
		f.push_back(coin(85) ? std::string(b[r(std::size(b))]) : "f" + odd_word());
		break;
	}
	case 2: { // a feature value out of range or no number
		t.kind = "tbl-bad-feature-value";
		std::string k = pick(valued);
		std::uint64_t lo = 100, hi = 60000;
		for (const auto &s : settings())
			if (k == s.name)
				lo = s.min, hi = s.max;
		std::vector<std::string> b = {std::to_string(hi + 1 + r(1000)), "4294967296", "-1", "x", "1e3"};
		if (lo > 0)
			b.push_back(std::to_string(r(lo)));
		f.push_back(k);
		f.push_back(coin(85) ? pick(b) : odd_word());
		break;
	}
	case 3: // a valued feature without its value
		t.kind = "tbl-feature-no-value";
		f.push_back(pick(valued));
		break;
	case 4: { // low_watermark not below high_watermark
		t.kind = "tbl-watermarks";
		std::uint64_t hi = 1 + r(99), lo = hi + r(100 - hi);
		f.insert(f.end(), {"high_watermark", std::to_string(hi), "low_watermark", std::to_string(lo)});
		break;
	}
	case 5: // trailing junk
		t.kind = "tbl-trailing-junk";
		break;
	default: // more than 64 feature words
		t.kind = "tbl-too-many-features";
		for (int i = 0, k = 65 + int(r(100)); i < k; i++)
			f.push_back("no_fallback");
		break;
	}
	std::vector<std::string> w{p_.meta, std::to_string(p_.extent_sectors), std::to_string(nr_tiers())};
	w.insert(w.end(), p_.tiers.begin(), p_.tiers.end());
	w.push_back(count.empty() ? std::to_string(f.size()) : count);
	w.insert(w.end(), f.begin(), f.end());
	if (t.kind == "tbl-trailing-junk") {
		static const char *b[] = {"junk", "x1", "-", "no_fallback", "commit_interval_ms"};
		for (int i = 0, k = 1 + int(r(3)); i < k; i++)
			w.push_back(coin(80) ? b[r(std::size(b))] : "j" + odd_word());
	}
	t.params = join(w);
	return t;
}

// Lines that parse but name the live pool's devices in a way its metadata
// refuses (read only): another extent size, tiers reordered or missing, a
// tier that is not one; and (rarely) the live line itself for a second
// device: a pool's metadata belongs to one pool at a time.
Table Generator::pool_live_devices()
{
	Table t;
	t.type = "tier-pool";
	t.length = p_.pool_len;
	std::vector<std::string> tiers = p_.tiers;
	std::uint64_t ext = p_.extent_sectors;
	const std::size_t n = tiers.size();
	std::uint64_t c = r(100);
	if (c < 6) {
		t.kind = "tbl-live-pool-line";
	} else if (c < 30 || (n < 2 && c < 60)) {
		t.kind = "tbl-other-extent-size";
		do
			ext = 256ULL << r(14);
		while (ext == p_.extent_sectors);
	} else if (n >= 2 && c < 55) {
		t.kind = "tbl-tiers-reordered";
		std::size_t a = r(n), b = (a + 1 + r(n - 1)) % n;
		std::swap(tiers[a], tiers[b]);
	} else if (n >= 2 && c < 75) {
		t.kind = "tbl-tier-missing";
		tiers.erase(tiers.begin() + long(r(n)));
	} else {
		t.kind = "tbl-not-a-tier";
		std::vector<std::string> b = p_.volume_devs;
		if (!p_.pool_dev.empty())
			b.push_back(p_.pool_dev);
		if (b.empty()) {
			t.kind = "tbl-other-extent-size";
			ext = p_.extent_sectors == 2048 ? 4096 : 2048;
		} else {
			tiers[r(n)] = pick(b);
		}
	}
	t.params = pool_params(p_.meta, ext, tiers, p_.features);
	return t;
}

Table Generator::volume_line()
{
	Table t;
	t.type = "tier";
	t.length = !p_.active_len.empty() && coin(50) ? pick(p_.active_len) : 1 + r(1ULL << 24);
	std::string pool = p_.pool_dev;
	std::vector<std::string> w;
	switch (r(6)) {
	case 0: { // wrong word count
		t.kind = "vol-bad-count";
		std::size_t k;
		do
			k = r(6);
		while (k == 2);
		for (std::size_t i = 0; i < k; i++)
			w.push_back(i == 0 ? pool : std::to_string(coin(50) ? existing_id() : r(8)));
		break;
	}
	case 1: { // not a pool device
		t.kind = "vol-not-a-pool";
		std::vector<std::string> b = bad_devices(p_.new_dev);
		b.insert(b.end(), p_.tiers.begin(), p_.tiers.end());
		b.push_back(p_.meta);
		b.insert(b.end(), p_.volume_devs.begin(), p_.volume_devs.end());
		w = {pick(b), std::to_string(existing_id())};
		break;
	}
	case 2: // no such volume, or no id
		t.kind = "vol-bad-id";
		w = {pool, coin(50) ? std::to_string(unknown_id()) : coin(50) ? bad_id() : odd_word()};
		break;
	case 3: // a volume active already
		if (!p_.active.empty()) {
			t.kind = "vol-active";
			w = {pool, std::to_string(pick(p_.active))};
			break;
		}
		[[fallthrough]];
	case 4: // trailing words
		t.kind = "vol-trailing-junk";
		w = {pool, std::to_string(existing_id()), coin(50) ? "junk" : std::to_string(r(10))};
		break;
	default: // zero length
		t.kind = "vol-zero-length";
		t.length = 0;
		w = {pool, std::to_string(!p_.active.empty() ? pick(p_.active) : unknown_id())};
		break;
	}
	t.params = join(w);
	return t;
}

Table Generator::odd_table()
{
	Table t;
	if (coin(50)) { // random bytes
		t.kind = "tbl-random-bytes";
		t.type = coin(50) ? "tier-pool" : "tier";
		t.length = 1 + r(1 << 30);
		t.params.resize(r(300));
		for (auto &ch : t.params)
			ch = char(1 + r(255));
		return t;
	}
	// the live line with odd bytes in the extent size or the tier count
	t.kind = "tbl-odd-bytes";
	t.type = "tier-pool";
	t.length = p_.pool_len;
	auto w = split_words(pool_params(p_.meta, p_.extent_sectors, p_.tiers, p_.features));
	std::size_t at = 1 + r(2);
	std::string s = w[at];
	s.insert(r(s.size() + 1), 1, char(kOdd[r(std::size(kOdd))]));
	w[at] = s;
	t.params = join(w);
	return t;
}

Table Generator::table()
{
	switch (r(10)) {
	case 0:
	case 1:
	case 2:
		return pool_parse_error();
	case 3:
	case 4:
		return pool_features_error();
	case 5:
		return pool_live_devices();
	case 6:
	case 7:
	case 8:
		return volume_line();
	default:
		return odd_table();
	}
}

} // namespace dmtier::dmfuzz
