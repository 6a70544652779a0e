#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
# tierctl pool destroy: refused (changing nothing) for a pool that is not
# active, while a volume is active, while volumes exist without --force,
# without --yes off a terminal, and on a wrong answer at the terminal's
# prompt; done, it deactivates the pool and wipes the metadata superblock
# and the tier labels, so the pool cannot be activated again, a new pool
# can be created on the same devices, and a tier device can join another
# pool ('tier add').
. "$LAB_PROJECT/tests/lib/lab.sh"
cp "$LAB_BUILD/tools/tierctl/tierctl" /tmp/tierctl || fail "tierctl not built"
tierctl=/tmp/tierctl

# zeros DEV BYTES: the first BYTES of DEV read as zeros.
zeros() { cmp -s -n "$2" "$1" /dev/zero; }

dmtier_load
meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 16)
t1=$(lab_tier_hdd thdd 32)

"$tierctl" pool destroy --help | grep -q "usage: tierctl pool destroy NAME \[--force\] \[--yes\]" ||
	fail "pool destroy --help: $("$tierctl" pool destroy --help)"
"$tierctl" --help | grep -q "pool destroy NAME" || fail "--help lacks pool destroy"
fails 2 "usage: tierctl pool destroy" "$tierctl" pool destroy
fails 1 "no pool nopool.*nothing changed" "$tierctl" pool destroy nopool --yes

must "$tierctl" pool create p1 --metadata "$meta" --extent-size 128K "$t0" "$t1"
must "$tierctl" volume create p1 1 4M --name v1
must "$tierctl" volume create p1 2 4M --name v2
pat_make a $((1 << 20))
pat_write /dev/mapper/v1 0 a || fail "write v1"
must "$tierctl" volume deactivate v2

# Refusals change nothing.
fails 1 "volume 1 of p1 is active as /dev/mapper/v1: 'tierctl volume deactivate v1' first; nothing changed" \
	"$tierctl" pool destroy p1 --force --yes
must "$tierctl" volume deactivate v1
fails 1 "pool p1 holds 2 volumes (1 2, 8 extents of data).*--force.*nothing changed" "$tierctl" pool destroy p1 --yes
fails 2 "pass --yes to confirm when not on a terminal; nothing changed" "$tierctl" pool destroy p1 --force
if command -v script >/dev/null; then
	# On a terminal it asks for the pool's name; another answer stops it.
	out=$(printf 'p2\n' | script -qec "$tierctl pool destroy p1 --force" /dev/null 2>&1) &&
		fail "a wrong answer destroyed the pool: $out"
	[[ $out == *"Type the pool's name to confirm"* && $out == *"not confirmed; nothing changed"* ]] ||
		fail "prompt: $out"
else
	info "no script(1): the terminal prompt is not checked"
fi
[ "$(pool_field p1 nr_volumes)" = 2 ] || fail "a refused destroy changed the pool: $(dmsetup status p1)"
zeros "$meta" 8192 && fail "a refused destroy wiped the superblock"
must "$tierctl" volume activate p1 1 4M --name v1
pat_check /dev/mapper/v1 0 a || fail "data of v1 changed by a refused destroy"
must "$tierctl" volume deactivate v1

# Destroy.
out=$("$tierctl" pool destroy p1 --force --yes 2>&1) || fail "destroy: $out"
info "$out"
[[ $out == *"pool p1 destroyed: its metadata superblock on $meta is wiped, with its 2 volumes; tier labels wiped on $t0, $t1"* ]] ||
	fail "destroy said: $out"
dmsetup info p1 >/dev/null 2>&1 && fail "p1 still active after destroy"
zeros "$meta" 8192 || fail "superblock not wiped"
zeros "$t0" 4096 || fail "label of tier 0 not wiped"
zeros "$t1" 4096 || fail "label of tier 1 not wiped"
fails 1 "is blank" "$tierctl" pool activate p1 --metadata "$meta" --extent-size 128K "$t0" "$t1"

# The devices make a new pool; a destroyed tier joins another pool.
must "$tierctl" pool create p2 --metadata "$meta" --extent-size 128K "$t0"
[ "$(pool_field p2 nr_volumes)" = 0 ] || fail "the new pool has volumes: $(dmsetup status p2)"
must "$tierctl" tier add p2 "$t1"
[ "$(pool_field p2 nr_tiers)" = 2 ] || fail "tier add of a destroyed pool's tier: $(dmsetup status p2)"
must "$tierctl" volume create p2 1 4M --name w1
pat_write /dev/mapper/w1 0 a || fail "write w1"
pat_check /dev/mapper/w1 0 a || fail "read w1"
must "$tierctl" volume deactivate w1
must "$tierctl" volume delete p2 1
# An empty pool needs no --force.
out=$("$tierctl" pool destroy p2 --yes 2>&1) || fail "destroy p2: $out"
[[ $out == *"pool p2 destroyed"* ]] || fail "destroy p2 said: $out"
zeros "$meta" 8192 || fail "superblock of p2 not wiped"

dmtier_unload
exit 0
