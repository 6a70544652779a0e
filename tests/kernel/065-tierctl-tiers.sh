#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# tierctl tier add / tier remove: a tier appended by reload takes new data
# at once; removal evacuates first (progress lines when not on a terminal,
# a progress bar on one), then reloads without the device, the tiers after
# it renumbered, the data intact.  Errors change nothing: missing device,
# a device already in the pool, unknown pool, index out of range, the
# other tiers too full to take the tier's extents; a pool activated with
# its tiers in the wrong order (or the removed one) is refused.
. "$LAB_PROJECT/tests/lib/lab.sh"
# A copy on tmpfs: executing from 9p is slow under TCG.
cp "$LAB_BUILD/tools/tierctl/tierctl" /tmp/tierctl || fail "tierctl not built"
tierctl=/tmp/tierctl
K=$((128 * 1024))

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 4) # 24 extents of 128 KiB (the first MiB is the label)
t1=$(lab_tier_ssd tssd 8)   # 56
t2=$(lab_tier_hdd thdd 8)   # 56

"$tierctl" tier add --help | grep -q "usage: tierctl tier add POOL DEV" || fail "tier add --help: $("$tierctl" tier add --help)"
"$tierctl" tier remove --help | grep -q "Evacuate tier INDEX" || fail "tier remove --help"

must "$tierctl" pool create p1 --metadata "$meta" --extent-size 128K --feature no_fallback "$t0" "$t1"
must "$tierctl" volume create p1 1 8M --name v1 --policy cost-optimized
pat_make a $((48 * K))
pat_write /dev/mapper/v1 0 a || fail "write v1"
(($(vol_mapped v1 1) == 48)) || fail "cost-optimized volume: $(dmsetup status v1)"

# --- tier add: errors first, each changing nothing.
before=$(dmsetup table p1)
fails 2 "usage: tierctl tier add" "$tierctl" tier add p1
fails 1 "cannot open /dev/nope" "$tierctl" tier add p1 /dev/nope
fails 1 "no pool nopool" "$tierctl" tier add nopool "$t2"
fails 1 "is tier 1 of pool p1 already" "$tierctl" tier add p1 "$t1"
fails 1 "is the metadata device of pool p1" "$tierctl" tier add p1 "$meta"
[ "$(dmsetup table p1)" = "$before" ] || fail "a refused tier add changed the table: $(dmsetup table p1)"

out=$("$tierctl" tier add p1 "$t2" 2>&1) || fail "tier add: $out"
[[ $out == *"tier 2 added to pool p1: $t2, 8 MiB, 56 extents"* ]] || fail "tier add said: $out"
(($(pool_field p1 nr_tiers) == 3 && $(pool_field p1 total 2) == 56)) || fail "pool did not grow: $(dmsetup status p1)"
# cost-optimized: new data goes to the new slowest tier.  64 extents: 56 on
# tier 2, then 8 fill tier 1.
must "$tierctl" volume create p1 2 8M --name v2 --policy cost-optimized
pat_make b $((64 * K))
pat_write /dev/mapper/v2 0 b || fail "write v2"
(($(vol_mapped v2 2) == 56 && $(vol_mapped v2 1) == 8)) || fail "new tier not used: $(dmsetup status v2)"
info "after tier add: $(dmsetup status p1 | cut -d' ' -f4-8)"

# --- tier remove: errors.
before=$(dmsetup status p1; dmsetup table p1)
fails 2 "usage: tierctl tier remove" "$tierctl" tier remove p1 x
fails 1 "no pool nopool" "$tierctl" tier remove nopool 0
fails 1 "has tiers 0 to 2: there is no tier 3" "$tierctl" tier remove p1 3
# Full: tier 1 holds 56 extents, tiers 0 and 2 have 24 free.
fails 1 "not enough room to evacuate tier 1 of p1: it holds 56 extents, the other tiers have 24 free" \
	"$tierctl" tier remove p1 1
