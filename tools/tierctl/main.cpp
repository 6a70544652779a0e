// SPDX-License-Identifier: GPL-2.0
// tierctl: manage dm-tier pools and volumes through libdevmapper.
//
// Kernel-level operations (they work without tierd): pool and volume
// lifecycle, settings, migrations, pins, tiers added and removed, status,
// top and heat maps, each read command with --json.  tierd's API where it
// holds the answer: the cost report, and its heat map when it runs.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <ctime>
#include <fstream>

#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "boot/boot.h"
#include "metadata/metadata.h"
#include "dmctl/dm.h"
#include "dmctl/tier_status.h"
#include "netlink/client.h"
#include "tierd/config.h"

#include "cost.h"
#include "filemap.h"
#include "heatmap.h"
#include "tierd_client.h"
#include "top.h"

using namespace dmtier;
using json = nlohmann::json;

namespace {

bool g_json = false;

int die(const std::string &msg, int code = 1)
{
	fprintf(stderr, "tierctl: %s\n", msg.c_str());
	return code;
}

struct Args {
	std::vector<std::string> pos;
	std::multimap<std::string, std::string> opt;
	std::map<std::string, bool> flag;
};

// Options that take a value; everything else starting with -- is a flag.
const std::vector<std::string> kValued = {"--metadata", "--extent-size", "--feature", "--name",
					  "--policy", "--model", "--label", "--config-dir", "--wait",
					  "--tierd-config", "--svg", "--png", "--iterations", "--interval",
					  "--file"};

Args parse(int argc, char **argv, int from)
{
	Args a;
	for (int i = from; i < argc; i++) {
		std::string s = argv[i];
		if (s.rfind("--", 0) == 0 && s.size() > 2) {
			if (std::find(kValued.begin(), kValued.end(), s) != kValued.end() && i + 1 < argc)
				a.opt.emplace(s, argv[++i]);
			else
				a.flag[s] = true;
		} else {
			a.pos.push_back(s);
		}
	}
	return a;
}

std::string opt(const Args &a, const std::string &k, const std::string &def = "")
{
	auto it = a.opt.find(k);
	return it == a.opt.end() ? def : it->second;
}

// "10G", "512M", "4096" (bytes); binary multiples.
bool parse_size(const std::string &s, uint64_t &bytes)
{
	if (s.empty())
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s.c_str(), &end, 10);
	if (errno || end == s.c_str())
		return false;
	std::string suf = end;
	unsigned shift = suf == "" || suf == "B" ? 0 : suf == "K" || suf == "KiB" ? 10 :
			 suf == "M" || suf == "MiB" ? 20 : suf == "G" || suf == "GiB" ? 30 :
			 suf == "T" || suf == "TiB" ? 40 : 99;
	if (shift == 99 || (shift && v > (~0ULL >> shift)))
		return false;
	bytes = v << shift;
	return true;
}

Result<uint64_t> device_sectors(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return make_error("cannot open " + path + ": " + strerror(errno) +
				  " (give block devices by stable path, e.g. /dev/disk/by-id/...)", errno);
	uint64_t bytes = 0;
	int r = ioctl(fd, BLKGETSIZE64, &bytes);
	int e = errno;
	close(fd);
	if (r < 0)
		return make_error(path + " is not a block device: " + strerror(e), e);
	return bytes >> 9;
}

// The first two metadata blocks (the superblock slots) are all zeros.
Result<bool> metadata_blank(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return make_error("cannot open " + path + ": " + strerror(errno), errno);
	std::vector<char> b(8192);
	ssize_t n = pread(fd, b.data(), b.size(), 0);
	close(fd);
	if (n != (ssize_t)b.size())
		return make_error("cannot read " + path, EIO);
	return std::all_of(b.begin(), b.end(), [](char c) { return !c; });
}

std::string dev_of(const std::string &name)
{
	auto i = dm::info(name);
	if (!i || !i->exists)
		return "";
	return std::to_string(i->major) + ":" + std::to_string(i->minor);
}

// The dm device holding volume @id of @pool, if active.
std::string volume_device(const std::string &pool, uint32_t id)
{
	std::string pdev = dev_of(pool);
	auto names = dm::list();
	if (!names)
		return "";
	for (auto &n : *names) {
		auto t = dm::table(n);
		if (!t || t->type != "tier")
			continue;
		auto vt = dm::parse_volume_table(t->params);
		if (vt && vt->id == id && vt->pool_dev == pdev)
			return n;
	}
	return "";
}

Result<dm::PoolStatus> pool_status(const std::string &pool)
{
	auto st = dm::status(pool);
	if (!st)
		return make_error("no pool " + pool + ": " + st.error(), st.code());
	if (st->type != "tier-pool")
		return make_error(pool + " is not a tier-pool device (it is " + st->type + ")", EINVAL);
	return dm::parse_pool_status(st->params);
}

Status msg(const std::string &pool, const std::string &m)
{
	auto r = dm::message(pool, m);
	if (!r)
		return make_error(r.error() + " (the kernel log says why: dmesg | tail)", r.code());
	return {};
}

bool parse_u32(const std::string &s, uint32_t &v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(s.c_str(), &end, 10);
	if (errno || *end || end == s.c_str() || x > 0xffffffffUL)
		return false;
	v = x;
	return true;
}

// ---------------------------------------------------------------- pools

int pool_up(const Args &a, bool create)
{
	if (a.pos.size() < 2)
		return die(std::string("usage: tierctl pool ") + (create ? "create" : "activate") +
			   " NAME --metadata DEV [--extent-size 1M] [--feature KEY=VALUE]... TIER_DEV...", 2);
	std::string name = a.pos[0], meta = opt(a, "--metadata");
	if (meta.empty())
		return die("--metadata DEV is required", 2);
	uint64_t es = 1 << 20;
	if (!parse_size(opt(a, "--extent-size", "1M"), es) || es % 512 || es < (128 << 10) ||
	    es > (1ULL << 30) || (es & (es - 1)))
		return die("--extent-size must be a power of two from 128K to 1G", 2);
	auto blank = metadata_blank(meta);
	if (!blank)
		return die(blank.error());
	if (create && !*blank)
		return die(meta + " already holds metadata: use 'tierctl pool activate', or wipe it to start over");
	if (!create && *blank)
		return die(meta + " is blank: this would format a new pool; use 'tierctl pool create'");
	uint64_t total = 0;
	for (size_t i = 1; i < a.pos.size(); i++) {
		auto s = device_sectors(a.pos[i]);
		if (!s)
			return die("tier " + std::to_string(i - 1) + ": " + s.error());
		total += *s;
	}
	std::vector<std::string> feats;
	for (auto [it, end] = a.opt.equal_range("--feature"); it != end; ++it) {
		auto eq = it->second.find('=');
		if (eq == std::string::npos) {
			feats.push_back(it->second);
		} else {
			feats.push_back(it->second.substr(0, eq));
			feats.push_back(it->second.substr(eq + 1));
		}
	}
	std::vector<std::string> tier_devs(a.pos.begin() + 1, a.pos.end());
	if (auto st = dm::create(name, boot::pool_target(meta, es >> 9, tier_devs, feats, total)); !st)
		return die(st.error() + " (dmesg | tail says why: wrong order, foreign or missing tier...)");
	if (!g_json)
		printf("pool %s %s: %zu tiers, %llu MiB\n", name.c_str(), create ? "created" : "activated",
		       a.pos.size() - 1, (unsigned long long)(total >> 11));
	return 0;
}

int pool_deactivate(const Args &a)
{
	if (a.pos.size() != 1)
		return die("usage: tierctl pool deactivate NAME", 2);
	auto ps = pool_status(a.pos[0]);
	if (!ps)
		return die(ps.error());
	auto vols = dm::message(a.pos[0], "list_volumes");
	if (vols) {
		std::istringstream in(*vols);
		for (uint32_t id; in >> id;)
			if (auto d = volume_device(a.pos[0], id); !d.empty())
				return die("volume " + std::to_string(id) + " is active as " + d +
					   ": 'tierctl volume deactivate " + d + "' first");
	}
	if (auto st = dm::remove(a.pos[0]); !st)
		return die(st.error());
	return 0;
}

