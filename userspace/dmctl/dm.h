// SPDX-License-Identifier: GPL-2.0
// Device-mapper control through libdevmapper (no shelling out to dmsetup):
// create, reload, suspend/resume, remove, message, status and table of a
// single-target device, as dm-tier's tools need them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace dmtier::dm {

struct Target {
	uint64_t start = 0;
	uint64_t length = 0;
	std::string type;
	std::string params;
};

struct DeviceInfo {
	bool exists = false;
	bool suspended = false;
	uint32_t major = 0, minor = 0;
	int open_count = 0;
};

// Names of all device-mapper devices.
Result<std::vector<std::string>> list();
Result<DeviceInfo> info(const std::string &name);
// Create and resume a device with one target; on failure nothing is left.
Status create(const std::string &name, const Target &t);
// Load a new table and swap it in (suspend, resume).
Status reload(const std::string &name, const Target &t);
Status remove(const std::string &name);
// Suspend (without freezing a filesystem on the device: no lockfs) and
// resume one device.
Status suspend(const std::string &name);
Status resume(const std::string &name);
// Send a target message; returns the target's answer (may be empty).
Result<std::string> message(const std::string &name, const std::string &msg);
Result<Target> status(const std::string &name);
Result<Target> table(const std::string &name);

} // namespace dmtier::dm
