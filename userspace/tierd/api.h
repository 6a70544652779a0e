// SPDX-License-Identifier: GPL-2.0
// tierd's HTTP/JSON API, independent of the HTTP server: Api::handle maps a
// request (method, path, body, Authorization) to a response, validating
// input and calling a Backend (the daemon, or a fake in tests).  Errors are
// JSON {"error": "..."} with a 4xx status naming the problem.  The routes
// are described in docs/openapi.yaml.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tierd/volume_ops.h"

namespace dmtier::tierd {

using nlohmann::json;

struct ApiRequest {
	std::string method;
	std::string path;
	std::string body;
	std::string authorization; // the Authorization header
	bool remote = false;	   // came over TCP: needs the bearer token
};

struct ApiResponse {
	int status = 200;
	std::string body;
	std::string content_type = "application/json";
};

class Backend {
public:
	virtual ~Backend() = default;
	virtual json pools() = 0;
	virtual Result<json> pool(const std::string &pool) = 0;
	virtual Result<json> volumes(const std::string &pool) = 0;
	virtual Result<json> volume(const std::string &pool, std::uint32_t id) = 0;
	virtual Result<json> create_volume(const std::string &pool, const VolumeSpec &spec) = 0;
	virtual Status delete_volume(const std::string &pool, std::uint32_t id) = 0;
	virtual Result<json> change_volume(const std::string &pool, std::uint32_t id, const VolumeChange &c) = 0;
	virtual Result<json> heat(const std::string &pool, std::uint32_t id) = 0;
	virtual Result<json> prefetch(const std::string &pool, std::uint32_t id) = 0;
	virtual Result<json> cost(const std::string &pool) = 0;
	virtual Status pin(const std::string &pool, std::uint32_t id, std::uint64_t begin, std::uint64_t end,
			   std::uint32_t tier) = 0;
	virtual Status unpin(const std::string &pool, std::uint32_t id, std::uint64_t begin, std::uint64_t end) = 0;
	virtual std::string metrics() = 0;
};

// "10G", "512M", "4096", "1.5T" (binary units) -> bytes.
[[nodiscard]] Result<std::uint64_t> parse_size(const json &v);
// errno -> HTTP status (ENOENT 404, EEXIST/EBUSY 409, EINVAL 400, EPERM 403,
// ENOSPC 507, else 500).
int http_status(int err);

class Api {
public:
	// token: the bearer token remote requests must carry ("" refuses them).
	Api(Backend &b, std::string token = {}) : b_(b), token_(std::move(token)) {}
	void set_token(std::string t) { token_ = std::move(t); }
	ApiResponse handle(const ApiRequest &r);

private:
	ApiResponse route(const ApiRequest &r);
	Backend &b_;
	std::string token_;
};

} // namespace dmtier::tierd