json pool_json(const std::string &name, const dm::PoolStatus &s)
{
	json tiers = json::array();
	for (size_t i = 0; i < s.tiers.size(); i++)
		tiers.push_back({{"tier", i}, {"used_extents", s.tiers[i].used}, {"total_extents", s.tiers[i].total}});
	return {{"pool", name},
		{"tiers", tiers},
		{"metadata_blocks", {{"used", s.meta_used}, {"total", s.meta_total}}},
		{"volumes", s.nr_volumes},
		{"mode", s.mode},
		{"needs_check", s.needs_check},
		{"out_of_space", s.out_of_space},
		{"policy", s.policy},
		{"migrations", {{"done", s.migrations_done}, {"failed", s.migrations_failed},
				{"queued", s.migrations_queued}, {"in_flight", s.migrations_in_flight},
				{"throttled", s.migrations_throttled}, {"bytes_moved", s.bytes_moved}}},
		{"evacuation", s.evacuation}};
}

void print_pool(const std::string &name, const dm::PoolStatus &s)
{
	printf("pool %s: mode %s%s%s, policy %s, %u volumes, metadata %llu/%llu blocks\n", name.c_str(),
	       s.mode.c_str(), s.needs_check ? " NEEDS_CHECK" : "", s.out_of_space ? " OUT_OF_SPACE" : "",
	       s.policy.c_str(), s.nr_volumes, (unsigned long long)s.meta_used,
	       (unsigned long long)s.meta_total);
	for (size_t i = 0; i < s.tiers.size(); i++)
		printf("  tier %zu: %llu/%llu extents used (%.0f%%)\n", i, (unsigned long long)s.tiers[i].used,
		       (unsigned long long)s.tiers[i].total,
		       s.tiers[i].total ? 100.0 * s.tiers[i].used / s.tiers[i].total : 0.0);
	printf("  migrations: %llu done, %llu failed, %u queued, %u copying, %llu MiB moved; evacuation %s\n",
	       (unsigned long long)s.migrations_done, (unsigned long long)s.migrations_failed,
	       s.migrations_queued, s.migrations_in_flight, (unsigned long long)(s.bytes_moved >> 20),
	       s.evacuation.c_str());
}

int pool_status_cmd(const Args &a)
{
	if (a.pos.size() != 1)
		return die("usage: tierctl [--json] pool status NAME", 2);
	auto s = pool_status(a.pos[0]);
	if (!s)
		return die(s.error());
	if (g_json)
		printf("%s\n", pool_json(a.pos[0], *s).dump(2).c_str());
	else
		print_pool(a.pos[0], *s);
	return 0;
}

// ---------------------------------------------------------------- volumes

int volume_up(const Args &a, bool create)
{
	if (a.pos.size() != 3)
		return die(std::string("usage: tierctl volume ") + (create ? "create" : "activate") +
			   " POOL ID SIZE [--name NAME]" +
			   (create ? " [--policy P] [--model M] [--label KEY=VALUE]..." : ""), 2);
	std::string pool = a.pos[0];
	uint32_t id;
	uint64_t bytes;
	if (!parse_u32(a.pos[1], id))
		return die("volume ID must be a number", 2);
	if (!parse_size(a.pos[2], bytes) || !bytes || bytes % 512)
		return die("SIZE must be a positive multiple of 512 bytes, e.g. 10G", 2);
	std::string name = opt(a, "--name", pool + "-v" + std::to_string(id));
	std::string pdev = dev_of(pool);
	if (pdev.empty())
		return die("no pool " + pool + " is active ('tierctl pool activate' first)");
	if (create) {
		if (auto st = msg(pool, "create_volume " + std::to_string(id)); !st)
			return die(st.error());
		std::vector<std::pair<std::string, std::string>> sets;
		if (auto p = opt(a, "--policy"); !p.empty())
			sets.emplace_back("tiering_policy", p);
		if (auto m = opt(a, "--model"); !m.empty())
			sets.emplace_back("prediction_model", m);
		for (auto [it, end] = a.opt.equal_range("--label"); it != end; ++it) {
			auto eq = it->second.find('=');
			if (eq == std::string::npos || !eq)
				sets.emplace_back("", it->second);
			else
				sets.emplace_back(it->second.substr(0, eq), it->second.substr(eq + 1));
		}
		for (auto &[k, v] : sets) {
			Status st = k.empty() ? Status(make_error("--label wants KEY=VALUE, got '" + v + "'", EINVAL))
					      : msg(pool, "set_volume " + std::to_string(id) + " " + k + " " + v);
			if (!st) {
				/* Leave nothing half-made. */
				(void)msg(pool, "delete_volume " + std::to_string(id));
				return die(st.error());
			}
		}
	}
	if (auto st = dm::create(name, {0, bytes >> 9, "tier", pdev + " " + std::to_string(id)}); !st) {
		if (create)
			(void)msg(pool, "delete_volume " + std::to_string(id));
		return die(st.error());
	}
	if (!g_json)
		printf("volume %u of %s active as /dev/mapper/%s (%llu MiB)\n", id, pool.c_str(), name.c_str(),
		       (unsigned long long)(bytes >> 20));
	return 0;
}

int volume_deactivate(const Args &a)
{
	if (a.pos.size() != 1)
		return die("usage: tierctl volume deactivate NAME", 2);
	auto t = dm::table(a.pos[0]);
	if (!t || t->type != "tier")
		return die(a.pos[0] + " is not an active dm-tier volume");
	if (auto st = dm::remove(a.pos[0]); !st)
		return die(st.error());
	return 0;
}

int volume_resize(const Args &a)
{
	uint64_t bytes;
	if (a.pos.size() != 2 || !parse_size(a.pos[1], bytes) || !bytes || bytes % 512)
		return die("usage: tierctl volume resize NAME SIZE (a multiple of 512 bytes)", 2);
	auto t = dm::table(a.pos[0]);
	if (!t || t->type != "tier")
		return die(a.pos[0] + " is not an active dm-tier volume");
	if ((bytes >> 9) < t->length)
		return die("shrinking a volume is not supported (it would cut data off): grow only");
	if (auto st = dm::reload(a.pos[0], {0, bytes >> 9, "tier", t->params}); !st)
		return die(st.error());
	return 0;
}

int volume_list(const Args &a)
{
	if (a.pos.size() != 1)
		return die("usage: tierctl [--json] volume list POOL", 2);
	auto ids = dm::message(a.pos[0], "list_volumes");
	if (!ids)
		return die(ids.error());
	json out = json::array();
	std::istringstream in(*ids);
	for (uint32_t id; in >> id;) {
		auto info = dm::message(a.pos[0], "get_volume " + std::to_string(id));
		std::string dev = volume_device(a.pos[0], id);
		json v = {{"id", id}, {"device", dev.empty() ? json(nullptr) : json("/dev/mapper/" + dev)}};
		std::istringstream kv(info ? *info : "");
		for (std::string w; kv >> w;)
			if (auto eq = w.find('='); eq != std::string::npos)
				v[w.substr(0, eq)] = w.substr(eq + 1);
		if (!dev.empty()) {
			auto st = dm::status(dev);
			auto mapped = st ? dm::parse_volume_status(st->params) : Result<std::vector<uint64_t>>(make_error(""));
			if (mapped)
				v["mapped_extents"] = *mapped;
			if (st)
				v["size_bytes"] = st->length << 9;
		}
		out.push_back(v);
	}
	if (g_json) {
		printf("%s\n", out.dump(2).c_str());
		return 0;
	}
	for (auto &v : out) {
		printf("volume %u: %s policy %s model %s", v["id"].get<unsigned>(),
		       v["device"].is_null() ? "inactive" : v["device"].get<std::string>().c_str(),
		       v.value("tiering_policy", "?").c_str(), v.value("prediction_model", "?").c_str());
		if (v.contains("mapped_extents")) {
			printf(" extents per tier:");
			for (auto &m : v["mapped_extents"])
				printf(" %llu", (unsigned long long)m.get<uint64_t>());
		}
		printf("\n");
	}
	return 0;
}

// ------------------------------------------------------- pool messages

// Subcommands that are one pool message: name, usage, positional count, builder.
struct MsgCmd {
	const char *usage;
	size_t args;
	std::function<std::string(const std::vector<std::string> &)> build;
};

const std::map<std::string, MsgCmd> kMsgCmds = {
	{"volume delete", {"volume delete POOL ID", 2,
			   [](auto &p) { return "delete_volume " + p[1]; }}},
	{"volume set", {"volume set POOL ID KEY VALUE", 4,
			[](auto &p) { return "set_volume " + p[1] + " " + p[2] + " " + p[3]; }}},
	{"migrate", {"migrate POOL ID EXTENT TIER", 4,
		     [](auto &p) { return "migrate " + p[1] + " " + p[2] + " " + p[3]; }}},
	{"pin", {"pin POOL ID BEGIN END TIER", 5,
		 [](auto &p) { return "pin " + p[1] + " " + p[2] + " " + p[3] + " " + p[4]; }}},
	{"unpin", {"unpin POOL ID BEGIN END", 4,
		   [](auto &p) { return "unpin " + p[1] + " " + p[2] + " " + p[3]; }}},
	{"tier evacuate", {"tier evacuate POOL TIER", 2,
			   [](auto &p) { return "evacuate_tier " + p[1]; }}},
	{"pool set", {"pool set POOL KEY VALUE", 3,
		      [](auto &p) { return "set " + p[1] + " " + p[2]; }}},
};

