#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# A new extent's mapping must not become durable before its first write
# has landed: otherwise a crash in between leaves the volume showing an
# earlier owner's data where that write did not reach the disk.
#
# Volume A fills both extents of tier 0, is deleted, and the free is
# committed.  Tier 0 sits behind dm-delay, which now holds every write for
# a few seconds.  Volume B writes a whole extent (extent 0), then 4 KiB of
# another (extent 1): each gets one of A's old extents.  While each write
# is held:
#   - reading B returns zeros (never A's data);
#   - a commit is forced and the metadata and tier devices are copied: a
#     crash image.  A pool activated from the image must show B's extents
#     unmapped (zeros), not mapped to A's data.
# Once the writes are done, another commit and image must show B's data.
. "$LAB_PROJECT/tests/lib/lab.sh"
POOL_FEATURES="1 no_fallback"
HOLD_MS=5000

dmtier_load
modprobe dm-delay 2>/dev/null
meta=$(lab_tier_ssd tmeta 8)
nb=$(lab_tier_nvme tnvme 3) # the label and two 1 MiB extents
sz=$(dev_sectors "$nb")
delay_table() { echo "0 $sz delay $nb 0 0 $nb 0 $1 $nb 0 0"; }
dm_create dly "$(delay_table 0)" || skip "no dm-delay target"
pool_create pool "$meta" 2048 /dev/mapper/dly
(($(pool_field pool total 0) == 2)) || fail "want 2 extents: $(dmsetup status pool)"
MiB=$((1024 * 1024))

vol_create pool 1 $((2 * 2048))
pat_make a $((2 * MiB))
pat_write /dev/mapper/pool-1 0 a || fail "write volume A"
must dmsetup remove pool-1
must pool_msg pool delete_volume 1
must pool_msg pool commit
(($(pool_field pool used 0) == 0)) || fail "A's extents not freed: $(dmsetup status pool)"

# Hold writes (reads and flushes pass at once).
must dmsetup suspend dly
must dmsetup reload dly --table "$(delay_table $HOLD_MS)"
must dmsetup resume dly

vol_create pool 2 $((2 * 2048))
pat_make b0 $MiB
pat_make b1 4096

# The crash image: copies of the metadata and of what reached tier 0.
image() { # NAME: copy meta and tier 0 into new null_blk disks
	local m t
	m=$(lab_tier_ssd "${1}m" 8)
	t=$(lab_tier_nvme "${1}t" 3)
	dd if="$meta" of="$m" bs=1M iflag=direct oflag=direct status=none &&
		dd if="$nb" of="$t" bs=1M iflag=direct oflag=direct status=none ||
		fail "cannot copy the crash image $1"
	echo "$m $t"
}

# inflight NAME EXTENT OFFSET PATTERN BS: B's first write to EXTENT (at
# OFFSET in it), checked while dm-delay holds it.
inflight() {
	local name=$1 e=$2 off=$3 pat=$4 bs=$5 w t_start t_copied im it
	dd if=/tmp/pat.$pat of=/dev/mapper/pool-2 bs=$bs oflag=direct,seek_bytes \
		seek=$((e * MiB + off)) status=none &
	w=$!
	t_start=$(date +%s%N)
	wait_for 40 eval '(($(vol_mapped pool-2 sum) == e + 1))' ||
		fail "$name: the write got no extent: $(dmsetup status pool-2)"
	kill -0 $w 2>/dev/null ||
		skip "$name: the write finished before the test could look (VM too slow for ${HOLD_MS} ms)"
	zero_check /dev/mapper/pool-2 $((e * MiB)) $MiB ||
		fail "$name: while its first write is in flight, volume B reads data it never wrote"
	must pool_msg pool commit
	read -r im it < <(image "$name")
	t_copied=$(date +%s%N)
	kill -0 $w 2>/dev/null ||
		skip "$name: the write finished before the image was taken ($(((t_copied - t_start) / 1000000)) ms)"
	info "$name: image taken $(((t_copied - t_start) / 1000000)) ms after the write started"
	pool_create img "$im" 2048 "$it"
	vol_activate img 2 $((2 * 2048))
	zero_check /dev/mapper/img-2 $((e * MiB)) $MiB || {
		dd if=/dev/mapper/img-2 bs=4096 skip=$((e * 256 + off / 4096)) count=1 iflag=direct \
			status=none | cmp -s - <(dd if=/tmp/pat.a bs=4096 skip=$((e * 256 + off / 4096)) \
			count=1 status=none) && fail "$name: after a crash, volume B shows volume A's old data"
		fail "$name: after a crash, volume B reads neither zeros nor its own data"
	}
	(($(vol_mapped img-2 sum) == e)) ||
		fail "$name: the image maps an extent whose first write never landed: $(dmsetup status img-2)"
	must dmsetup remove img-2
	must dmsetup remove img
	wait $w || fail "$name: the write failed"
	info "$name: the image had the extent unmapped"
}
inflight whole 0 0 b0 1M
inflight partial 1 8192 b1 4096

pat_check /dev/mapper/pool-2 0 b0 && pat_check /dev/mapper/pool-2 $((MiB + 8192)) b1 ||
	fail "B's data is wrong after its writes completed"
zero_check /dev/mapper/pool-2 $MiB 8192 &&
	zero_check /dev/mapper/pool-2 $((MiB + 12288)) $((MiB - 12288)) ||
	fail "B's partly written extent shows stale data around the write"

# Writes done and committed: the next image has them.
must pool_msg pool commit
read -r im it < <(image done)
pool_create img "$im" 2048 "$it"
vol_activate img 2 $((2 * 2048))
pat_check /dev/mapper/img-2 0 b0 && pat_check /dev/mapper/img-2 $((MiB + 8192)) b1 &&
	zero_check /dev/mapper/img-2 $MiB 8192 ||
	fail "after completion and a commit, the image lacks B's data: $(dmsetup status img-2)"
must dmsetup remove img-2
must dmsetup remove img
info "image after completion and a commit: B's data mapped"

must dmsetup remove pool-2
must dmsetup remove pool
must dmsetup remove dly
dmtier_unload
exit 0
