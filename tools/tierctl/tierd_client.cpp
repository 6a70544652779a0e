// SPDX-License-Identifier: GPL-2.0
#include "tierd_client.h"

#include <cerrno>
#include <sys/socket.h>

#include <httplib.h>

namespace dmtier::tierctl {

using json = nlohmann::json;

std::string tierd_down_message(const std::string &socket, const std::string &why)
{
	return "tierd is not running: no answer on " + socket + " (" + why +
	       "); start it with 'systemctl start tierd' (or give its socket with --tierd-config FILE)";
}

Result<json> TierdClient::get(const std::string &path) const
{
	httplib::Client c(socket_, 80);
	c.set_address_family(AF_UNIX);
	c.set_connection_timeout(2, 0);
	c.set_read_timeout(30, 0);
	auto r = c.Get(path.c_str());
	if (!r)
		return make_error(tierd_down_message(socket_, httplib::to_string(r.error())), ECONNREFUSED);
	json body;
	try {
		body = json::parse(r->body);
	} catch (const json::exception &) {
		if (r->status == 200)
			return make_error("tierd answered GET " + path + " with something that is not JSON", EPROTO);
	}
	if (r->status != 200) {
		std::string msg = body.is_object() && body.contains("error") && body["error"].is_string()
					  ? body["error"].get<std::string>()
					  : "HTTP " + std::to_string(r->status);
		return make_error("tierd: " + msg, r->status == 404 ? ENOENT : r->status == 400 ? EINVAL : EIO);
	}
	return body;
}

} // namespace dmtier::tierctl
