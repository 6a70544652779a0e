// SPDX-License-Identifier: GPL-2.0
#include "boot/boot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "metadata/metadata.h"
#include "tierd/fake_dm.h"

using namespace dmtier;
using namespace dmtier::boot;
namespace fs = std::filesystem;

namespace {

const char *kGood = R"(
# tank: NVMe and HDD
[pool]
name = "tank"
metadata = "/dev/disk/by-id/meta"
tiers = ["/dev/disk/by-id/nvme", "/dev/disk/by-id/hdd"]

[pool.features]
max_migrations = 8
no_fallback = true

[[volume]]
id = 1
name = "vm1"
size = "100G"

[[volume]]
id = 2
size = 1048576
)";

TEST(BootConfig, ParsesAPoolFile)
{
	auto p = parse_pool_file(kGood, "tank.toml");
	ASSERT_TRUE(p.ok()) << p.error();
	EXPECT_EQ(p->name, "tank");
	EXPECT_EQ(p->metadata, "/dev/disk/by-id/meta");
	EXPECT_EQ(p->tiers, (std::vector<std::string>{"/dev/disk/by-id/nvme", "/dev/disk/by-id/hdd"}));
	EXPECT_EQ(p->features, (std::vector<std::string>{"max_migrations", "8", "no_fallback"}));
	ASSERT_EQ(p->volumes.size(), 2u);
	EXPECT_EQ(p->volumes[0].name, "vm1");
	EXPECT_EQ(p->volumes[0].size, 100ULL << 30);
	EXPECT_EQ(p->volumes[1].name, "tank-v2"); // tierctl's default name
	EXPECT_EQ(p->volumes[1].size, 1u << 20);
}

std::string error_of(const std::string &text)
{
	auto p = parse_pool_file(text, "bad.toml");
	return p.ok() ? "(parsed)" : p.error();
}

TEST(BootConfig, BadFilesSayWhatAndWhere)
{
	const std::string pool = "[pool]\nname = \"tank\"\nmetadata = \"/dev/m\"\ntiers = [\"/dev/a\", \"/dev/b\"]\n";
	EXPECT_EQ(error_of(pool + "colour = \"red\"\n"),
		  "bad.toml:5: unknown key 'colour' in [pool] (known: features, metadata, name, tiers)");
	EXPECT_NE(error_of("[pool]\nname = \"tank\"\ntiers = [\"/dev/a\"]\n").find("needs metadata"), std::string::npos);
	EXPECT_NE(error_of("[pool]\nname = \"tank\"\nmetadata = \"/dev/m\"\n").find("needs tiers"), std::string::npos);
	EXPECT_NE(error_of("[pool]\nname = \"tank\"\nmetadata = \"sdb\"\ntiers = [\"/dev/a\"]\n").find("bad.toml:3: pool.metadata must be an absolute path"),
		  std::string::npos);
	EXPECT_NE(error_of("[pool]\nname = \"tank\"\nmetadata = \"/dev/m\"\ntiers = []\n").find("1 to 8 device paths"),
		  std::string::npos);
	EXPECT_NE(error_of("[pool]\nname = \"tank\"\nmetadata = \"/dev/m\"\ntiers = [\"/dev/m\"]\n").find("appears twice"),
		  std::string::npos);
	EXPECT_NE(error_of("[pool]\nname = \"ta nk\"\nmetadata = \"/dev/m\"\ntiers = [\"/dev/a\"]\n").find("pool.name"),
		  std::string::npos);
	EXPECT_NE(error_of(pool + "[pool.features]\nmax_migration = 3\n").find("unknown key 'max_migration' in [pool.features]"),
		  std::string::npos);
	EXPECT_NE(error_of(pool + "[pool.features]\nmax_migrations = \"3\"\n").find("must be a number"), std::string::npos);
	EXPECT_NE(error_of(pool + "[pool.features]\nno_fallback = 1\n").find("true or false"), std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nid = 1\n").find("needs a size"), std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nsize = \"1G\"\n").find("needs an id"), std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nid = 1\nsize = \"1Q\"\n").find("bad.toml:7: volume[0].size: size '1Q' has an unknown unit"),
		  std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nid = 1\nsize = 1000\n").find("multiple of 512"), std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nid = 9000000\nsize = \"1G\"\n").find("out of range"), std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nid = 1\nsize = \"1G\"\n[[volume]]\nid = 1\nsize = \"1G\"\n").find("volume id 1 appears twice"),
		  std::string::npos);
	EXPECT_NE(error_of(pool + "[[volume]]\nid = 1\nname = \"tank\"\nsize = \"1G\"\n").find("used twice"), std::string::npos);
	EXPECT_NE(error_of("[pool\n").find("bad.toml:1:"), std::string::npos);
	EXPECT_NE(error_of("x = 1\n").find("unknown key 'x' in the top level"), std::string::npos);
	EXPECT_NE(error_of("# empty\n").find("no [pool] table"), std::string::npos);
}

