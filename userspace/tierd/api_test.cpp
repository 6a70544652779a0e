// SPDX-License-Identifier: GPL-2.0
#include "tierd/api.h"

#include <gtest/gtest.h>

#include <cerrno>

using namespace dmtier::tierd;
using dmtier::Result;
using dmtier::Status;
using dmtier::make_error;

namespace {

// Records what reached it; pool "tank" exists with volume 1.
class FakeBackend : public Backend {
public:
	std::vector<std::string> calls;
	VolumeSpec last_spec;
	VolumeChange last_change;

	Result<json> check(const std::string &pool, std::optional<std::uint32_t> id = {})
	{
		if (pool != "tank")
			return make_error("no pool '" + pool + "'", ENOENT);
		if (id && *id != 1)
			return make_error("no volume " + std::to_string(*id), ENOENT);
		return json::object();
	}
	json pools() override { return json::array({{{"name", "tank"}}}); }
	Result<json> pool(const std::string &p) override { return check(p); }
	Result<json> volumes(const std::string &p) override
	{
		calls.push_back("volumes " + p);
		auto c = check(p);
		if (!c)
			return c;
		return json::array({{{"id", 1}}});
	}
	Result<json> volume(const std::string &p, std::uint32_t id) override { return check(p, id); }
	Result<json> create_volume(const std::string &p, const VolumeSpec &s) override
	{
		calls.push_back("create " + p + " " + std::to_string(s.id));
		last_spec = s;
		auto c = check(p);
		if (!c)
			return c;
		if (s.id == 1)
			return make_error("volume 1 exists already in pool tank", EEXIST);
		return json{{"id", s.id}};
	}
	Status delete_volume(const std::string &p, std::uint32_t id) override
	{
		calls.push_back("delete " + p + " " + std::to_string(id));
		auto c = check(p, id);
		if (!c)
			return dmtier::Error{c.error(), c.code()};
		return {};
	}
	Result<json> change_volume(const std::string &p, std::uint32_t id, const VolumeChange &c) override
	{
		calls.push_back("change");
		last_change = c;
		return check(p, id);
	}
	Result<json> heat(const std::string &p, std::uint32_t id) override { return check(p, id); }
	Result<json> prefetch(const std::string &p, std::uint32_t id) override { return check(p, id); }
	Result<json> cost(const std::string &p) override { return check(p); }
	Status pin(const std::string &p, std::uint32_t id, std::uint64_t b, std::uint64_t e, std::uint32_t t) override
	{
		calls.push_back("pin " + std::to_string(b) + " " + std::to_string(e) + " " + std::to_string(t));
		auto c = check(p, id);
		if (!c)
			return dmtier::Error{c.error(), c.code()};
		return {};
	}
	Status unpin(const std::string &p, std::uint32_t id, std::uint64_t b, std::uint64_t e) override
	{
		calls.push_back("unpin " + std::to_string(b) + " " + std::to_string(e));
		auto c = check(p, id);
		if (!c)
			return dmtier::Error{c.error(), c.code()};
		return {};
	}
	std::string metrics() override { return "tierd_up 1\n"; }
};

ApiResponse call(Api &a, std::string method, std::string path, std::string body = {})
{
	return a.handle({std::move(method), std::move(path), std::move(body), {}, false});
}

std::string err_of(const ApiResponse &r)
{
	auto j = json::parse(r.body, nullptr, false);
	return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "";
}

} // namespace

TEST(Api, ListsAndReads)
{
	FakeBackend b;
	Api a(b);
	auto r = call(a, "GET", "/v1/pools");
	EXPECT_EQ(r.status, 200);
	EXPECT_EQ(json::parse(r.body)[0]["name"], "tank");
	EXPECT_EQ(call(a, "GET", "/v1/pools/tank/volumes").status, 200);
	EXPECT_EQ(call(a, "GET", "/v1/pools/tank/volumes/1").status, 200);
	EXPECT_EQ(call(a, "GET", "/v1/pools/tank/volumes/1/heat").status, 200);
	EXPECT_EQ(call(a, "GET", "/v1/pools/tank/volumes/1/prefetch").status, 200);
	EXPECT_EQ(call(a, "GET", "/v1/pools/tank/cost").status, 200);
	auto m = call(a, "GET", "/metrics");
	EXPECT_EQ(m.status, 200);
	EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
	EXPECT_EQ(m.body, "tierd_up 1\n");
}