int status_all()
{
	auto names = dm::list();
	if (!names)
		return die(names.error());
	json out = json::array();
	for (auto &n : *names) {
		auto t = dm::table(n);
		if (!t || t->type != "tier-pool")
			continue;
		auto s = pool_status(n);
		if (!s)
			return die(s.error());
		if (g_json)
			out.push_back(pool_json(n, *s));
		else
			print_pool(n, *s);
	}
	if (g_json)
		printf("%s\n", out.dump(2).c_str());
	return 0;
}

// ------------------------------------------------------ boot activation

// tierctl boot activate|deactivate|check [--config-dir DIR] [--wait S]
int boot_cmd(const std::string &what, const Args &a)
{
	if (!a.pos.empty())
		return die("usage: tierctl boot " + what + " [--config-dir DIR]" + (what == "activate" ? " [--wait SECONDS]" : ""), 2);
	std::string dir = opt(a, "--config-dir", boot::kDefaultConfigDir);
	boot::Options o;
	if (a.opt.count("--wait")) {
		uint32_t w;
		if (!parse_u32(opt(a, "--wait"), w) || w > 3600)
			return die("--wait takes seconds, 0 to 3600", 2);
		o.wait_s = w;
	}
	auto cfg = boot::load_config(dir);
	if (!cfg)
		return die(cfg.error() + "; nothing changed");
	o.out = [](const std::string &s) { printf("%s\n", s.c_str()); fflush(stdout); };
	o.err = [](const std::string &s) { fprintf(stderr, "tierctl: %s\n", s.c_str()); };
	if (cfg->pools.empty()) {
		printf("no pools described in %s/%s\n", dir.c_str(), boot::kPoolsSubdir);
		return 0;
	}
	tierd::RealDm dm;
	unsigned failed = what == "activate" ? boot::activate(dm, *cfg, o) :
			  what == "deactivate" ? boot::deactivate(dm, *cfg, o) : boot::check(dm, *cfg, o);
	return failed ? 1 : 0;
}

// ------------------------------------------------------ tiers: add, remove

// "major:minor" of a block device path.
Result<std::string> majmin(const std::string &path)
{
	struct stat st;
	if (stat(path.c_str(), &st) < 0)
		return make_error("cannot open " + path + ": " + strerror(errno), errno);
	if (!S_ISBLK(st.st_mode))
		return make_error(path + " is not a block device", ENOTBLK);
	return std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
}

// "/dev/NAME" of a "major:minor", or the numbers when sysfs does not say.
std::string dev_name(const std::string &mm)
{
	char buf[256];
	std::string link = "/sys/dev/block/" + mm;
	ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
	if (n <= 0)
		return mm;
	buf[n] = 0;
	std::string s = buf;
	return "/dev/" + s.substr(s.rfind('/') + 1);
}

uint64_t sysfs_sectors(const std::string &mm)
{
	std::ifstream f("/sys/dev/block/" + mm + "/size");
	uint64_t v = 0;
	f >> v;
	return v;
}

Result<dm::PoolTable> pool_table(const std::string &pool, uint64_t *length)
{
	auto t = dm::table(pool);
	if (!t)
		return make_error("no pool " + pool + ": " + t.error(), t.code());
	if (t->type != "tier-pool")
		return make_error(pool + " is not a tier-pool device (it is " + t->type + ")", EINVAL);
	*length = t->length;
	return dm::parse_pool_table(t->params);
}

// A reminder when boot activation describes the pool: its tier list must follow.
void boot_note(const std::string &pool, const std::string &what)
{
	auto cfg = boot::load_config(boot::kDefaultConfigDir);
	if (!cfg)
		return;
	for (auto &p : cfg->pools)
		if (p.name == pool)
			printf("note: %s describes pool %s for boot activation: %s there, or boot activation will "
			       "refuse the pool\n", p.file.c_str(), pool.c_str(), what.c_str());
}

int tier_add(const Args &a)
{
	if (a.pos.size() != 2)
		return die("usage: tierctl tier add POOL DEV", 2);
	const std::string &pool = a.pos[0], &dev = a.pos[1];
	uint64_t len = 0;
	auto ps = pool_status(pool);
	if (!ps)
		return die(ps.error());
	auto t = pool_table(pool, &len);
	if (!t)
		return die(t.error());
	if (t->tier_devs.size() >= 8)
		return die("pool " + pool + " has 8 tiers, the most a pool can have");
	auto sectors = device_sectors(dev);
	if (!sectors)
		return die(sectors.error());
	auto mm = majmin(dev);
	if (!mm)
		return die(mm.error());
	if (*mm == t->metadata_dev)
		return die(dev + " is the metadata device of pool " + pool);
	for (size_t i = 0; i < t->tier_devs.size(); i++)
		if (t->tier_devs[i] == *mm)
			return die(dev + " is tier " + std::to_string(i) + " of pool " + pool + " already");
	uint64_t extents = *sectors / t->extent_sectors;
	if (extents < 2)
		return die(dev + " is too small to be a tier of " + pool + " (" + std::to_string(*sectors >> 11) + " MiB)");
	dm::PoolTable nt = *t;
	nt.tier_devs.push_back(*mm);
	if (auto st = dm::reload(pool, {0, len + *sectors, "tier-pool", dm::format_pool_table(nt)}); !st)
		return die(st.error() + " (dmesg | tail says why: a device of another pool, or in use); nothing changed");
	auto after = pool_status(pool);
	if (!after || after->tiers.size() != nt.tier_devs.size())
		return die("pool " + pool + " did not grow: " + (after ? std::to_string(after->tiers.size()) + " tiers" : after.error()));
	printf("tier %zu added to pool %s: %s, %llu MiB, %llu extents\n", nt.tier_devs.size() - 1, pool.c_str(),
	       dev.c_str(), (unsigned long long)(*sectors >> 11),
	       (unsigned long long)after->tiers.back().total);
	boot_note(pool, "append " + dev + " to its tiers");
	return 0;
}

// Progress of an evacuation: a bar on a terminal, else a line when the
// count changes (at most one a second).
struct Progress {
	bool tty = isatty(STDOUT_FILENO);
	uint64_t total = 0, last = UINT64_MAX;
	time_t last_line = 0;

	void show(unsigned tier, uint64_t left, bool final)
	{
		total = std::max(total, left);
		if (tty) {
			unsigned w = 40, done = total ? unsigned(w * (total - left) / total) : w;
			printf("\revacuating tier %u [%s%s] %3u%% %llu extents left ", tier, std::string(done, '#').c_str(),
			       std::string(w - done, '.').c_str(), total ? unsigned(100 * (total - left) / total) : 100,
			       (unsigned long long)left);
			if (final)
				printf("\n");
			fflush(stdout);
			return;
		}
		if (left == last && !final)
			return;
		if (!final && time(nullptr) == last_line && last != UINT64_MAX)
			return;
		printf("evacuating tier %u: %llu of %llu extents left\n", tier, (unsigned long long)left,
		       (unsigned long long)total);
		fflush(stdout);
		last = left;
		last_line = time(nullptr);
	}
};