// A scratch directory.
class TempDir : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/dmtier-boot-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir_ = tmpl;
	}
	void TearDown() override { fs::remove_all(dir_); }
	void write(const std::string &rel, const std::string &text)
	{
		fs::create_directories((dir_ / rel).parent_path());
		std::ofstream(dir_ / rel) << text;
	}
	fs::path dir_;
};

using BootLoad = TempDir;

TEST_F(BootLoad, ReadsEveryTomlFileInNameOrder)
{
	auto none = load_config(dir_.string());
	ASSERT_TRUE(none.ok()) << none.error();
	EXPECT_TRUE(none->pools.empty());
	write("pools.d/b.toml", "[pool]\nname = \"b\"\nmetadata = \"/dev/bm\"\ntiers = [\"/dev/b0\"]\n");
	write("pools.d/a.toml", "[pool]\nname = \"a\"\nmetadata = \"/dev/am\"\ntiers = [\"/dev/a0\"]\n");
	write("pools.d/a.toml.dpkg-old", "garbage");
	write("tierd.conf", "garbage");
	auto cfg = load_config(dir_.string());
	ASSERT_TRUE(cfg.ok()) << cfg.error();
	ASSERT_EQ(cfg->pools.size(), 2u);
	EXPECT_EQ(cfg->pools[0].name, "a");
	EXPECT_EQ(cfg->pools[1].name, "b");
	EXPECT_EQ(cfg->pools[1].file, (dir_ / "pools.d/b.toml").string());
}

TEST_F(BootLoad, NamesAndDevicesAreUniqueAcrossFiles)
{
	write("pools.d/a.toml", "[pool]\nname = \"a\"\nmetadata = \"/dev/am\"\ntiers = [\"/dev/x\"]\n");
	write("pools.d/b.toml", "[pool]\nname = \"b\"\nmetadata = \"/dev/bm\"\ntiers = [\"/dev/x\"]\n");
	auto cfg = load_config(dir_.string());
	ASSERT_FALSE(cfg.ok());
	EXPECT_NE(cfg.error().find("b.toml: device /dev/x is also used in"), std::string::npos) << cfg.error();
	write("pools.d/b.toml", "[pool]\nname = \"a\"\nmetadata = \"/dev/bm\"\ntiers = [\"/dev/y\"]\n");
	cfg = load_config(dir_.string());
	ASSERT_FALSE(cfg.ok());
	EXPECT_NE(cfg.error().find("device name 'a' is also used in"), std::string::npos) << cfg.error();
	// One bad file: the whole configuration is refused.
	write("pools.d/b.toml", "[pool]\nname = \"b\"\n");
	EXPECT_FALSE(load_config(dir_.string()).ok());
	EXPECT_FALSE(load_config((dir_ / "nope").string()).ok());
}

