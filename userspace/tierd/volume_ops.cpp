// SPDX-License-Identifier: GPL-2.0
#include "tierd/volume_ops.h"

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "dmctl/tier_status.h"

namespace dmtier::tierd {

Status check_dm_name(const std::string &n)
{
	if (n.empty() || n.size() > 127)
		return make_error("volume name must be 1 to 127 characters", EINVAL);
	for (char c : n)
		if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '+'))
			return make_error("volume name '" + n + "' may only hold letters, digits and -_.+", EINVAL);
	if (n == "." || n == "..")
		return make_error("volume name must not be . or ..", EINVAL);
	return {};
}

Status check_policy(const std::string &p)
{
	if (p == "performance-optimized" || p == "cost-optimized" || p == "balanced" || p == "striped")
		return {};
	return make_error("tiering_policy '" + p +
				  "' is not one of performance-optimized, cost-optimized, balanced, striped",
			  EINVAL);
}

Status check_model(const std::string &m)
{
	if (m.empty() || m.size() > 31)
		return make_error("prediction_model must be 1 to 31 characters", EINVAL);
	for (char c : m)
		if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '/' || c == '-'))
			return make_error("prediction_model '" + m + "' may only hold [A-Za-z0-9._/-]", EINVAL);
	return {};
}

Result<std::vector<ActivePool>> discover(DmOps &dm)
{
	auto names = dm.list();
	if (!names)
		return std::move(names).take_error();
	std::vector<ActivePool> pools;
	std::vector<std::pair<std::string, dm::Target>> vols;
	for (const auto &n : *names) {
		auto t = dm.table(n);
		if (!t)
			continue; // removed meanwhile
		if (t->type == "tier-pool") {
			auto i = dm.info(n);
			if (!i || !i->exists)
				continue;
			ActivePool p;
			p.name = n;
			p.dev = std::to_string(i->major) + ":" + std::to_string(i->minor);
			std::istringstream s(t->params);
			std::string meta;
			s >> meta >> p.extent_sectors;
			pools.push_back(std::move(p));
		} else if (t->type == "tier") {
			vols.emplace_back(n, *t);
		}
	}
	for (const auto &[n, t] : vols) {
		auto vt = dm::parse_volume_table(t.params);
		if (!vt)
			continue;
		for (auto &p : pools)
			if (p.dev == vt->pool_dev)
				p.volumes.push_back({n, vt->id, t.length});
	}
	return pools;
}

Result<std::string> VolumeOps::pool_dev(const std::string &pool)
{
	auto t = dm_.table(pool);
	if (!t || t->type != "tier-pool")
		return make_error("no active pool '" + pool + "'", ENOENT);
	auto i = dm_.info(pool);
	if (!i || !i->exists)
		return make_error("no active pool '" + pool + "'", ENOENT);
	return std::to_string(i->major) + ":" + std::to_string(i->minor);
}

Result<std::vector<std::uint32_t>> VolumeOps::ids(const std::string &pool)
{
	auto r = dm_.message(pool, "list_volumes");
	if (!r)
		return make_error("list_volumes on " + pool + ": " + r.error(), r.code());
	std::vector<std::uint32_t> out;
	std::istringstream s(*r);
	std::uint64_t id;
	while (s >> id)
		out.push_back(std::uint32_t(id));
	return out;
}

Result<std::optional<ActiveVolume>> VolumeOps::find(const std::string &pool, std::uint32_t id)
{
	auto pools = discover(dm_);
	if (!pools)
		return std::move(pools).take_error();
	for (const auto &p : *pools)
		if (p.name == pool)
			for (const auto &v : p.volumes)
				if (v.id == id)
					return std::optional<ActiveVolume>(v);
	return std::optional<ActiveVolume>();
}

