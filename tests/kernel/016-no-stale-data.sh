#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 120
# A first write smaller than an extent never exposes stale data of an
# earlier owner: fill the pool through volume A, delete A and commit, then
# write small blocks into a new volume B (whose extents must be A's old
# ones): everything around them reads zeros.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 9)
pool_create pool "$meta" 2048 "$t0"
n=$(pool_field pool total 0)
info "pool of $n extents"
((n >= 6)) || fail "pool too small: $(dmsetup status pool)"
MiB=$((1024 * 1024))

vol_create pool 1 $((n * 2048))
pat_make a $((n * MiB))
pat_write /dev/mapper/pool-1 0 a || fail "write volume A"
must dmsetup remove pool-1
must pool_msg pool delete_volume 1
must pool_msg pool commit
(($(pool_field pool used 0) == 0)) || fail "volume A's extents not freed: $(dmsetup status pool)"

vol_create pool 2 $((n * 2048))
# Per extent: a small first write at a different place (and size).
offs=(0 4096 $((MiB - 4096)) $((512 * 1024)) 512 $((MiB / 2 + 1536)) 65536 0 0 0 0 0 0 0 0 0)
lens=(4096 4096 4096 8192 512 1024 131072 4096 4096 4096 4096 4096 4096 4096 4096 4096)
for ((e = 0; e < n; e++)); do
	off=$((e * MiB + offs[e % 16])) len=${lens[e % 16]}
	head -c "$len" /dev/urandom >/tmp/pat.w$e
	dd if=/tmp/pat.w$e of=/dev/mapper/pool-2 bs="$len" oflag=direct,seek_bytes seek="$off" \
		status=none || fail "write $len bytes at $off"
done
(($(vol_mapped pool-2 0) == n)) || fail "volume B maps $(vol_mapped pool-2 0) extents, want $n"
for ((e = 0; e < n; e++)); do
	off=$((e * MiB + offs[e % 16])) len=${lens[e % 16]}
	pat_check /dev/mapper/pool-2 "$off" w$e || fail "extent $e: the written block is wrong"
	zero_check /dev/mapper/pool-2 $((e * MiB)) $((off - e * MiB)) ||
		fail "extent $e: stale data before the first write ($((off - e * MiB)) bytes)"
	zero_check /dev/mapper/pool-2 $((off + len)) $(((e + 1) * MiB - off - len)) ||
		fail "extent $e: stale data after the first write"
done
info "$n reused extents: only the written blocks hold data"

# The same holds after deactivation (the zeroing reached the tier).
must dmsetup remove pool-2
vol_activate pool 2 $((n * 2048))
for ((e = 0; e < n; e++)); do
	off=$((e * MiB + offs[e % 16])) len=${lens[e % 16]}
	zero_check /dev/mapper/pool-2 $((e * MiB)) $((off - e * MiB)) &&
		zero_check /dev/mapper/pool-2 $((off + len)) $(((e + 1) * MiB - off - len)) &&
		pat_check /dev/mapper/pool-2 "$off" w$e || fail "extent $e wrong after reactivation"
done

must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
