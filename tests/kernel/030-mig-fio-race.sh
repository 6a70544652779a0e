#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 200
# Hundreds of migrations race fio verify writers, readers and flushes:
# while fio writes (and verifies as it goes, with fsyncs) on two volumes,
# a loop sends migrate and prefetch messages for random extents to random
# tiers, and commits.  Zero verify errors; the migration counters moved;
# none failed (every tier has room); the pool's per-tier used counts equal
# the volumes' mapped counts; the data verifies once more after the dust
# settles and after a deactivate / reactivate.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
pool_create_std pool 256 40 40 40
ptable=$(dmsetup table pool)

ext=$((128 * 1024))
vol_create pool 1 $((8 * 2048)) # 64 extents of 128 KiB
vol_create pool 2 $((8 * 2048))
must pool_msg pool set_volume 2 tiering_policy striped

# Volume 2 is filled first so every extent of it can move from the start.
seq2=(--name=seq2 --filename=/dev/mapper/pool-2 --rw=write --bs=64k --size=8M
	--iodepth=4 --verify=crc32c --verify_fatal=1)
fio_jobs "${seq2[@]}" --do_verify=1

# Racing writers: random mixed sizes with fsyncs and a verify backlog (reads
# racing the copies), sequential 128 KiB rewrites of volume 2 with end fsync.
fio_jobs --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--name=rand1 --filename=/dev/mapper/pool-1 --rw=randwrite --bsrange=4k-64k \
	--size=8M --io_size=16M --iodepth=8 --fsync=16 --verify_backlog=64 \
	--name=seq2 --filename=/dev/mapper/pool-2 --rw=write --bs=128k --offset=64k \
	--size=7M --loops=2 --iodepth=4 --end_fsync=1 &
fio_pid=$!

# The racing messages, through one process: migrate (3 in 4), prefetch with
# a short deadline, and a commit now and then, until fio is done.
(
	while kill -0 "$fio_pid" 2>/dev/null; do
		for i in 1 2 3 4 5 6 7 8; do
			vol=$((RANDOM % 2 + 1)) e=$((RANDOM % 64)) tier=$((RANDOM % 3))
			case $((RANDOM % 16)) in
			0 | 1 | 2) echo "pool prefetch $vol $e $tier $((RANDOM % 2000 + 1))" ;;
			3) echo "pool commit" ;;
			*) echo "pool migrate $vol $e $tier" ;;
			esac
		done
	done
) | "$DM_MSG" 0.01 >/tmp/msgs
wait "$fio_pid" || fail "fio verify failed while migrations ran"
ok=$(grep -c ' rc=0$' /tmp/msgs) unmapped=$(grep -c ' rc=61$' /tmp/msgs)
other=$(grep ' rc=' /tmp/msgs | grep -Ev ' rc=(0|61)$' | head -n 3)
[ -z "$other" ] || fail "messages refused with other errors: $other"
info "fio done; $ok messages accepted, $unmapped refused for unmapped extents; $(pool_field pool mig_done) moves done"

# Keep moving for a while after fio: every extent is mapped now.
for i in $(seq 200); do
	echo "pool migrate $((i % 2 + 1)) $((RANDOM % 64)) $((RANDOM % 3))"
done | "$DM_MSG" 0.01 >/tmp/msgs
grep -v ' rc=0$' /tmp/msgs | head -n 3 | grep . && fail "migrate of a mapped extent refused"
mig_idle pool 120
done_=$(pool_field pool mig_done) failed=$(pool_field pool mig_failed)
info "status: $(dmsetup status pool | cut -d' ' -f4-)"
((done_ >= 300)) || fail "only $done_ migrations done"
((failed == 0)) || fail "$failed migrations failed with room on every tier"
(($(pool_field pool bytes_moved) == done_ * ext)) ||
	fail "bytes_moved $(pool_field pool bytes_moved) != $done_ x $ext"

# Free-space accounting: after commits, pool used == volumes mapped, per tier.
must pool_msg pool commit
must pool_msg pool commit
for i in 0 1 2; do
	s=$(($(vol_mapped pool-1 "$i") + $(vol_mapped pool-2 "$i")))
	(($(pool_field pool used "$i") == s)) ||
		fail "tier $i: pool uses $(pool_field pool used "$i"), volumes map $s: $(dmsetup status pool)"
done
(($(vol_mapped pool-1 sum) <= 64 && $(vol_mapped pool-2 sum) == 64)) ||
	fail "mapped counts: $(dmsetup status pool-1) / $(dmsetup status pool-2)"
heat_dump pool 1 | grep -q ' [^ ]*m[^ ]*$' && fail "extents still marked migrating"

# fio checked the random writer itself; the sequential volume is fully
# determined: read it back again, its first 64 KiB from the first run too.
fio_jobs --verify=crc32c --verify_fatal=1 --verify_only=1 \
	--name=seq2 --filename=/dev/mapper/pool-2 --rw=write --bs=128k --offset=64k \
	--size=7M --iodepth=4
fio_jobs "${seq2[@]}" --size=64k --verify_only=1
info "data verifies after $done_ migrations"

# Deactivate and reactivate: the moved mapping was committed and holds.
st1=$(dmsetup status pool-1 | cut -d' ' -f4-) st2=$(dmsetup status pool-2 | cut -d' ' -f4-)
must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dm_create pool "$ptable" || fail "reactivating the pool failed: $(dmesg | tail -n 5)"
vol_activate pool 1 $((8 * 2048))
vol_activate pool 2 $((8 * 2048))
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "$st1" ] || fail "volume 1 placement $(dmsetup status pool-1), was $st1"
[ "$(dmsetup status pool-2 | cut -d' ' -f4-)" = "$st2" ] || fail "volume 2 placement $(dmsetup status pool-2), was $st2"
fio_jobs --verify=crc32c --verify_fatal=1 --verify_only=1 \
	--name=seq2 --filename=/dev/mapper/pool-2 --rw=write --bs=128k --offset=64k \
	--size=7M --iodepth=4
info "placement and data survive reactivation"

must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
