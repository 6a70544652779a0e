#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# One controller per pool: with controller A registered, a second REGISTER
# is refused with EBUSY (and the extended-ack message says why) and A keeps
# the reports; REGISTER with DM_TIER_F_TAKEOVER (B) succeeds, and from then
# on heat goes to B only, never to A; UNREGISTER from a socket that is not
# the controller is refused (EPERM).  When B exits the pool has no
# controller: the fallback policy resumes and a plain REGISTER succeeds.
. "$LAB_PROJECT/tests/lib/lab.sh"
. "$LAB_PROJECT/tests/lib/nl.sh"

nl_require
dmtier_load
POOL_FEATURES="2 policy_interval_ms 200" pool_create_std pool 256 8 16
vol_create pool 1 $((4 * 2048))
pat_make a $((1024 * 1024))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
[ "$(pool_field pool policy)" = fallback ] || fail "policy before any controller: $(dmsetup status pool)"

reads() { # reads SECONDS: random reads over the mapped MiB
	fio_jobs --name=r --filename=/dev/mapper/pool-1 --rw=randread --bs=4k --size=1M \
		--time_based --runtime="$1"
}

# Controller A.
nl_listen_start /tmp/a --pool pool
pid_a=$LISTEN_PID
[ "$(pool_field pool policy)" = controller ] || fail "policy with A: $(dmsetup status pool)"

# A second controller is refused.
out=$("$TIER_NLCTL" register pool 2>&1) && fail "second REGISTER succeeded: $out"
echo "$out" | grep -q '(EBUSY): pool has a controller already' || fail "second REGISTER: $out"
out=$("$TIER_NLCTL" unregister pool 2>&1) && fail "UNREGISTER from a stranger succeeded: $out"
echo "$out" | grep -q '(EPERM)' || fail "UNREGISTER from a stranger: $out"
reads 2
sleep 0.5
(($(grep -c '^heat ' /tmp/a) >= 1)) || fail "A got no heat: $(cat /tmp/a.err)"

# B takes over.
nl_listen_start /tmp/b --pool pool --takeover
pid_b=$LISTEN_PID
sleep 0.5 # reports already queued for A drain
a_before=$(grep -c '^heat ' /tmp/a)
reads 3
sleep 0.5
a_after=$(grep -c '^heat ' /tmp/a)
b_heat=$(grep -c '^heat ' /tmp/b)
info "after the takeover: A $a_before -> $a_after heat reports, B $b_heat"
((b_heat >= 2)) || fail "B got $b_heat heat reports: $(cat /tmp/b.err)"
((a_after == a_before)) || fail "A still receives heat after the takeover: $a_before -> $a_after"
[ "$(pool_field pool policy)" = controller ] || fail "policy with B: $(dmsetup status pool)"
out=$("$TIER_NLCTL" register pool 2>&1) && fail "REGISTER next to B succeeded: $out"
echo "$out" | grep -q EBUSY || fail "REGISTER next to B: $out"

# B goes away: no controller (A lost the pool for good), fallback resumes.
LISTEN_PID=$pid_b nl_listen_stop
wait_for 2 pool_field_is pool policy fallback || fail "policy after B left: $(dmsetup status pool)"
out=$("$TIER_NLCTL" register pool) || fail "REGISTER after B left: $out"
echo "$out" | grep -q '^pool=pool ' || fail "REGISTER reply: $out"
# (that controller closed its socket on exit: fallback again)
wait_for 2 pool_field_is pool policy fallback || fail "policy after tier-nlctl exited: $(dmsetup status pool)"
a_final=$(grep -c '^heat ' /tmp/a)
reads 2
sleep 0.5
(($(grep -c '^heat ' /tmp/a) == a_final)) || fail "A got heat again without registering"
LISTEN_PID=$pid_a nl_listen_stop

pat_check /dev/mapper/pool-1 0 a || fail "data changed"
must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
