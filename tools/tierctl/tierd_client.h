// SPDX-License-Identifier: GPL-2.0
// tierctl's client of tierd's API (docs/openapi.yaml): HTTP/JSON over the
// Unix socket named in tierd.conf ([daemon] socket).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace dmtier::tierctl {

// Errors: ECONNREFUSED when tierd does not answer on the socket (the
// message names the socket and the fix); otherwise tierd's own error
// message, with ENOENT for 404, EINVAL for 400, EIO for the rest.
class TierdClient {
public:
	explicit TierdClient(std::string socket) : socket_(std::move(socket)) {}
	[[nodiscard]] Result<nlohmann::json> get(const std::string &path) const;
	const std::string &socket() const { return socket_; }

private:
	std::string socket_;
};

// The message of a tierd-down error, naming the fix.
std::string tierd_down_message(const std::string &socket, const std::string &why);

} // namespace dmtier::tierctl