[ "$(dmsetup status p1; dmsetup table p1)" = "$before" ] || fail "a refused tier remove changed the pool"
[ "$(pool_field p1 evacuation)" = - ] || fail "evacuation started: $(dmsetup status p1)"

# Make room: v2 goes.  Then remove tier 1 (48 extents of v1) slowly enough
# for progress to show.
must "$tierctl" volume deactivate v2
must "$tierctl" volume delete p1 2
must pool_msg p1 commit
must "$tierctl" pool set p1 migration_bandwidth_mbps 2
out=$("$tierctl" tier remove p1 1 2>&1) || fail "tier remove: $out"
info "tier remove said: $(printf '%s' "$out" | tr '\n' '|')"
printf '%s\n' "$out" | grep -q "^evacuating tier 1: [0-9]* of 48 extents left$" || fail "no progress lines: $out"
printf '%s\n' "$out" | grep -q "^evacuating tier 1: 0 of 48 extents left$" || fail "no final progress line: $out"
lines=$(printf '%s\n' "$out" | grep -c "^evacuating tier 1")
((lines >= 2)) || fail "only $lines progress lines: $out"
printf '%s\n' "$out" | grep -q "tier 1 removed from pool p1; $t1 (.*) is no longer in use; tier 2 is now tier 1" ||
	fail "tier remove result: $out"
(($(pool_field p1 nr_tiers) == 2)) || fail "pool still has $(pool_field p1 nr_tiers) tiers: $(dmsetup status p1)"
(($(vol_mapped v1 0) == 0 && $(vol_mapped v1 1) == 48)) || fail "v1 after removal: $(dmsetup status v1)"
pat_check /dev/mapper/v1 0 a || fail "v1 data changed by the evacuation"
dmsetup table p1 | grep -q "$(dev_majmin "$t1")" && fail "the removed device is still in the table: $(dmsetup table p1)"
must "$tierctl" pool set p1 migration_bandwidth_mbps 0

# On a terminal: a progress bar (script(1) gives the command a tty).
if command -v script >/dev/null; then
	out=$(script -qec "$tierctl tier remove p1 0" /dev/null 2>&1) || fail "tier remove on a tty: $out"
	[[ $out == *"evacuating tier 0 ["*"] 100% 0 extents left"* ]] || fail "no progress bar: $out"
	[[ $out == *"tier 0 removed from pool p1"* ]] || fail "tier remove on a tty: $out"
	(($(pool_field p1 nr_tiers) == 1)) || fail "tier 0 not removed: $(dmsetup status p1)"
	fails 1 "tier 0 is the only tier of p1" "$tierctl" tier remove p1 0
	must "$tierctl" tier add p1 "$t0" # back to two tiers: hdd, then nvme
	ordered=("$t2" "$t0")
else
	info "no script(1): progress bar not checked"
	ordered=("$t0" "$t2")
fi

# --- Reactivation: the old tier list and a wrong order are refused.
must "$tierctl" volume deactivate v1
must "$tierctl" pool deactivate p1
fails 1 "cannot create" "$tierctl" pool activate p1 --metadata "$meta" --extent-size 128K "$t0" "$t1" "$t2"
dmsetup info p1 >/dev/null 2>&1 && fail "a refused activation left p1"
fails 1 "cannot create" "$tierctl" pool activate p1 --metadata "$meta" --extent-size 128K "${ordered[1]}" "${ordered[0]}"
dmesg | tail -n 5 | grep -q "wrong order" || fail "kernel did not name the wrong order: $(dmesg | tail -n 3)"
must "$tierctl" pool activate p1 --metadata "$meta" --extent-size 128K "${ordered[@]}"
must "$tierctl" volume activate p1 1 8M --name v1
pat_check /dev/mapper/v1 0 a || fail "v1 data lost across reactivation"
must "$tierctl" volume deactivate v1
must "$tierctl" volume delete p1 1
must "$tierctl" pool deactivate p1
dmtier_unload
exit 0