TEST(BootTable, PoolTarget)
{
	auto t = pool_target("/dev/m", 2048, {"/dev/a", "/dev/b"}, {"max_migrations", "8", "no_fallback"}, 1000);
	EXPECT_EQ(t.type, "tier-pool");
	EXPECT_EQ(t.length, 1000u);
	EXPECT_EQ(t.params, "/dev/m 2048 2 /dev/a /dev/b 3 max_migrations 8 no_fallback");
	EXPECT_EQ(pool_target("/dev/m", 256, {"/dev/a"}, {}, 1).params, "/dev/m 256 1 /dev/a 0");
}

// A formatted pool on image files: metadata, two labelled tiers, volume 5.
class BootDevices : public TempDir {
protected:
	void SetUp() override
	{
		TempDir::SetUp();
		pool_ = make_pool("m", "t0", "t1");
		entry_.name = "tank";
		entry_.file = "tank.toml";
		entry_.metadata = path("m");
		entry_.tiers = {path("t0"), path("t1")};
		entry_.volumes = {{5, "vm5", 64 << 20}};
	}
	std::string path(const std::string &n) { return (dir_ / n).string(); }
	md::Device make_file(const std::string &n, std::uint64_t bytes)
	{
		std::ofstream(dir_ / n).close();
		fs::resize_file(dir_ / n, bytes);
		auto d = md::Device::open(path(n), true);
		EXPECT_TRUE(d.ok()) << d.error();
		return std::move(d).value();
	}
	md::Pool make_pool(const std::string &m, const std::string &t0, const std::string &t1)
	{
		auto meta = make_file(m, 4 << 20);
		auto d0 = make_file(t0, 2 << 20), d1 = make_file(t1, 4 << 20);
		auto p = md::format(meta, 256, {d0.bytes() >> 9, d1.bytes() >> 9});
		EXPECT_TRUE(p.ok()) << p.error();
		md::Pool pool = std::move(p).value();
		pool.records[0].flags = DMT_VOL_IN_USE | DMT_VOL_TIERING_ENABLED;
		pool.records[0].id = 5;
		EXPECT_TRUE(md::write(meta, pool, false).ok());
		EXPECT_TRUE(md::write_tier_label(d0, pool, 0).ok());
		EXPECT_TRUE(md::write_tier_label(d1, pool, 1).ok());
		return pool;
	}
	md::Pool pool_;
	PoolEntry entry_;
};

TEST_F(BootDevices, AGoodPoolPasses)
{
	auto plan = check_devices(entry_, false);
	ASSERT_TRUE(plan.ok()) << plan.error();
	EXPECT_EQ(plan->extent_sectors, 256u);
	EXPECT_EQ(plan->length_sectors, (6u << 20) >> 9);
	EXPECT_TRUE(plan->warnings.empty());
	// Image files are not block devices.
	auto strict = check_devices(entry_, true);
	ASSERT_FALSE(strict.ok());
	EXPECT_NE(strict.error().find(path("m") + " is not a block device"), std::string::npos) << strict.error();
}

TEST_F(BootDevices, MissingDevicesAreNamed)
{
	fs::remove(dir_ / "t1");
	entry_.tiers[0] = path("gone");
	auto plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find("tier 0 device " + path("gone") + " is missing"), std::string::npos) << plan.error();
	EXPECT_NE(plan.error().find("tier 1 device " + path("t1") + " is missing"), std::string::npos) << plan.error();
}

TEST_F(BootDevices, WrongOrderForeignAndBlankAreRefused)
{
	std::swap(entry_.tiers[0], entry_.tiers[1]);
	auto plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find("tier 0 device " + path("t1") + ": is tier 1, not tier 0 (wrong order)"),
		  std::string::npos)
		<< plan.error();
	std::swap(entry_.tiers[0], entry_.tiers[1]);

	make_pool("m2", "o0", "o1"); // another pool's tier in place of tier 1
	entry_.tiers[1] = path("o1");
	plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find(path("o1") + ": belongs to another pool"), std::string::npos) << plan.error();

	make_file("blank", 1 << 20);
	entry_.tiers[1] = path("t1");
	entry_.metadata = path("blank");
	plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find("metadata device " + path("blank") + " is blank"), std::string::npos) << plan.error();

	entry_.metadata = path("m");
	entry_.tiers = {path("t0")};
	plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find("1 tiers are configured but the pool's metadata"), std::string::npos) << plan.error();

	entry_.tiers = {path("t0"), path("t0")};
	plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find("are the same device"), std::string::npos) << plan.error();
}

