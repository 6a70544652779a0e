#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 120
# A tier added by reload is usable for migration at once: right after the
# resume, migrate, prefetch and pin to the new tier succeed and complete,
# the data moves intact, the accounting holds, and the placement survives
# a reactivation.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 4)
a=$(lab_tier_nvme ta 8)
b=$(lab_tier_ssd tb 8)
c=$(lab_tier_hdd tc 8)
K=$((128 * 1024))

POOL_FEATURES="1 no_fallback" pool_create pool "$meta" 256 "$a" "$b"
vol_create pool 1 $((4 * 2048)) # 32 extents
pat_make d $((32 * K))
pat_write /dev/mapper/pool-1 0 d || fail "write"
must_fail_with 'Invalid argument' pool_msg pool migrate 1 0 2

must dmsetup reload pool --table "$(pool_table "$meta" 256 "$a" "$b" "$c")"
must dmsetup resume pool
(($(pool_field pool nr_tiers) == 3)) || fail "pool did not grow: $(dmsetup status pool)"
done0=$(pool_field pool mig_done)
must pool_msg pool migrate 1 0 2
must pool_msg pool migrate 1 1 2
must pool_msg pool prefetch 1 2 2 5000
must pool_msg pool pin 1 3 5 2
mig_idle pool
(($(pool_field pool mig_done) == done0 + 5)) || fail "5 moves to the new tier, done $(($(pool_field pool mig_done) - done0)): $(dmsetup status pool)"
(($(pool_field pool mig_failed) == 0)) || fail "failed moves: $(dmsetup status pool)"
(($(vol_mapped pool-1 2) == 5)) || fail "volume maps $(vol_mapped pool-1 2) extents on the new tier: $(dmsetup status pool-1)"
[ "$(pool_msg pool dump_heat 1 0 5 | awk '{ print $2 }' | tr '\n' ' ')" = "2 2 2 2 2 " ] ||
	fail "placement: $(pool_msg pool dump_heat 1 0 5)"
pat_check /dev/mapper/pool-1 0 d || fail "data changed by moving to the new tier"
must pool_msg pool commit
must pool_msg pool commit
for i in 0 1 2; do
	(($(pool_field pool used "$i") == $(vol_mapped pool-1 "$i"))) ||
		fail "tier $i: pool uses $(pool_field pool used "$i"), the volume maps $(vol_mapped pool-1 "$i")"
done

# Back from the new tier, and the placement survives reactivation.
must pool_msg pool migrate 1 1 0
mig_idle pool
st=$(dmsetup status pool-1 | cut -d' ' -f4-)
ptable=$(dmsetup table pool)
must dmsetup remove pool-1
must dmsetup remove pool
dm_create pool "$ptable" || fail "reactivating the grown pool failed: $(dmesg | tail -n 5)"
vol_activate pool 1 $((4 * 2048))
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "$st" ] || fail "placement after reactivation: $(dmsetup status pool-1), was $st"
pool_msg pool dump_heat 1 3 2 | grep -q '^3 2 .*p' || fail "pin lost: $(pool_msg pool dump_heat 1 3 2)"
pat_check /dev/mapper/pool-1 0 d || fail "data lost after reactivation"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
