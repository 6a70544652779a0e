#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 120
# A first write that fails on the tier device: the writer gets EIO, the new
# extent is unmapped again and its physical extent free at once (it was
# never committed as mapped), reads of it return zeros, the pool stays
# read-write; once the device works again the same write succeeds and
# survives deactivation.
. "$LAB_PROJECT/tests/lib/lab.sh"
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
raw0=$(lab_tier_nvme tnvme 8)
s0=$(dev_sectors "$raw0")
dm_create fast "0 $s0 linear $raw0 0"
pool_create pool "$meta" 2048 /dev/mapper/fast
vol_create pool 1 $((4 * 2048))
MiB=$((1024 * 1024))
pat_make a $MiB
pat_make b 4096

must dmsetup suspend fast
must dmsetup reload fast --table "0 $s0 error"
must dmsetup resume fast
# A whole-extent write (no zeroing first) and a partial one (zeroing fails).
pat_write /dev/mapper/pool-1 0 a && fail "a whole-extent first write to a failing tier succeeded"
pat_write /dev/mapper/pool-1 $((MiB + 8192)) b && fail "a partial first write to a failing tier succeeded"
[ "$(vol_mapped pool-1 sum)" = 0 ] || fail "failed first writes left mappings: $(dmsetup status pool-1)"
[ "$(pool_field pool used 0)" = 0 ] || fail "failed first writes left extents allocated: $(dmsetup status pool)"
[ "$(pool_field pool mode)" = rw ] || fail "pool mode after a data write error: $(dmsetup status pool)"
must dmsetup suspend fast
must dmsetup reload fast --table "0 $s0 linear $raw0 0"
must dmsetup resume fast
zero_check /dev/mapper/pool-1 0 $((2 * MiB)) || fail "extents whose first write failed do not read zeros"
info "failed first writes: EIO, nothing mapped, nothing allocated"

pat_write /dev/mapper/pool-1 0 a || fail "whole-extent write after the device came back"
pat_write /dev/mapper/pool-1 $((MiB + 8192)) b || fail "partial write after the device came back"
[ "$(vol_mapped pool-1 sum)" = 2 ] || fail "want 2 mapped extents: $(dmsetup status pool-1)"
must dmsetup remove pool-1
must dmsetup remove pool
pool_create pool "$meta" 2048 /dev/mapper/fast
vol_activate pool 1 $((4 * 2048))
pat_check /dev/mapper/pool-1 0 a && pat_check /dev/mapper/pool-1 $((MiB + 8192)) b &&
	zero_check /dev/mapper/pool-1 $MiB 8192 ||
	fail "data wrong after reactivation: $(dmsetup status pool-1)"
must dmsetup remove pool-1
must dmsetup remove pool
must dmsetup remove fast
dmtier_unload
exit 0
