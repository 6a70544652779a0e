// SPDX-License-Identifier: GPL-2.0
#include "boot/boot.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "dmctl/tier_status.h"
#include "metadata/metadata.h"
#include "tierd/api.h"
#include "tierd/toml_fields.h"

namespace dmtier::boot {

using namespace dmtier::toml_fields;

const std::vector<std::string> &feature_names()
{
	static const std::vector<std::string> names = {
		"commit_interval_ms", "no_fallback",	    "migration_bandwidth_mbps", "max_migrations",
		"yield_depth",	      "fallback_timeout_s", "promote_threshold",	"high_watermark",
		"low_watermark",      "policy_interval_ms", "residency_rounds",		"prefetch_window_ms"};
	return names;
}

namespace {

bool get_path(Ctx &c, const toml::node &n, const std::string &what, std::string *out)
{
	auto s = n.value_exact<std::string>();
	if (!s)
		return c.fail(n, what + " must be a string (a device path)");
	if (s->empty() || (*s)[0] != '/')
		return c.fail(n, what + " must be an absolute path, best a stable one such as /dev/disk/by-id/...");
	*out = *s;
	return true;
}

bool parse_pool(Ctx &c, const toml::table &t, PoolEntry &p)
{
	if (!check_keys(c, t, "[pool]", {"name", "metadata", "tiers", "features"}))
		return false;
	if (!t.get("name"))
		return c.fail(t, "[pool] needs a name (name = \"tank\")");
	if (!get_str(c, t, "pool", "name", &p.name))
		return false;
	if (Status s = tierd::check_dm_name(p.name); !s)
		return c.fail(*t.get("name"), "pool.name: " + s.error());
	if (!t.get("metadata"))
		return c.fail(t, "[pool] needs metadata = \"/dev/disk/by-id/...\"");
	if (!get_path(c, *t.get("metadata"), "pool.metadata", &p.metadata))
		return false;
	const toml::array *tiers = t.get("tiers") ? t.get("tiers")->as_array() : nullptr;
	if (!t.get("tiers"))
		return c.fail(t, "[pool] needs tiers = [\"/dev/disk/by-id/...\", ...] (fastest first)");
	if (!tiers || tiers->empty() || tiers->size() > 8)
		return c.fail(*t.get("tiers"), "pool.tiers must be a list of 1 to 8 device paths, fastest first");
	for (std::size_t i = 0; i < tiers->size(); i++) {
		std::string path;
		if (!get_path(c, *tiers->get(i), "pool.tiers[" + std::to_string(i) + "]", &path))
			return false;
		p.tiers.push_back(path);
	}
	std::set<std::string> seen{p.metadata};
	for (const auto &d : p.tiers)
		if (!seen.insert(d).second)
			return c.fail(*t.get("tiers"), d + " appears twice in [pool] (metadata and tiers must differ)");
	if (const toml::node *fn = t.get("features")) {
		const toml::table *f = fn->as_table();
		if (!f)
			return c.fail(*fn, "pool.features must be a table ([pool.features])");
		const auto &names = feature_names();
		if (!check_keys(c, *f, "[pool.features]", std::set<std::string>(names.begin(), names.end())))
			return false;
		for (const auto &[k, v] : *f) {
			std::string key(k.str());
			if (key == "no_fallback") {
				bool b = false;
				if (!get_bool(c, *f, "pool.features", "no_fallback", &b))
					return false;
				if (b)
					p.features.push_back(key);
				continue;
			}
			std::uint32_t n = 0;
			if (!get_num(c, *f, "pool.features", key.c_str(), &n, 0, 4294967295.0))
				return false;
			p.features.push_back(key);
			p.features.push_back(std::to_string(n));
		}
	}
	return true;
}

bool parse_volume(Ctx &c, const toml::table &t, std::size_t i, const std::string &pool, VolumeEntry &v)
{
	std::string sec = "volume[" + std::to_string(i) + "]";
	if (!check_keys(c, t, sec, {"id", "name", "size"}))
		return false;
	if (!t.get("id"))
		return c.fail(t, sec + " needs an id (the volume's id in the pool)");
	if (!t.get("size"))
		return c.fail(t, sec + " needs a size (e.g. size = \"100G\"): the kernel keeps no volume size");
	if (!get_num(c, t, sec.c_str(), "id", &v.id, 0, tierd::kMaxVolumeId) ||
	    !get_str(c, t, sec.c_str(), "name", &v.name))
		return false;
	const toml::node &sn = *t.get("size");
	nlohmann::json js;
	if (auto s = sn.value_exact<std::string>())
		js = *s;
	else if (auto n = sn.value_exact<std::int64_t>())
		js = *n;
	else
		return c.fail(sn, sec + ".size must be a string such as \"100G\" or a number of bytes");
	auto size = tierd::parse_size(js);
	if (!size)
		return c.fail(sn, sec + ".size: " + size.error());
	if (*size % 512)
		return c.fail(sn, sec + ".size must be a multiple of 512 bytes");
	v.size = *size;
	if (v.name.empty())
		v.name = pool + "-v" + std::to_string(v.id);
	if (Status s = tierd::check_dm_name(v.name); !s)
		return c.fail(t.get("name") ? *t.get("name") : static_cast<const toml::node &>(t), sec + ".name: " + s.error());
	return true;
}

std::string join(const std::vector<std::string> &v, const char *sep = ", ")
{
	std::string out;
	for (const auto &s : v)
		out += (out.empty() ? "" : sep) + s;
	return out;
}

} // namespace

Result<PoolEntry> parse_pool_file(const std::string &text, const std::string &name)
{
	auto parsed = toml_fields::parse(text, name);
	if (!parsed)
		return std::move(parsed).take_error();
	const toml::table &root = *parsed;
	PoolEntry p;
	p.file = name;
	Ctx c{name, {}};
	bool ok = check_keys(c, root, "the top level", {"pool", "volume"});
	if (ok && !root.get("pool"))
		ok = c.fail(root, "no [pool] table: each file describes one pool");
	if (ok) {
		auto *t = root.get("pool")->as_table();
		ok = t ? parse_pool(c, *t, p) : c.fail(*root.get("pool"), "pool must be a table ([pool])");
	}
	if (ok && root.get("volume")) {
		auto *a = root.get("volume")->as_array();
		if (!a || !a->is_array_of_tables())
			ok = c.fail(*root.get("volume"), "volume must be an array of tables ([[volume]])");
		std::set<std::uint32_t> ids;
		std::set<std::string> names;
		for (std::size_t i = 0; ok && a && i < a->size(); i++) {
			VolumeEntry v;
			const toml::table &vt = *a->get(i)->as_table();
			ok = parse_volume(c, vt, i, p.name, v);
			if (ok && !ids.insert(v.id).second)
				ok = c.fail(vt, "volume id " + std::to_string(v.id) + " appears twice");
			if (ok && (!names.insert(v.name).second || v.name == p.name))
				ok = c.fail(vt, "device name '" + v.name + "' is used twice");
			p.volumes.push_back(v);
		}
	}
	if (!ok)
		return make_error(c.err, EINVAL);
	return p;
}

Result<BootConfig> load_config(const std::string &dir)
{
	namespace fs = std::filesystem;
	std::error_code ec;
	if (!fs::is_directory(dir, ec))
		return make_error(dir + ": no such directory (--config-dir)", ENOENT);
	BootConfig cfg;
	fs::path pools = fs::path(dir) / kPoolsSubdir;
	if (!fs::exists(pools, ec))
		return cfg;
	std::vector<fs::path> files;
	for (fs::directory_iterator it(pools, ec), end; !ec && it != end; it.increment(ec))
		if (it->path().extension() == ".toml" && it->is_regular_file())
			files.push_back(it->path());
	if (ec)
		return make_error(pools.string() + ": " + ec.message(), ec.value());
	std::sort(files.begin(), files.end());
	std::map<std::string, std::string> names, devices; // -> file
	for (const auto &f : files) {
		std::ifstream in(f);
		if (!in)
			return make_error(f.string() + ": cannot read: " + std::strerror(errno), errno);
		std::stringstream ss;
		ss << in.rdbuf();
		auto p = parse_pool_file(ss.str(), f.string());
		if (!p)
			return std::move(p).take_error();
		std::vector<std::string> dm_names{p->name};
		for (const auto &v : p->volumes)
			dm_names.push_back(v.name);
		for (const auto &n : dm_names)
			if (auto [it, fresh] = names.emplace(n, f.string()); !fresh)
				return make_error(f.string() + ": device name '" + n + "' is also used in " + it->second, EINVAL);
		std::vector<std::string> devs{p->metadata};
		devs.insert(devs.end(), p->tiers.begin(), p->tiers.end());
		for (const auto &d : devs)
			if (auto [it, fresh] = devices.emplace(d, f.string()); !fresh)
				return make_error(f.string() + ": device " + d + " is also used in " + it->second, EINVAL);
		cfg.pools.push_back(std::move(*p));
	}
	return cfg;
}

dm::Target pool_target(const std::string &metadata, std::uint64_t extent_sectors, const std::vector<std::string> &tiers,
		       const std::vector<std::string> &features, std::uint64_t length_sectors)
{
	std::string params = metadata + " " + std::to_string(extent_sectors) + " " + std::to_string(tiers.size());
	for (const auto &t : tiers)
		params += " " + t;
	params += " " + std::to_string(features.size());
	for (const auto &f : features)
		params += " " + f;
	return {0, length_sectors, "tier-pool", params};
}

namespace {

// stat() a device path: missing and wrong kinds are errors naming it.
Result<struct stat> stat_device(const std::string &what, const std::string &path, bool block_only)
{
	struct stat st {};
	if (::stat(path.c_str(), &st)) {
		int e = errno;
		if (e == ENOENT)
			return make_error(what + " " + path + " is missing (no such device: unplugged, renamed, or not "
						 "detected yet?)",
					  e);
		return make_error(what + " " + path + ": " + std::strerror(e), e);
	}
	if (block_only && !S_ISBLK(st.st_mode))
		return make_error(what + " " + path + " is not a block device", ENOTBLK);
	return st;
}

std::vector<std::pair<std::string, std::string>> devices_of(const PoolEntry &p)
{
	std::vector<std::pair<std::string, std::string>> d{{"metadata device", p.metadata}};
	for (std::size_t i = 0; i < p.tiers.size(); i++)
		d.emplace_back("tier " + std::to_string(i) + " device", p.tiers[i]);
	return d;
}

} // namespace

Result<PoolPlan> check_devices(const PoolEntry &p, bool block_devices_only)
{
	PoolPlan plan;
	// Every path first, so one message lists what is missing.
	std::vector<std::string> missing;
	std::map<std::pair<dev_t, ino_t>, std::string> seen;
	for (const auto &[what, path] : devices_of(p)) {
		auto st = stat_device(what, path, block_devices_only);
		if (!st) {
			missing.push_back(st.error());
			continue;
		}
		auto key = S_ISBLK(st->st_mode) ? std::make_pair(st->st_rdev, ino_t(0)) : std::make_pair(st->st_dev, st->st_ino);
		if (auto [it, fresh] = seen.emplace(key, path); !fresh)
			return make_error(path + " and " + it->second + " are the same device", EINVAL);
	}
	if (!missing.empty())
		return make_error(join(missing, "; "), ENODEV);

	auto meta = md::Device::open(p.metadata, false);
	if (!meta)
		return make_error("metadata device " + meta.error(), meta.code());
	std::vector<md::Problem> problems;
	auto pool = md::load(*meta, problems, false);
	if (!pool) {
		if (pool.code() == ENODATA)
			return make_error("metadata device " + p.metadata +
						  " is blank: the pool was never created ('tierctl pool create'), or the "
						  "path names another device",
					  ENODATA);
		return make_error("metadata device " + p.metadata + ": " + pool.error(), pool.code());
	}
	if (pool->tiers.size() != p.tiers.size())
		return make_error(std::to_string(p.tiers.size()) + " tiers are configured but the pool's metadata on " +
					  p.metadata + " has " + std::to_string(pool->tiers.size()) +
					  (p.tiers.size() < pool->tiers.size() ? ": a tier is missing from the configuration"
									       : ": boot activation does not add tiers"),
				  EINVAL);
	for (std::size_t i = 0; i < p.tiers.size(); i++) {
		auto dev = md::Device::open(p.tiers[i], false);
		if (!dev)
			return make_error("tier " + std::to_string(i) + " device " + dev.error(), dev.code());
		if (std::string why = md::check_tier_label(*pool, *dev, unsigned(i)); !why.empty())
			return make_error("tier " + std::to_string(i) + " device " + why, EINVAL);
		plan.length_sectors += dev->bytes() >> 9;
	}
	std::set<std::uint32_t> ids;
	for (const auto &r : pool->records)
		if (r.flags & DMT_VOL_IN_USE)
			ids.insert(r.id);
	for (const auto &v : p.volumes)
		if (!ids.count(v.id))
			return make_error("volume " + std::to_string(v.id) + " (" + v.name + ") does not exist in the pool ('tierctl volume create " +
						  p.name + " " + std::to_string(v.id) + " SIZE' makes it)",
					  ENOENT);
	plan.extent_sectors = pool->extent_sectors();
	if (pool->needs_check())
		plan.warnings.push_back("the metadata is flagged needs_check: the pool activates read-only until "
					"'tier_check --clear-needs-check-flag " + p.metadata + "' passes");
	return plan;
}

namespace {

std::string dev_number(tierd::DmOps &dm, const std::string &name)
{
	auto i = dm.info(name);
	if (!i || !i->exists)
		return "";
	return std::to_string(i->major) + ":" + std::to_string(i->minor);
}

// Is @name an active tier target for volume @id of the pool @pdev?
bool is_volume_of(tierd::DmOps &dm, const std::string &name, const std::string &pdev, std::uint32_t id)
{
	auto t = dm.table(name);
	if (!t || t->type != "tier")
		return false;
	auto vt = dm::parse_volume_table(t->params);
	return vt && vt->pool_dev == pdev && vt->id == id;
}

// Wait up to @secs for every device path of @p to exist.
void wait_for_devices(const PoolEntry &p, unsigned secs, const Options &opt)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
	bool said = false;
	for (;;) {
		std::vector<std::string> missing;
		for (const auto &[what, path] : devices_of(p))
			if (::access(path.c_str(), F_OK))
				missing.push_back(path);
		if (missing.empty() || std::chrono::steady_clock::now() >= deadline)
			return;
		if (!said)
			opt.out("pool " + p.name + ": waiting up to " + std::to_string(secs) + " s for " + join(missing));
		said = true;
		std::this_thread::sleep_for(std::chrono::milliseconds(250));
	}
}

Status activate_pool(tierd::DmOps &dm, const PoolEntry &p, const Options &opt)
{
	auto info = dm.info(p.name);
	if (!info)
		return Error{info.error(), info.code()};
	bool active = info->exists;
	std::string pdev;
	PoolPlan plan;
	if (active) {
		auto t = dm.table(p.name);
		if (!t || t->type != "tier-pool")
			return make_error("a device-mapper device named " + p.name + " exists and is not a tier-pool", EEXIST);
		pdev = dev_number(dm, p.name);
		auto ids = dm.message(p.name, "list_volumes");
		if (!ids)
			return make_error("list_volumes: " + ids.error(), ids.code());
		std::set<std::uint32_t> have;
		std::istringstream in(*ids);
		for (std::uint32_t id; in >> id;)
			have.insert(id);
		for (const auto &v : p.volumes)
			if (!have.count(v.id))
				return make_error("volume " + std::to_string(v.id) + " (" + v.name +
							  ") does not exist in the pool; nothing activated",
						  ENOENT);
	} else {
		if (opt.wait_s)
			wait_for_devices(p, opt.wait_s, opt);
		auto pl = check_devices(p, opt.block_devices_only);
		if (!pl)
			return make_error(pl.error() + "; nothing of this pool was activated", pl.code());
		plan = std::move(*pl);
		for (const auto &w : plan.warnings)
			opt.err("pool " + p.name + ": warning: " + w);
	}
	// Volume names taken by other devices are refused before anything is made.
	std::vector<const VolumeEntry *> todo;
	std::vector<std::string> already;
	for (const auto &v : p.volumes) {
		auto vi = dm.info(v.name);
		if (!vi)
			return Error{vi.error(), vi.code()};
		if (!vi->exists) {
			todo.push_back(&v);
		} else if (active && is_volume_of(dm, v.name, pdev, v.id)) {
			already.push_back(v.name);
		} else {
			return make_error("volume " + std::to_string(v.id) + ": a device-mapper device named " + v.name +
						  " exists already and is not this volume; nothing activated",
					  EEXIST);
		}
	}

	std::vector<std::string> created;
	auto roll_back = [&](const std::string &why) -> Status {
		std::vector<std::string> removed, left;
		for (auto it = created.rbegin(); it != created.rend(); ++it)
			(dm.remove(*it) ? removed : left).push_back(*it);
		std::string msg = why;
		if (!removed.empty())
			msg += "; removed again what this run created: " + join(removed);
		if (!left.empty())
			msg += "; COULD NOT remove " + join(left) + " (dmsetup remove by hand)";
		return make_error(msg, EIO);
	};
	if (!active) {
		dm::Target t = pool_target(p.metadata, plan.extent_sectors, p.tiers, p.features, plan.length_sectors);
		if (Status st = dm.create(p.name, t); !st)
			return make_error("cannot create the pool: " + st.error() +
						  " (the kernel log says why: dmesg | tail); nothing activated",
					  st.code());
		created.push_back(p.name);
		pdev = dev_number(dm, p.name);
		if (pdev.empty())
			return roll_back("the pool vanished after creation");
	}
	for (const VolumeEntry *v : todo) {
		dm::Target t{0, v->size >> 9, "tier", pdev + " " + std::to_string(v->id)};
		if (Status st = dm.create(v->name, t); !st)
			return roll_back("volume " + std::to_string(v->id) + " (" + v->name + "): " + st.error());
		created.push_back(v->name);
	}
	std::vector<std::string> names;
	for (const VolumeEntry *v : todo)
		names.push_back(v->name);
	std::string line = "pool " + p.name + (active ? ": already active" : ": activated");
	if (!names.empty())
		line += "; volumes activated: " + join(names);
	if (!already.empty())
		line += "; already active: " + join(already);
	opt.out(line);
	return {};
}

Status deactivate_pool(tierd::DmOps &dm, const PoolEntry &p, const Options &opt)
{
	auto info = dm.info(p.name);
	if (!info)
		return Error{info.error(), info.code()};
	if (!info->exists) {
		opt.out("pool " + p.name + ": not active");
		return {};
	}
	auto t = dm.table(p.name);
	if (!t || t->type != "tier-pool")
		return make_error("the device-mapper device named " + p.name + " is not a tier-pool; left alone", EINVAL);
	std::string pdev = dev_number(dm, p.name);
	std::vector<std::string> removed, errors;
	for (auto it = p.volumes.rbegin(); it != p.volumes.rend(); ++it) {
		if (!is_volume_of(dm, it->name, pdev, it->id))
			continue;
		if (Status st = dm.remove(it->name); !st)
			errors.push_back("volume " + it->name + ": " + st.error() + " (still open? unmount it or stop its user)");
		else
			removed.push_back(it->name);
	}
	std::string done = removed.empty() ? "" : "; volumes deactivated: " + join(removed);
	if (!errors.empty())
		return make_error(join(errors, "; ") + done + "; the pool stays active", EBUSY);
	auto pools = tierd::discover(dm);
	if (!pools)
		return make_error(pools.error() + done, pools.code());
	for (const auto &ap : *pools) {
		if (ap.name != p.name || ap.volumes.empty())
			continue;
		std::vector<std::string> others;
		for (const auto &v : ap.volumes)
			others.push_back(v.name);
		return make_error("volumes not described in " + p.file + " are active on it: " + join(others) +
					  " ('tierctl volume deactivate NAME' first)" + done + "; the pool stays active",
				  EBUSY);
	}
	if (Status st = dm.remove(p.name); !st)
		return make_error("cannot remove the pool: " + st.error() + done, st.code());
	opt.out("pool " + p.name + ": deactivated" + done);
	return {};
}

std::string where(const PoolEntry &p)
{
	return "pool " + p.name + " (" + p.file + "): ";
}

} // namespace