TEST(Api, NotFoundNamesWhat)
{
	FakeBackend b;
	Api a(b);
	auto r = call(a, "GET", "/v1/pools/nope/volumes");
	EXPECT_EQ(r.status, 404);
	EXPECT_EQ(err_of(r), "no pool 'nope'");
	r = call(a, "GET", "/v1/pools/tank/volumes/7");
	EXPECT_EQ(r.status, 404);
	EXPECT_EQ(err_of(r), "no volume 7");
	r = call(a, "GET", "/v2/pools");
	EXPECT_EQ(r.status, 404);
	EXPECT_NE(err_of(r).find("/v1"), std::string::npos);
	r = call(a, "GET", "/v1/pools/tank/volumes/abc");
	EXPECT_EQ(r.status, 400);
	EXPECT_NE(err_of(r).find("'abc'"), std::string::npos);
	r = call(a, "PUT", "/v1/pools/tank/volumes/1");
	EXPECT_EQ(r.status, 405);
	EXPECT_NE(err_of(r).find("PATCH"), std::string::npos);
}

TEST(Api, CreateValidates)
{
	FakeBackend b;
	Api a(b);
	auto r = call(a, "POST", "/v1/pools/tank/volumes",
		      R"({"id": 4, "size": "10G", "tiering_policy": "cost-optimized", "prediction_model": "lstm",
			  "tiering_enabled": false, "labels": {"os": "linux"}})");
	EXPECT_EQ(r.status, 201) << r.body;
	EXPECT_EQ(b.last_spec.id, 4u);
	EXPECT_EQ(b.last_spec.size, 10ULL << 30);
	EXPECT_EQ(b.last_spec.policy, "cost-optimized");
	EXPECT_EQ(b.last_spec.model, "lstm");
	EXPECT_EQ(b.last_spec.tiering_enabled, std::optional<bool>(false));
	EXPECT_EQ(b.last_spec.labels.at("os"), "linux");

	struct Case {
		const char *body;
		const char *says;
	} bad[] = {
		{"not json", "not valid JSON"},
		{"[1]", "JSON object"},
		{R"({"size": "1G"})", "missing field 'id'"},
		{R"({"id": 2})", "missing field 'size'"},
		{R"({"id": -1, "size": 4096})", "'id' must be a non-negative integer"},
		{R"({"id": 9000000, "size": 4096})", "at most 8388606"},
		{R"({"id": 2, "size": "10X"})", "unknown unit 'X'"},
		{R"({"id": 2, "size": 1000})", "not a multiple of 512"},
		{R"({"id": 2, "size": 4096, "tiering_policy": "fast"})", "tiering_policy 'fast'"},
		{R"({"id": 2, "size": 4096, "prediction_model": "a b"})", "prediction_model 'a b'"},
		{R"({"id": 2, "size": 4096, "tiering_enabled": "yes"})", "true or false"},
		{R"({"id": 2, "size": 4096, "colour": "red"})", "unknown field 'colour'"},
		{R"({"id": 2, "size": 4096, "name": "a/b"})", "volume name 'a/b'"},
		{R"({"id": 2, "size": 4096, "labels": {"OS": "x"}})", "label key 'OS'"},
	};
	b.calls.clear();
	for (const auto &c : bad) {
		r = call(a, "POST", "/v1/pools/tank/volumes", c.body);
		EXPECT_EQ(r.status, 400) << c.body;
		EXPECT_NE(err_of(r).find(c.says), std::string::npos) << c.body << " -> " << r.body;
	}
	EXPECT_TRUE(b.calls.empty()) << "a bad request reached the backend";
	// Backend errors map to their status.
	r = call(a, "POST", "/v1/pools/tank/volumes", R"({"id": 1, "size": 4096})");
	EXPECT_EQ(r.status, 409);
	EXPECT_NE(err_of(r).find("exists already"), std::string::npos);
	r = call(a, "POST", "/v1/pools/nope/volumes", R"({"id": 3, "size": 4096})");
	EXPECT_EQ(r.status, 404);
}

