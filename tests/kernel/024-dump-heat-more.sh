#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# dump_heat on a volume whose list does not fit one message reply: the
# reply ends with "more <extent>", and going on from there lists every
# mapped extent exactly once (the list was cut short silently before).
. "$LAB_PROJECT/tests/lib/lab.sh"
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 260) # 2,072 extents of 128 KiB
pool_create pool "$meta" 256 "$t0"
n=1500
vol_create pool 1 $((n * 256))
# One 4 KiB write per 128 KiB extent maps all of them.
fio --name=map --filename=/dev/mapper/pool-1 --direct=1 --ioengine=libaio --rw=write:124k \
	--bs=4k --iodepth=8 --size=$((n * 128))k >/dev/null || fail "fio"
(($(vol_mapped pool-1 sum) == n)) || fail "volume maps $(vol_mapped pool-1 sum) extents, want $n"

first=$(pool_msg pool dump_heat 1) || fail "dump_heat 1: $(dmesg | tail -n 2)"
last=$(printf '%s\n' "$first" | tail -n 1)
lines=$(printf '%s\n' "$first" | grep -vc '^more ')
[[ $last =~ ^more\ ([0-9]+)$ ]] || fail "a $lines-line reply does not end with 'more <extent>': '$last'"
next=${BASH_REMATCH[1]}
((lines < n && next > 0 && next <= n)) || fail "reply of $lines lines, more $next (of $n)"
[ "$(printf '%s\n' "$first" | grep -v '^more ' | tail -n 1 | cut -d' ' -f1)" = $((next - 1)) ] ||
	fail "the reply's last extent is not $((next - 1))"
info "one reply: $lines extents, then 'more $next'"

# Following the "more" lines gives each mapped extent once, in order.
heat_dump pool 1 >/tmp/heat
[ "$(wc -l </tmp/heat)" = $n ] || fail "heat_dump gave $(wc -l </tmp/heat) lines, want $n"
awk -v n=$n '$1 != NR - 1 || NF != 5 { bad = 1 } END { exit bad }' /tmp/heat ||
	fail "heat_dump lines are not extents 0..$((n - 1)): $(head -n 3 /tmp/heat)"
# A short range fits: no "more" line.
[ "$(pool_msg pool dump_heat 1 100 10 | grep -c .)" = 10 ] || fail "dump_heat 1 100 10: $(pool_msg pool dump_heat 1 100 10)"
pool_msg pool dump_heat 1 100 10 | grep -q '^more' && fail "dump_heat 1 100 10 says more"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
