// SPDX-License-Identifier: GPL-2.0
#include "tierd/api.h"

#include <cerrno>
#include <cmath>
#include <vector>

namespace dmtier::tierd {

namespace {

// Strings from the request (a pool name in a path, a key of a body) need
// not be UTF-8: dump() would throw on them and the answer be a 500.  They
// are written with U+FFFD in place of each invalid byte instead.
std::string dump(const json &j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

ApiResponse error(int status, const std::string &msg) { return {status, dump(json{{"error", msg}}) + "\n"}; }

ApiResponse ok(const json &j, int status = 200) { return {status, dump(j) + "\n"}; }


template <typename T>
ApiResponse from(const Result<T> &r, int status = 200)
{
	if (!r)
		return error(http_status(r.code()), r.error());
	return ok(*r, status);
}

std::vector<std::string> split(const std::string &path)
{
	std::vector<std::string> out;
	std::string cur;
	std::string p = path.substr(0, path.find('?'));
	for (char c : p) {
		if (c == '/') {
			if (!cur.empty())
				out.push_back(cur);
			cur.clear();
		} else {
			cur += c;
		}
	}
	if (!cur.empty())
		out.push_back(cur);
	return out;
}

bool parse_id(const std::string &s, std::uint32_t *id)
{
	if (s.empty() || s.size() > 8)
		return false;
	std::uint64_t v = 0;
	for (char c : s) {
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + std::uint64_t(c - '0');
	}
	if (v > kMaxVolumeId)
		return false;
	*id = std::uint32_t(v);
	return true;
}

bool const_eq(const std::string &a, const std::string &b)
{
	unsigned char d = a.size() != b.size();
	for (std::size_t i = 0; i < a.size() && i < b.size(); i++)
		d |= static_cast<unsigned char>(a[i] ^ b[i]);
	return d == 0;
}

// Body as a JSON object; fields not in `known` are refused.
Result<json> body_object(const std::string &body, std::initializer_list<const char *> known)
{
	json j;
	if (body.empty())
		j = json::object();
	else {
		j = json::parse(body, nullptr, false);
		if (j.is_discarded())
			return make_error("request body is not valid JSON", EINVAL);
	}
	if (!j.is_object())
		return make_error("request body must be a JSON object", EINVAL);
	for (auto it = j.begin(); it != j.end(); ++it) {
		bool found = false;
		for (const char *k : known)
			found |= it.key() == k;
		if (!found) {
			std::string keys;
			for (const char *k : known)
				keys += (keys.empty() ? "" : ", ") + std::string(k);
			return make_error("unknown field '" + it.key() + "' (known: " + keys + ")", EINVAL);
		}
	}
	return j;
}

Status get_u64(const json &j, const char *key, bool required, std::uint64_t *out, std::uint64_t max = UINT64_MAX)
{
	if (!j.contains(key)) {
		if (required)
			return make_error(std::string("missing field '") + key + "'", EINVAL);
		return {};
	}
	const json &v = j[key];
	if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
		return make_error(std::string("field '") + key + "' must be a non-negative integer", EINVAL);
	if (v.get<std::uint64_t>() > max)
		return make_error(std::string("field '") + key + "' must be at most " + std::to_string(max), EINVAL);
	*out = v.get<std::uint64_t>();
	return {};
}

Status get_string(const json &j, const char *key, std::string *out)
{
	if (!j.contains(key))
		return {};
	if (!j[key].is_string())
		return make_error(std::string("field '") + key + "' must be a string", EINVAL);
	*out = j[key].get<std::string>();
	if (out->empty())
		return make_error(std::string("field '") + key + "' must not be empty", EINVAL);
	return {};
}

Status get_bool(const json &j, const char *key, std::optional<bool> *out)
{
	if (!j.contains(key))
		return {};
	if (!j[key].is_boolean())
		return make_error(std::string("field '") + key + "' must be true or false", EINVAL);
	*out = j[key].get<bool>();
	return {};
}

} // namespace

int http_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return 404;
	case EEXIST:
	case EBUSY:
		return 409;
	case EINVAL:
	case ERANGE:
	case ENODATA:
		return 400;
	case EPERM:
	case EACCES:
		return 403;
	case ENOSPC:
		return 507;
	default:
		return 500;
	}
}

