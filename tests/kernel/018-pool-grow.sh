#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 180
# Reloading the pool with a tier device appended grows it: the status shows
# the new tier and total, new extents can be allocated, the data survives,
# and the grown pool reactivates (and refuses the old, shorter line).
# Removing or reordering tiers by reload is refused and changes nothing.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
meta=$(lab_tier_ssd tmeta 4)
a=$(lab_tier_nvme ta 8)
b=$(lab_tier_ssd tb 8)
c=$(lab_tier_hdd tc 8)
MiB=$((1024 * 1024))

pool_create pool "$meta" 2048 "$a"
n0=$(pool_field pool total 0)
vol_create pool 1 $((24 * 2048))
pat_make d $((n0 * MiB))
pat_write /dev/mapper/pool-1 0 d || fail "write"
pat_make x 4096
pat_write /dev/mapper/pool-1 $((n0 * MiB)) x && fail "pool of $n0 extents took extent $n0"

# Grow by reload: tier b appended.
must dmsetup reload pool --table "$(pool_table "$meta" 2048 "$a" "$b")"
must dmsetup resume pool
(($(pool_field pool nr_tiers) == 2)) || fail "pool did not grow: $(dmsetup status pool)"
n1=$(pool_field pool total 1)
((n1 > 0 && $(pool_field pool total_sum) == n0 + n1)) || fail "total not grown: $(dmsetup status pool)"
info "grown: $(dmsetup status pool | cut -d' ' -f4-)"
dmsetup table pool | grep -q " 2048 2 $(dev_majmin "$a") $(dev_majmin "$b") " ||
	fail "table does not show the new tier: $(dmsetup table pool)"
pat_check /dev/mapper/pool-1 0 d || fail "data lost by growing"
pat_write /dev/mapper/pool-1 $((n0 * MiB)) x || fail "cannot allocate on the new tier"
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "$n0 1" ] || fail "volume mapping: $(dmsetup status pool-1)"
[ "$(pool_field pool space)" = "-" ] || fail "out_of_space still shown with room on the new tier: $(dmsetup status pool)"

# Removing or reordering tiers by reload is refused; the live table stays.
for t in "$(pool_table "$meta" 2048 "$a")" "$(pool_table "$meta" 2048 "$b" "$a")" \
	"$(pool_table "$meta" 2048 "$a" "$c")"; do
	if dmsetup reload pool --table "$t" 2>/dev/null; then
		dmsetup clear pool
		fail "reload accepted: $t"
	fi
done
dmsetup table pool | grep -q " 2048 2 $(dev_majmin "$a") $(dev_majmin "$b") " ||
	fail "a refused reload changed the table: $(dmsetup table pool)"

# Grow again, to three tiers.
must dmsetup reload pool --table "$(pool_table "$meta" 2048 "$a" "$b" "$c")"
must dmsetup resume pool
(($(pool_field pool nr_tiers) == 3)) || fail "pool did not grow to 3 tiers: $(dmsetup status pool)"

# Deactivate; the grown pool comes back with all three tiers, not fewer.
must dmsetup remove pool-1
must dmsetup remove pool
must_fail dmsetup create pool --table "$(pool_table "$meta" 2048 "$a" "$b")"
dmsetup info pool >/dev/null 2>&1 && fail "pool activated without its third tier"
pool_create pool "$meta" 2048 "$a" "$b" "$c"
(($(pool_field pool nr_tiers) == 3)) || fail "reactivated pool: $(dmsetup status pool)"
vol_activate pool 1 $((24 * 2048))
pat_check /dev/mapper/pool-1 0 d || fail "data lost after reactivation"
pat_check /dev/mapper/pool-1 $((n0 * MiB)) x || fail "block on the new tier lost after reactivation"
[ "$(dmsetup status pool-1 | cut -d' ' -f4-)" = "$n0 1 0" ] || fail "volume mapping after reactivation: $(dmsetup status pool-1)"

must dmsetup remove pool-1
must dmsetup remove pool
dmtier_unload
exit 0