TEST_F(BootDevices, VolumesMustExist)
{
	entry_.volumes.push_back({6, "vm6", 1 << 20});
	auto plan = check_devices(entry_, false);
	ASSERT_FALSE(plan.ok());
	EXPECT_NE(plan.error().find("volume 6 (vm6) does not exist in the pool"), std::string::npos) << plan.error();
}

// FakeDm that refuses to create or remove named devices.
class Dm : public tierd::FakeDm {
public:
	std::set<std::string> refuse_create, refuse_remove;
	Status create(const std::string &n, const dm::Target &t) override
	{
		if (refuse_create.count(n)) {
			log.push_back("create " + n + " refused");
			return make_error("refused", EINVAL);
		}
		return FakeDm::create(n, t);
	}
	Status remove(const std::string &n) override
	{
		if (refuse_remove.count(n))
			return make_error("Device or resource busy", EBUSY);
		return FakeDm::remove(n);
	}
};

class BootActivate : public BootDevices {
protected:
	void SetUp() override
	{
		BootDevices::SetUp();
		cfg_.pools = {entry_};
		opt_.block_devices_only = false;
		opt_.out = [this](const std::string &s) { out_ += s + "\n"; };
		opt_.err = [this](const std::string &s) { err_ += s + "\n"; };
	}
	BootConfig cfg_;
	Options opt_;
	std::string out_, err_;
	Dm dm_;
};

TEST_F(BootActivate, ActivatesPoolThenVolumesAndDeactivatesInReverse)
{
	EXPECT_EQ(activate(dm_, cfg_, opt_), 0u) << err_;
	ASSERT_EQ(dm_.log.size(), 2u);
	EXPECT_EQ(dm_.log[0], "create tank tier-pool " + path("m") + " 256 2 " + path("t0") + " " + path("t1") + " 0");
	EXPECT_EQ(dm_.log[1], "create vm5 tier 253:0 5");
	EXPECT_EQ(dm_.devs.at("vm5").table.length, (64u << 20) >> 9);
	EXPECT_NE(out_.find("pool tank: activated; volumes activated: vm5"), std::string::npos) << out_;

	// Again: nothing to do.
	dm_.log.clear();
	dm_.pool_volumes["tank"] = {5};
	EXPECT_EQ(activate(dm_, cfg_, opt_), 0u) << err_;
	EXPECT_EQ(dm_.log, (std::vector<std::string>{"message tank list_volumes"}));
	EXPECT_NE(out_.find("pool tank: already active; already active: vm5"), std::string::npos) << out_;

	dm_.log.clear();
	EXPECT_EQ(deactivate(dm_, cfg_, opt_), 0u) << err_;
	EXPECT_EQ(dm_.log, (std::vector<std::string>{"remove vm5", "remove tank"}));
	EXPECT_TRUE(dm_.devs.empty());
	EXPECT_EQ(deactivate(dm_, cfg_, opt_), 0u) << err_;
	EXPECT_NE(out_.find("pool tank: not active"), std::string::npos);
}

TEST_F(BootActivate, AMissingDeviceActivatesNothingButOtherPoolsGoOn)
{
	PoolEntry bad = entry_;
	bad.name = "bad";
	bad.tiers[1] = path("renamed");
	bad.volumes = {{5, "bad5", 1 << 20}};
	cfg_.pools.insert(cfg_.pools.begin(), bad);
	EXPECT_EQ(activate(dm_, cfg_, opt_), 1u);
	EXPECT_NE(err_.find("pool bad (tank.toml): tier 1 device " + path("renamed") +
			    " is missing (no such device: unplugged, renamed, or not detected yet?); nothing of this pool was activated"),
		  std::string::npos)
		<< err_;
	EXPECT_FALSE(dm_.devs.count("bad"));
	EXPECT_FALSE(dm_.devs.count("bad5"));
	EXPECT_TRUE(dm_.devs.count("tank")); // the good pool is independent
}