int tier_remove(const Args &a)
{
	uint32_t idx;
	if (a.pos.size() != 2 || !parse_u32(a.pos[1], idx))
		return die("usage: tierctl tier remove POOL INDEX", 2);
	const std::string &pool = a.pos[0];
	uint64_t len = 0;
	auto ps = pool_status(pool);
	if (!ps)
		return die(ps.error());
	auto t = pool_table(pool, &len);
	if (!t)
		return die(t.error());
	size_t n = ps->tiers.size();
	if (idx >= n)
		return die("pool " + pool + " has tiers 0 to " + std::to_string(n - 1) + ": there is no tier " +
			   std::to_string(idx));
	if (n == 1)
		return die("tier 0 is the only tier of " + pool + ": a pool needs one ('tierctl pool deactivate' retires it)");
	auto ev = dm::parse_evacuation(ps->evacuation);
	if (!ev)
		return die(ev.error());
	if (ev->active && ev->tier != idx)
		return die(std::string("tier ") + std::to_string(ev->tier) + (ev->done ? " was evacuated and not removed yet: 'tierctl tier remove " + pool + " " + std::to_string(ev->tier) + "' first" : " is being evacuated: wait for it ('tierctl pool status " + pool + "'), remove it, then tier " + std::to_string(idx)));
	if (!ev->active) {
		uint64_t used = ps->tiers[idx].used, room = 0;
		for (size_t i = 0; i < n; i++)
			if (i != idx)
				room += ps->tiers[i].total - std::min(ps->tiers[i].used, ps->tiers[i].total);
		if (used > room)
			return die("not enough room to evacuate tier " + std::to_string(idx) + " of " + pool + ": it holds " +
				   std::to_string(used) + " extents, the other tiers have " + std::to_string(room) +
				   " free; add a tier ('tierctl tier add') or delete data first; nothing changed");
		if (auto st = dm::message(pool, "evacuate_tier " + std::to_string(idx)); !st)
			return die(st.code() == ENOSPC ? "not enough room on the other tiers to evacuate tier " +
								std::to_string(idx) + "; nothing changed"
						       : st.error() + " (dmesg | tail says why)");
	}
	// Wait for the evacuation; stop when it makes no progress for 120 s.
	Progress pr;
	pr.total = ps->tiers[idx].used;
	uint64_t last_left = UINT64_MAX;
	time_t since = time(nullptr);
	for (;;) {
		auto s = pool_status(pool);
		if (!s)
			return die(s.error());
		auto e = dm::parse_evacuation(s->evacuation);
		if (!e)
			return die(e.error());
		if (!e->active || e->tier != idx)
			return die("the evacuation of tier " + std::to_string(idx) + " ended (" + s->evacuation +
				   "): was the pool reloaded?");
		if (s->mode != "rw")
			return die("pool " + pool + " is " + s->mode + " (metadata error): the evacuation cannot go on; see dmesg");
		if (e->done) {
			pr.show(idx, 0, true);
			break;
		}
		pr.show(idx, e->left, false);
		if (e->left != last_left) {
			last_left = e->left;
			since = time(nullptr);
		} else if (time(nullptr) - since > 120) {
			if (pr.tty)
				printf("\n");
			return die("the evacuation of tier " + std::to_string(idx) + " made no progress for 120 s at " +
				   std::to_string(e->left) + " extents left (" + std::to_string(s->migrations_failed) +
				   " migrations failed; dmesg | tail says why); it goes on in the kernel: run this "
				   "command again to wait for it and remove the tier");
		}
		usleep(200000);
	}
	// Sources of the last moves are freed by the next commits.
	for (int i = 0; i < 50; i++) {
		(void)dm::message(pool, "commit");
		auto s = pool_status(pool);
		if (s && s->tiers.size() == n && s->tiers[idx].used == 0)
			break;
		usleep(100000);
	}
	dm::PoolTable nt = *t;
	std::string removed = nt.tier_devs[idx];
	nt.tier_devs.erase(nt.tier_devs.begin() + idx);
	uint64_t rs = sysfs_sectors(removed);
	uint64_t nlen = rs && rs < len ? len - rs : len;
	if (auto st = dm::reload(pool, {0, nlen, "tier-pool", dm::format_pool_table(nt)}); !st)
		return die(st.error() + " (dmesg | tail says why); tier " + std::to_string(idx) +
			   " stays evacuated: nothing is allocated on it; run this command again");
	auto after = pool_status(pool);
	if (!after || after->tiers.size() != n - 1)
		return die("tier " + std::to_string(idx) + " of " + pool + " was not removed: " +
			   (after ? after->evacuation : after.error()));
	std::string name = dev_name(removed);
	printf("tier %u removed from pool %s; %s (%s) is no longer in use", idx, pool.c_str(), name.c_str(),
	       removed.c_str());
	if (idx + 2 == n)
		printf("; tier %u is now tier %u", idx + 1, idx);
	else if (idx + 1 < n)
		printf("; tiers %u to %zu are now %u to %zu", idx + 1, n - 1, idx, n - 2);
	printf("\n");
	boot_note(pool, "remove " + name + " (tier " + std::to_string(idx) + ") from its tiers");
	return 0;
}

// ------------------------------------------------------------ pool destroy

// An O_DIRECT, O_EXCL open of a block device (no one else holds it: not the
// pool, not a mount), with its path checked against "major:minor".
Result<int> open_excl(const std::string &path, const std::string &mm)
{
	int fd = open(path.c_str(), O_RDWR | O_DIRECT | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return make_error("cannot open " + path + " exclusively: " + strerror(errno) +
					  (errno == EBUSY ? " (something holds it: another pool, a mount?)" : ""),
				  errno);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) ||
	    std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)) != mm) {
		close(fd);
		return make_error(path + " is not the device " + mm + " the pool's table names", ENODEV);
	}
	return fd;
}

struct AlignedBuf {
	void *p = nullptr;
	explicit AlignedBuf(size_t n)
	{
		if (posix_memalign(&p, 4096, n))
			p = nullptr;
		else
			memset(p, 0, n);
	}
	~AlignedBuf() { free(p); }
};

Status pio(bool wr, int fd, void *buf, size_t n, off_t off, const std::string &path)
{
	ssize_t r = wr ? pwrite(fd, buf, n, off) : pread(fd, buf, n, off);
	if (r != (ssize_t)n)
		return make_error(std::string(wr ? "write to " : "read of ") + path + " failed: " +
					  (r < 0 ? strerror(errno) : "short"),
				  r < 0 ? errno : EIO);
	return {};
}