TEST(Api, DeleteChangePin)
{
	FakeBackend b;
	Api a(b);
	EXPECT_EQ(call(a, "DELETE", "/v1/pools/tank/volumes/1").status, 204);
	EXPECT_EQ(call(a, "DELETE", "/v1/pools/tank/volumes/2").status, 404);
	auto r = call(a, "PATCH", "/v1/pools/tank/volumes/1", R"({"size": "2G", "tiering_policy": "balanced"})");
	EXPECT_EQ(r.status, 200) << r.body;
	EXPECT_EQ(b.last_change.size, std::optional<std::uint64_t>(2ULL << 30));
	EXPECT_EQ(b.last_change.policy, "balanced");
	EXPECT_EQ(call(a, "PATCH", "/v1/pools/tank/volumes/1", "{}").status, 400);
	r = call(a, "POST", "/v1/pools/tank/volumes/1/pin", R"({"begin": 4, "end": 8, "tier": 0})");
	EXPECT_EQ(r.status, 200) << r.body;
	EXPECT_EQ(b.calls.back(), "pin 4 8 0");
	r = call(a, "POST", "/v1/pools/tank/volumes/1/pin", R"({"begin": 8, "end": 4, "tier": 0})");
	EXPECT_EQ(r.status, 400);
	EXPECT_NE(err_of(r).find("end (4) must be greater than begin (8)"), std::string::npos);
	r = call(a, "POST", "/v1/pools/tank/volumes/1/pin", R"({"begin": 0, "end": 4})");
	EXPECT_EQ(r.status, 400);
	EXPECT_NE(err_of(r).find("missing field 'tier'"), std::string::npos);
	r = call(a, "POST", "/v1/pools/tank/volumes/1/unpin", R"({"begin": 0, "end": 4, "tier": 1})");
	EXPECT_EQ(r.status, 400); // unpin takes no tier
	EXPECT_EQ(call(a, "POST", "/v1/pools/tank/volumes/1/unpin", R"({"begin": 0, "end": 4})").status, 200);
	EXPECT_EQ(b.calls.back(), "unpin 0 4");
}

TEST(Api, RemoteNeedsToken)
{
	FakeBackend b;
	Api a(b, "s3cret");
	ApiRequest r{"GET", "/v1/pools", "", "", true};
	EXPECT_EQ(a.handle(r).status, 401);
	r.authorization = "Bearer wrong";
	EXPECT_EQ(a.handle(r).status, 401);
	r.authorization = "Bearer s3cret";
	EXPECT_EQ(a.handle(r).status, 200);
	// No token configured: remote requests are refused outright.
	Api none(b);
	EXPECT_EQ(none.handle(r).status, 401);
	// The Unix socket needs none.
	r.remote = false;
	r.authorization.clear();
	EXPECT_EQ(a.handle(r).status, 200);
}

TEST(Api, ParseSize)
{
	EXPECT_EQ(*parse_size(json(4096)), 4096u);
	EXPECT_EQ(*parse_size(json("512M")), 512ULL << 20);
	EXPECT_EQ(*parse_size(json("1.5G")), 3ULL << 29);
	EXPECT_EQ(*parse_size(json("2TiB")), 2ULL << 40);
	EXPECT_FALSE(parse_size(json("-1G")).ok());
	EXPECT_FALSE(parse_size(json("G")).ok());
	EXPECT_FALSE(parse_size(json(true)).ok());
	EXPECT_FALSE(parse_size(json(0)).ok());
}

// Found by fuzzing (tests/fuzz/api_entry.cpp): a path or body key that is
// not UTF-8 (cpp-httplib decodes %FF in a path to the byte) made dump()
// throw, and the answer was a 500 "internal error".
TEST(Api, BytesThatAreNotUtf8AreAClearError)
{
	FakeBackend b;
	Api a(b);
	auto r = call(a, "GET", "/v1/pools/\xff\xfe/volumes");
	EXPECT_EQ(r.status, 404) << r.body;
	EXPECT_EQ(err_of(r), "no pool '\xef\xbf\xbd\xef\xbf\xbd'");
	r = call(a, "GET", "/v2/\xc3");
	EXPECT_EQ(r.status, 404) << r.body;
	// (nlohmann::json refuses such a body outright.)
	r = call(a, "POST", "/v1/pools/tank/volumes", "{\"\xff\": 1}");
	EXPECT_EQ(r.status, 400) << r.body;
	EXPECT_NE(err_of(r).find("not valid JSON"), std::string::npos);
	r = call(a, "\xff", "/v1/pools");
	EXPECT_EQ(r.status, 405) << r.body;
}
