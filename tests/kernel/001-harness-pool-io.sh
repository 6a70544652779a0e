#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# Proves the harness: load dm-tier.ko, create a tier-pool on emulated
# tiers, write and verify data through it with fio, check the table reads
# back, remove it, unload the module.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 256)
t1=$(lab_tier_hdd thdd 256)

len=$(dev_sectors "$t0")
dm_create pool "0 $len tier-pool $meta 2048 2 $t0 $t1"
table=$(dmsetup table pool)
echo "$table" | grep -q "tier-pool $(printf '%d:%d' 0x$(stat -c %t "$meta") 0x$(stat -c %T "$meta")) 2048 2 " ||
	fail "table does not read back: $table"

fio_verify /dev/mapper/pool --rw=randwrite --bs=4k --iodepth=16 --size=64M
fio_verify /dev/mapper/pool --rw=write --bs=1M --iodepth=4 --offset=64M --size=64M

# The data went to tier 0 (interim linear remap): read it there directly.
a=$(dd if=/dev/mapper/pool bs=1M skip=70 count=2 iflag=direct 2>/dev/null | md5sum)
b=$(dd if="$t0" bs=1M skip=70 count=2 iflag=direct 2>/dev/null | md5sum)
[ "$a" = "$b" ] || fail "pool and tier 0 disagree"

must dmsetup remove pool
dmtier_unload
grep -q '^dm_tier ' /proc/modules && fail "module still loaded"
exit 0