int pool_destroy(const Args &a)
{
	if (a.pos.size() != 1)
		return die("usage: tierctl pool destroy NAME [--force] [--yes]", 2);
	const std::string &pool = a.pos[0];
	bool force = a.flag.count("--force"), yes = a.flag.count("--yes");
	auto ps = pool_status(pool);
	if (!ps)
		return die(ps.error() + " (destroy reads the pool's devices from its table: 'tierctl pool "
					"activate' it first); nothing changed");
	uint64_t len = 0;
	auto t = pool_table(pool, &len);
	if (!t)
		return die(t.error());
	// Volumes: an active one is always refused; inactive ones need --force.
	std::vector<uint32_t> ids;
	auto vols = dm::message(pool, "list_volumes");
	if (!vols)
		return die("cannot list the volumes of " + pool + ": " + vols.error() + "; nothing changed");
	std::istringstream in(*vols);
	for (uint32_t id; in >> id;)
		ids.push_back(id);
	for (auto id : ids)
		if (auto d = volume_device(pool, id); !d.empty())
			return die("volume " + std::to_string(id) + " of " + pool + " is active as /dev/mapper/" + d +
				   ": 'tierctl volume deactivate " + d + "' first; nothing changed");
	uint64_t used = 0;
	for (auto &ts : ps->tiers)
		used += ts.used;
	std::string idlist;
	for (auto id : ids)
		idlist += (idlist.empty() ? "" : " ") + std::to_string(id);
	if (!ids.empty() && !force)
		return die("pool " + pool + " holds " + std::to_string(ids.size()) + " volume" +
			   (ids.size() == 1 ? "" : "s") + " (" + idlist + ", " + std::to_string(used) +
			   " extents of data): delete them ('tierctl volume delete " + pool +
			   " ID') or pass --force to destroy them with the pool; nothing changed");
	// The devices, by path, before anything changes.
	std::string meta_mm = t->metadata_dev, meta = dev_name(meta_mm);
	std::vector<std::pair<std::string, std::string>> tiers;	// path, major:minor
	for (auto &mm : t->tier_devs)
		tiers.emplace_back(dev_name(mm), mm);
	std::vector<std::string> all = t->tier_devs;
	all.push_back(meta_mm);
	for (auto &p : all)
		if (struct stat sst; dev_name(p) == p || stat(dev_name(p).c_str(), &sst) < 0)
			return die("cannot find the device node of " + p + " (" + dev_name(p) + "); nothing changed");
	std::string what = "pool " + pool + ": " + std::to_string(ps->tiers.size()) + " tiers, " +
			   std::to_string(ids.size()) + " volumes" + (ids.empty() ? "" : " (" + idlist + ")") + ", " +
			   std::to_string(used) + " extents in use; metadata " + meta;
	if (!yes) {
		if (!isatty(STDIN_FILENO))
			return die("destroying " + what + " cannot be undone: pass --yes to confirm when not on a "
				   "terminal; nothing changed", 2);
		printf("This destroys %s.\nIts data cannot be recovered. Type the pool's name to confirm: ", what.c_str());
		fflush(stdout);
		std::string answer;
		int c;
		while ((c = getchar()) != EOF && c != '\n')
			answer += char(c);
		if (answer != pool)
			return die("not confirmed; nothing changed");
	}
	if (auto st = dm::remove(pool); !st)
		return die("cannot deactivate " + pool + ": " + st.error() + "; nothing changed");
	std::string after = "pool " + pool + " is deactivated but ";
	std::string again = ": its metadata is intact ('tierctl pool activate' brings it back)";
	// The superblock: check that META holds one, keep the pool's UUID.
	auto mfd = open_excl(meta, meta_mm);
	if (!mfd)
		return die(after + "not destroyed: " + mfd.error() + again);
	AlignedBuf sbuf(2 * DMT_BLOCK_SIZE), zero(2 * DMT_BLOCK_SIZE);
	if (!sbuf.p || !zero.p) {
		close(*mfd);
		return die(after + "not destroyed: out of memory" + again);
	}
	if (auto st = pio(false, *mfd, sbuf.p, 2 * DMT_BLOCK_SIZE, 0, meta); !st) {
		close(*mfd);
		return die(after + "not destroyed: " + st.error() + again);
	}
	const dmt_superblock *best = nullptr;
	for (int s = 0; s < 2; s++) {
		auto *sb = reinterpret_cast<const dmt_superblock *>(static_cast<char *>(sbuf.p) + s * DMT_BLOCK_SIZE);
		if (sb->type == DMT_BT_SUPER && sb->magic == DMT_SB_MAGIC &&
		    sb->csum == md::block_csum(sb, DMT_BLOCK_SIZE) && (!best || sb->generation > best->generation))
			best = sb;
	}
	if (!best) {
		close(*mfd);
		return die(after + "not destroyed: " + meta + " holds no valid dm-tier superblock; left as is");
	}
	uint8_t uuid[16];
	memcpy(uuid, best->uuid, 16);
	Status wst = pio(true, *mfd, zero.p, 2 * DMT_BLOCK_SIZE, 0, meta);
	if (wst && fsync(*mfd) < 0)
		wst = make_error("fsync of " + meta + " failed: " + strerror(errno), errno);
	close(*mfd);
	if (!wst)
		return die(after + "its superblock may not be wiped: " + wst.error() + "; run this command again");
	// From here the pool is gone; the tier labels name it no more.
	std::vector<std::string> wiped, kept;
	for (size_t i = 0; i < tiers.size(); i++) {
		auto &[path, mm] = tiers[i];
		std::string who = "tier " + std::to_string(i) + " (" + path + ")";
		auto fd = open_excl(path, mm);
		if (!fd) {
			kept.push_back(who + ": " + fd.error());
			continue;
		}
		AlignedBuf lb(DMT_BLOCK_SIZE);
		Status st = lb.p ? pio(false, *fd, lb.p, DMT_BLOCK_SIZE, 0, path) : Status(make_error("out of memory"));
		auto *l = static_cast<const dmt_tier_label *>(lb.p);
		if (st && !(l->type == DMT_BT_LABEL && l->magic == DMT_LABEL_MAGIC && !memcmp(l->uuid, uuid, 16)))
			st = make_error("its label is not this pool's: left as is");
		if (st)
			st = pio(true, *fd, zero.p, DMT_BLOCK_SIZE, 0, path);
		if (st && fsync(*fd) < 0)
			st = make_error(std::string("fsync failed: ") + strerror(errno), errno);
		close(*fd);
		if (st)
			wiped.push_back(path);
		else
			kept.push_back(who + ": " + st.error());
	}
	std::string wl;
	for (auto &w : wiped)
		wl += (wl.empty() ? "" : ", ") + w;
	printf("pool %s destroyed: its metadata superblock on %s is wiped%s%s%s\n", pool.c_str(), meta.c_str(),
	       ids.empty() ? "" : (", with its " + std::to_string(ids.size()) + " volumes").c_str(),
	       wl.empty() ? "" : ("; tier labels wiped on " + wl).c_str(),
	       "; the devices are free for a new pool (their data blocks were not erased: blkdiscard them for that)");
	for (auto &k : kept)
		fprintf(stderr, "tierctl: warning: the label of %s\n", k.c_str());
	if (auto cfg = boot::load_config(boot::kDefaultConfigDir))
		for (auto &p : cfg->pools)
			if (p.name == pool)
				printf("note: %s describes pool %s for boot activation: remove that file, or boot "
				       "activation will refuse the pool\n", p.file.c_str(), pool.c_str());
	return kept.empty() ? 0 : 1;
}

// --------------------------------------------- migrate, pin, unpin --file

// The sysfs dm name of a block device "major:minor", or "".
std::string dm_name_of(const std::string &mm)
{
	std::ifstream f("/sys/dev/block/" + mm + "/dm/name");
	std::string n;
	std::getline(f, n);
	return n;
}

int file_cmd(const std::string &cmd, const Args &a)
{
	std::string path = opt(a, "--file");
	size_t want = cmd == "unpin" ? 0 : 1;
	uint32_t tier = 0;
	if (a.pos.size() != want || (want && !parse_u32(a.pos[0], tier)))
		return die("usage: tierctl " + cmd + " --file PATH" + (want ? " TIER" : ""), 2);
	struct stat st;
	if (stat(path.c_str(), &st) < 0)
		return die("cannot open " + path + ": " + strerror(errno));
	std::string mm = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
	std::string name = dm_name_of(mm);
	if (name.empty())
		return die(path + " is on " + (major(st.st_dev) ? dev_name(mm) + " (" + mm + ")" :
				   "a virtual device " + mm + " (tmpfs, btrfs, overlayfs, a network filesystem...)") +
			   ", not a device-mapper device: --file takes a file on a filesystem mounted from a dm-tier volume");
	auto vt = dm::table(name);
	if (!vt)
		return die("cannot read the table of " + name + ": " + vt.error());
	if (vt->type != "tier")
		return die(path + " is on /dev/mapper/" + name + ", a " + vt->type +
			   " device, not a dm-tier volume (a filesystem on a partition, LVM or another target over a "
			   "volume is not supported)");
	auto v = dm::parse_volume_table(vt->params);
	if (!v)
		return die("cannot parse the table of " + name + ": " + v.error());
	std::string pool = dm_name_of(v->pool_dev);
	if (pool.empty())
		return die("the pool " + v->pool_dev + " of volume " + name + " has no device-mapper name");
	uint64_t plen = 0;
	auto pt = pool_table(pool, &plen);
	if (!pt)
		return die(pt.error());
	uint64_t eb = pt->extent_sectors << 9;
	auto fe = tierctl::file_extents(path);
	if (!fe)
		return die(fe.error());
	auto r = tierctl::extent_ranges(path, *fe, eb, (vt->start + vt->length) << 9);
	if (!r)
		return die(r.error());
	std::string id = std::to_string(v->id), where = "volume " + id + " of " + pool + " (/dev/mapper/" + name + ")";
	uint64_t n = tierctl::count_extents(*r);
	std::string desc = path + ": " + std::to_string(n) + " extent" + (n == 1 ? "" : "s") + " of " +
			   std::to_string(eb >> 10) + " KiB of " + where + ": " + tierctl::format_ranges(*r);
	if (cmd == "pin" || cmd == "unpin") {
		size_t done = 0;
		for (auto &x : *r) {
			std::string m = cmd + " " + id + " " + std::to_string(x.begin) + " " + std::to_string(x.end) +
					(cmd == "pin" ? " " + std::to_string(tier) : "");
			if (auto s = msg(pool, m); !s)
				return die(cmd + " of extents " + std::to_string(x.begin) + "-" + std::to_string(x.end - 1) +
					   " failed: " + s.error() +
					   (done ? " (" + std::to_string(done) + " of " + std::to_string(r->size()) +
							   " ranges done before it)"
						 : ""));
			done++;
		}
		printf("%s\n%s\n", desc.c_str(), cmd == "pin" ? ("pinned on tier " + std::to_string(tier)).c_str() : "unpinned");
		return 0;
	}
	// migrate: one message per extent; pinned and unmapped ones are skipped.
	uint64_t queued = 0, pinned = 0, unmapped = 0;
	for (auto &x : *r)
		for (uint64_t e = x.begin; e < x.end; e++) {
			auto res = dm::message(pool, "migrate " + id + " " + std::to_string(e) + " " + std::to_string(tier));
			if (res) {
				queued++;
			} else if (res.code() == EPERM) {
				pinned++;
			} else if (res.code() == ENODATA) {
				unmapped++;
			} else {
				return die("migrate of extent " + std::to_string(e) + " failed: " + res.error() +
					   (res.code() == ENOSPC ? " (the migration queue is full: run this again when "
								   "migrations have drained)"
								 : " (dmesg | tail says why)") +
					   "; " + std::to_string(queued) + " extents queued before it");
			}
		}
	printf("%s\n%llu queued for tier %u", desc.c_str(), (unsigned long long)queued, tier);
	if (pinned)
		printf(", %llu pinned (not moved: unpin them first)", (unsigned long long)pinned);
	if (unmapped)
		printf(", %llu not mapped", (unsigned long long)unmapped);
	printf("\n");
	return 0;
}

