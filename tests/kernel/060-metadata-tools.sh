#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# tier_check / tier_dump / tier_repair on real kernel-written metadata:
# a clean pool checks clean and dumps its mappings; a reverse-map block
# with no valid copy is found, refused at activation, repaired, and the
# repaired pool activates with every other extent's data intact.
. "$LAB_PROJECT/tests/lib/lab.sh"
tools=$LAB_BUILD/tools/tier-metadata
[ -x "$tools/tier_check" ] || fail "tools not built: $tools"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 64)
t1=$(lab_tier_hdd thdd 64)
pool_table="0 2048 tier-pool $meta 256 2 $t0 $t1"
dm_create pool "$pool_table"
must dmsetup message pool 0 create_volume 3
must dmsetup message pool 0 set_volume 3 tiering_policy performance-optimized
must dmsetup message pool 0 set_volume 3 app mysql
dm_create vol "0 40960 tier /dev/mapper/pool 3"	# 20 MiB = 160 extents
dd if=/dev/urandom of=/tmp/data bs=1M count=20 status=none
dd if=/tmp/data of=/dev/mapper/vol bs=1M oflag=direct status=none
must dmsetup remove vol
must dmsetup remove pool

"$tools/tier_check" "$meta" --tier "$t0" --tier "$t1" >/tmp/check.out ||
	{ cat /tmp/check.out; fail "tier_check on a clean pool failed"; }
grep -q clean /tmp/check.out || fail "tier_check did not say clean: $(cat /tmp/check.out)"
"$tools/tier_check" "$meta" --tier "$t1" --tier "$t0" >/tmp/check.out &&
	fail "tier_check accepted tiers in the wrong order"
grep -q "wrong order" /tmp/check.out || fail "wrong order not named: $(cat /tmp/check.out)"

"$tools/tier_dump" --mappings "$meta" >/tmp/dump.out || fail "tier_dump failed"
grep -q "^volume 3 .*tiering_policy=performance-optimized.* app=mysql" /tmp/dump.out ||
	fail "volume record not in dump: $(grep volume /tmp/dump.out)"
n=$(grep -c '^map 0 ' /tmp/dump.out)
[ "$n" = 160 ] || fail "dump shows $n mappings on tier 0, expected 160"

# Destroy both copies of tier 0's first reverse-map block (extents 0-507).
area=$(sed -n 's/^tier 0 .* rmap_area \([0-9]*\)+.*/\1/p' /tmp/dump.out)
[ -n "$area" ] || fail "cannot find tier 0's reverse-map area"
dd if=/dev/urandom of="$meta" bs=4096 seek="$area" count=2 conv=notrunc oflag=direct status=none
"$tools/tier_check" -q "$meta" >/tmp/check.out && fail "tier_check missed a destroyed block"
grep -q "no valid copy" /tmp/check.out || fail "problem not named: $(cat /tmp/check.out)"
must_fail_with "Metadata is corrupt" dmsetup create pool --table "$pool_table"

"$tools/tier_repair" "$meta" >/tmp/repair.out || { cat /tmp/repair.out; fail "tier_repair failed"; }
"$tools/tier_check" -q "$meta" || fail "still not clean after tier_repair"
dm_create pool "$pool_table"
dm_create vol "0 40960 tier /dev/mapper/pool 3"
# The lost block held all 160 mappings: they read as zeros now, never as
# stale data, and the volume works again.
cmp -n $((20 << 20)) /dev/mapper/vol /dev/zero >/dev/null || fail "lost mappings do not read as zeros"
dd if=/tmp/data of=/dev/mapper/vol bs=1M oflag=direct status=none
cmp -n $((20 << 20)) /dev/mapper/vol /tmp/data || fail "volume does not work after repair"
must dmsetup remove vol
must dmsetup remove pool
dmtier_unload
exit 0
