#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# The migration queue is bounded (4096 requests).  With copies throttled to
# a trickle (one at a time, 1 MiB/s, to a tier answering in 200 ms): a
# request for an extent already queued replaces it instead of taking room;
# requests for 4600 distinct extents fill the queue and the ones that find
# it full are refused with ENOSPC (the queue never holds more than 4096);
# once the throttle is lifted the queue drains, every request taken
# completes, and new ones are taken again.  The tiers keep no data (null_blk
# memory_backed=0): only the mapping matters here.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(LAB_TIER_MEMORY=0 lab_tier_nvme tnvme 600)
t1=$(LAB_TIER_MEMORY=0 lab_tier tslow 600 200000000)
N=4600
POOL_FEATURES="5 no_fallback max_migrations 1 migration_bandwidth_mbps 1" \
	pool_create pool "$meta" 256 "$t0" "$t1"
vol_create pool 1 $((N * 256))
must pool_msg pool set_volume 1 tiering_policy performance-optimized
# Whole-extent writes map all of them (on tier 0) without zeroing.
fio_jobs --name=map --filename=/dev/mapper/pool-1 --rw=write --bs=128k \
	--size=$((N * 128))k --iodepth=32
(($(vol_mapped pool-1 0) == N)) || fail "volume maps $(dmsetup status pool-1), not $N on tier 0"
info "$N extents mapped after ${SECONDS}s"

# Replacement: 10 extents, then 200 more requests for one of them.
{
	for e in $(seq 0 9); do echo "pool migrate 1 $e 1"; done
	for i in $(seq 100); do
		echo "pool migrate 1 5 1"
		echo "pool prefetch 1 5 1 60000"
	done
} | "$DM_MSG" >/tmp/msgs
grep ' rc=' /tmp/msgs | grep -v ' rc=0$' | head -n 3 | grep . && fail "requests refused"
q=$(pool_field pool mig_queued)
((q <= 10)) || fail "210 requests for 10 extents queued $q"
info "210 requests for 10 extents: $q queued (${SECONDS}s)"

# Fill: the rest of the extents.
for e in $(seq 10 $((N - 1))); do
	echo "pool migrate 1 $e 1"
done | "$DM_MSG" >/tmp/msgs
q=$(pool_field pool mig_queued)
ok=$(grep -c ' rc=0$' /tmp/msgs) full=$(grep -c ' rc=28$' /tmp/msgs)
other=$(grep ' rc=' /tmp/msgs | grep -Ev ' rc=(0|28)$' | head -n 3)
info "$ok taken, $full refused with ENOSPC; queued $q; $(dmsetup status pool | cut -d' ' -f4-)"
[ -z "$other" ] || fail "unexpected errors: $other"
((ok + full == N - 10)) || fail "$ok + $full replies for $((N - 10)) requests"
((full > 0)) || fail "no request refused with $N requests for a queue of 4096"
((q <= 4096)) || fail "the queue holds $q requests"
# Taken: 10 first, then the extents (line + 9) answered rc=0.
awk '/ rc=0$/ { print $1 + 9 }' /tmp/msgs >/tmp/taken
seq 0 9 >>/tmp/taken
# Refused ones are neither queued nor moved.
refused_e=$(awk '/ rc=28$/ { print $1 + 9; exit }' /tmp/msgs)
pool_msg pool dump_heat 1 "$refused_e" 1 | grep -q "^$refused_e 0 " ||
	fail "refused extent $refused_e: $(pool_msg pool dump_heat 1 "$refused_e" 1)"

# Lift the throttle: the queue drains, every request taken completes.
must pool_msg pool set migration_bandwidth_mbps 0
must pool_msg pool set max_migrations 64
mig_idle pool 150
done_=$(pool_field pool mig_done)
taken=$(sort -u /tmp/taken | wc -l)
info "drained: $(dmsetup status pool | cut -d' ' -f4-)"
(($(pool_field pool mig_failed) == 0)) || fail "failed moves: $(dmsetup status pool)"
((done_ == taken)) || fail "$done_ moves done for $taken extents taken"
(($(vol_mapped pool-1 1) == done_)) || fail "volume maps $(vol_mapped pool-1 1) on tier 1 after $done_ moves"
must pool_msg pool migrate 1 "$refused_e" 1
mig_idle pool
(($(pool_field pool mig_done) == done_ + 1)) || fail "a request after draining did not complete: $(dmsetup status pool)"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
