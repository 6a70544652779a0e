#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 240
# A randomized sender (tier-dmfuzz) sends random pool messages (every
# documented verb with missing, extra, huge, negative, non-numeric and
# overflowing arguments, unknown verbs, long words, odd bytes; valid reads
# and settings set to what they are; messages to the volumes) and tries
# random table lines for a new device (the pool's line and a volume line
# with wrong counts, bad devices and extent sizes, overflowing numbers,
# trailing junk, unknown features; the live pool's devices in the wrong
# order or for a second pool) on a pool with two active volumes holding
# data and one inactive volume.  Every message is answered, each one built
# to be invalid is refused and changes nothing the pool shows, no invalid
# line makes a device, the kernel log stays clean (the runner checks), and
# afterwards the data, the inactive volume, the pool's rw mode and a
# deactivate/reactivate hold.  The seed is printed (FUZZ_SEED=... repeats
# a run; FUZZ_MESSAGES and FUZZ_TABLES change the counts).
. "$LAB_PROJECT/tests/lib/lab.sh"
TIER_DMFUZZ=$LAB_BUILD/tools/tier-dmfuzz/tier-dmfuzz
[ -x "$TIER_DMFUZZ" ] || fail "not built: $TIER_DMFUZZ (tools/lab build)"
# No background moves: the pool's status must hold still while fuzzed.
POOL_FEATURES="1 no_fallback"

dmtier_load
pool_create_std pool 256 8 8
K=$((128 * 1024))
vol_create pool 1 $((4 * 2048))
vol_create pool 2 $((4 * 2048))
must pool_msg pool create_volume 3
must pool_msg pool set_volume 3 os linux
pat_make a $((16 * K))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
pat_write /dev/mapper/pool-2 $((8 * K)) a || fail "write volume 2"
must pool_msg pool commit
vol3=$(pool_msg pool get_volume 3)

seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
msgs=${FUZZ_MESSAGES:-2000}
tables=${FUZZ_TABLES:-200}
info "seed $seed, $msgs messages, $tables table lines"
"$TIER_DMFUZZ" --pool pool --volume pool-1 --volume pool-2 --messages "$msgs" --tables "$tables" \
	--seed "$seed" 2>&1 | tee "${LAB_OUT:-/tmp}/logs/$LAB_TEST.fuzz" >/tmp/fuzz.out
rc=${PIPESTATUS[0]}
sed 's/^/    /' /tmp/fuzz.out | tail -n 60
((rc == 0)) || fail "tier-dmfuzz (seed $seed) failed: $(grep -m3 -E 'VIOLATION|no answer|FAILED' /tmp/fuzz.out)"
grep -q "^tier-dmfuzz: sent $msgs messages and $tables table lines" /tmp/fuzz.out ||
	fail "tier-dmfuzz did not send $msgs messages and $tables table lines"
left=$(dmsetup ls | awk '$1 !~ /^pool(-[12])?$/ { print $1 }')
[ -z "$left" ] || fail "devices left behind: $left"

# The pool still works and holds its data.
[ "$(pool_field pool mode)" = rw ] || fail "pool mode: $(dmsetup status pool)"
[ "$(pool_field pool needs_check)" = - ] || fail "pool needs a check: $(dmsetup status pool)"
[ "$(pool_msg pool list_volumes | sort -n | tr '\n' ' ')" = "1 2 3 " ] ||
	fail "volumes after the fuzz: $(pool_msg pool list_volumes | tr '\n' ' ')"
[ "$(pool_msg pool get_volume 3)" = "$vol3" ] || fail "inactive volume 3 changed: $(pool_msg pool get_volume 3)"
check_data() {
	pat_check /dev/mapper/pool-1 0 a || fail "$1: volume 1 data changed"
	pat_check /dev/mapper/pool-2 $((8 * K)) a || fail "$1: volume 2 data changed"
	zero_check /dev/mapper/pool-2 0 $((8 * K)) || fail "$1: volume 2's unwritten start is not zero"
	local i s
	for i in 0 1; do
		s=$(($(vol_mapped pool-1 "$i") + $(vol_mapped pool-2 "$i")))
		(($(pool_field pool used "$i") == s)) ||
			fail "$1: tier $i: pool uses $(pool_field pool used "$i"), volumes map $s: $(dmsetup status pool)"
	done
}
check_data "after the fuzz"

# Deactivate and reactivate: the data comes back from the metadata.
table=$(dmsetup table pool)
must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dm_create pool "$table" || fail "cannot reactivate the pool ($table): $(dmesg | tail -n 3)"
vol_activate pool 1 $((4 * 2048))
vol_activate pool 2 $((4 * 2048))
[ "$(pool_field pool mode)" = rw ] || fail "pool mode after reactivation: $(dmsetup status pool)"
[ "$(pool_msg pool get_volume 3)" = "$vol3" ] || fail "volume 3 after reactivation: $(pool_msg pool get_volume 3)"
check_data "after reactivation"

must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
