#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 400
# Pool messages for volumes: create_volume, delete_volume, set_volume,
# get_volume, list_volumes, set_hint.  Good ones take effect; every bad one
# (unknown volume, bad key, bad value, duplicate id, delete while active,
# wrong word count) is refused and changes nothing.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 16)
t1=$(lab_tier_hdd thdd 16)
pool_create pool "$meta" 2048 "$t0" "$t1"

ok() { pool_msg pool "$@" >/dev/null 2>&1 || fail "message '$*' refused: $(dmesg | tail -n 2)"; }

# The pool's whole observable state: volume list, every volume's settings,
# the status line.
snapshot() {
	local id
	pool_msg pool list_volumes | sort -n | while read -r id; do
		[ -n "$id" ] && echo "$id: $(pool_msg pool get_volume "$id")"
	done
	dmsetup status pool
}

# bad WORD...: the message must be refused.  Groups of bad messages sit
# between "mark" (snapshot the state) and "unchanged" (compare).
bad() {
	if pool_msg pool "$@" >/dev/null 2>&1; then
		fail "message '$*' accepted but must be refused"
	fi
}
mark() { before=$(snapshot); group=$1; }
unchanged() {
	local after
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "refused messages ($group) changed the pool:
before: $before
after:  $after"
}

# --- create / list / get
ok create_volume 0
ok create_volume 5
ok create_volume 8388606
[ "$(pool_msg pool list_volumes | sort -n | tr '\n' ' ')" = "0 5 8388606 " ] ||
	fail "list_volumes: $(pool_msg pool list_volumes)"
(($(pool_field pool nr_volumes) == 3)) || fail "status shows $(pool_field pool nr_volumes) volumes, want 3"
def=$(pool_msg pool get_volume 5)
[ "$def" = "tiering_enabled=1 tiering_policy=balanced prediction_model=auto" ] ||
	fail "default settings: '$def'"

mark "create/get/list"
bad create_volume 5
bad create_volume 8388607
bad create_volume -1
bad create_volume abc
bad create_volume 5x
bad create_volume
bad create_volume 6 7
bad get_volume 6
bad get_volume
bad list_volumes extra
bad no_such_message 1
bad ""
unchanged

# --- set_volume: known keys
ok set_volume 5 tiering_enabled 0
ok set_volume 5 tiering_policy performance-optimized
ok set_volume 5 prediction_model lstm_v2.1/a-b
pool_msg pool get_volume 5 | grep -q 'tiering_enabled=0 tiering_policy=performance-optimized prediction_model=lstm_v2.1/a-b' ||
	fail "settings not applied: $(pool_msg pool get_volume 5)"
for p in cost-optimized striped balanced performance-optimized; do
	ok set_volume 0 tiering_policy $p
	pool_msg pool get_volume 0 | grep -q "tiering_policy=$p\b" || fail "policy $p: $(pool_msg pool get_volume 0)"
done
m31=$(printf 'm%.0s' $(seq 31))
ok set_volume 0 prediction_model "$m31"
pool_msg pool get_volume 0 | grep -q "prediction_model=$m31\b" || fail "31-char model not kept"

mark "set_volume settings"
bad set_volume 6 tiering_enabled 1
bad set_volume 5 tiering_enabled 2
bad set_volume 5 tiering_enabled yes
bad set_volume 5 tiering_enabled ""
bad set_volume 5 tiering_policy fastest
bad set_volume 5 tiering_policy ""
bad set_volume 5 prediction_model "m${m31}"
bad set_volume 5 prediction_model 'a*b'
bad set_volume 5 prediction_model 'a;b'
bad set_volume 5 prediction_model ""
bad set_volume 5 tiering_policy
bad set_volume 5 tiering_policy balanced extra
unchanged

# --- labels
ok set_volume 5 os linux
ok set_volume 5 app postgres-15.2
pool_msg pool get_volume 5 | grep -q ' os=linux app=postgres-15.2$\| app=postgres-15.2 os=linux$' ||
	fail "labels: $(pool_msg pool get_volume 5)"
