// SPDX-License-Identifier: GPL-2.0
// Volume lifecycle through device-mapper: create (create_volume message,
// settings, tier table), delete, resize, settings.  Device-mapper is
// reached through the DmOps interface (libdevmapper in tierd, a fake in
// tests).  A create that fails at any step undoes the steps before it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "dmctl/dm.h"

namespace dmtier::tierd {

class DmOps {
public:
	virtual ~DmOps() = default;
	[[nodiscard]] virtual Result<std::vector<std::string>> list() = 0;
	[[nodiscard]] virtual Result<dm::DeviceInfo> info(const std::string &name) = 0;
	[[nodiscard]] virtual Status create(const std::string &name, const dm::Target &t) = 0;
	[[nodiscard]] virtual Status reload(const std::string &name, const dm::Target &t) = 0;
	[[nodiscard]] virtual Status remove(const std::string &name) = 0;
	[[nodiscard]] virtual Result<std::string> message(const std::string &name, const std::string &msg) = 0;
	[[nodiscard]] virtual Result<dm::Target> status(const std::string &name) = 0;
	[[nodiscard]] virtual Result<dm::Target> table(const std::string &name) = 0;
};

// libdevmapper.
class RealDm final : public DmOps {
public:
	Result<std::vector<std::string>> list() override { return dm::list(); }
	Result<dm::DeviceInfo> info(const std::string &n) override { return dm::info(n); }
	Status create(const std::string &n, const dm::Target &t) override { return dm::create(n, t); }
	Status reload(const std::string &n, const dm::Target &t) override { return dm::reload(n, t); }
	Status remove(const std::string &n) override { return dm::remove(n); }
	Result<std::string> message(const std::string &n, const std::string &m) override { return dm::message(n, m); }
	Result<dm::Target> status(const std::string &n) override { return dm::status(n); }
	Result<dm::Target> table(const std::string &n) override { return dm::table(n); }
};

struct VolumeSpec {
	std::uint32_t id = 0;
	std::string name;	 // dm device name; default "<pool>-<id>"
	std::uint64_t size = 0; // bytes, a multiple of 512
	std::optional<bool> tiering_enabled;
	std::string policy;	 // "" keeps the default
	std::string model;	 // "" keeps the default
	std::map<std::string, std::string> labels;
};

struct VolumeChange {
	std::optional<std::uint64_t> size; // bytes; growing only
	std::optional<bool> tiering_enabled;
	std::string policy, model;
};

// A pool and its active volumes, as device-mapper shows them.
struct ActiveVolume {
	std::string name;
	std::uint32_t id = 0;
	std::uint64_t sectors = 0;
};
struct ActivePool {
	std::string name;
	std::string dev; // "major:minor"
	std::uint64_t extent_sectors = 0;
	std::vector<ActiveVolume> volumes;
};

// Every tier-pool device and the tier devices on it.
[[nodiscard]] Result<std::vector<ActivePool>> discover(DmOps &dm);

// Validation shared with the API: messages name the problem.
[[nodiscard]] Status check_dm_name(const std::string &name);
[[nodiscard]] Status check_policy(const std::string &policy);
[[nodiscard]] Status check_model(const std::string &model);
inline constexpr std::uint32_t kMaxVolumeId = 8388606;

class VolumeOps {
public:
	explicit VolumeOps(DmOps &dm) : dm_(dm) {}
	[[nodiscard]] Result<ActiveVolume> create(const std::string &pool, VolumeSpec spec);
	// Removes the volume's device (if active; refused while open) and
	// deletes the volume.
	[[nodiscard]] Status remove(const std::string &pool, std::uint32_t id);
	[[nodiscard]] Status change(const std::string &pool, std::uint32_t id, const VolumeChange &c);
	// The volume's active device, if any.
	[[nodiscard]] Result<std::optional<ActiveVolume>> find(const std::string &pool, std::uint32_t id);
	[[nodiscard]] Result<std::vector<std::uint32_t>> ids(const std::string &pool);

private:
	Result<std::string> pool_dev(const std::string &pool);
	// The pool's device, once volume @id is known to exist in it (ENOENT).
	Result<std::string> existing_volume(const std::string &pool, std::uint32_t id);
	DmOps &dm_;
};

} // namespace dmtier::tierd
