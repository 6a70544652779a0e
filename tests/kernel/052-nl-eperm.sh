#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# Every dm_tier netlink command needs CAP_SYS_ADMIN: a root process whose
# capabilities were dropped (setpriv --inh-caps=-all --bounding-set=-all)
# gets EPERM with the extended-ack message "CAP_SYS_ADMIN required" for each
# command (the dump included), and nothing changes: not the pool status,
# not the controller (a registered one keeps receiving), not the settings.
# The same commands with the capability succeed.
. "$LAB_PROJECT/tests/lib/lab.sh"
. "$LAB_PROJECT/tests/lib/nl.sh"

nl_require
command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
dmtier_load
pool_create_std pool 256 8 16
vol_create pool 1 $((4 * 2048))
pat_make a $((1024 * 1024))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"

nocap() { setpriv --inh-caps=-all --bounding-set=-all -- "$@"; }
eff=$(nocap grep '^CapEff:' /proc/self/status | awk '{ print $2 }')
[ "$eff" = 0000000000000000 ] || fail "setpriv left capabilities: CapEff $eff"
sysadmin_cap=$((1 << 21))
(((0x$(grep '^CapEff:' /proc/self/status | awk '{ print $2 }') & sysadmin_cap) != 0)) ||
	skip "the test itself runs without CAP_SYS_ADMIN"

# A registered controller, which must stay in charge.
nl_listen_start /tmp/reports --pool pool --only heat
before=$(dmsetup status pool; dmsetup table pool; pool_msg pool get_volume 1)

# eperm [--no-msg] ARGS...: tier-nlctl ARGS fails with EPERM and the
# extended-ack message (--no-msg: a dump's .start cannot set one on 6.1).
eperm() {
	local out want='(EPERM): CAP_SYS_ADMIN required'
	[ "$1" = --no-msg ] && { want='(EPERM)'; shift; }
	if out=$(nocap "$TIER_NLCTL" "$@" </dev/null 2>&1); then
		fail "without CAP_SYS_ADMIN '$*' succeeded: $out"
	fi
	echo "$out" | grep -qF "$want" || fail "without CAP_SYS_ADMIN '$*' failed otherwise: $out"
	kill -0 "$LISTEN_PID" 2>/dev/null || fail "the controller died after '$*': $(cat /tmp/reports.err)"
}
eperm get-pool pool
eperm get-volume pool 1
eperm --no-msg dump-heat pool 1
eperm register pool
eperm register pool --takeover
eperm unregister pool
eperm set pool max_migrations=8
eperm set pool fallback=0
for c in migrate prefetch pin unpin set-hint; do
	eperm "$c" pool --gen 1:0:4:0
done
# Unknown pools too: the capability is checked first.
eperm get-pool no-such-pool
info "15 commands refused with EPERM"

after=$(dmsetup status pool; dmsetup table pool; pool_msg pool get_volume 1)
[ "$before" = "$after" ] || fail "refused commands changed the pool: $(diff <(echo "$before") <(echo "$after"))"
# The controller is still the listener: a second registration is refused.
out=$("$TIER_NLCTL" register pool 2>&1) && fail "the controller was replaced: $out"
echo "$out" | grep -q EBUSY || fail "register next to the controller: $out"
fio_jobs --name=r --filename=/dev/mapper/pool-1 --rw=randread --bs=4k --size=1M --time_based --runtime=2
sleep 1.5
nl_listen_stop
(($(grep -c '^heat ' /tmp/reports) >= 1)) || fail "the controller stopped receiving heat: $(cat /tmp/reports.err)"

# With the capability the same commands work.
must "$TIER_NLCTL" get-pool pool >/dev/null
must "$TIER_NLCTL" get-volume pool 1 >/dev/null
must "$TIER_NLCTL" dump-heat pool 1 >/dev/null
must "$TIER_NLCTL" set pool max_migrations=8
out=$("$TIER_NLCTL" migrate pool --gen 1:0:4:0) || fail "migrate: $out"
[ "$out" = "accepted=4 rejected=0 first_error=0 first_error_index=0" ] || fail "migrate with the capability: $out"
mig_idle pool
pat_check /dev/mapper/pool-1 0 a || fail "data changed"
must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
