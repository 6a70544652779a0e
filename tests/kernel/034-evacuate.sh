#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# evacuate_tier: refused without room elsewhere (ENOSPC, nothing changes);
# under fio verify load the last tier drains (status evacuating:2:<n>, then
# evacuated:2:0), no new allocation lands there, moves to it and a second
# evacuation are refused (EBUSY); then the pool table is reloaded without
# that device, the data verifies, the accounting holds, and the two-tier
# pool reactivates from its metadata.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
K=$((128 * 1024))
BUSY='Device or resource busy' NOSPC='No space left on device' INVAL='Invalid argument'

# --- No room: tier 1 holds 40 extents, tier 0 has room for 8.
meta=$(lab_tier_ssd smeta 4)
s0=$(lab_tier_nvme snvme 2)
s1=$(lab_tier_hdd shdd 8)
pool_create small "$meta" 256 "$s0" "$s1"
vol_create small 1 $((5 * 2048))
must pool_msg small set_volume 1 tiering_policy cost-optimized
pat_make s $((40 * K))
pat_write /dev/mapper/small-1 0 s || fail "fill small"
before=$(dmsetup status small)
must_fail_with "$NOSPC" pool_msg small evacuate_tier 1
[ "$(dmsetup status small)" = "$before" ] || fail "refused evacuation changed the status: $(dmsetup status small), was $before"
[ "$(pool_field small evacuation)" = - ] || fail "evacuation field: $(dmsetup status small)"
must_fail_with "$INVAL" pool_msg small evacuate_tier 2
# Tier 0 (8 extents, empty) can go to tier 1.
must pool_msg small evacuate_tier 0
wait_for 10 pool_field_is small evacuation evacuated:0:0 ||
	fail "empty tier 0 not evacuated: $(dmsetup status small)"
pat_check /dev/mapper/small-1 0 s || fail "small: data changed"
must dmsetup remove small-1
must dmsetup remove small
lab_tier_remove snvme
lab_tier_remove shdd
lab_tier_remove smeta
info "evacuation without room refused"

# --- Evacuate the last tier under load.
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 12) # 88 extents each on tiers 0 and 1
t1=$(lab_tier_ssd tssd 12)
t2=$(lab_tier_hdd thdd 12)
POOL_FEATURES="2 commit_interval_ms 500" pool_create pool "$meta" 256 "$t0" "$t1" "$t2"
for id in 1 2; do
	vol_create pool $id $((8 * 2048)) # 64 extents
	must pool_msg pool set_volume $id tiering_policy striped
done
fill=(--name=fill --filename=/dev/mapper/pool-1 --rw=write --bs=64k --size=8M --iodepth=4)
seq=(--name=seq --filename=/dev/mapper/pool-2 --rw=write --bs=128k --offset=32k --size=7M
	--iodepth=4)
fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 "${fill[@]}" "${seq[@]}"
n2=$(pool_field pool used 2)
info "before: $(dmsetup status pool | cut -d' ' -f4-)"
((n2 >= 30)) || fail "striped volumes put only $n2 extents on tier 2"

# Load: rewrites of volume 2 and verified random writes to volume 1 (the
# latter also reads back as it goes), while tier 2 drains.
fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--name=rw --filename=/dev/mapper/pool-1 --rw=randwrite --bsrange=4k-128k \
	--size=8M --io_size=24M --iodepth=8 --fsync=32 --verify_backlog=32 \
	"${seq[@]}" --loops=3 --end_fsync=1 &
load=$!
sleep 2
must pool_msg pool set migration_bandwidth_mbps 1 # 8 extents/s: progress shows
must pool_msg pool evacuate_tier 2
ev=$(pool_field pool evacuation)
[[ $ev =~ ^evacuat(ing|ed):2:[0-9]+$ ]] || fail "evacuation field: $ev"
# (The first reading counts: on a loaded host a few status calls can
# span the whole 5 s drain.)
seen=
[[ $ev == evacuating:2:* ]] && seen=$ev
for i in $(seq 100); do
	ev=$(pool_field pool evacuation)
	[[ $ev == evacuating:2:* ]] && seen=$ev
	[ "$ev" = evacuated:2:0 ] && break
	sleep 0.2
done
info "progress seen: ${seen:-none}; now $ev"
[ -n "$seen" ] || fail "no evacuating:2:<n> progress seen while 1 MiB/s moved $n2 extents"
must_fail_with "$BUSY" pool_msg pool evacuate_tier 0
must_fail_with "$BUSY" pool_msg pool migrate 1 0 2
must_fail_with "$BUSY" pool_msg pool pin 1 0 1 2
must pool_msg pool set migration_bandwidth_mbps 0
wait_for 60 pool_field_is pool evacuation evacuated:2:0 ||
	fail "tier 2 not evacuated: $(dmsetup status pool)"
wait "$load" || fail "fio verify failed during the evacuation"
mig_idle pool
# Nothing lands on an evacuated tier: discard and rewrite some extents.
blkdiscard -o $((40 * K)) -l $((8 * K)) /dev/mapper/pool-1 || fail "blkdiscard"
pat_make n $((8 * K))
pat_write /dev/mapper/pool-1 $((40 * K)) n || fail "rewrite discarded extents"
(($(pool_field pool used 2) == 0)) || fail "tier 2 used again: $(dmsetup status pool)"
must pool_msg pool commit
must pool_msg pool commit
(($(vol_mapped pool-1 2) + $(vol_mapped pool-2 2) == 0)) ||
	fail "volumes still map tier 2: $(dmsetup status pool-1) / $(dmsetup status pool-2)"
(($(vol_mapped pool-1 sum) == 64 && $(vol_mapped pool-2 sum) == 57)) ||
	fail "mapped extents lost: $(dmsetup status pool-1) / $(dmsetup status pool-2)"
info "evacuated: $(dmsetup status pool | cut -d' ' -f4-)"

# Remove the last tier by reload.
ptable2=$(pool_table "$meta" 256 "$t0" "$t1")
dmsetup reload pool --table "$ptable2" ||
	fail "reload without the evacuated last tier refused: $(dmesg | grep -i tier | tail -n 3)"
must dmsetup resume pool
(($(pool_field pool nr_tiers) == 2)) || fail "pool still has $(pool_field pool nr_tiers) tiers: $(dmsetup status pool)"
lab_tier_remove thdd
fio_jobs --verify=crc32c --verify_fatal=1 --verify_only=1 "${seq[@]}"
pat_check /dev/mapper/pool-1 $((40 * K)) n || fail "rewritten extents lost"
must pool_msg pool commit
for i in 0 1; do
	(($(pool_field pool used "$i") == $(vol_mapped pool-1 "$i") + $(vol_mapped pool-2 "$i"))) ||
		fail "tier $i accounting: $(dmsetup status pool) vs $(dmsetup status pool-1) / $(dmsetup status pool-2)"
done
# New writes still work on the two tiers left.
must_fail dmsetup message pool 0 migrate 1 0 2
fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 "${seq[@]}"

# The two-tier pool comes back from its metadata.
must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dm_create pool "$ptable2" || fail "reactivating the two-tier pool failed: $(dmesg | tail -n 5)"
vol_activate pool 1 $((8 * 2048))
vol_activate pool 2 $((8 * 2048))
fio_jobs --verify=crc32c --verify_fatal=1 --verify_only=1 "${seq[@]}"
pat_check /dev/mapper/pool-1 $((40 * K)) n || fail "rewritten extents lost after reactivation"
info "tier 2 removed; data intact"

must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