TEST_F(BootActivate, AFailedVolumeRollsBackThePool)
{
	cfg_.pools[0].volumes.push_back({5, "vm5b", 1 << 20}); // same id: the kernel would refuse
	dm_.refuse_create = {"vm5b"};
	EXPECT_EQ(activate(dm_, cfg_, opt_), 1u);
	EXPECT_TRUE(dm_.devs.empty()) << "left behind: " << dm_.devs.begin()->first;
	EXPECT_NE(err_.find("volume 5 (vm5b): refused; removed again what this run created: vm5, tank"), std::string::npos)
		<< err_;
}

TEST_F(BootActivate, AFailedVolumeOfAnActivePoolRemovesOnlyWhatThisRunMade)
{
	dm_.add_pool("tank");
	dm_.pool_volumes["tank"] = {5, 6};
	cfg_.pools[0].volumes.push_back({6, "vm6", 1 << 20});
	dm_.refuse_create = {"vm6"};
	EXPECT_EQ(activate(dm_, cfg_, opt_), 1u);
	EXPECT_TRUE(dm_.devs.count("tank"));
	EXPECT_FALSE(dm_.devs.count("vm5"));
	EXPECT_NE(err_.find("removed again what this run created: vm5"), std::string::npos) << err_;
}

TEST_F(BootActivate, ATakenNameOrAnUnknownVolumeActivatesNothing)
{
	ASSERT_TRUE(dm_.create("vm5", {0, 8, "linear", "/dev/x 0"}).ok());
	EXPECT_EQ(activate(dm_, cfg_, opt_), 1u);
	EXPECT_NE(err_.find("a device-mapper device named vm5 exists already"), std::string::npos) << err_;
	EXPECT_FALSE(dm_.devs.count("tank"));
	ASSERT_TRUE(dm_.remove("vm5").ok());

	dm_.add_pool("tank");
	err_.clear();
	EXPECT_EQ(activate(dm_, cfg_, opt_), 1u); // volume 5 not in the active pool
	EXPECT_NE(err_.find("volume 5 (vm5) does not exist in the pool"), std::string::npos) << err_;
	EXPECT_FALSE(dm_.devs.count("vm5"));
}

TEST_F(BootActivate, AnOpenVolumeKeepsItsPool)
{
	EXPECT_EQ(activate(dm_, cfg_, opt_), 0u) << err_;
	dm_.refuse_remove = {"vm5"};
	EXPECT_EQ(deactivate(dm_, cfg_, opt_), 1u);
	EXPECT_NE(err_.find("volume vm5: Device or resource busy (still open?"), std::string::npos) << err_;
	EXPECT_TRUE(dm_.devs.count("tank"));
	dm_.refuse_remove.clear();
	ASSERT_TRUE(dm_.create("extra", {0, 8, "tier", "253:0 7"}).ok());
	err_.clear();
	EXPECT_EQ(deactivate(dm_, cfg_, opt_), 1u);
	EXPECT_NE(err_.find("volumes not described in tank.toml are active on it: extra"), std::string::npos) << err_;
	EXPECT_TRUE(dm_.devs.count("tank"));
	EXPECT_FALSE(dm_.devs.count("vm5"));
}

TEST_F(BootActivate, CheckChangesNothing)
{
	EXPECT_EQ(check(dm_, cfg_, opt_), 0u) << err_;
	EXPECT_NE(out_.find("pool tank: ready (2 tiers, 1 volumes, extent 128 KiB)"), std::string::npos) << out_;
	fs::remove(dir_ / "t0");
	EXPECT_EQ(check(dm_, cfg_, opt_), 1u);
	EXPECT_NE(err_.find("tier 0 device " + path("t0") + " is missing"), std::string::npos) << err_;
	EXPECT_TRUE(dm_.log.empty());
}

} // namespace
