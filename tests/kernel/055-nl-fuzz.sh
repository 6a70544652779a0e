#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 420
# A randomized sender (tier-nlfuzz) sends 100,000 malformed and random
# dm_tier netlink messages to a live pool with two volumes under fio:
# random attributes, wrong types and lengths, truncated nests, huge batches
# (past the 65,536 entries a message may carry too), unknown pools, volumes,
# extents and commands, mutated and truncated valid messages.  Every message
# is answered, each one built to be invalid is refused (batches of invalid
# entries accept none), the kernel log stays clean (no oops, no warning:
# the runner checks), and afterwards the pool still works: status, netlink
# queries, the data of both volumes.  The seed is printed (FUZZ_SEED=...
# reproduces a run; FUZZ_COUNT changes the count).
. "$LAB_PROJECT/tests/lib/lab.sh"
. "$LAB_PROJECT/tests/lib/nl.sh"

nl_require
dmtier_load
pool_create_std pool 256 8 8 16
K=$((128 * 1024))
vol_create pool 1 $((4 * 2048))
vol_create pool 2 $((4 * 2048))
pat_make a $((16 * K))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
pat_write /dev/mapper/pool-2 $((8 * K)) a || fail "write volume 2"

fio --name=r --filename=/dev/mapper/pool-1 --direct=1 --ioengine=libaio --rw=randread --bs=4k \
	--size=$((16 * K)) --iodepth=2 --time_based --runtime=600 >/tmp/fio.out 2>&1 &
fio_pid=$!
seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
count=${FUZZ_COUNT:-100000}
info "seed $seed, $count messages"
"$TIER_NLFUZZ" --pool pool --volume 1 --volume 2 --count "$count" --seed "$seed" 2>&1 |
	tee "${LAB_OUT:-/tmp}/logs/$LAB_TEST.fuzz" >/tmp/fuzz.out
rc=${PIPESTATUS[0]}
kill "$fio_pid" 2>/dev/null
wait "$fio_pid"
sed 's/^/    /' /tmp/fuzz.out | tail -n 40
((rc == 0)) || fail "tier-nlfuzz (seed $seed) failed: $(grep -m3 -E 'VIOLATION|no answer|FAILED' /tmp/fuzz.out)"
grep -q "^tier-nlfuzz: sent $count messages" /tmp/fuzz.out || fail "tier-nlfuzz did not send $count messages"

# The pool still works.
[ "$(pool_field pool mode)" = rw ] || fail "pool mode: $(dmsetup status pool)"
must "$TIER_NLCTL" get-pool pool >/dev/null
must "$TIER_NLCTL" get-volume pool 2 >/dev/null
out=$("$TIER_NLCTL" register pool --takeover) || fail "register after the fuzz: $out"
must pool_msg pool unpin 1 0 32
must pool_msg pool unpin 2 0 32
mig_idle pool 120
pat_check /dev/mapper/pool-1 0 a || fail "volume 1 data changed"
pat_check /dev/mapper/pool-2 $((8 * K)) a || fail "volume 2 data changed"
zero_check /dev/mapper/pool-2 0 $((8 * K)) || fail "volume 2's unwritten start is not zero"
for i in 0 1 2; do
	s=$(($(vol_mapped pool-1 "$i") + $(vol_mapped pool-2 "$i")))
	(($(pool_field pool used "$i") == s)) ||
		fail "tier $i: pool uses $(pool_field pool used "$i"), volumes map $s: $(dmsetup status pool)"
done
must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
