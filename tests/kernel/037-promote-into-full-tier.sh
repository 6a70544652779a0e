#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# Promotions into a full tier wait for the room that demotions free.
# Tier 0 (8 extents) is filled; the fallback policy demotes the coldest
# below its watermarks, but a demoted extent's source stays allocated
# until the commit that frees it.  With the periodic commit a minute away,
# promotions of hot extents must not fail for want of room: the migration
# engine commits to release the freed extents and goes on.  Expect: hot
# extents reach tier 0, no migration fails, the data is unchanged.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 2) # 1 MiB of data: 8 extents
t1=$(lab_tier_ssd tssd 8)
POOL_FEATURES="8 policy_interval_ms 200 promote_threshold 2 residency_rounds 2 commit_interval_ms 60000" \
	pool_create pool "$meta" 256 "$t0" "$t1"
K=$((128 * 1024))
((($(pool_field pool total 0)) == 8)) || fail "tier 0 has $(pool_field pool total 0) extents, want 8"

vol_create pool 1 $((4 * 2048)) # 32 extents
must pool_msg pool set_volume 1 tiering_policy performance-optimized
pat_make v $((4 * 1024 * 1024))
pat_write /dev/mapper/pool-1 0 v || fail "fill the volume"
info "filled: $(dmsetup status pool | cut -d' ' -f4-)"
# Over the high watermark (90%), the policy demotes down to the low one
# (80%): two extents.  Their sources stay allocated until a commit; they
# must count as room, or every round demotes two more.
wait_for 20 eval '(($(pool_field pool mig_done) >= 2))' || fail "no demotions: $(dmsetup status pool)"
sleep 2
mig_idle pool
(($(vol_mapped pool-1 0) >= 6)) || fail "over-demotion: tier 0 holds $(vol_mapped pool-1 0) of the volume's extents, want 6+ (low watermark): $(dmsetup status pool)"
failed0=$(pool_field pool mig_failed)

# Extents 0-7 were written first (tier 0); 20-27 are on tier 1.  Read
# 20-27 until at least four of them are on tier 0.
timeout 120 fio --name=hot --filename=/dev/mapper/pool-1 --direct=1 --ioengine=libaio \
	--rw=randread --bs=4k --iodepth=4 --offset=$((20 * K)) --size=$((8 * K)) \
	--time_based --runtime=100 >/tmp/fio.hot 2>&1 &
load=$!
hot_up() {
	heat_dump pool 1 | awk '$1 >= 20 && $1 <= 27 && $2 == 0 { n++ } END { exit n < 4 }'
}
start=$SECONDS
wait_for 40 hot_up || fail "hot extents not promoted: $(heat_dump pool 1 | awk '$1 >= 20 && $1 <= 27'); pool $(dmsetup status pool | cut -d' ' -f4-)"
info "promoted after $((SECONDS - start)) s"
kill "$load" 2>/dev/null
wait "$load"
mig_idle pool
failed=$(($(pool_field pool mig_failed) - failed0))
info "after hot reads: pool $(dmsetup status pool | cut -d' ' -f4-); volume $(dmsetup status pool-1 | cut -d' ' -f4-)"
((failed == 0)) || fail "$failed migrations failed (promotions into the full tier gave up)"
(($(pool_field pool used 0) <= 8)) || fail "tier 0 over capacity: $(dmsetup status pool)"
pat_check /dev/mapper/pool-1 0 v || fail "data changed"
must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