ok set_volume 5 os windows
pool_msg pool get_volume 5 | grep -q ' os=windows\b' || fail "label update: $(pool_msg pool get_volume 5)"
pool_msg pool get_volume 5 | grep -q 'os=linux' && fail "old label value kept: $(pool_msg pool get_volume 5)"
k15=abcdefghij_1234
v47=$(printf 'v%.0s' $(seq 47))
ok set_volume 5 "$k15" "$v47"
mark "labels"
bad set_volume 5 "${k15}5" x          # key of 16 characters
bad set_volume 5 OS linux             # upper case key
bad set_volume 5 'o-s' linux          # '-' not allowed in keys
bad set_volume 5 'o.s' linux
bad set_volume 5 os "${v47}v"         # value of 48 characters
bad set_volume 5 "" linux
unchanged
# Six labels at most: os, app, k15 + three more; the seventh is refused.
ok set_volume 5 l4 a
ok set_volume 5 l5 b
ok set_volume 5 l6 c
mark "seventh label"
bad set_volume 5 l7 d
unchanged
# '-' deletes a label, making room again.
ok set_volume 5 l6 -
pool_msg pool get_volume 5 | grep -q '\bl6=' && fail "label l6 not deleted: $(pool_msg pool get_volume 5)"
ok set_volume 5 l7 d
pool_msg pool get_volume 5 | grep -q '\bl7=d\b' || fail "label l7 missing: $(pool_msg pool get_volume 5)"
# Settings are not labels and cannot be deleted with '-'.
mark "tiering_policy -"
bad set_volume 5 tiering_policy -
unchanged

# --- set_hint (state in memory only: effects are tested elsewhere)
ok set_hint 5 0 10 1
ok set_hint 5 10 20 0
ok set_hint 5 0 20 -
ok set_hint 5 100 200 -
mark "set_hint"
bad set_hint 6 0 10 0
bad set_hint 5 0 10 2                 # the pool has tiers 0 and 1
unchanged
bad set_hint 5 10 10 0                # empty range
bad set_hint 5 20 10 0
bad set_hint 5 a 10 0
bad set_hint 5 0 b 0
bad set_hint 5 0 10 x
bad set_hint 5 -1 10 0
bad set_hint 5 0 10
# Up to 64 ranges per volume.
for i in $(seq 0 63); do
	ok set_hint 0 $((i * 2)) $((i * 2 + 1)) 1
done
bad set_hint 0 1000 1001 0
ok set_hint 0 0 1000 -
ok set_hint 0 1000 1001 0

# --- activation and delete
vol_activate pool 5 $((8 * 2048))
must_fail dmsetup create again --table "0 2048 tier /dev/mapper/pool 5"
dmsetup info again >/dev/null 2>&1 && fail "volume 5 active twice"
must_fail dmsetup create ghost --table "0 2048 tier /dev/mapper/pool 6"
dmsetup info ghost >/dev/null 2>&1 && fail "an unknown volume was activated"
dd if=/dev/urandom of=/dev/mapper/pool-5 bs=1M count=2 oflag=direct status=none || fail "write to volume 5"
used=$(pool_field pool used_sum)
((used == 2)) || fail "2 MiB written, pool uses $used extents"
mark "delete_volume"
bad delete_volume 5                   # active
bad delete_volume 6                   # unknown
bad delete_volume x
bad delete_volume
unchanged
must dmsetup remove pool-5
ok delete_volume 5
mark "deleted volume"
bad get_volume 5
bad set_volume 5 os linux
bad delete_volume 5
unchanged
[ "$(pool_msg pool list_volumes | sort -n | tr '\n' ' ')" = "0 8388606 " ] ||
	fail "list_volumes after delete: $(pool_msg pool list_volumes)"
(($(pool_field pool nr_volumes) == 2)) || fail "status shows $(pool_field pool nr_volumes) volumes, want 2"
ok commit
(($(pool_field pool used_sum) == 0)) || fail "deleted volume's extents not freed: $(dmsetup status pool)"
# The id is free again, with default settings.
ok create_volume 5
[ "$(pool_msg pool get_volume 5)" = "$def" ] || fail "recreated volume 5 kept old settings: $(pool_msg pool get_volume 5)"

must dmsetup remove pool
dmtier_unload
exit 0
