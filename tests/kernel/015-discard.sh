#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# Discard: whole extents are unmapped (they read zeros, the volume's mapped
# count and, once committed, the pool's used count drop) and can be written
# again; a partial discard never loses neighbouring data.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 16)
t1=$(lab_tier_hdd thdd 16)
pool_create pool "$meta" 2048 "$t0" "$t1"
MiB=$((1024 * 1024))
KiB=1024

vol_create pool 1 $((16 * 2048))
must pool_msg pool set_volume 1 tiering_policy striped
pat_make all $((16 * MiB))
pat_write /dev/mapper/pool-1 0 all || fail "write volume"
(($(vol_mapped pool-1 sum) == 16)) || fail "volume maps $(vol_mapped pool-1 sum) extents, want 16"
must pool_msg pool commit
used=$(pool_field pool used_sum)
((used == 16)) || fail "pool uses $used, want 16"

# expect_data RANGE...: "OFF LEN" byte ranges that must still hold the pattern.
expect_data() {
	local off=$1 len=$2
	dd if=/tmp/pat.all bs=4k iflag=skip_bytes,count_bytes skip="$off" count="$len" \
		status=none >/tmp/pat.part
	pat_check /dev/mapper/pool-1 "$off" part || fail "data at $off+$len lost"
}

# Whole extents 2..5.
must blkdiscard -o $((2 * MiB)) -l $((4 * MiB)) /dev/mapper/pool-1
zero_check /dev/mapper/pool-1 $((2 * MiB)) $((4 * MiB)) || fail "discarded extents 2-5 do not read zeros"
(($(vol_mapped pool-1 sum) == 12)) || fail "volume maps $(vol_mapped pool-1 sum) after discarding 4 extents, want 12"
expect_data 0 $((2 * MiB))
expect_data $((6 * MiB)) $((10 * MiB))
must pool_msg pool commit
(($(pool_field pool used_sum) == 12)) || fail "pool uses $(pool_field pool used_sum) after discard+commit, want 12"
info "whole-extent discard: volume $(dmsetup status pool-1 | cut -d' ' -f4-), pool $(dmsetup status pool | cut -d' ' -f4-)"

# Partial discard inside extent 8: the extent stays mapped, the data
# around the discarded range is intact.
must blkdiscard -o $((8 * MiB + 64 * KiB)) -l $((128 * KiB)) /dev/mapper/pool-1
(($(vol_mapped pool-1 sum) == 12)) || fail "a partial discard unmapped an extent"
expect_data $((8 * MiB)) $((64 * KiB))
expect_data $((8 * MiB + 192 * KiB)) $((MiB - 192 * KiB))
expect_data $((7 * MiB)) $((MiB))
expect_data $((9 * MiB)) $((MiB))

# A discard straddling extents 10..12: 11 whole (unmapped), the halves of
# 10 and 12 partial (kept mapped, their other halves intact).
must blkdiscard -o $((10 * MiB + 512 * KiB)) -l $((2 * MiB)) /dev/mapper/pool-1
(($(vol_mapped pool-1 sum) == 11)) || fail "volume maps $(vol_mapped pool-1 sum) after the straddling discard, want 11"
zero_check /dev/mapper/pool-1 $((11 * MiB)) $((MiB)) || fail "extent 11 does not read zeros"
expect_data $((10 * MiB)) $((512 * KiB))
expect_data $((12 * MiB + 512 * KiB)) $((512 * KiB))
expect_data $((13 * MiB)) $((3 * MiB))

# Discarding unmapped space is harmless.
must blkdiscard -o $((2 * MiB)) -l $((2 * MiB)) /dev/mapper/pool-1
(($(vol_mapped pool-1 sum) == 11)) || fail "discard of unmapped extents changed the mapping"

# Discarded extents can be written again (a fresh allocation).
pat_make new 4096
pat_write /dev/mapper/pool-1 $((3 * MiB + 8 * KiB)) new || fail "rewrite after discard"
(($(vol_mapped pool-1 sum) == 12)) || fail "rewrite did not map extent 3"
pat_check /dev/mapper/pool-1 $((3 * MiB + 8 * KiB)) new || fail "rewrite after discard lost"
zero_check /dev/mapper/pool-1 $((3 * MiB)) $((8 * KiB)) || fail "re-allocated extent 3 shows old data before the write"
zero_check /dev/mapper/pool-1 $((3 * MiB + 12 * KiB)) $((MiB - 12 * KiB)) || fail "re-allocated extent 3 shows old data after the write"

# The whole volume, discarded: everything reads zeros, nothing is used.
must blkdiscard /dev/mapper/pool-1
(($(vol_mapped pool-1 sum) == 0)) || fail "full discard left $(vol_mapped pool-1 sum) extents mapped"
zero_check /dev/mapper/pool-1 0 $((16 * MiB)) || fail "volume does not read zeros after a full discard"
must pool_msg pool commit
(($(pool_field pool used_sum) == 0)) || fail "pool still uses $(pool_field pool used_sum) extents"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
