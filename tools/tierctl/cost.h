// SPDX-License-Identifier: GPL-2.0
// tierctl cost: tierd's cost report (GET /v1/pools/{pool}/cost) as text,
// with the tiers' prices from tierd.conf.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "planner/cost.h"

namespace dmtier::tierctl {

// Refuses a report that does not have the shape of openapi.yaml's CostReport.
[[nodiscard]] Result<std::string> render_cost(const nlohmann::json &report, const std::vector<planner::TierCost> &tiers);

} // namespace dmtier::tierctl