Result<std::uint64_t> parse_size(const json &v)
{
	if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() > 0))
		return v.get<std::uint64_t>();
	if (!v.is_string())
		return make_error("size must be a number of bytes or a string such as \"10G\"", EINVAL);
	std::string s = v.get<std::string>();
	std::size_t pos = 0;
	double n;
	try {
		n = std::stod(s, &pos);
	} catch (...) {
		return make_error("size '" + s + "' is not a size (e.g. 4096, 512M, 10G)", EINVAL);
	}
	std::string unit = s.substr(pos);
	double mul = 1;
	if (unit.empty() || unit == "B")
		mul = 1;
	else if (unit == "K" || unit == "KiB")
		mul = 1024.0;
	else if (unit == "M" || unit == "MiB")
		mul = 1024.0 * 1024;
	else if (unit == "G" || unit == "GiB")
		mul = 1024.0 * 1024 * 1024;
	else if (unit == "T" || unit == "TiB")
		mul = 1024.0 * 1024 * 1024 * 1024;
	else
		return make_error("size '" + s + "' has an unknown unit '" + unit + "' (K, M, G, T)", EINVAL);
	double b = n * mul;
	if (!(b > 0) || b > 1e18 || b != std::floor(b))
		return make_error("size '" + s + "' is not a positive whole number of bytes", EINVAL);
	return std::uint64_t(b);
}

ApiResponse Api::handle(const ApiRequest &r)
{
	if (r.remote) {
		if (token_.empty() || !const_eq(r.authorization, "Bearer " + token_)) {
			ApiResponse res = error(401, "a bearer token is required (Authorization: Bearer <token>)");
			return res;
		}
	}
	try {
		return route(r);
	} catch (const std::exception &e) {
		return error(500, std::string("internal error: ") + e.what());
	}
}

