#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 90
# The pool device carries no data: reads return zeros (blkid finds
# nothing, even when a volume holds a filesystem signature), writes fail.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 4)
t0=$(lab_tier_nvme tnvme 16)
pool_create pool "$meta" 2048 "$t0"
vol_create pool 1 $((8 * 2048))
# Something blkid would recognise, in the volume and so on the tier.
mkswap /dev/mapper/pool-1 >/dev/null 2>&1 || fail "mkswap on the volume"
sync
blkid -p /dev/mapper/pool-1 | grep -q swap || fail "blkid does not see the volume's swap signature"

len=$(dev_sectors /dev/mapper/pool)
info "pool device: $len sectors"
zero_check /dev/mapper/pool 0 $((4 * 1024 * 1024)) || fail "pool device start does not read zeros"
zero_check /dev/mapper/pool $(((len - 2048) * 512)) $((1024 * 1024)) || fail "pool device end does not read zeros"
dd if=/dev/mapper/pool of=/dev/null bs=1M count=2 status=none || fail "buffered read of the pool failed"
if blkid -p /dev/mapper/pool >/dev/null 2>&1; then
	fail "blkid finds something on the pool device: $(blkid -p /dev/mapper/pool)"
fi

head -c 4096 /dev/urandom >/tmp/blk
dd if=/tmp/blk of=/dev/mapper/pool bs=4k oflag=direct status=none 2>/dev/null &&
	fail "a direct write to the pool device succeeded"
dd if=/tmp/blk of=/dev/mapper/pool bs=4k seek=100 oflag=sync status=none 2>/dev/null &&
	fail "a buffered+sync write to the pool device succeeded"
zero_check /dev/mapper/pool $((100 * 4096)) 4096 || fail "a failed write left data on the pool device"
blkid -p /dev/mapper/pool-1 | grep -q swap || fail "the volume lost its data"
[ "$(pool_field pool mode)" = rw ] || fail "pool mode $(pool_field pool mode) after writes to the pool device"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
