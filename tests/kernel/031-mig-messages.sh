#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# The migration messages: migrate, prefetch, pin, unpin, set, evacuate_tier,
# get_profile and dump_heat refuse bad requests with the documented errno
# (unknown volume ENOENT, unmapped extent ENODATA, pinned extent EPERM, bad
# tier / numbers / setting EINVAL) and change nothing; pinned extents are
# never moved by the fallback policy nor volumes with tiering_enabled=0,
# while other extents are; prefetch hits and misses are counted in
# get_profile; the policy field follows controller activity.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
POOL_FEATURES="1 no_fallback" pool_create_std pool 256 8 8 16
[ "$(pool_field pool policy)" = off ] || fail "policy with no_fallback: $(dmsetup status pool)"
K=$((128 * 1024))

for id in 1 2; do
	vol_create pool $id $((4 * 2048)) # 32 extents
	must pool_msg pool set_volume $id tiering_policy cost-optimized
done
# Extents 0..15 of each volume mapped (on tier 2), 16..31 not.
pat_make a $((16 * K))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
pat_write /dev/mapper/pool-2 0 a || fail "write volume 2"
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "0 0 16" ] || fail "volume 1 placement: $(dmsetup status pool-1)"

# get_profile and dump_heat formats.
prof=$(pool_msg pool get_profile 1) || fail "get_profile 1"
echo "$prof" | grep -Eq '^reads=[0-9]+ writes=[0-9]+ read_bytes=[0-9]+ write_bytes=[0-9]+ sequential=[0-9]+ size_hist=([0-9]+,){7}[0-9]+ prefetch_hits=0 prefetch_misses=0 queued=0 migrating=0$' ||
	fail "get_profile format: $prof"
echo "$prof" | grep -q "write_bytes=$((16 * K)) " || fail "get_profile write_bytes, 16 extents written: $prof"
heat=$(heat_dump pool 1)
(($(echo "$heat" | wc -l) == 16)) || fail "dump_heat lists $(echo "$heat" | wc -l) extents, 16 mapped: $heat"
echo "$heat" | grep -Evq '^[0-9]+ 2 [0-9]+ [0-9]+ -$' && fail "dump_heat format: $heat"
(($(pool_msg pool dump_heat 1 4 3 | wc -l) == 3)) || fail "dump_heat 1 4 3: $(pool_msg pool dump_heat 1 4 3)"
[ "$(pool_msg pool dump_heat 1 4 3 | cut -d' ' -f1 | tr '\n' ' ')" = "4 5 6 " ] ||
	fail "dump_heat 1 4 3: $(pool_msg pool dump_heat 1 4 3)"
[ -z "$(pool_msg pool dump_heat 1 20)" ] || fail "dump_heat past the mapped extents: $(pool_msg pool dump_heat 1 20)"

# Everything the test compares to see that a refused message changed nothing.
snap() {
	dmsetup status pool
	dmsetup table pool
	for id in 1 2; do
		dmsetup status pool-$id
		pool_msg pool dump_heat $id | cut -d' ' -f1,2,5
		pool_msg pool get_profile $id | grep -o 'prefetch_hits=.*'
	done
}
# refused <<EOF lines "ERRNO MESSAGE...": each message is refused with that
# errno; together they change nothing.
refused() {
	local before after
	before=$(snap)
	sed '/^$/d' >/tmp/refused
	sed 's/^[0-9]* /pool /' /tmp/refused | "$DM_MSG" | grep ' rc=' | cut -d' ' -f3 >/tmp/rcs
	paste -d' ' /tmp/rcs /tmp/refused | awk '$1 != "rc=" $2 { print "  " substr($0, index($0, $3)) ": " $1 ", expected errno " $2; bad = 1 } END { exit bad }' ||
		fail "messages not refused as documented (above)"
	after=$(snap)
	[ "$before" = "$after" ] || fail "refused messages changed: $(diff <(echo "$before") <(echo "$after"))"
}
ENOENT=2 ENODATA=61 EPERM=1 EINVAL=22

