#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# Deactivate everything (volumes, pool, even the module), reactivate the
# pool and volumes with the same table lines: the data verifies again, and
# the mapping, the volume settings and the pool status are as they were.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 24)
t1=$(lab_tier_hdd thdd 40)
pool_create pool "$meta" 2048 "$t0" "$t1"
ptable=$(dmsetup table pool)

mib=2048
vol_create pool 7 $((16 * mib))
vol_create pool 9 $((24 * mib))
must pool_msg pool set_volume 7 tiering_policy performance-optimized
must pool_msg pool set_volume 7 os linux
must pool_msg pool set_volume 9 tiering_policy striped
must pool_msg pool set_volume 9 prediction_model lstm-v2
must pool_msg pool set_volume 9 app postgres

jobs=(--name=a --filename=/dev/mapper/pool-7 --rw=randwrite --bs=4k
	--size=16M --io_size=3M --iodepth=16
	--name=b --filename=/dev/mapper/pool-9 --rw=randwrite --bsrange=4k-1m
	--size=23M --io_size=16M --iodepth=8)
fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 "${jobs[@]}"
pat_make tail $((1024 * 1024))
pat_write /dev/mapper/pool-9 $((23 * 1024 * 1024)) tail || fail "write tail pattern"

status_before=$(dmsetup status pool | cut -d' ' -f4-)
v7_before=$(dmsetup status pool-7 | cut -d' ' -f4-)
v9_before=$(dmsetup status pool-9 | cut -d' ' -f4-)
get7=$(pool_msg pool get_volume 7)
get9=$(pool_msg pool get_volume 9)
list=$(pool_msg pool list_volumes | sort -n | tr '\n' ' ')
info "before: pool $status_before; volume 7: $v7_before; volume 9: $v9_before"

# Deactivate everything and unload the module: nothing survives in memory.
must dmsetup remove pool-7
must dmsetup remove pool-9
must dmsetup remove pool
[ "$(dmsetup ls)" = "No devices found" ] || fail "devices left: $(dmsetup ls)"
dmtier_unload
dmtier_load

dm_create pool "$ptable" || fail "reactivating the pool failed: $(dmesg | tail -n 5)"
[ "$(dmsetup table pool)" = "$ptable" ] || fail "table changed: $(dmsetup table pool) vs $ptable"
vol_activate pool 7 $((16 * mib))
vol_activate pool 9 $((24 * mib))

[ "$(dmsetup status pool | cut -d' ' -f4-)" = "$status_before" ] ||
	fail "pool status changed: $(dmsetup status pool) (was $status_before)"
[ "$(dmsetup status pool-7 | cut -d' ' -f4-)" = "$v7_before" ] ||
	fail "volume 7 status changed: $(dmsetup status pool-7) (was $v7_before)"
[ "$(dmsetup status pool-9 | cut -d' ' -f4-)" = "$v9_before" ] ||
	fail "volume 9 status changed: $(dmsetup status pool-9) (was $v9_before)"
[ "$(pool_msg pool get_volume 7)" = "$get7" ] || fail "volume 7 settings: $(pool_msg pool get_volume 7) (was $get7)"
[ "$(pool_msg pool get_volume 9)" = "$get9" ] || fail "volume 9 settings: $(pool_msg pool get_volume 9) (was $get9)"
[ "$(pool_msg pool list_volumes | sort -n | tr '\n' ' ')" = "$list" ] ||
	fail "list_volumes: $(pool_msg pool list_volumes) (was $list)"

fio_jobs --verify=crc32c --verify_fatal=1 --verify_only=1 "${jobs[@]}"
pat_check /dev/mapper/pool-9 $((23 * 1024 * 1024)) tail || fail "tail pattern lost"
info "data, mapping and settings survived deactivation"

must dmsetup remove pool-7
must dmsetup remove pool-9
must dmsetup remove pool
dmtier_unload
exit 0
