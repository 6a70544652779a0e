// SPDX-License-Identifier: GPL-2.0
// Fuzz entry for tierd's HTTP/JSON API (userspace/tierd/api.cpp): what
// tierd does with a request's method, path (query included) and body once
// cpp-httplib has split it.
//
// Input: byte 0 flags (1 remote, 2 remote with the right token, 4 the next
// line is the Authorization header), then "METHOD PATH\n" and the body.
// The fake backend knows pool "tank" with volume 1 and, like the daemon,
// names unknown pools in its errors.
//
// Rules: no response is a 500 (the fake backend never fails that way), a
// JSON response is valid JSON, an error response carries {"error": "..."},
// 204 has no body.
#include <cerrno>
#include <string_view>

#include "fuzz_util.h"
#include "tierd/api.h"

namespace dmtier::fuzz {

namespace {

using namespace dmtier::tierd;

class FakeBackend : public Backend {
public:
	Result<json> check(const std::string &pool, std::optional<std::uint32_t> id = {})
	{
		if (pool != "tank")
			return make_error("no pool '" + pool + "' (tierd manages: tank)", ENOENT);
		if (id && *id != 1)
			return make_error("no volume " + std::to_string(*id) + " in pool " + pool, ENOENT);
		return json{{"pool", pool}};
	}
	json pools() override { return json::array({{{"name", "tank"}}}); }
	Result<json> pool(const std::string &p) override { return check(p); }
	Result<json> volumes(const std::string &p) override { return check(p); }
	Result<json> volume(const std::string &p, std::uint32_t id) override { return check(p, id); }
	Result<json> create_volume(const std::string &p, const VolumeSpec &s) override
	{
		auto c = check(p);
		if (!c)
			return c;
		if (s.id == 1)
			return make_error("volume 1 exists already in pool tank", EEXIST);
		json labels = json::object();
		for (const auto &[k, v] : s.labels)
			labels[k] = v;
		return json{{"id", s.id}, {"name", s.name}, {"size", s.size}, {"policy", s.policy},
			    {"model", s.model}, {"labels", labels}};
	}
	Status delete_volume(const std::string &p, std::uint32_t id) override
	{
		auto c = check(p, id);
		if (!c)
			return Error{c.error(), c.code()};
		return {};
	}
	Result<json> change_volume(const std::string &p, std::uint32_t id, const VolumeChange &) override
	{
		return check(p, id);
	}
	Result<json> heat(const std::string &p, std::uint32_t id) override { return check(p, id); }
	Result<json> prefetch(const std::string &p, std::uint32_t id) override { return check(p, id); }
	Result<json> cost(const std::string &p) override { return check(p); }
	Status pin(const std::string &p, std::uint32_t id, std::uint64_t, std::uint64_t, std::uint32_t) override
	{
		auto c = check(p, id);
		if (!c)
			return Error{c.error(), c.code()};
		return {};
	}
	Status unpin(const std::string &p, std::uint32_t id, std::uint64_t, std::uint64_t) override
	{
		auto c = check(p, id);
		if (!c)
			return Error{c.error(), c.code()};
		return {};
	}
	std::string metrics() override { return "# metrics\n"; }
};

} // namespace

int api(const std::uint8_t *data, std::size_t size)
{
	Input in(data, size);
	std::uint8_t flags = in.u8();
	std::string text = in.rest();
	std::string_view rest(text);
	auto line = [&rest]() {
		std::size_t nl = rest.find('\n');
		std::string_view l = rest.substr(0, nl);
		rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
		return std::string(l);
	};
	ApiRequest r;
	std::string first = line();
	std::size_t sp = first.find(' ');
	r.method = first.substr(0, sp);
	r.path = sp == std::string::npos ? "" : first.substr(sp + 1);
	r.remote = flags & 3;
	if (flags & 2)
		r.authorization = "Bearer fuzz-token";
	if (flags & 4)
		r.authorization = line();
	r.body = std::string(rest);

	FakeBackend backend;
	Api api(backend, "fuzz-token");
	ApiResponse res = api.handle(r);
	if (res.status == 500)
		fail("api", ("a 500 answer: " + res.body).c_str());
	if (res.status < 200 || res.status > 599)
		fail("api", "an HTTP status out of range");
	if (res.status == 204) {
		if (!res.body.empty())
			fail("api", "a 204 answer with a body");
		return 0;
	}
	if (res.content_type != "application/json")
		return 0;
	json j = json::parse(res.body, nullptr, false);
	if (j.is_discarded())
		fail("api", "an answer that is not JSON");
	if (res.status >= 400 && (!j.is_object() || !j.contains("error") || !j["error"].is_string() ||
				  j["error"].get<std::string>().empty()))
		fail("api", "an error answer without an error message");
	return 0;
}

} // namespace dmtier::fuzz
