#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# Proves the harness: load dm-tier.ko, create a pool on emulated tiers and a
# volume on it, write and verify data with fio, check the tables read back,
# remove everything, unload the module.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 128)
t1=$(lab_tier_hdd thdd 256)

dm_create pool "0 $(dev_sectors "$t0") tier-pool $meta 2048 2 $t0 $t1"
table=$(dmsetup table pool)
echo "$table" | grep -q "tier-pool $(printf '%d:%d' 0x$(stat -c %t "$meta") 0x$(stat -c %T "$meta")) 2048 2 " ||
	fail "table does not read back: $table"
must dmsetup message pool 0 create_volume 7
dm_create vol "0 $((200 * 2048)) tier /dev/mapper/pool 7"
dmsetup table vol | grep -q " tier 253:0 7$" || fail "volume table: $(dmsetup table vol)"

fio_verify /dev/mapper/vol --rw=randwrite --bs=4k --iodepth=16 --size=64M
fio_verify /dev/mapper/vol --rw=write --bs=1M --iodepth=4 --offset=64M --size=64M
info "pool status: $(dmsetup status pool)"
info "volume status: $(dmsetup status vol)"

must dmsetup remove vol
must dmsetup remove pool
dmtier_unload
grep -q '^dm_tier ' /proc/modules && fail "module still loaded"
exit 0
