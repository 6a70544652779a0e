#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 400
# Where first writes allocate: performance-optimized on tier 0,
# cost-optimized on the slowest tier, balanced on the middle one, striped
# spread over the tiers, hints override the policy, and a full tier falls
# back to the next slower tier with room (then to faster ones).  Checked
# through the volumes' per-tier mapped counts.
. "$LAB_PROJECT/tests/lib/lab.sh"
# Issue-3 behaviour only: no background migration moving extents around.
POOL_FEATURES="1 no_fallback"

dmtier_load
pool_create_std pool 2048 16 24 24
tot0=$(pool_field pool total 0)
tot1=$(pool_field pool total 1)
tot2=$(pool_field pool total 2)
info "tiers: $tot0 / $tot1 / $tot2 extents"
((tot0 >= 14 && tot0 <= 16 && tot1 >= 22 && tot2 >= 22)) || fail "unexpected tier sizes: $(dmsetup status pool)"

# write_extents VOL FIRST COUNT: full 1 MiB writes to extents FIRST...
write_extents() {
	dd if=/dev/urandom of="/dev/mapper/$1" bs=1M seek="$2" count="$3" \
		oflag=direct status=none || fail "writing extents $2+$3 of $1"
}
# expect VOL "M0 M1 M2"
expect() {
	local got
	got=$(dmsetup status "$1" | cut -d' ' -f4-)
	[ "$got" = "$2" ] || fail "$1 ($3): mapped per tier '$got', want '$2'"
	info "$1 ($3): $got"
}
newvol() { # ID POLICY
	vol_create pool "$1" $((32 * 2048))
	must pool_msg pool set_volume "$1" tiering_policy "$2"
}

newvol 1 performance-optimized
write_extents pool-1 0 3
expect pool-1 "3 0 0" performance-optimized

newvol 2 cost-optimized
write_extents pool-2 0 3
expect pool-2 "0 0 3" cost-optimized

newvol 3 balanced
write_extents pool-3 0 3
expect pool-3 "0 3 0" balanced

# Default policy is balanced.
vol_create pool 4 $((32 * 2048))
write_extents pool-4 0 1
expect pool-4 "0 1 0" "default policy"

# Striped: consecutive new extents go round-robin over the tiers.
newvol 5 striped
write_extents pool-5 0 6
got=$(dmsetup status pool-5 | cut -d' ' -f4-)
info "pool-5 (striped, 6 extents): $got"
ntiers=$(echo "$got" | tr ' ' '\n' | grep -vc '^0$')
((ntiers >= 2)) || fail "striped volume did not spread: $got"
# Not every write: an unwritten extent in between stays unmapped.
write_extents pool-5 10 1
(($(vol_mapped pool-5 sum) == 7)) || fail "striped volume maps $(vol_mapped pool-5 sum), want 7"

# Hints override the policy (cost-optimized here), per extent range.
newvol 6 cost-optimized
must pool_msg pool set_hint 6 0 2 0
must pool_msg pool set_hint 6 2 4 1
write_extents pool-6 0 5
expect pool-6 "2 2 1" "hints 0-1:tier0 2-3:tier1, 4:policy"
# Clearing the hint gives the policy back.
must pool_msg pool set_hint 6 0 32 -
write_extents pool-6 8 1
expect pool-6 "2 2 2" "hints cleared"
# Writes to already mapped extents do not move them.
must pool_msg pool set_hint 6 0 32 0
write_extents pool-6 4 1
expect pool-6 "2 2 2" "rewrite under a new hint"

# Pool used counts are the sums of the volumes'.
for i in 0 1 2; do
	s=0
	for v in 1 2 3 4 5 6; do s=$((s + $(vol_mapped pool-$v $i))); done
	(($(pool_field pool used $i) == s)) || fail "tier $i: pool used $(pool_field pool used $i), volumes $s"
done

# Tier 0 full: performance-optimized falls back to the next slower tier.
used0=$(pool_field pool used 0)
used1=$(pool_field pool used 1)
used2=$(pool_field pool used 2)
room0=$((tot0 - used0))
newvol 7 performance-optimized
write_extents pool-7 0 $((room0 + 3))
expect pool-7 "$room0 3 0" "performance-optimized, tier 0 full"
[ "$(pool_field pool used 0)" = "$tot0" ] || fail "tier 0 not full: $(dmsetup status pool)"

# Hint to the full tier 0: falls back too.
newvol 8 cost-optimized
must pool_msg pool set_hint 8 0 2 0
write_extents pool-8 0 2
expect pool-8 "0 2 0" "hint to full tier 0"

# Tier 1 (the middle) full: balanced falls back to the slower tier 2.
room1=$((tot1 - $(pool_field pool used 1)))
write_extents pool-3 3 $((room1 + 2))
expect pool-3 "0 $((3 + room1)) 2" "balanced, tier 1 full"
[ "$(pool_field pool used 1)" = "$tot1" ] || fail "tier 1 not full: $(dmsetup status pool)"

# Free tier 0 and some of tier 1 again (delete volume 7, commit).
must dmsetup remove pool-7
must pool_msg pool delete_volume 7
must pool_msg pool commit
(($(pool_field pool used 0) == used0 && $(pool_field pool used 1) == tot1 - 3)) ||
	fail "deleting volume 7 did not free its extents: $(dmsetup status pool)"

# Tier 2 (the slowest) full: cost-optimized falls back to the faster tiers,
# the nearest first (tier 1, which has 3 extents free, before tier 0).
room2=$((tot2 - $(pool_field pool used 2)))
newvol 9 cost-optimized
write_extents pool-9 0 $((room2 + 2))
expect pool-9 "0 2 $room2" "cost-optimized, tier 2 full"

for v in 1 2 3 4 5 6 8 9; do must dmsetup remove pool-$v; done
must dmsetup remove pool
dmtier_unload
exit 0
