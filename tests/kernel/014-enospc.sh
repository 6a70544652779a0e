#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# Fill the pool to ENOSPC: writes beyond the tiers' total capacity fail
# with ENOSPC, the pool status says out_of_space, the pool stays rw, and
# other volumes' data (and the full volume's written part) still verify;
# mapped extents can still be overwritten.  After deleting a volume and
# committing, the space is usable again.  On the full pool, an extent
# discarded a moment ago is room for the next first write: the pool
# commits to release it (the periodic commit is a minute away).
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="3 no_fallback commit_interval_ms 60000"

dmtier_load
pool_create_std pool 2048 8 8
total=$(pool_field pool total_sum)
info "pool holds $total extents"
((total >= 12 && total <= 16)) || fail "unexpected pool size: $(dmsetup status pool)"
MiB=$((1024 * 1024))

vol_create pool 1 $((4 * 2048))
vol_create pool 2 $((32 * 2048))
pat_make a $((4 * MiB))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
free=$((total - 4))
[ "$(pool_field pool space)" = "-" ] || fail "out_of_space before the pool is full: $(dmsetup status pool)"

# Volume 2 is bigger than what is left: write it all, 1 MiB at a time.
pat_make b $((32 * MiB))
if out=$(dd if=/tmp/pat.b of=/dev/mapper/pool-2 bs=1M oflag=direct 2>&1); then
	fail "writing 32 MiB into $free free extents succeeded"
fi
echo "$out" | grep -q "No space left on device" || fail "write failed, but not with ENOSPC: $out"
info "dd: $(echo "$out" | head -n1)"
[ "$(pool_field pool space)" = out_of_space ] || fail "status does not say out_of_space: $(dmsetup status pool)"
[ "$(pool_field pool mode)" = rw ] || fail "pool mode $(pool_field pool mode) after ENOSPC"
(($(pool_field pool used_sum) == total)) || fail "pool not full: $(dmsetup status pool)"
(($(vol_mapped pool-2 sum) == free)) || fail "volume 2 maps $(vol_mapped pool-2 sum), want $free"

# A 4K first write fails too; reads of unmapped space still return zeros.
pat_make small 4096
pat_write /dev/mapper/pool-2 $((30 * MiB)) small && fail "a 4K write to a new extent succeeded on a full pool"
zero_check /dev/mapper/pool-2 $((free * MiB)) $(((32 - free) * MiB)) || fail "unmapped space of volume 2 does not read zeros"

# Nothing else harmed: volume 1 and volume 2's first $free MiB verify.
pat_check /dev/mapper/pool-1 0 a || fail "volume 1 data damaged by ENOSPC"
head -c $((free * MiB)) /tmp/pat.b >/tmp/pat.bhead
pat_check /dev/mapper/pool-2 0 bhead || fail "volume 2's written extents damaged"
# Mapped extents can still be overwritten.
pat_make a2 $((4 * MiB))
pat_write /dev/mapper/pool-1 0 a2 || fail "overwriting mapped extents failed on a full pool"
pat_check /dev/mapper/pool-1 0 a2 || fail "overwrite of volume 1 lost"

# Free volume 1's 4 extents: delete it and commit; the space is reusable.
must dmsetup remove pool-1
must pool_msg pool delete_volume 1
must pool_msg pool commit
(($(pool_field pool used_sum) == total - 4)) || fail "deleting volume 1 freed nothing: $(dmsetup status pool)"
[ "$(pool_field pool space)" = "-" ] || fail "out_of_space not cleared after freeing space: $(dmsetup status pool)"
dd if=/tmp/pat.b of=/dev/mapper/pool-2 bs=1M oflag=direct seek=$free skip=$free count=4 status=none ||
	fail "cannot use the freed space"
head -c $(((free + 4) * MiB)) /tmp/pat.b >/tmp/pat.bhead
pat_check /dev/mapper/pool-2 0 bhead || fail "volume 2 does not read back after reuse"
(($(pool_field pool used_sum) == total)) || fail "pool should be full again: $(dmsetup status pool)"

must blkdiscard -o 0 -l $MiB /dev/mapper/pool-2
pat_make c $MiB
pat_write /dev/mapper/pool-2 $(((free + 4) * MiB)) c ||
	fail "a first write right after a discard on a full pool failed: $(dmsetup status pool)"
pat_check /dev/mapper/pool-2 $(((free + 4) * MiB)) c || fail "the write into the discarded extent's room does not read back"
zero_check /dev/mapper/pool-2 0 $MiB || fail "the discarded extent does not read zeros"
(($(pool_field pool used_sum) == total)) || fail "pool should be full again after the discard and write: $(dmsetup status pool)"

must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
