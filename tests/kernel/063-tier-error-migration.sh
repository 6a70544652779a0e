#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# A tier device failing under a migration: the copy fails, the migration
# is counted failed and abandoned, the mapping stays on the source, the
# data reads back intact, the destination extent is released; once the
# device is back, the same migration succeeds.  Foreground reads of a
# failing tier surface as I/O errors, not as wrong data.
. "$LAB_PROJECT/tests/lib/lab.sh"

dmtier_load
meta=$(lab_tier_ssd tmeta 16)
raw0=$(lab_tier_nvme tnvme 64)
t1=$(lab_tier_hdd thdd 64)
s0=$(dev_sectors "$raw0")
dm_create fast "0 $s0 linear $raw0 0"
pool_table="0 2048 tier-pool $meta 256 2 /dev/mapper/fast $t1 2 max_migrations 2"
dm_create pool "$pool_table"
must dmsetup message pool 0 create_volume 1
must dmsetup message pool 0 set_volume 1 tiering_policy cost-optimized
dm_create vol "0 16384 tier /dev/mapper/pool 1"	# 8 MiB = 64 extents
dd if=/dev/urandom of=/tmp/a bs=1M count=8 status=none
dd if=/tmp/a of=/dev/mapper/vol bs=1M oflag=direct conv=fsync status=none
[ "$(dmsetup status vol | cut -d' ' -f4-)" = "0 64" ] || fail "data not on tier 1: $(dmsetup status vol)"

field() { dmsetup status pool | awk -v f="$1" '{ print $f }'; }	# status column
used0() { dmsetup status pool | awk '{ split($6, u, "/"); print u[1] }'; }

must dmsetup suspend fast
must dmsetup reload fast --table "0 $s0 error"
must dmsetup resume fast
failed0=$(field 14)
for e in 0 1 2 3; do must dmsetup message pool 0 migrate 1 $e 0; done
for i in $(seq 60); do
	[ "$(field 14)" -ge $((failed0 + 4)) ] && break
	sleep 0.5
done
[ "$(field 14)" -ge $((failed0 + 4)) ] || fail "failed migrations not counted: $(dmsetup status pool)"
[ "$(dmsetup status vol | cut -d' ' -f4-)" = "0 64" ] || fail "a failed migration moved data: $(dmsetup status vol)"
[ "$(used0)" = 0 ] || fail "destination extents not released: $(dmsetup status pool)"
cmp -n $((8 << 20)) /dev/mapper/vol /tmp/a || fail "data changed by failed migrations"

must dmsetup suspend fast
must dmsetup reload fast --table "0 $s0 linear $raw0 0"
must dmsetup resume fast
for e in 0 1 2 3; do must dmsetup message pool 0 migrate 1 $e 0; done
for i in $(seq 60); do
	[ "$(dmsetup status vol | cut -d' ' -f4-)" = "4 60" ] && break
	sleep 0.5
done
[ "$(dmsetup status vol | cut -d' ' -f4-)" = "4 60" ] || fail "migrations after recovery: $(dmsetup status vol)"
cmp -n $((8 << 20)) /dev/mapper/vol /tmp/a || fail "data changed by migrations"

# Reads of extents on a failing tier fail; they never return other data.
must dmsetup suspend fast
must dmsetup reload fast --table "0 $s0 error"
must dmsetup resume fast
dd if=/dev/mapper/vol of=/dev/null bs=128K count=1 iflag=direct status=none &&
	fail "read from a failing tier succeeded"
dd if=/dev/mapper/vol of=/tmp/b bs=128K skip=4 count=60 iflag=direct status=none ||
	fail "reads from the healthy tier failed"
cmp /tmp/b <(dd if=/tmp/a bs=128K skip=4 count=60 status=none) || fail "healthy tier data wrong"
must dmsetup suspend fast
must dmsetup reload fast --table "0 $s0 linear $raw0 0"
must dmsetup resume fast
must dmsetup remove vol
must dmsetup remove pool
must dmsetup remove fast
dmtier_unload
exit 0
