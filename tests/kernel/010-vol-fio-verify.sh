#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# Four volumes on one three-tier pool (one per allocation policy), written
# at once by parallel fio jobs with verification: random 4K, sequential 1M
# straddling extent boundaries, random 4K..1M mixed sizes, sequential
# 128K.  The pool's per-tier used counts must match the volumes' mapped
# counts.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
pool_create_std pool 2048 32 32 32

mib=2048 # sectors
policies=(performance-optimized balanced cost-optimized striped)
for id in 1 2 3 4; do
	pool_msg pool create_volume $id || fail "create_volume $id"
	must pool_msg pool set_volume $id tiering_policy "${policies[id - 1]}"
	vol_activate pool $id $((16 * mib))
done

fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--name=rand4k --filename=/dev/mapper/pool-1 --rw=randwrite --bs=4k \
	--size=16M --io_size=2M --iodepth=16 \
	--name=seq1m --filename=/dev/mapper/pool-2 --rw=write --bs=1M \
	--offset=512k --size=15M --iodepth=4 \
	--name=randmix --filename=/dev/mapper/pool-3 --rw=randwrite \
	--bsrange=4k-1m --size=16M --io_size=6M --iodepth=8 \
	--name=seq128k --filename=/dev/mapper/pool-4 --rw=write --bs=128k \
	--size=16M --iodepth=8
info "fio verify passed on 4 volumes"

# Every extent the sequential jobs touched is mapped; the counts agree.
sum=0
for id in 1 2 3 4; do
	m=$(vol_mapped pool-$id sum)
	info "volume $id ($(pool_msg pool get_volume $id | grep -o 'tiering_policy=[^ ]*')): mapped per tier: $(dmsetup status pool-$id | cut -d' ' -f4-)"
	sum=$((sum + m))
done
(($(vol_mapped pool-2 sum) == 16)) || fail "seq1m touched 16 extents, volume 2 maps $(vol_mapped pool-2 sum)"
(($(vol_mapped pool-4 sum) == 16)) || fail "seq128k touched 16 extents, volume 4 maps $(vol_mapped pool-4 sum)"
used=$(pool_field pool used_sum)
((used == sum)) || fail "pool uses $used extents, volumes map $sum: $(dmsetup status pool)"
for i in 0 1 2; do
	s=0
	for id in 1 2 3 4; do
		s=$((s + $(vol_mapped pool-$id $i)))
	done
	(($(pool_field pool used $i) == s)) ||
		fail "tier $i: pool says $(pool_field pool used $i) used, volumes map $s"
done

for id in 1 2 3 4; do
	must dmsetup remove pool-$id
done
must dmsetup remove pool
dmtier_unload
exit 0
