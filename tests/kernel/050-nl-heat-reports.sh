#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# A controller registers over generic netlink (tier-listen) and receives,
# while fio reads 8 extents of a volume: heat reports whose read heat lies
# on exactly those extents (each of them hot in some report), profile
# reports whose read counters grow, and access transitions of mapped
# extents on those extents with the right tier; the pool's policy field
# says "controller" while it is registered.  GET_POOL / GET_VOLUME /
# DUMP_HEAT over netlink agree with the status and dump_heat messages.
. "$LAB_PROJECT/tests/lib/lab.sh"
. "$LAB_PROJECT/tests/lib/nl.sh"

nl_require
dmtier_load
POOL_FEATURES="3 no_fallback policy_interval_ms 200" pool_create_std pool 256 8 8 16
K=$((128 * 1024))
vol_create pool 1 $((8 * 2048)) # 64 extents
must pool_msg pool set_volume 1 tiering_policy cost-optimized
pat_make a $((32 * K))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "0 0 32" ] || fail "placement: $(dmsetup status pool-1)"
# Let the fill's epoch pass.
sleep 1

# Netlink queries agree with the status and messages.
gp=$("$TIER_NLCTL" get-pool pool) || fail "get-pool: $gp"
info "get-pool: $gp"
echo "$gp" | grep -q '^pool=pool nr_tiers=3 mode=rw needs_check=0 policy=off nr_volumes=1 ' || fail "get-pool: $gp"
echo "$gp" | grep -q " extent_sectors=256 " || fail "get-pool extent size: $gp"
echo "$gp" | grep -q " tier2=32/" || fail "get-pool tier 2 use, 32 extents: $gp"
gv=$("$TIER_NLCTL" get-volume pool 1) || fail "get-volume: $gv"
echo "$gv" | grep -q '^volume=1 tiering_enabled=1 policy=cost-optimized model=auto mapped=0,0,32 ' ||
	fail "get-volume: $gv"
echo "$gv" | grep -q " write_bytes=$((32 * K)) " || fail "get-volume write_bytes: $gv"
dh=$("$TIER_NLCTL" dump-heat pool 1) || fail "dump-heat: $dh"
[ "$(echo "$dh" | cut -d' ' -f1,2,5)" = "$(heat_dump pool 1 | cut -d' ' -f1,2,5)" ] ||
	fail "netlink dump-heat differs from dump_heat: $dh"
(($(echo "$dh" | wc -l) == 32)) || fail "dump-heat lists $(echo "$dh" | wc -l) extents, 32 mapped"

nl_listen_start /tmp/reports --pool pool --json
# A registered controller is in charge, with the fallback off or on.
[ "$(pool_field pool policy)" = controller ] || fail "no_fallback pool with a controller: $(dmsetup status pool)"
must pool_msg pool set fallback 1
# Registering counted as the controller's sign of life.
[ "$(pool_field pool policy)" = controller ] || fail "policy with a registered controller: $(dmsetup status pool)"

# Random reads of extents 8..15 for 4 s.
fio_jobs --name=hot --filename=/dev/mapper/pool-1 --rw=randread --bs=4k --iodepth=4 \
	--offset=$((8 * K)) --size=$((8 * K)) --time_based --runtime=4
sleep 1
nl_listen_stop
info "$(tail -n1 /tmp/reports.err)"
grep -q 'malformed 0;' /tmp/reports.err || fail "malformed reports: $(cat /tmp/reports.err)"

nheat=$(grep -c '"type":"heat"' /tmp/reports)
((nheat >= 3)) || fail "$nheat heat reports in 5 s with 200 ms epochs: $(head -c 2000 /tmp/reports)"
heat=$(heat_entries /tmp/reports 1)
# Read heat only on extents 8..15, each of them read-hot at some point, all on tier 2.
echo "$heat" | awk '$3 > 0 && ($1 < 8 || $1 > 15) { bad = 1 } END { exit bad }' ||
	fail "read heat outside extents 8..15: $(echo "$heat" | awk '$3 > 0 && ($1 < 8 || $1 > 15)' | head)"
hot=$(echo "$heat" | awk '$3 > 0 { print $1 }' | sort -un | tr '\n' ' ')
[ "$hot" = "8 9 10 11 12 13 14 15 " ] || fail "read-hot extents: $hot"
echo "$heat" | awk '$2 != 2 { bad = 1 } END { exit bad }' || fail "heat entries not on tier 2: $heat"

# Profiles: cumulative reads grow, writes stay at the fill's.
prof=$(grep '"type":"profile"' /tmp/reports | grep '"volume":1,')
(($(echo "$prof" | wc -l) >= 3)) || fail "profile reports: $prof"
first=$(echo "$prof" | head -n1 | grep -o '"reads":[0-9]*' | cut -d: -f2)
last=$(echo "$prof" | tail -n1 | grep -o '"reads":[0-9]*' | cut -d: -f2)
((last > first)) || fail "profile reads did not grow: $first -> $last"
echo "$prof" | tail -n1 | grep -q "\"write_bytes\":$((32 * K))," || fail "profile write_bytes: $(echo "$prof" | tail -n1)"

# Transitions: reads (flag 1 clear) of mapped (flag 4) extents 8..15 on tier 2, 4 KiB each.
tr=$(transition_entries /tmp/reports 1 | awk '$4 % 2 == 0')
ntr=$(echo "$tr" | grep -c .)
((ntr >= 100)) || fail "only $ntr read transitions for 4 s of random reads over 8 extents"
echo "$tr" | awk '$2 < 8 || $2 > 15 || $3 != 4096 || int($4 / 4) % 2 != 1 || $5 != 2 { bad = 1 } END { exit bad }' ||
	fail "bad read transitions: $(echo "$tr" | awk '$2 < 8 || $2 > 15 || $3 != 4096 || int($4 / 4) % 2 != 1 || $5 != 2' | head -n 5)"
# Repeated accesses to one extent collapse: consecutive events on one extent
# only where per-CPU rings or reports meet (a handful), not one per bio.
rep=$(echo "$tr" | awk 'NR > 1 && $2 == prev { n++ } { prev = $2 } END { print n + 0 }')
((rep * 10 <= ntr)) || fail "$rep of $ntr transitions repeat the previous extent"
info "$nheat heat reports, $(echo "$prof" | wc -l) profile reports, $ntr read transitions"

pat_check /dev/mapper/pool-1 0 a || fail "data changed"
must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
