#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 420
# Kernel memory per extent, from the pool's `stats` message
# (mapping_bytes, mapped_extents), with 128 KiB extents on tiers that keep
# no data (null_blk without memory: only sizes matter here).
#
# Two pools of different sizes, each with one volume as long as the pool:
#   small: P1 ~ 1,000 physical extents, volume empty
#   big:   P2 ~ 20,800 physical extents, volume empty, then fully mapped
# Per-extent cost = the slope between the two empty pools (reverse map,
# allocation bitmaps, per-volume pointers: all scale with the pool) plus
# the growth of the big pool when its N = P2 extents get mapped (forward
# map).  The rest is a fixed overhead.
#
# Limits: 16 bytes per extent, the issue's budget (heat counters included,
# against ~25 B per block for dm-cache's smq), and a fixed overhead of at
# most 64 KiB per pool with one volume: the volume structure (64 hint
# ranges, counters: ~2 KiB), and one partly used 4 KiB page per table
# (forward map, reverse map) plus pointer arrays and bitmap rounding - a few
# pages, 64 KiB leaves generous room.  Also the all-in figure
# mapping_bytes / mapped_extents must stay within 16 B + 64 KiB / N.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

EXT=256 # sectors: 128 KiB
dmtier_load

# measure NAME TIER_MIB FILL: prints "physical_extents bytes_empty mapped bytes_full"
measure() {
	local name=$1 mib=$2 fill=$3 meta t p len e0 n=0 e1=0
	meta=$(lab_tier_ssd "${name}m" 8)
	t=$(LAB_TIER_MEMORY=0 lab_tier_nvme "${name}t" "$mib")
	pool_create "$name" "$meta" $EXT "$t"
	p=$(pool_field "$name" total 0)
	len=$((p * EXT))
	vol_create "$name" 1 $len
	e0=$(pool_stat "$name" mapping_bytes)
	if ((fill)); then
		# 1 MiB writes of zeros map every extent (no partial extents).
		dd if=/dev/zero of="/dev/mapper/$name-1" bs=1M count=$((p / 8)) \
			oflag=direct status=none || fail "filling the volume"
		dd if=/dev/zero of="/dev/mapper/$name-1" bs=128k seek=$((p / 8 * 8)) \
			count=$((p % 8)) oflag=direct status=none || fail "filling the volume's end"
		n=$(pool_stat "$name" mapped_extents)
		((n == p)) || fail "filled volume maps $n of $p extents"
		(($(vol_mapped "$name-1" sum) == n)) || fail "volume status disagrees: $(dmsetup status "$name-1")"
		e1=$(pool_stat "$name" mapping_bytes)
	fi
	echo "$p $e0 $n $e1"
	dmsetup remove "$name-1" && dmsetup remove "$name" || fail "removing $name"
	lab_tier_remove "${name}t"
	lab_tier_remove "${name}m"
}

measure small 130 0 >/tmp/small || exit 1
read -r p1 s1 _ _ < <(tail -n 1 /tmp/small)
t0=$(date +%s)
measure big 2600 1 >/tmp/big || exit 1
read -r p2 s2 n2 f2 < <(tail -n 1 /tmp/big)
info "small pool: $p1 extents, $s1 bytes; big pool: $p2 extents, $s2 bytes empty, $f2 bytes with $n2 mapped (filled in $(($(date +%s) - t0)) s)"
((n2 >= 20000)) || fail "only $n2 mapped extents, want 20,000+"

awk -v p1="$p1" -v s1="$s1" -v p2="$p2" -v s2="$s2" -v n2="$n2" -v f2="$f2" 'BEGIN {
	pool = (s2 - s1) / (p2 - p1)		# per physical extent
	fwd = (f2 - s2) / n2			# per mapped virtual extent
	per = pool + fwd
	fixed = s1 - pool * p1
	allin = f2 / n2
	printf "  kernel memory per extent: %.2f B (%.2f forward map + %.2f reverse map, bitmaps, pointers); fixed overhead %d B\n", per, fwd, pool, fixed
	printf "  all-in: %d bytes for %d mapped extents = %.2f B per mapped extent\n", f2, n2, allin
	bad = 0
	if (per > 16.0) { printf "  over budget: %.2f B per extent > 16 B\n", per; bad = 1 }
	if (fixed > 65536) { printf "  fixed overhead %d B > 64 KiB\n", fixed; bad = 1 }
	if (f2 > 16 * n2 + 65536) { printf "  all-in %d B > 16 B x %d + 64 KiB\n", f2, n2; bad = 1 }
	exit bad
}' || fail "kernel memory per extent over budget"
dmtier_unload
exit 0