unsigned activate(tierd::DmOps &dm, const BootConfig &cfg, const Options &opt)
{
	unsigned failed = 0;
	for (const auto &p : cfg.pools)
		if (Status st = activate_pool(dm, p, opt); !st) {
			opt.err(where(p) + st.error());
			failed++;
		}
	return failed;
}

unsigned deactivate(tierd::DmOps &dm, const BootConfig &cfg, const Options &opt)
{
	unsigned failed = 0;
	for (auto it = cfg.pools.rbegin(); it != cfg.pools.rend(); ++it)
		if (Status st = deactivate_pool(dm, *it, opt); !st) {
			opt.err(where(*it) + st.error());
			failed++;
		}
	return failed;
}

unsigned check(tierd::DmOps &dm, const BootConfig &cfg, const Options &opt)
{
	unsigned failed = 0;
	for (const auto &p : cfg.pools) {
		auto info = dm.info(p.name);
		if (info && info->exists) {
			opt.out("pool " + p.name + ": active");
			continue;
		}
		auto plan = check_devices(p, opt.block_devices_only);
		if (!plan) {
			opt.err(where(p) + plan.error());
			failed++;
			continue;
		}
		for (const auto &w : plan->warnings)
			opt.err(where(p) + "warning: " + w);
		opt.out("pool " + p.name + ": ready (" + std::to_string(p.tiers.size()) + " tiers, " +
			std::to_string(p.volumes.size()) + " volumes, extent " +
			std::to_string(plan->extent_sectors / 2) + " KiB)");
	}
	return failed;
}

} // namespace dmtier::boot
