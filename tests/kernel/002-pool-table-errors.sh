#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 120
# Bad tier-pool table lines are refused with a clear error and leave
# nothing behind.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
t0=$(lab_tier_nvme tnvme 64)
t1=$(lab_tier_hdd thdd 64)
len=$(dev_sectors "$t0")

bad() { # PATTERN TABLE-ARGS
	local pat=$1
	shift
	must_fail_with "$pat" dmsetup create bad --table "0 $len tier-pool $*"
	dmsetup info bad >/dev/null 2>&1 && fail "device left behind after '$*'"
	return 0
}

bad "Not enough arguments" "$meta 2048 1"
bad "Invalid extent size" "$meta 20x48 1 $t0"
bad "power of 2" "$meta 3000 1 $t0"
bad "power of 2" "$meta 128 1 $t0"
bad "power of 2" "$meta 4194304 1 $t0"
bad "Invalid number of tiers" "$meta 2048 0 $t0"
bad "Invalid number of tiers" "$meta 2048 9 $t0 $t1"
bad "Invalid number of tiers" "$meta 2048 99999999999999999999 $t0"
bad "Not enough tier devices" "$meta 2048 3 $t0 $t1"
bad "Device given twice" "$meta 2048 2 $t0 $t0"
bad "Device given twice" "$meta 2048 1 $meta"
bad "Error opening device" "$meta 2048 1 /dev/nonexistent"
bad "Too many arguments" "$meta 2048 1 $t0 0 junk"
bad "Invalid number of feature arguments" "$meta 2048 1 $t0 3 a b"
bad "Invalid number of feature arguments" "$meta 2048 1 $t0 65 a"
bad "Unknown feature argument" "$meta 2048 1 $t0 1 foo"
bad "Invalid commit_interval_ms" "$meta 2048 1 $t0 2 commit_interval_ms 5"
# Numbers of 2^32 and more are refused, not wrapped into range.
bad "Invalid number of tiers" "$meta 2048 4294967297 $t0"
bad "Invalid number of feature arguments" "$meta 2048 1 $t0 4294967297 no_fallback"
bad "Invalid commit_interval_ms" "$meta 2048 1 $t0 2 commit_interval_ms 4294968296"
bad "yield_depth" "$meta 2048 1 $t0 2 yield_depth 4294967296"
bad "low_watermark" "$meta 2048 1 $t0 2 low_watermark 4294967306"

# A good line still works afterwards.
dm_create pool "0 $len tier-pool $meta 2048 2 $t0 $t1 0"
# A second pool on a live pool's metadata device or tiers is refused.
bad "in use by another pool" "$meta 2048 2 $t0 $t1 0"
spare=$(lab_tier_ssd tspare 16)
bad "in use by another pool" "$spare 2048 1 $t1"
# Reloading the pool itself with its own devices is fine.
must dmsetup suspend pool
must dmsetup reload pool --table "0 $len tier-pool $meta 2048 2 $t0 $t1 0"
must dmsetup resume pool
must dmsetup remove pool
dmtier_unload
exit 0