ApiResponse Api::route(const ApiRequest &r)
{
	const auto seg = split(r.path);
	const std::string &m = r.method;
	auto method_not_allowed = [&](const char *allowed) {
		return error(405, "method " + m + " not allowed on " + r.path + " (allowed: " + allowed + ")");
	};
	if (seg.size() == 1 && seg[0] == "metrics") {
		if (m != "GET")
			return method_not_allowed("GET");
		return {200, b_.metrics(), "text/plain; version=0.0.4"};
	}
	if (seg.empty() || seg[0] != "v1")
		return error(404, "no such endpoint: " + r.path + " (the API lives under /v1; see docs/openapi.yaml)");
	if (seg.size() == 2 && seg[1] == "health") {
		return ok(json{{"status", "ok"}});
	}
	if (seg.size() < 2 || seg[1] != "pools")
		return error(404, "no such endpoint: " + r.path);
	if (seg.size() == 2) {
		if (m != "GET")
			return method_not_allowed("GET");
		return ok(b_.pools());
	}
	const std::string &pool = seg[2];
	if (seg.size() == 3) {
		if (m != "GET")
			return method_not_allowed("GET");
		return from(b_.pool(pool));
	}
	if (seg.size() == 4 && seg[3] == "cost") {
		if (m != "GET")
			return method_not_allowed("GET");
		return from(b_.cost(pool));
	}
	if (seg[3] != "volumes")
		return error(404, "no such endpoint: " + r.path);
	if (seg.size() == 4) {
		if (m == "GET")
			return from(b_.volumes(pool));
		if (m != "POST")
			return method_not_allowed("GET, POST");
		auto j = body_object(r.body, {"id", "name", "size", "tiering_enabled", "tiering_policy",
					      "prediction_model", "labels"});
		if (!j)
			return error(400, j.error());
		VolumeSpec s;
		std::uint64_t id = 0;
		if (Status st = get_u64(*j, "id", true, &id, kMaxVolumeId); !st)
			return error(400, st.error());
		s.id = std::uint32_t(id);
		if (!j->contains("size"))
			return error(400, "missing field 'size' (bytes, or a string such as \"10G\")");
		auto size = parse_size((*j)["size"]);
		if (!size)
			return error(400, size.error());
		s.size = *size;
		if (s.size % 512)
			return error(400, "size " + std::to_string(s.size) + " is not a multiple of 512 bytes");
		for (auto st : {get_string(*j, "name", &s.name), get_string(*j, "tiering_policy", &s.policy),
				get_string(*j, "prediction_model", &s.model), get_bool(*j, "tiering_enabled", &s.tiering_enabled)})
			if (!st)
				return error(400, st.error());
		if (!s.name.empty())
			if (Status st = check_dm_name(s.name); !st)
				return error(400, st.error());
		if (!s.policy.empty())
			if (Status st = check_policy(s.policy); !st)
				return error(400, st.error());
		if (!s.model.empty())
			if (Status st = check_model(s.model); !st)
				return error(400, st.error());
		if (j->contains("labels")) {
			const json &l = (*j)["labels"];
			if (!l.is_object())
				return error(400, "field 'labels' must be an object of strings");
			for (auto it = l.begin(); it != l.end(); ++it) {
				const std::string &k = it.key();
				bool good = !k.empty() && k.size() <= 15;
				for (char c : k)
					good &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
				if (!good || k == "tiering_enabled" || k == "tiering_policy" || k == "prediction_model")
					return error(400, "label key '" + k + "' must be 1 to 15 characters of [a-z0-9_] and not a setting");
				if (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > 47)
					return error(400, "label '" + k + "' must be a string of 1 to 47 characters");
				for (char c : it->get<std::string>())
					if (c <= ' ' || c > '~')
						return error(400, "label '" + k + "' must be printable without spaces");
				s.labels[k] = it->get<std::string>();
			}
		}
		return from(b_.create_volume(pool, s), 201);
	}
	std::uint32_t id;
	if (!parse_id(seg[4], &id))
		return error(400, "volume id '" + seg[4] + "' is not a number from 0 to " + std::to_string(kMaxVolumeId));
	if (seg.size() == 5) {
		if (m == "GET")
			return from(b_.volume(pool, id));
		if (m == "DELETE") {
			Status s = b_.delete_volume(pool, id);
			if (!s)
				return error(http_status(s.code()), s.error());
			return {204, ""};
		}
		if (m != "PATCH")
			return method_not_allowed("GET, PATCH, DELETE");
		auto j = body_object(r.body, {"size", "tiering_enabled", "tiering_policy", "prediction_model"});
		if (!j)
			return error(400, j.error());
		if (j->empty())
			return error(400, "nothing to change: give size, tiering_enabled, tiering_policy or prediction_model");
		VolumeChange c;
		if (j->contains("size")) {
			auto size = parse_size((*j)["size"]);
			if (!size)
				return error(400, size.error());
			if (*size % 512)
				return error(400, "size " + std::to_string(*size) + " is not a multiple of 512 bytes");
			c.size = *size;
		}
		for (auto st : {get_string(*j, "tiering_policy", &c.policy), get_string(*j, "prediction_model", &c.model),
				get_bool(*j, "tiering_enabled", &c.tiering_enabled)})
			if (!st)
				return error(400, st.error());
		if (!c.policy.empty())
			if (Status st = check_policy(c.policy); !st)
				return error(400, st.error());
		if (!c.model.empty())
			if (Status st = check_model(c.model); !st)
				return error(400, st.error());
		return from(b_.change_volume(pool, id, c));
	}
	if (seg.size() == 6) {
		const std::string &what = seg[5];
		if (what == "heat" || what == "prefetch") {
			if (m != "GET")
				return method_not_allowed("GET");
			return from(what == "heat" ? b_.heat(pool, id) : b_.prefetch(pool, id));
		}
		if (what == "pin" || what == "unpin") {
			if (m != "POST")
				return method_not_allowed("POST");
			auto j = what == "pin" ? body_object(r.body, {"begin", "end", "tier"})
					       : body_object(r.body, {"begin", "end"});
			if (!j)
				return error(400, j.error());
			std::uint64_t begin = 0, end = 0, tier = 0;
			if (Status st = get_u64(*j, "begin", true, &begin); !st)
				return error(400, st.error() + " (first extent)");
			if (Status st = get_u64(*j, "end", true, &end); !st)
				return error(400, st.error() + " (extent after the last)");
			if (end <= begin)
				return error(400, "end (" + std::to_string(end) + ") must be greater than begin (" +
							  std::to_string(begin) + ")");
			if (what == "pin") {
				if (Status st = get_u64(*j, "tier", true, &tier, 7); !st)
					return error(400, st.error());
				Status s = b_.pin(pool, id, begin, end, std::uint32_t(tier));
				if (!s)
					return error(http_status(s.code()), s.error());
			} else {
				Status s = b_.unpin(pool, id, begin, end);
				if (!s)
					return error(http_status(s.code()), s.error());
			}
			return ok(json{{"pool", pool}, {"volume", id}, {"begin", begin}, {"end", end}, {what == "pin" ? "pinned" : "unpinned", true}});
		}
	}
	return error(404, "no such endpoint: " + r.path);
}

} // namespace dmtier::tierd