// ------------------------------------------------------------ tierd

std::string g_tierd_config_path;

// tierd.conf (the same file and parser as tierd): tier names and prices,
// and the API socket.  A missing default file means tierd's defaults.
Result<tierd::Config> tierd_config()
{
	bool given = !g_tierd_config_path.empty();
	return tierd::load_config(given ? g_tierd_config_path : tierd::kDefaultConfig, given);
}

std::vector<std::string> tier_names(const tierd::Config &c)
{
	std::vector<std::string> n;
	for (auto &t : c.tiers)
		n.push_back(t.name);
	return n;
}

// ------------------------------------------------------------ heatmap

bool volume_exists(const std::string &pool, uint32_t id)
{
	auto ids = dm::message(pool, "list_volumes");
	if (!ids)
		return false;
	std::istringstream in(*ids);
	for (uint32_t x; in >> x;)
		if (x == id)
			return true;
	return false;
}

int run_gnuplot(const std::string &script, const std::string &png)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return die(std::string("pipe: ") + strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	char *argv[] = {(char *)"gnuplot", nullptr};
	pid_t pid;
	int r = posix_spawnp(&pid, "gnuplot", &fa, nullptr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (r) {
		close(fds[1]);
		return die("cannot run gnuplot (" + std::string(strerror(r)) +
			   "): --png needs it; install it with 'apt-get install gnuplot-nox', or use --svg");
	}
	signal(SIGPIPE, SIG_IGN);
	size_t off = 0;
	while (off < script.size()) {
		ssize_t w = write(fds[1], script.data() + off, script.size() - off);
		if (w <= 0)
			break;
		off += size_t(w);
	}
	close(fds[1]);
	int status = 0;
	waitpid(pid, &status, 0);
	struct stat st;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || stat(png.c_str(), &st) < 0 || st.st_size == 0)
		return die("gnuplot failed to write " + png + " (its message is above)");
	return 0;
}

int write_file(const std::string &path, const std::string &text)
{
	std::ofstream f(path, std::ios::trunc);
	if (!f || !(f << text) || !(f.flush()))
		return die("cannot write " + path + ": " + strerror(errno));
	return 0;
}

int heatmap_cmd(const Args &a)
{
	uint32_t id;
	if (a.pos.size() != 2 || !parse_u32(a.pos[1], id))
		return die("usage: tierctl [--json] heatmap POOL ID [--svg FILE] [--png FILE] [--kernel]", 2);
	for (auto f : {"--svg", "--png"})
		if (a.flag.count(f))
			return die(std::string(f) + " needs a FILE", 2);
	const std::string &pool = a.pos[0];
	std::string svg = opt(a, "--svg"), png = opt(a, "--png");
	uint64_t plen = 0;
	auto ps = pool_status(pool);
	if (!ps)
		return die(ps.error());
	auto pt = pool_table(pool, &plen);
	if (!pt)
		return die(pt.error());
	if (!volume_exists(pool, id))
		return die("no volume " + std::to_string(id) + " in pool " + pool + " ('tierctl volume list " + pool + "')");
	// The volume's length in extents: its table when active, else up to
	// its last mapped extent.
	uint64_t nr = 0;
	std::string dev = volume_device(pool, id);
	if (!dev.empty())
		if (auto t = dm::table(dev))
			nr = (t->length + pt->extent_sectors - 1) / pt->extent_sectors;
	auto cfg = tierd_config();
	if (!cfg)
		fprintf(stderr, "tierctl: %s (tier names not shown)\n", cfg.error().c_str());
	tierctl::HeatMap m;
	bool have = false;
	if (!a.flag.count("--kernel")) {
		std::string sock = cfg ? cfg->socket : tierd::Config{}.socket;
		tierctl::TierdClient tc(sock);
		std::string base = "/v1/pools/" + pool + "/volumes/" + std::to_string(id);
		auto h = tc.get(base + "/heat");
		if (h) {
			uint64_t n = nr;
			if (!n) {
				for (auto &e : h->value("extents", json::array()))
					n = std::max<uint64_t>(n, e.value("extent", uint64_t(0)) + 1);
			}
			auto hm = tierctl::heat_from_tierd(*h, n);
			if (!hm)
				return die(hm.error());
			m = std::move(*hm);
			have = true;
		} else {
			fprintf(stderr, "tierctl: %s; showing the kernel's heat\n",
				h.code() == ECONNREFUSED ? ("tierd is not running (no answer on " + sock + ")").c_str()
							 : h.error().c_str());
		}
	}
	if (!have) {
		auto c = nl::Client::open();
		if (!c)
			return die("cannot open the dm_tier netlink family: " + c.error());
		auto heat = c->dump_heat(pool, id);
		if (!heat)
			return die("cannot read the heat of volume " + std::to_string(id) + " of " + pool + ": " + heat.error());
		uint64_t n = nr;
		if (!n)
			for (auto &e : *heat)
				n = std::max<uint64_t>(n, e.extent + 1);
		m = tierctl::heat_from_kernel(*heat, n);
	}
	m.pool = pool;
	m.volume = id;
	m.extent_bytes = pt->extent_sectors << 9;
	m.nr_tiers = std::max<unsigned>(m.nr_tiers, unsigned(ps->tiers.size()));
	if (cfg)
		m.tier_names = tier_names(*cfg);
	if (!svg.empty()) {
		if (int r = write_file(svg, tierctl::render_svg(m)))
			return r;
		if (!g_json)
			printf("heat map of volume %u of %s written to %s\n", id, pool.c_str(), svg.c_str());
	}
	if (!png.empty()) {
		if (int r = run_gnuplot(tierctl::gnuplot_script(m, png), png))
			return r;
		if (!g_json)
			printf("heat map of volume %u of %s written to %s\n", id, pool.c_str(), png.c_str());
	}
	if (g_json) {
		printf("%s\n", tierctl::heat_json(m).dump(2).c_str());
		return 0;
	}
	if (svg.empty() && png.empty()) {
		tierctl::TermOptions o;
		struct winsize ws {};
		if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
			o.columns = ws.ws_col;
		const char *term = getenv("TERM");
		o.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && std::string(term) == "dumb") &&
			  !a.flag.count("--no-color");
		fputs(tierctl::render_terminal(m, o).c_str(), stdout);
	}
	return 0;
}

// ------------------------------------------------------------ top