refused <<EOF
$ENOENT migrate 9 0 0
$ENOENT prefetch 9 0 0
$ENOENT pin 9 0 1 0
$ENOENT unpin 9 0 1
$ENOENT get_profile 9
$ENOENT dump_heat 9
$EINVAL migrate x 0 0
$EINVAL migrate 8388607 0 0
$ENODATA migrate 1 16 0
$ENODATA migrate 1 31 0
$ENODATA prefetch 1 20 0 1000
$ENODATA migrate 1 100000 0
$EINVAL migrate 1 0 3
$EINVAL migrate 1 0 -1
$EINVAL migrate 1 0 x
$EINVAL migrate 1 -1 0
$EINVAL migrate 1 1x 0
$EINVAL migrate 1 0
$EINVAL migrate 1 0 0 0
$EINVAL prefetch 1 0 0 0
$EINVAL prefetch 1 0 0 3600001
$EINVAL prefetch 1 0 0 soon
$EINVAL pin 1 4 4 0
$EINVAL pin 1 5 4 0
$EINVAL pin 1 0 4 3
$EINVAL pin 1 0 x 0
$EINVAL unpin 1 4 2
$EINVAL set no_such_setting 1
$EINVAL set max_migrations 0
$EINVAL set max_migrations 65
$EINVAL set max_migrations four
$EINVAL set policy_interval_ms 99
$EINVAL set low_watermark 90
$EINVAL set low_watermark 95
$EINVAL set high_watermark 80
$EINVAL set high_watermark 101
$EINVAL set fallback 2
$EINVAL set commit_interval_ms 500
$EINVAL evacuate_tier 3
$EINVAL evacuate_tier x
$EINVAL dump_heat 1 x
$EINVAL dump_heat 1 0 x
$EINVAL get_profile x
EOF
info "error paths refused and changed nothing"

# Watermarks move together only in order; a valid set shows in the table.
must pool_msg pool set low_watermark 50
must pool_msg pool set high_watermark 60
echo "$EINVAL set low_watermark 60" | refused
dmsetup table pool | grep -q 'high_watermark 60' && dmsetup table pool | grep -q 'low_watermark 50' ||
	fail "set watermarks not in the table: $(dmsetup table pool)"
must pool_msg pool set high_watermark 90
must pool_msg pool set low_watermark 80

# Pinned: moved to the pin's tier, then migrate / prefetch refused (EPERM).
must pool_msg pool pin 1 0 4 0
mig_idle pool
(($(vol_mapped pool-1 0) == 4)) || fail "pin 1 0 4 0 did not move 4 extents to tier 0: $(dmsetup status pool-1)"
[ "$(pool_msg pool dump_heat 1 0 4 | awk '{ print $2 $5 }' | tr '\n' ' ')" = "0p 0p 0p 0p " ] ||
	fail "pinned extents: $(pool_msg pool dump_heat 1 0 4)"
# The moves' source extents are freed by the next commit: commit now, or a
# timer commit between the snapshots of refused shows as a change.
must pool_msg pool commit
refused <<EOF
$EPERM migrate 1 2 1
$EPERM prefetch 1 3 2 100
EOF
pat_check /dev/mapper/pool-1 0 a || fail "data changed by pinning"
# Pins persist: a commit and a reactivation keep them.
must pool_msg pool commit

# The fallback policy: low threshold, short rounds, hot reads on every
# extent of both volumes.  Pinned extents of volume 1 stay on tier 0
# (even though nothing reads them now, tier 0 stays under its watermark)
# and the cold-but-pinned ones elsewhere stay put; volume 2
# (tiering_enabled=0) never moves; volume 1's other extents move up.
must pool_msg pool pin 1 8 10 2        # on tier 2 already: pinned there
must pool_msg pool set_volume 2 tiering_enabled 0
must pool_msg pool set promote_threshold 2
must pool_msg pool set policy_interval_ms 200
must pool_msg pool set fallback_timeout_s 1
must pool_msg pool set fallback 1
wait_for 5 pool_field_is pool policy fallback || fail "policy not fallback 1 s after the last command: $(dmsetup status pool)"
done0=$(pool_field pool mig_done)
fio --direct=1 --ioengine=libaio --rw=randread --bs=4k --iodepth=4 --time_based --runtime=120 \
	--name=hot1 --filename=/dev/mapper/pool-1 --offset=$((4 * K)) --size=$((8 * K)) \
	--name=hot2 --filename=/dev/mapper/pool-2 --offset=$((4 * K)) --size=$((8 * K)) >/tmp/hot.out 2>&1 &
hot=$!
# While the reads go on (counts halve each policy round, so read them
# during the reads; fio may take seconds to start under emulation):
# volume 2's extents 4-11 show read heat, and the policy moves some of
# volume 1's hot unpinned extents off tier 2.
vol2_hot() {
	heat2=$(pool_msg pool dump_heat 2)
	echo "$heat2" | awk '$1 >= 4 && $1 <= 11 { n++; if ($3 < 2) bad = 1 } END { exit bad || n != 8 }'
}
vol1_moved() {
	heat_dump pool 1 | awk '$1 >= 4 && $1 <= 7 || $1 == 10 || $1 == 11 { if ($2 != 2) moved = 1 } END { exit !moved }'
}
wait_for 30 vol2_hot || fail "volume 2 shows no read heat on extents 4-11: $heat2"
wait_for 30 vol1_moved || fail "the policy moved none of the hot unpinned extents 4-7, 10, 11 off tier 2: $(heat_dump pool 1)"
kill "$hot" 2>/dev/null
wait "$hot"
mig_idle pool
heat=$(heat_dump pool 1)
info "volume 1 after hot reads: $(dmsetup status pool-1 | cut -d' ' -f4-); moves $(($(pool_field pool mig_done) - done0))"
[ "$(echo "$heat" | awk '$1 < 4 { print $2 $5 }' | tr '\n' ' ')" = "0p 0p 0p 0p " ] ||
	fail "pinned extents 0..3 moved: $heat"