Result<ActiveVolume> VolumeOps::create(const std::string &pool, VolumeSpec spec)
{
	if (spec.id > kMaxVolumeId)
		return make_error("volume id " + std::to_string(spec.id) + " is above " + std::to_string(kMaxVolumeId), EINVAL);
	if (spec.size == 0 || spec.size % 512)
		return make_error("size must be a positive multiple of 512 bytes", EINVAL);
	if (spec.name.empty())
		spec.name = pool + "-" + std::to_string(spec.id);
	if (Status s = check_dm_name(spec.name); !s)
		return Error{s.error(), s.code()};
	if (!spec.policy.empty())
		if (Status s = check_policy(spec.policy); !s)
			return Error{s.error(), s.code()};
	if (!spec.model.empty())
		if (Status s = check_model(spec.model); !s)
			return Error{s.error(), s.code()};
	auto dev = pool_dev(pool);
	if (!dev)
		return std::move(dev).take_error();
	auto in = dm_.info(spec.name);
	if (in && in->exists)
		return make_error("a device named '" + spec.name + "' exists already", EEXIST);
	auto have = ids(pool);
	if (!have)
		return std::move(have).take_error();
	for (auto id : *have)
		if (id == spec.id)
			return make_error("volume " + std::to_string(spec.id) + " exists already in pool " + pool, EEXIST);

	auto r = dm_.message(pool, "create_volume " + std::to_string(spec.id));
	if (!r)
		return make_error("create_volume " + std::to_string(spec.id) + ": " + r.error(), r.code());
	auto undo = [&](Error e) -> Result<ActiveVolume> {
		auto d = dm_.message(pool, "delete_volume " + std::to_string(spec.id));
		if (!d)
			e.message += " (and undoing the create failed: " + d.error() + ")";
		return e;
	};
	std::vector<std::pair<std::string, std::string>> settings;
	if (spec.tiering_enabled)
		settings.emplace_back("tiering_enabled", *spec.tiering_enabled ? "1" : "0");
	if (!spec.policy.empty())
		settings.emplace_back("tiering_policy", spec.policy);
	if (!spec.model.empty())
		settings.emplace_back("prediction_model", spec.model);
	for (const auto &[k, v] : spec.labels)
		settings.emplace_back(k, v);
	for (const auto &[k, v] : settings) {
		auto s = dm_.message(pool, "set_volume " + std::to_string(spec.id) + " " + k + " " + v);
		if (!s)
			return undo(Error{"set_volume " + k + " " + v + ": " + s.error(), EINVAL});
	}
	dm::Target t{0, spec.size / 512, "tier", *dev + " " + std::to_string(spec.id)};
	if (Status s = dm_.create(spec.name, t); !s)
		return undo(Error{"activating " + spec.name + ": " + s.error(), s.code() ? s.code() : EIO});
	return ActiveVolume{spec.name, spec.id, spec.size / 512};
}

Result<std::string> VolumeOps::existing_volume(const std::string &pool, std::uint32_t id)
{
	auto dev = pool_dev(pool);
	if (!dev)
		return dev;
	auto have = ids(pool);
	if (!have)
		return std::move(have).take_error();
	if (std::find(have->begin(), have->end(), id) == have->end())
		return make_error("no volume " + std::to_string(id) + " in pool " + pool, ENOENT);
	return dev;
}

Status VolumeOps::remove(const std::string &pool, std::uint32_t id)
{
	auto dev = existing_volume(pool, id);
	if (!dev)
		return std::move(dev).take_error();
	auto v = find(pool, id);
	if (!v)
		return std::move(v).take_error();
	if (*v) {
		auto i = dm_.info((*v)->name);
		if (i && i->open_count > 0)
			return make_error("volume " + std::to_string(id) + " (" + (*v)->name + ") is open " +
						  std::to_string(i->open_count) + " time(s)",
					  EBUSY);
		if (Status s = dm_.remove((*v)->name); !s)
			return make_error("removing " + (*v)->name + ": " + s.error(), s.code() ? s.code() : EBUSY);
	}
	auto r = dm_.message(pool, "delete_volume " + std::to_string(id));
	if (!r)
		return make_error("delete_volume " + std::to_string(id) + ": " + r.error(), r.code());
	return {};
}

Status VolumeOps::change(const std::string &pool, std::uint32_t id, const VolumeChange &c)
{
	if (!c.policy.empty())
		if (Status s = check_policy(c.policy); !s)
			return s;
	if (!c.model.empty())
		if (Status s = check_model(c.model); !s)
			return s;
	auto dev = existing_volume(pool, id);
	if (!dev)
		return std::move(dev).take_error();
	std::optional<ActiveVolume> active;
	if (c.size) {
		if (*c.size == 0 || *c.size % 512)
			return make_error("size must be a positive multiple of 512 bytes", EINVAL);
		auto v = find(pool, id);
		if (!v)
			return std::move(v).take_error();
		if (!*v)
			return make_error("volume " + std::to_string(id) + " is not active: nothing to resize", ENOENT);
		if (*c.size / 512 < (*v)->sectors)
			return make_error("shrinking a volume is not supported (" + std::to_string((*v)->sectors * 512) +
						  " -> " + std::to_string(*c.size) + " bytes)",
					  EINVAL);
		active = *v;
	}
	std::vector<std::pair<std::string, std::string>> settings;
	if (c.tiering_enabled)
		settings.emplace_back("tiering_enabled", *c.tiering_enabled ? "1" : "0");
	if (!c.policy.empty())
		settings.emplace_back("tiering_policy", c.policy);
	if (!c.model.empty())
		settings.emplace_back("prediction_model", c.model);
	for (const auto &[k, v] : settings) {
		auto s = dm_.message(pool, "set_volume " + std::to_string(id) + " " + k + " " + v);
		if (!s)
			return make_error("set_volume " + k + " " + v + ": " + s.error(), s.code() ? s.code() : EINVAL);
	}
	if (active && *c.size / 512 != active->sectors) {
		dm::Target t{0, *c.size / 512, "tier", *dev + " " + std::to_string(id)};
		if (Status s = dm_.reload(active->name, t); !s)
			return make_error("resizing " + active->name + ": " + s.error(), s.code() ? s.code() : EIO);
	}
	return {};
}

} // namespace dmtier::tierd