double mono_s()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Sampler {
	std::string only;	// one pool, or all
	std::optional<nl::Client> nl;
	bool nl_tried = false;

	Result<tierctl::Sample> sample()
	{
		if (!nl_tried) {
			nl_tried = true;
			if (auto c = nl::Client::open())
				nl.emplace(std::move(*c));
		}
		tierctl::Sample s;
		s.time_s = mono_s();
		auto names = dm::list();
		if (!names)
			return make_error(names.error(), names.code());
		std::map<std::string, std::map<uint32_t, std::string>> vols;	// pool dev -> id -> name
		std::vector<std::string> pools;
		for (auto &n : *names) {
			auto t = dm::table(n);
			if (!t)
				continue;
			if (t->type == "tier-pool" && (only.empty() || n == only))
				pools.push_back(n);
			if (t->type == "tier")
				if (auto vt = dm::parse_volume_table(t->params))
					vols[vt->pool_dev][vt->id] = n;
		}
		if (!only.empty() && pools.empty())
			return make_error("no pool " + only + " is active", ENOENT);
		for (auto &p : pools) {
			tierctl::PoolSample ps;
			ps.name = p;
			auto st = pool_status(p);
			if (!st)
				continue;	// removed meanwhile
			ps.status = *st;
			auto &active = vols[dev_of(p)];
			auto ids = dm::message(p, "list_volumes");
			std::istringstream in(ids ? *ids : "");
			for (uint32_t id; in >> id;) {
				auto it = active.find(id);
				if (it == active.end()) {
					ps.inactive_volumes++;
					continue;
				}
				tierctl::VolSample v;
				v.id = id;
				v.device = it->second;
				if (auto pr = dm::message(p, "get_profile " + std::to_string(id)))
					if (auto pp = tierctl::parse_profile(*pr))
						v.profile = *pp;
				if (auto vs = dm::status(it->second))
					if (auto m = dm::parse_volume_status(vs->params))
						v.mapped = *m;
				if (nl)
					if (auto h = nl->dump_heat(p, id))
						for (auto &e : *h) {
							v.heat_total += e.reads + e.writes;
							if (e.tier == 0)
								v.heat_fast += e.reads + e.writes;
						}
				ps.volumes.push_back(std::move(v));
			}
			s.pools.push_back(std::move(ps));
		}
		return s;
	}
};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int top_cmd(const Args &a)
{
	if (a.pos.size() > 1)
		return die("usage: tierctl [--json] top [POOL] [--once] [--iterations N] [--interval SECONDS]", 2);
	uint32_t iterations = 0;
	if (a.opt.count("--iterations") && (!parse_u32(opt(a, "--iterations"), iterations) || !iterations))
		return die("--iterations takes a positive number", 2);
	if (a.flag.count("--once"))
		iterations = 1;
	double interval = 1;
	if (a.opt.count("--interval")) {
		char *end;
		interval = strtod(opt(a, "--interval").c_str(), &end);
		if (*end || !(interval >= 0.1 && interval <= 3600))
			return die("--interval takes seconds, 0.1 to 3600", 2);
	}
	for (auto f : {"--iterations", "--interval"})
		if (a.flag.count(f))
			return die(std::string(f) + " needs a value", 2);
	Sampler sm;
	sm.only = a.pos.empty() ? "" : a.pos[0];
	auto prev = sm.sample();
	if (!prev)
		return die(prev.error());
	bool screen = isatty(STDOUT_FILENO) && !iterations && !g_json;
	struct sigaction sa {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	struct termios saved {};
	bool raw = false;
	if (screen) {
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
			struct termios t = saved;
			t.c_lflag &= ~(ICANON | ECHO);
			t.c_cc[VMIN] = 0;
			t.c_cc[VTIME] = 0;
			raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
		}
		printf("\033[?1049h\033[?25l");	// alternate screen, no cursor
	}
	int rc = 0;
	for (uint32_t it = 0; !g_stop && (!iterations || it < iterations); it++) {
		// Wait one interval (a key q ends an interactive view).
		double end = mono_s() + interval;
		while (!g_stop) {
			double left = end - mono_s();
			if (left <= 0)
				break;
			struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
			int r = poll(&pfd, raw ? 1 : 0, int(left * 1000) + 1);
			if (r > 0 && raw) {
				char c;
				if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
					g_stop = 1;
			}
		}
		if (g_stop)
			break;
		auto cur = sm.sample();
		if (!cur) {
			rc = 1;
			if (screen)
				printf("\033[?25h\033[?1049l");
			screen = false;
			die(cur.error());
			break;
		}
		auto rows = tierctl::top_rows(*prev, *cur);
		if (g_json) {
			printf("%s\n", tierctl::top_json(rows, cur->time_s - prev->time_s).dump().c_str());
		} else {
			unsigned cols = 100;
			struct winsize ws {};
			if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
				cols = ws.ws_col;
			std::string text = tierctl::render_top(rows, cur->time_s - prev->time_s, cols);
			if (screen)
				printf("\033[H\033[2J%s(q quits)", text.c_str());
			else
				printf("%s%s", it ? "\n" : "", text.c_str());
		}
		fflush(stdout);
		prev = std::move(cur);
	}
	if (screen)
		printf("\033[?25h\033[?1049l");
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	fflush(stdout);
	return rc;
}

// ------------------------------------------------------------ cost

int cost_cmd(const Args &a)
{
	if (a.pos.size() != 1)
		return die("usage: tierctl [--json] cost POOL", 2);
	const std::string &pool = a.pos[0];
	auto cfg = tierd_config();
	if (!cfg)
		return die(cfg.error() + " (tierd reads the same file: fix it there)");
	auto ps = pool_status(pool);
	if (!ps)
		return die(ps.error());
	tierctl::TierdClient tc(cfg->socket);
	auto r = tc.get("/v1/pools/" + pool + "/cost");
	if (!r)
		return die(r.code() == ECONNREFUSED ? r.error() + "; the cost report needs tierd (it holds the heat)"
						    : r.error());
	if (g_json) {
		json out = *r;
		json tiers = json::array();
		for (size_t i = 0; i < cfg->tiers.size(); i++)
			tiers.push_back({{"tier", i}, {"name", cfg->tiers[i].name}, {"class", cfg->tiers[i].cls},
					 {"cost_per_gb_month", cfg->tiers[i].cost_gb_month}});
		out["tiers"] = tiers;
		printf("%s\n", out.dump(2).c_str());
		return 0;
	}
	auto text = tierctl::render_cost(*r, cfg->tiers);
	if (!text)
		return die(text.error());
	fputs(text->c_str(), stdout);
	if (cfg->tiers.size() < ps->tiers.size())
		printf("note: %s prices %zu of the pool's %zu tiers (add [[tier]] tables for the others)\n",
		       g_tierd_config_path.empty() ? tierd::kDefaultConfig : g_tierd_config_path.c_str(), cfg->tiers.size(),
		       ps->tiers.size());
	return 0;
}

void usage(FILE *f)
{
	fprintf(f,
		"usage: tierctl [--json] [--tierd-config FILE] COMMAND ...\n"
		"\n"
		"Pools:\n"
		"  pool create NAME --metadata DEV [--extent-size 1M] [--feature KEY=VALUE]... TIER_DEV...\n"
		"  pool activate NAME --metadata DEV [--extent-size 1M] [--feature ...] TIER_DEV...\n"
		"  pool deactivate NAME\n"
		"  pool status NAME\n"
		"  pool destroy NAME [--force] [--yes]\n"
		"  pool set POOL KEY VALUE          (see docs/dm-tier.md for the settings)\n"
		"  tier add POOL DEV\n"
		"  tier remove POOL INDEX\n"
		"  tier evacuate POOL TIER\n"
		"Volumes:\n"
		"  volume create POOL ID SIZE [--name NAME] [--policy P] [--model M] [--label KEY=VALUE]...\n"
		"  volume activate POOL ID SIZE [--name NAME]\n"
		"  volume deactivate NAME\n"
		"  volume delete POOL ID\n"
		"  volume resize NAME SIZE\n"
		"  volume list POOL\n"
		"  volume set POOL ID KEY VALUE\n"
		"Data placement:\n"
		"  migrate POOL ID EXTENT TIER\n"
		"  migrate --file PATH TIER\n"
		"  pin POOL ID BEGIN END TIER\n"
		"  pin --file PATH TIER\n"
		"  unpin POOL ID BEGIN END\n"
		"  unpin --file PATH\n"
		"Monitoring:\n"
		"  status\n"
		"  top [POOL] [--once] [--iterations N] [--interval SECONDS]\n"
		"  heatmap POOL ID [--svg FILE] [--png FILE] [--kernel] [--no-color]\n"
		"  cost POOL                        (needs tierd)\n"
		"Boot activation (pools described in DIR/pools.d/*.toml, DIR default /etc/dm-tier):\n"
		"  boot activate [--config-dir DIR] [--wait SECONDS]\n"
		"  boot deactivate [--config-dir DIR]\n"
		"  boot check [--config-dir DIR]\n"
		"\n"
		"Devices are best given by stable paths (/dev/disk/by-id/...), tiers fastest\n"
		"first.  SIZE takes K, M, G, T (binary).  --json prints read commands' results\n"
		"as JSON.  tierd.conf (default /etc/dm-tier/tierd.conf) gives tierd's socket\n"
		"and the tiers' names and prices.  'tierctl COMMAND --help' describes COMMAND.\n"
		"Exit status: 0 done, 1 failed, 2 usage.\n");
}