[ "$(echo "$heat" | awk '$1 == 8 || $1 == 9 { print $2 $5 }' | tr '\n' ' ')" = "2p 2p " ] ||
	fail "pinned hot extents 8, 9 moved by the policy: $heat"
[ "$(dmsetup status pool-2 | cut -d' ' -f4-)" = "0 0 16" ] ||
	fail "volume 2 (tiering_enabled=0) moved: $(dmsetup status pool-2)"

# Unpin: the policy may move them again (8 and 9 are hot).
must pool_msg pool unpin 1 8 10
heat_dump pool 1 | awk '$1 == 8 || $1 == 9 { if ($5 ~ /p/) bad = 1 } END { exit bad }' ||
	fail "unpin left pins: $(heat_dump pool 1)"
pat_check /dev/mapper/pool-1 0 a || fail "volume 1 data changed by the policy"
pat_check /dev/mapper/pool-2 0 a || fail "volume 2 data changed"

# Prefetch accounting, with the policy out of the way.
must pool_msg pool set fallback 0
mig_idle pool
[ "$(pool_field pool policy)" = off ] || fail "policy after set fallback 0: $(dmsetup status pool)"
pf() { pool_msg pool get_profile 1 | grep -o "prefetch_$1=[0-9]*" | cut -d= -f2; }
h0=$(pf hits) m0=$(pf misses)
# A hit: prefetched to tier 1, then read before the (default) deadline.
must pool_msg pool prefetch 1 12 1
mig_idle pool
pool_msg pool dump_heat 1 12 1 | grep -q '^12 1 .*f' || fail "prefetched extent: $(pool_msg pool dump_heat 1 12 1)"
(($(pf hits) == h0)) || fail "a prefetch hit before any access: $(pool_msg pool get_profile 1)"
dd if=/dev/mapper/pool-1 of=/dev/null bs=4k count=1 skip=$((12 * 32)) iflag=direct status=none
(($(pf hits) == h0 + 1)) || fail "read after prefetch is no hit: $(pool_msg pool get_profile 1)"
pool_msg pool dump_heat 1 12 1 | grep -q 'f' && fail "prefetched flag not cleared by the hit: $(pool_msg pool dump_heat 1 12 1)"
# A miss: 300 ms deadline, never read.
must pool_msg pool prefetch 1 13 0 300
# Already on the tier: only tracked, also a miss when unused.
must pool_msg pool prefetch 1 14 2 300
sleep 2
(($(pf misses) == m0 + 2)) || fail "two expired prefetches, misses $(pf misses) (was $m0): $(pool_msg pool get_profile 1)"
pool_msg pool dump_heat 1 13 1 | grep -q '^13 0 ' || fail "extent 13 not prefetched to tier 0: $(pool_msg pool dump_heat 1 13 1)"
# Demoted before its first use: a miss too.
must pool_msg pool prefetch 1 15 0 60000
mig_idle pool
must pool_msg pool migrate 1 15 2
mig_idle pool
(($(pf misses) == m0 + 3)) || fail "prefetch demoted unused is no miss: $(pool_msg pool get_profile 1)"
(($(pf hits) == h0 + 1)) || fail "hits changed: $(pool_msg pool get_profile 1)"
# Reading it now counts nothing.
dd if=/dev/mapper/pool-1 of=/dev/null bs=4k count=1 skip=$((15 * 32)) iflag=direct status=none
(($(pf hits) == h0 + 1 && $(pf misses) == m0 + 3)) || fail "counters after a late read: $(pool_msg pool get_profile 1)"
[ "$(pool_field pool policy)" = off ] || fail "policy: $(dmsetup status pool)"
must pool_msg pool set fallback_timeout_s 30
must pool_msg pool unpin 1 0 1
must pool_msg pool set fallback 1
[ "$(pool_field pool policy)" = controller ] || fail "policy right after commands: $(dmsetup status pool)"
info "prefetch hits $(pf hits), misses $(pf misses)"

pat_check /dev/mapper/pool-1 0 a || fail "volume 1 data changed"
must pool_msg pool commit
must pool_msg pool commit
for i in 0 1 2; do
	s=$(($(vol_mapped pool-1 "$i") + $(vol_mapped pool-2 "$i")))
	(($(pool_field pool used "$i") == s)) ||
		fail "tier $i: pool uses $(pool_field pool used "$i"), volumes map $s: $(dmsetup status pool)"
done
(($(pool_field pool mig_failed) == 0)) || fail "failed migrations: $(dmsetup status pool)"

must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
