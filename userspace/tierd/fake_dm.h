// SPDX-License-Identifier: GPL-2.0
// A fake DmOps for unit tests: devices with tables, a tier-pool that
// answers create_volume / delete_volume / set_volume / list_volumes, and
// failures on demand.
#pragma once

#include <cerrno>
#include <map>
#include <set>
#include <sstream>

#include "tierd/volume_ops.h"

namespace dmtier::tierd {

class FakeDm : public DmOps {
public:
	struct Dev {
		dm::Target table;
		std::uint32_t minor = 0;
		int open_count = 0;
	};
	std::map<std::string, Dev> devs;
	std::map<std::string, std::set<std::uint32_t>> pool_volumes;
	std::map<std::string, std::string> settings; // "pool id key" -> value
	std::string fail_message;		     // messages starting with this fail
	bool fail_create = false;
	std::vector<std::string> log;
	std::uint32_t next_minor = 0;

	void add_pool(const std::string &name, std::uint64_t extent_sectors = 2048)
	{
		devs[name] = {{0, 1 << 20, "tier-pool", "254:0 " + std::to_string(extent_sectors) + " 1 254:1"}, next_minor++, 0};
		pool_volumes[name];
	}
	std::string dev_of(const std::string &n) { return "253:" + std::to_string(devs.at(n).minor); }

	Result<std::vector<std::string>> list() override
	{
		std::vector<std::string> v;
		for (const auto &[n, d] : devs)
			v.push_back(n);
		return v;
	}
	Result<dm::DeviceInfo> info(const std::string &n) override
	{
		dm::DeviceInfo i;
		auto it = devs.find(n);
		if (it == devs.end())
			return i;
		i.exists = true;
		i.major = 253;
		i.minor = it->second.minor;
		i.open_count = it->second.open_count;
		return i;
	}
	Status create(const std::string &n, const dm::Target &t) override
	{
		log.push_back("create " + n + " " + t.type + " " + t.params);
		if (fail_create || devs.count(n))
			return make_error("fake create failure", EINVAL);
		devs[n] = {t, next_minor++, 0};
		return {};
	}
	Status reload(const std::string &n, const dm::Target &t) override
	{
		log.push_back("reload " + n + " " + std::to_string(t.length));
		if (!devs.count(n))
			return make_error("no device", ENXIO);
		devs[n].table = t;
		return {};
	}
	Status remove(const std::string &n) override
	{
		log.push_back("remove " + n);
		if (!devs.erase(n))
			return make_error("no device", ENXIO);
		return {};
	}
	Result<std::string> message(const std::string &n, const std::string &m) override
	{
		log.push_back("message " + n + " " + m);
		if (!fail_message.empty() && m.rfind(fail_message, 0) == 0)
			return make_error("fake message failure", EINVAL);
		auto &vols = pool_volumes[n];
		std::istringstream s(m);
		std::string cmd;
		std::uint32_t id = 0;
		s >> cmd;
		if (cmd == "list_volumes") {
			std::string out;
			for (auto v : vols)
				out += (out.empty() ? "" : " ") + std::to_string(v);
			return out;
		}
		s >> id;
		if (cmd == "create_volume") {
			if (!vols.insert(id).second)
				return make_error("exists", EEXIST);
		} else if (cmd == "delete_volume") {
			if (!vols.erase(id))
				return make_error("no volume", ENOENT);
		} else if (cmd == "set_volume") {
			std::string k, v;
			s >> k >> v;
			if (!vols.count(id))
				return make_error("no volume", ENOENT);
			settings[n + " " + std::to_string(id) + " " + k] = v;
		}
		return std::string();
	}
	Result<dm::Target> status(const std::string &n) override { return table(n); }
	Result<dm::Target> table(const std::string &n) override
	{
		auto it = devs.find(n);
		if (it == devs.end())
			return make_error("no device " + n, ENXIO);
		return it->second.table;
	}
};

} // namespace dmtier::tierd