// tierctl COMMAND --help: the command's usage and what it does.
const std::map<std::string, std::pair<const char *, const char *>> kHelp = {
	{"pool create", {"pool create NAME --metadata DEV [--extent-size 1M] [--feature KEY=VALUE]... TIER_DEV...",
			 "Format a new pool on a blank metadata device and activate it as /dev/mapper/NAME.\n"
			 "Tier devices fastest first; --extent-size is a power of two from 128K to 1G."}},
	{"pool activate", {"pool activate NAME --metadata DEV [--extent-size 1M] [--feature ...] TIER_DEV...",
			   "Activate an existing pool; the tiers in their original order."}},
	{"pool deactivate", {"pool deactivate NAME", "Remove the pool device (refused while a volume is active)."}},
	{"pool destroy", {"pool destroy NAME [--force] [--yes]",
			  "Destroy an active pool: deactivate it, wipe its metadata superblock (so its\n"
			  "devices can no longer be activated as that pool) and its tier devices' labels\n"
			  "(so they can join another pool).  Refused while a volume is active, and while\n"
			  "the pool holds volumes unless --force (their data goes with the pool).  Asks\n"
			  "for the pool's name on a terminal; elsewhere --yes must confirm.  Nothing\n"
			  "changes on a refusal.  The tiers' data blocks are not erased (blkdiscard)."}},
	{"pool status", {"[--json] pool status NAME", "The pool's mode, policy, tiers, migrations and evacuation."}},
	{"pool set", {"pool set POOL KEY VALUE", "Change a pool setting at run time (dm-tier(4) lists them)."}},
	{"tier add", {"tier add POOL DEV",
		      "Append DEV as the pool's new slowest tier by reloading the pool's table; its\n"
		      "extents are usable at once.  Refused for a missing device, one already in\n"
		      "the pool, a device of another pool, or a pool of 8 tiers."}},
	{"tier remove", {"tier remove POOL INDEX",
			 "Evacuate tier INDEX (its extents move to the nearest tiers with room; a\n"
			 "progress bar on a terminal, progress lines otherwise), then reload the pool's\n"
			 "table without it.  The tiers after it are renumbered.  Refused when the other\n"
			 "tiers lack room.  Interrupted, the evacuation goes on in the kernel; run the\n"
			 "command again to finish."}},
	{"tier evacuate", {"tier evacuate POOL TIER", "Start evacuating a tier without removing it."}},
	{"volume create", {"volume create POOL ID SIZE [--name NAME] [--policy P] [--model M] [--label KEY=VALUE]...",
			   "Create volume ID, apply its settings and activate it; nothing is left half-made."}},
	{"volume activate", {"volume activate POOL ID SIZE [--name NAME]", "Activate an existing volume."}},
	{"volume deactivate", {"volume deactivate NAME", "Remove the volume's device; its data stays in the pool."}},
	{"volume delete", {"volume delete POOL ID", "Delete an inactive volume and free its extents."}},
	{"volume resize", {"volume resize NAME SIZE", "Grow an active volume (shrinking is refused)."}},
	{"volume list", {"[--json] volume list POOL", "The pool's volumes: device, settings, labels, extents per tier."}},
	{"volume set", {"volume set POOL ID KEY VALUE", "Set tiering_enabled, tiering_policy, prediction_model or a label."}},
	{"migrate", {"migrate POOL ID EXTENT TIER\nmigrate --file PATH TIER",
		     "Queue a move of one mapped extent to TIER; with --file, of every extent\n"
		     "holding a block of PATH (see pin --file; pinned extents are skipped)."}},
	{"pin", {"pin POOL ID BEGIN END TIER\npin --file PATH TIER",
		 "Pin the mapped extents of [BEGIN, END) on TIER.  With --file: the extents\n"
		 "holding any block of PATH, a file on a filesystem mounted from a dm-tier\n"
		 "volume (found through FIEMAP; the volume and pool from the filesystem's\n"
		 "device).  An extent may hold other files' blocks too.  Refused for a file on\n"
		 "another device, a filesystem without FIEMAP, data inline in the filesystem's\n"
		 "metadata, and unwritten (preallocated) blocks; the file is synced first."}},
	{"unpin", {"unpin POOL ID BEGIN END\nunpin --file PATH",
		   "Remove the pins in [BEGIN, END), or of the extents holding PATH's blocks."}},
	{"status", {"[--json] status", "Every active pool, as pool status."}},
	{"top", {"[--json] top [POOL] [--once] [--iterations N] [--interval SECONDS]",
		 "A live view of every pool (or POOL): per volume read and write IOPS and MiB/s,\n"
		 "tier mix, fast-tier hit ratio (share of recent accesses on tier 0), prefetch\n"
		 "hits and migrations, from the kernel's status, profiles and heat (tierd is\n"
		 "not needed).  Refreshes every second (--interval) full-screen on a terminal;\n"
		 "q or Ctrl-C ends it.  --once prints one sample (rates over one interval),\n"
		 "--iterations N prints N; with --json one JSON object a line."}},
	{"heatmap", {"[--json] heatmap POOL ID [--svg FILE] [--png FILE] [--kernel] [--no-color]",
		     "The per-extent heat and tier of volume ID: tierd's heat map when tierd runs,\n"
		     "else (or with --kernel) the kernel's decayed read and write counts.  On a\n"
		     "terminal one cell per extent (or group of extents), its glyph the heat\n"
		     "(log2 scale), its colour the tier; without colours the tiers are printed\n"
		     "beside.  --svg writes an SVG file, --png a PNG through gnuplot."}},
	{"cost", {"[--json] cost POOL",
		  "tierd's cost report: the monthly cost of each volume's data at the tiers'\n"
		  "prices (tierd.conf [[tier]] cost_per_gb_month) and suggestions (demote cold\n"
		  "data to a cheaper tier, with the saving and the latency change).  Needs tierd."}},
	{"boot activate", {"boot activate [--config-dir DIR] [--wait SECONDS]",
			   "Activate the pools and volumes described in DIR/pools.d/*.toml."}},
	{"boot deactivate", {"boot deactivate [--config-dir DIR]", "Deactivate the configured volumes and pools."}},
	{"boot check", {"boot check [--config-dir DIR]", "Check the configuration and devices, changing nothing."}},
};

} // namespace

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		std::string s = argv[i];
		if (s == "--json") {
			g_json = true;
		} else if (s == "--tierd-config" && i + 1 < argc) {
			g_tierd_config_path = argv[++i];
		} else if (s == "-h" || s == "--help") {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	std::string cmd = argv[i++];
	if ((cmd == "pool" || cmd == "volume" || cmd == "tier" || cmd == "boot") && i < argc &&
	    argv[i][0] != '-')
		cmd += std::string(" ") + argv[i++];
	Args a = parse(argc, argv, i);
	if (a.flag.count("--help")) {
		if (auto h = kHelp.find(cmd); h != kHelp.end()) {
			std::string u = h->second.first;
			for (size_t nl = 0; (nl = u.find('\n', nl)) != std::string::npos; nl++)
				u.replace(nl, 1, "\n       tierctl ");
			printf("usage: tierctl %s\n\n%s\n", u.c_str(), h->second.second);
		}
		else
			usage(stdout);
		return 0;
	}
	if (a.flag.count("--json"))
		g_json = true;
	if (a.opt.count("--tierd-config"))
		g_tierd_config_path = opt(a, "--tierd-config");

	if (cmd == "pool create")
		return pool_up(a, true);
	if (cmd == "pool activate")
		return pool_up(a, false);
	if (cmd == "pool deactivate")
		return pool_deactivate(a);
	if (cmd == "pool status")
		return pool_status_cmd(a);
	if (cmd == "pool destroy")
		return pool_destroy(a);
	if (cmd == "migrate" || cmd == "pin" || cmd == "unpin") {
		if (a.flag.count("--file"))
			return die("--file needs a PATH", 2);
		if (a.opt.count("--file"))
			return file_cmd(cmd, a);
	}
	if (cmd == "volume create")
		return volume_up(a, true);
	if (cmd == "volume activate")
		return volume_up(a, false);
	if (cmd == "volume deactivate")
		return volume_deactivate(a);
	if (cmd == "volume resize")
		return volume_resize(a);
	if (cmd == "volume list")
		return volume_list(a);
	if (cmd == "status")
		return status_all();
	if (cmd == "tier add")
		return tier_add(a);
	if (cmd == "tier remove")
		return tier_remove(a);
	if (cmd == "heatmap")
		return heatmap_cmd(a);
	if (cmd == "top")
		return top_cmd(a);
	if (cmd == "cost")
		return cost_cmd(a);
	if (cmd == "boot activate" || cmd == "boot deactivate" || cmd == "boot check")
		return boot_cmd(cmd.substr(5), a);
	if (auto it = kMsgCmds.find(cmd); it != kMsgCmds.end()) {
		if (a.pos.size() != it->second.args)
			return die(std::string("usage: tierctl ") + it->second.usage, 2);
		if (auto st = msg(a.pos[0], it->second.build(a.pos)); !st)
			return die(st.error());
		return 0;
	}
	fprintf(stderr, "tierctl: unknown command '%s'\n", cmd.c_str());
	usage(stderr);
	return 2;
}
