// SPDX-License-Identifier: GPL-2.0
// Checked reads of TOML tables for dm-tier's configuration files (tierd.conf,
// the boot activation files under /etc/dm-tier/pools.d/): unknown keys,
// wrong types and values out of range become one error naming the file,
// line and key.  The first error wins; the helpers return false once one
// is recorded so callers can chain them with &&.
#pragma once

#include <cerrno>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>

#include <toml++/toml.h>

#include "common/result.h"

namespace dmtier::toml_fields {

// Parse TOML text; a syntax error is "NAME:LINE:COLUMN: what".
inline Result<toml::table> parse(const std::string &text, const std::string &name)
{
	try {
		return toml::parse(text, name);
	} catch (const toml::parse_error &e) {
		const auto &b = e.source().begin;
		return make_error(name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
					  std::string(e.description()),
				  EINVAL);
	}
}

struct Ctx {
	const std::string &file;
	std::string err;

	std::string where(const toml::node &n) const
	{
		const auto &b = n.source().begin;
		if (b.line)
			return file + ":" + std::to_string(b.line) + ": ";
		return file + ": ";
	}
	bool fail(const toml::node &n, const std::string &msg)
	{
		if (err.empty())
			err = where(n) + msg;
		return false;
	}
};

inline bool check_keys(Ctx &c, const toml::table &t, const std::string &section, const std::set<std::string> &known)
{
	for (const auto &[k, v] : t) {
		if (!known.count(std::string(k.str()))) {
			std::string keys;
			for (const auto &x : known)
				keys += (keys.empty() ? "" : ", ") + x;
			return c.fail(v, "unknown key '" + std::string(k.str()) + "' in " + section + " (known: " + keys + ")");
		}
	}
	return true;
}

template <typename T>
bool get_num(Ctx &c, const toml::table &t, const char *sec, const char *key, T *out, double lo, double hi)
{
	const toml::node *n = t.get(key);
	if (!n)
		return true;
	double v;
	if (auto i = n->value_exact<std::int64_t>())
		v = double(*i);
	else if (auto d = n->value_exact<double>())
		v = *d;
	else
		return c.fail(*n, std::string(sec) + "." + key + " must be a number");
	if (!(v >= lo && v <= hi)) { // NaN too: it passed the range test, then int64_t(NaN) was undefined
		std::ostringstream o;
		o << sec << "." << key << " = " << v << " is out of range [" << lo << ", " << hi << "]";
		return c.fail(*n, o.str());
	}
	if constexpr (std::is_integral_v<T>) {
		if (v != double(std::int64_t(v)))
			return c.fail(*n, std::string(sec) + "." + key + " must be an integer");
	}
	*out = T(v);
	return true;
}

inline bool get_str(Ctx &c, const toml::table &t, const char *sec, const char *key, std::string *out)
{
	const toml::node *n = t.get(key);
	if (!n)
		return true;
	auto s = n->value_exact<std::string>();
	if (!s)
		return c.fail(*n, std::string(sec) + "." + key + " must be a string");
	*out = *s;
	return true;
}

inline bool get_bool(Ctx &c, const toml::table &t, const char *sec, const char *key, bool *out)
{
	const toml::node *n = t.get(key);
	if (!n)
		return true;
	auto b = n->value_exact<bool>();
	if (!b)
		return c.fail(*n, std::string(sec) + "." + key + " must be true or false");
	*out = *b;
	return true;
}

} // namespace dmtier::toml_fields
