#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# Ping-pong avoidance: reads alternate between two hot sets, each about
# the size of tier 0, faster than the residency period, under the fallback
# policy with short rounds and a low threshold.  Sampling dump_heat shows
# every move; after a move an extent stays put for residency_rounds rounds
# (residency holds), so no extent moves more than window / residency + 1
# times, and the number of moves stays bounded.  The data is unchanged.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 2) # 1 MiB of data: 8 extents
t1=$(lab_tier_ssd tssd 4)
t2=$(lab_tier_hdd thdd 16)
interval=200 residency=10
POOL_FEATURES="6 policy_interval_ms $interval promote_threshold 2 residency_rounds $residency" \
	pool_create pool "$meta" 256 "$t0" "$t1" "$t2"
K=$((128 * 1024))

vol_create pool 1 $((8 * 2048)) # 64 extents
must pool_msg pool set_volume 1 tiering_policy cost-optimized
pat_make v $((8 * 1024 * 1024))
pat_write /dev/mapper/pool-1 0 v || fail "fill the volume"
[ "$(pool_field pool policy)" = fallback ] || fail "policy: $(dmsetup status pool)"

info "filled: $(dmsetup status pool | cut -d' ' -f4-)"

# Hot set A: extents 0-5; B: extents 16-21.  Each phase lasts 1.2 s,
# shorter than the residency period (2 s).  One fio runs the 12 phases in
# turn (stonewall): starting fio costs seconds in the lab.
phases=()
for i in $(seq 6); do
	for off in 0 $((16 * K)); do
		phases+=(--name=hot$i-$off --offset=$off --stonewall)
	done
done
timeout 120 fio --filename=/dev/mapper/pool-1 --direct=1 --ioengine=libaio --rw=randread \
	--bs=4k --iodepth=4 --size=$((6 * K)) --time_based --runtime=1200ms \
	"${phases[@]}" >/tmp/fio.hot 2>&1 &
load=$!

# Sample placements every ~0.15 s until the load ends, through one process
# (dm-msg stamps each reply with milliseconds).
while kill -0 "$load" 2>/dev/null; do
	echo "pool dump_heat 1"
	sleep 0.15
done | "$DM_MSG" | awk 'NF == 7 { print $2, $3, $4 }' >/tmp/samples
wait "$load" || { cat /tmp/fio.hot; fail "fio hot-set reads failed: $(dmsetup status pool; pool_msg pool get_profile 1)"; }
window=$(tail -n 1 /tmp/samples | cut -d' ' -f1)
nsamples=$(cut -d' ' -f1 /tmp/samples | sort -u | wc -l)
info "$nsamples samples over ${window} ms; pool: $(dmsetup status pool | cut -d' ' -f4-)"
((nsamples >= 20)) || fail "too few samples ($nsamples) to see the moves"

# Moves per extent, and the shortest time between two moves of one extent.
# A move shows as a change of tier between consecutive samples; the gap
# between two moves is taken at its longest (from the sample before the
# first change to the sample showing the second).
moves=$(sort -k2,2n -k1,1n /tmp/samples | awk '
	NR == 1 || $2 != e { e = $2; tier = $3; before = -1; prev_t = $1; next }
	{
		if ($3 != tier) {
			n[e]++; total++
			if (before >= 0 && (!found || $1 - before < min)) { min = $1 - before; mine = e; found = 1 }
			before = prev_t; tier = $3
		}
		prev_t = $1
	}
	END {
		mx = 0; mxe = -1
		for (x in n) if (n[x] > mx) { mx = n[x]; mxe = x }
		printf "%d %d %d %d %d\n", total, mx, mxe, (found ? min : -1), (found ? mine : -1)
	}')
read -r total maxn maxe mingap gape <<<"$moves"
period=$((interval * residency))
bound=$((window / period + 1))
info "moves seen: $total; most moved extent $maxe: $maxn times (bound $bound); shortest gap between moves of one extent: ${mingap} ms (extent $gape, residency $period ms)"
((total > 0)) || fail "the policy moved nothing with two hot sets"
((maxn <= bound)) || fail "extent $maxe moved $maxn times in $window ms (residency $period ms, bound $bound): $(awk -v e="$maxe" '$2 == e' /tmp/samples | uniq -f2 | tr '\n' ';')"
# Residency: a second move no sooner than residency_rounds rounds after the
# first (less one round for the alignment of the policy timer).
if ((mingap >= 0 && mingap < period - interval)); then
	fail "extent $gape moved twice within $mingap ms (residency_rounds $residency x $interval ms): $(awk -v e="$gape" '$2 == e' /tmp/samples | uniq -f2 | tr '\n' ';')"
fi
# 12 extents swing between two sets: a move count far beyond what one
# settling per phase needs would be thrashing.
((total <= 12 * bound)) || fail "$total moves for 12 hot extents in $window ms"

mig_idle pool
pat_check /dev/mapper/pool-1 0 v || fail "data changed by the moves"
must pool_msg pool commit
must pool_msg pool commit
for i in 0 1 2; do
	(($(pool_field pool used "$i") == $(vol_mapped pool-1 "$i"))) ||
		fail "tier $i: pool uses $(pool_field pool used "$i"), the volume maps $(vol_mapped pool-1 "$i")"
done
# Swaps into a full tier 0 may fail (no room until the demoted extent's
# source is freed by a commit); they must stay the exception.
(($(pool_field pool mig_failed) <= $(pool_field pool mig_done))) ||
	fail "more failed migrations than done: $(dmsetup status pool)"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
