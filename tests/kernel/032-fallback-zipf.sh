#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# The in-kernel fallback policy gathers a zipf hot set on tier 0: a volume
# with tiering_policy=cost-optimized lands on the slowest tier; fio reads it
# with random_distribution=zipf:1.2; with no controller around the status
# says "fallback", and after a few rounds most of the hottest extents (by
# dump_heat's read counts, averaged over samples) sit on tier 0 while tier 0
# stays within its high watermark.  The data is unchanged.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 4) # 3 MiB of data: 24 extents
t1=$(lab_tier_ssd tssd 8)
t2=$(lab_tier_hdd thdd 24)
POOL_FEATURES="6 policy_interval_ms 200 promote_threshold 4 residency_rounds 5" \
	pool_create pool "$meta" 256 "$t0" "$t1" "$t2"
K=$((128 * 1024))
n0=$(pool_field pool total 0)

vol_create pool 1 $((16 * 2048)) # 128 extents
must pool_msg pool set_volume 1 tiering_policy cost-optimized
pat_make v $((16 * 1024 * 1024))
pat_write /dev/mapper/pool-1 0 v || fail "fill the volume"
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "0 0 128" ] ||
	fail "cost-optimized volume not on the slowest tier: $(dmsetup status pool-1)"
[ "$(pool_field pool policy)" = fallback ] || fail "no controller ever spoke, policy: $(dmsetup status pool)"

fio --name=zipf --filename=/dev/mapper/pool-1 --direct=1 --ioengine=libaio \
	--rw=randread --bs=4k --iodepth=8 --random_distribution=zipf:1.2 \
	--time_based --runtime=24 --output=/tmp/fio.zipf >/dev/null 2>&1 &
fio_pid=$!
sleep 14
# Sample the heat a few times while the reads go on (counts halve per round).
: >/tmp/heat
for i in 1 2 3 4 5 6; do
	heat_dump pool 1 >>/tmp/heat
	[ "$(pool_field pool policy)" = fallback ] || fail "policy: $(dmsetup status pool)"
	sleep 1
done
placement=$(heat_dump pool 1)
wait "$fio_pid" || { cat /tmp/fio.zipf; fail "fio zipf reads failed"; }

used0=$(pool_field pool used 0)
info "after zipf reads: pool $(dmsetup status pool | cut -d' ' -f4-); volume $(dmsetup status pool-1 | cut -d' ' -f4-)"
((used0 * 100 <= n0 * 90 + 99)) || fail "tier 0 above its high watermark: $used0 of $n0"
(($(pool_field pool mig_done) > 0)) || fail "the fallback policy moved nothing"

# The 8 hottest extents by mean read count; ties broken by extent.
hot=$(awk '{ r[$1] += $3 } END { for (e in r) print r[e], e }' /tmp/heat | sort -k1,1nr -k2,2n | head -n 8 | awk '{ print $2 }')
on0=0
for e in $hot; do
	t=$(echo "$placement" | awk -v e="$e" '$1 == e { print $2 }')
	[ "$t" = 0 ] && on0=$((on0 + 1))
done
info "hottest extents: $(echo $hot) ($on0 on tier 0); heat of the top: $(awk '{ r[$1] += $3 } END { for (e in r) print r[e], e }' /tmp/heat | sort -k1,1nr | head -n 12 | tr '\n' ' ')"
((on0 >= 6)) || fail "only $on0 of the 8 hottest extents on tier 0: $(echo "$placement" | awk '$2 == 0' | tr '\n' ' ')"

mig_idle pool
pat_check /dev/mapper/pool-1 0 v || fail "data changed by the policy's moves"
must pool_msg pool commit
must pool_msg pool commit
for i in 0 1 2; do
	(($(pool_field pool used "$i") == $(vol_mapped pool-1 "$i"))) ||
		fail "tier $i: pool uses $(pool_field pool used "$i"), the volume maps $(vol_mapped pool-1 "$i")"
done

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
