#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 90
# Boot activation (tierctl boot activate|deactivate|check) from a pools.d
# file in a temporary --config-dir, with stable-path symlinks standing in
# for /dev/disk/by-id: activation of a pool and its volumes (data intact),
# idempotence, deactivation; a missing tier, swapped (renamed) tiers and a
# bad file activate nothing and name the problem; a volume the kernel
# refuses rolls back the pool created in the same run.
. "$LAB_PROJECT/tests/lib/lab.sh"
tierctl=$LAB_BUILD/tools/tierctl/tierctl
[ -x "$tierctl" ] || fail "tierctl not built"

dmtier_load
meta=$(lab_tier_ssd bmeta 16)
t0=$(lab_tier_nvme bnvme 32)
t1=$(lab_tier_hdd bhdd 64)
tmp=$(mktemp -d /tmp/boot.XXXXXX)
ids=$tmp/by-id
mkdir -p "$ids" "$tmp/etc/pools.d"
ln -s "$meta" "$ids/meta"
ln -s "$t0" "$ids/nvme"
ln -s "$t1" "$ids/hdd"

nothing_active() { # WHAT: no dm device is left
	local left
	left=$(dmsetup ls 2>/dev/null | grep -v "No devices found")
	[ -z "$left" ] || fail "$1 left devices behind: $left"
}
# A pool with two volumes, made by hand and deactivated.
must "$tierctl" pool create tank --metadata "$ids/meta" --extent-size 128K "$ids/nvme" "$ids/hdd"
must "$tierctl" volume create tank 1 32M --name vma
must "$tierctl" volume create tank 2 16M
dd if=/dev/urandom of="$tmp/d" bs=1M count=4 status=none
dd if="$tmp/d" of=/dev/mapper/vma bs=1M oflag=direct status=none
must "$tierctl" volume deactivate vma
must "$tierctl" volume deactivate tank-v2
must "$tierctl" pool deactivate tank
nothing_active "deactivation by hand"

cat >"$tmp/etc/pools.d/tank.toml" <<TOML
[pool]
name = "tank"
metadata = "$ids/meta"
tiers = ["$ids/nvme", "$ids/hdd"]

[pool.features]
max_migrations = 8

[[volume]]
id = 1
name = "vma"
size = "32M"

[[volume]]
id = 2
size = "16M"
TOML
boot() { "$tierctl" boot "$@" --config-dir "$tmp/etc"; }

out=$(boot check 2>&1) || fail "boot check: $out"
printf '%s\n' "$out" | grep -q "pool tank: ready (2 tiers, 2 volumes, extent 128 KiB)" || fail "boot check said: $out"
nothing_active "boot check"

out=$(boot activate 2>&1) || fail "boot activate: $out"
printf '%s\n' "$out" | grep -q "pool tank: activated; volumes activated: vma, tank-v2" || fail "activate said: $out"
[ -b /dev/mapper/vma ] && [ -b /dev/mapper/tank-v2 ] || fail "volumes not active: $(dmsetup ls)"
[ "$(blockdev --getsize64 /dev/mapper/vma)" = $((32 << 20)) ] || fail "vma has the wrong size"
dmsetup table tank | grep -q "max_migrations 8" || fail "feature not in the table: $(dmsetup table tank)"
cmp -n $((4 << 20)) "$tmp/d" /dev/mapper/vma || fail "data changed across boot activation"
out=$(boot activate 2>&1) || fail "second boot activate: $out"
printf '%s\n' "$out" | grep -q "already active: vma, tank-v2" || fail "second activate said: $out"
out=$(boot deactivate 2>&1) || fail "boot deactivate: $out"
printf '%s\n' "$out" | grep -q "pool tank: deactivated; volumes deactivated: tank-v2, vma" || fail "deactivate said: $out"
nothing_active "boot deactivate"

# A missing tier device: named, nothing activated.
rm "$ids/hdd"
must_fail_with "tier 1 device $ids/hdd is missing" boot activate
must_fail_with "nothing of this pool was activated" boot activate
nothing_active "activation with a missing tier"
must_fail_with "tier 1 device $ids/hdd is missing" boot check

# Renamed: the stable paths now point at each other's disks.
ln -sfn "$t0" "$ids/hdd"
ln -sfn "$t1" "$ids/nvme"
must_fail_with "tier 0 device $ids/nvme: is tier 1, not tier 0 (wrong order)" boot activate
nothing_active "activation with swapped tiers"
ln -sfn "$t0" "$ids/nvme"
ln -sfn "$t1" "$ids/hdd"

# A bad file changes nothing.
cp "$tmp/etc/pools.d/tank.toml" "$tmp/good.toml"
sed -i 's/^size = "16M"/sise = "16M"/' "$tmp/etc/pools.d/tank.toml"
must_fail_with "tank.toml:16: unknown key 'sise' in volume" boot activate
must_fail_with "nothing changed" boot activate
nothing_active "a bad configuration"

# The kernel refuses volume 2 (too large): the pool and volume 1, made in
# this run, are removed again.
sed 's/^size = "16M"/size = "20000T"/' "$tmp/good.toml" >"$tmp/etc/pools.d/tank.toml"
must_fail_with "removed again what this run created: vma, tank" boot activate
nothing_active "a refused volume"

cp "$tmp/good.toml" "$tmp/etc/pools.d/tank.toml"
must boot activate
must boot deactivate
nothing_active "the last deactivation"
rm -rf "$tmp"
dmtier_unload
exit 0
