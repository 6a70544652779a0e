#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 400
# One batch of 10,000 MIGRATE commands over netlink (5 messages of 2,000)
# for extents 0..9999 of a volume of which every 10th extent is mapped
# (1,000), the first 200 of those already on tier 0 (a netlink SET_HINT
# placed them) and 800 on tier 2: the kernel accepts exactly the 1,000
# mapped ones (a move to the tier an extent is on is accepted and does
# nothing) and rejects the 9,000 unmapped ones with ENODATA, the first at
# index 1.  The migration queue (4096) never fills.  Afterwards
# migrations_done grew by exactly 800, none failed, all 1,000 extents are on
# tier 0, the controller got one MIGRATION_DONE event per move (800, from
# tier 2 to 0, for exactly the moved extents), and the data is intact.
# The pool's fallback is off: its policy field says "off" without a
# controller and "controller" while one is registered.
. "$LAB_PROJECT/tests/lib/lab.sh"
. "$LAB_PROJECT/tests/lib/nl.sh"

nl_require
dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 200) # room for 1,000 extents below the watermarks
t1=$(lab_tier_ssd tssd 8)
t2=$(lab_tier_hdd thdd 200)
POOL_FEATURES="1 no_fallback" pool_create pool "$meta" 256 "$t0" "$t1" "$t2"
K=$((128 * 1024))
vol_create pool 1 $((10000 * 256)) # 10,000 extents
must pool_msg pool set_volume 1 tiering_policy cost-optimized

# Extents 0..1999 allocate on tier 0 (netlink SET_HINT), the others on tier 2.
out=$(echo "1 0 0 2000" | "$TIER_NLCTL" set-hint pool) || fail "set-hint: $out"
[ "$out" = "accepted=1 rejected=0 first_error=0 first_error_index=0" ] || fail "set-hint: $out"
# Every 10th extent written: 128 KiB, then skip 9 extents.
fio_jobs --name=sparse --filename=/dev/mapper/pool-1 --rw=write:$((9 * 128))k --bs=128k \
	--size=$((10000 * 128))k --iodepth=8 --buffer_pattern=0x5a5aa5a5
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "200 0 800" ] ||
	fail "sparse placement, want 200 on tier 0 and 800 on tier 2: $(dmsetup status pool-1)"
heat_dump pool 1 | awk '$1 % 10 != 0 { bad = 1 } END { exit bad }' || fail "mapped extents not every 10th"
must pool_msg pool commit
md5_before=$(for e in 0 10 1990 2000 5550 9990; do
	dd if=/dev/mapper/pool-1 bs=128k skip=$e count=1 iflag=direct status=none | md5sum
done)

# Faster copies; then the controller listens for MIGRATION_DONE.
must "$TIER_NLCTL" set pool max_migrations=16
[ "$(pool_field pool policy)" = off ] || fail "policy without a controller: $(dmsetup status pool)"
nl_listen_start /tmp/reports --pool pool --json --only migration_done
[ "$(pool_field pool policy)" = controller ] || fail "policy with a controller, fallback off: $(dmsetup status pool)"
done0=$(pool_field pool mig_done) failed0=$(pool_field pool mig_failed)

out=$("$TIER_NLCTL" migrate pool --gen 1:0:10000:0) || fail "migrate batch: $out"
info "10,000 migrate commands: $out"
[ "$out" = "accepted=1000 rejected=9000 first_error=ENODATA first_error_index=1" ] ||
	fail "batch result: $out (want 1000 accepted, 9000 ENODATA from index 1)"
mig_idle pool 180
done1=$(pool_field pool mig_done) failed1=$(pool_field pool mig_failed)
info "migrations done $done0 -> $done1, failed $failed0 -> $failed1"
((done1 - done0 == 800)) || fail "migrations_done grew by $((done1 - done0)), want 800: $(dmsetup status pool)"
((failed1 == failed0)) || fail "migrations failed: $(dmsetup status pool)"
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "1000 0 0" ] || fail "placement after: $(dmsetup status pool-1)"
gp=$("$TIER_NLCTL" get-pool pool) || fail "get-pool: $gp"
echo "$gp" | grep -q " mig_done=$done1 mig_failed=$failed1 mig_queued=0 " || fail "get-pool counters: $gp (status $(dmsetup status pool))"

# One event per move reaches the controller (events go out every 50 ms).
wait_for 5 eval '(($(migration_entries /tmp/reports | wc -l) >= 800))'
sleep 0.5
nl_listen_stop
wait_for 5 pool_field_is pool policy off || fail "policy after the controller left: $(dmsetup status pool)"
grep -q 'malformed 0;' /tmp/reports.err || fail "malformed reports: $(cat /tmp/reports.err)"
ev=$(migration_entries /tmp/reports)
(($(echo "$ev" | wc -l) == 800)) || fail "$(echo "$ev" | wc -l) migration events, want 800; $(cat /tmp/reports.err)"
echo "$ev" | awk '$1 != 1 || $3 != 2 || $4 != 0 || $5 != 1 { bad = 1 } END { exit bad }' ||
	fail "events not volume 1, tier 2 -> 0, OK: $(echo "$ev" | awk '$1 != 1 || $3 != 2 || $4 != 0 || $5 != 1' | head -n 3)"
want=$(seq 2000 10 9990 | tr '\n' ' ')
got=$(echo "$ev" | awk '{ print $2 }' | sort -n | tr '\n' ' ')
[ "$got" = "$want" ] || fail "moved extents differ from the 800 mapped off tier 0"

md5_after=$(for e in 0 10 1990 2000 5550 9990; do
	dd if=/dev/mapper/pool-1 bs=128k skip=$e count=1 iflag=direct status=none | md5sum
done)
[ "$md5_before" = "$md5_after" ] || fail "data changed by the moves"
must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
