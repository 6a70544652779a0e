#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# A volume grows by table reload and keeps its data; suspend/resume of a
# volume (in the middle of verified I/O) and of the pool keep all data.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 4)
t0=$(lab_tier_nvme tnvme 24)
t1=$(lab_tier_ssd tssd 24)
pool_create pool "$meta" 2048 "$t0" "$t1"
MiB=$((1024 * 1024))

vol_create pool 1 $((8 * 2048))
pat_make a $((8 * MiB))
pat_write /dev/mapper/pool-1 0 a || fail "write"

# Grow 8 -> 20 MiB by reload.
must dmsetup reload pool-1 --table "0 $((20 * 2048)) tier /dev/mapper/pool 1"
must dmsetup resume pool-1
(($(dev_sectors /dev/mapper/pool-1) == 20 * 2048)) || fail "volume is $(dev_sectors /dev/mapper/pool-1) sectors after growing"
pat_check /dev/mapper/pool-1 0 a || fail "data lost by growing"
zero_check /dev/mapper/pool-1 $((8 * MiB)) $((12 * MiB)) || fail "the grown part does not read zeros"
pat_make b $((12 * MiB))
pat_write /dev/mapper/pool-1 $((8 * MiB)) b || fail "cannot write the grown part"
pat_check /dev/mapper/pool-1 $((8 * MiB)) b || fail "grown part does not read back"
(($(vol_mapped pool-1 sum) == 20)) || fail "volume maps $(vol_mapped pool-1 sum) extents, want 20"

# It comes back at its new size after deactivation.
must dmsetup remove pool-1
vol_activate pool 1 $((20 * 2048))
pat_check /dev/mapper/pool-1 0 a && pat_check /dev/mapper/pool-1 $((8 * MiB)) b ||
	fail "data lost after reactivating the grown volume"

# Suspend/resume while fio writes and verifies (a second volume).
vol_create pool 2 $((16 * 2048))
fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--name=w --filename=/dev/mapper/pool-2 --rw=randwrite --bs=16k \
	--size=16M --io_size=8M --iodepth=8 &
fiopid=$!
for i in 1 2 3; do
	sleep 1
	must dmsetup suspend pool-2
	sleep 0.5
	must dmsetup resume pool-2
done
must dmsetup suspend pool
sleep 0.5
must dmsetup resume pool
wait $fiopid || fail "fio verify across suspend/resume failed"
must dmsetup suspend pool-1
must dmsetup resume pool-1
pat_check /dev/mapper/pool-1 0 a && pat_check /dev/mapper/pool-1 $((8 * MiB)) b ||
	fail "volume 1 data lost by suspend/resume"
fio_jobs --verify=crc32c --verify_fatal=1 --verify_only=1 \
	--name=w --filename=/dev/mapper/pool-2 --rw=randwrite --bs=16k \
	--size=16M --io_size=8M --iodepth=8

must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
