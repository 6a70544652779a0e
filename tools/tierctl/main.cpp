// SPDX-License-Identifier: GPL-2.0
// tierctl: manage dm-tier pools and volumes through libdevmapper.
//
// This first version covers the kernel-level operations (they work without
// tierd): pool and volume lifecycle, settings, migrations, pins, tier
// evacuation and status, each read command with --json.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "boot/boot.h"
#include "dmctl/dm.h"
#include "dmctl/tier_status.h"

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
					  "--policy", "--model", "--label", "--config-dir", "--wait"};

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

void usage(FILE *f)
{
	fprintf(f,
		"usage: tierctl [--json] COMMAND ...\n"
		"\n"
		"Pools:\n"
		"  pool create NAME --metadata DEV [--extent-size 1M] [--feature KEY=VALUE]... TIER_DEV...\n"
		"  pool activate NAME --metadata DEV [--extent-size 1M] [--feature ...] TIER_DEV...\n"
		"  pool deactivate NAME\n"
		"  pool status NAME\n"
		"  pool set POOL KEY VALUE          (see docs/dm-tier.md for the settings)\n"
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
		"  pin POOL ID BEGIN END TIER\n"
		"  unpin POOL ID BEGIN END\n"
		"  status\n"
		"Boot activation (pools described in DIR/pools.d/*.toml, DIR default /etc/dm-tier):\n"
		"  boot activate [--config-dir DIR] [--wait SECONDS]\n"
		"  boot deactivate [--config-dir DIR]\n"
		"  boot check [--config-dir DIR]\n"
		"\n"
		"Devices are best given by stable paths (/dev/disk/by-id/...), tiers fastest\n"
		"first.  SIZE takes K, M, G, T (binary).  Exit status: 0 done, 1 failed, 2 usage.\n");
}

} // namespace

int main(int argc, char **argv)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		std::string s = argv[i];
		if (s == "--json") {
			g_json = true;
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
	if ((cmd == "pool" || cmd == "volume" || cmd == "tier" || cmd == "boot") && i < argc)
		cmd += std::string(" ") + argv[i++];
	Args a = parse(argc, argv, i);
	if (a.flag.count("--help")) {
		usage(stdout);
		return 0;
	}
	if (a.flag.count("--json"))
		g_json = true;

	if (cmd == "pool create")
		return pool_up(a, true);
	if (cmd == "pool activate")
		return pool_up(a, false);
	if (cmd == "pool deactivate")
		return pool_deactivate(a);
	if (cmd == "pool status")
		return pool_status_cmd(a);
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
