#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 420
# tierd end to end, on a pool over emulated NVMe / SSD / HDD with two
# volumes written on the HDD tier:
#  - tierd registers as the pool's controller (policy "controller") and,
#    while fio reads a different hot set on each volume, moves those hot
#    extents up to tier 0 (its migrations, not the fallback policy's);
#  - API error paths over the Unix socket (curl --unix-socket): unknown
#    pool, bad JSON, bad policy, existing id, a create the kernel refuses
#    halfway (7 labels, the kernel takes 6) leaves no volume behind, a good
#    create / delete, pin, metrics;
#  - kill -9 of tierd: the pool falls back to the in-kernel policy, and no
#    data is lost (patterns and a fio verify job across the kill);
#  - a restart re-registers and loads the saved state, and serves the API
#    over TCP too: without the bearer token or with a wrong one 401, with
#    it 200; a TCP listener without a token file is refused; SIGHUP with a bad
#    config keeps the running one, with a good one reloads; SIGTERM
#    unregisters.
. "$LAB_PROJECT/tests/lib/lab.sh"

TIERD=$LAB_BUILD/userspace/tierd/tierd
[ -x "$TIERD" ] || fail "not built: $TIERD (tools/lab build)"
command -v curl >/dev/null || skip "no curl in the host root"
dmtier_load

meta=$(lab_tier_ssd tmeta 8)
t0=$(lab_tier_nvme tnvme 8) # 64 extents of 128 KiB
t1=$(lab_tier_ssd tssd 16)
t2=$(lab_tier_hdd thdd 32)
POOL_FEATURES="2 policy_interval_ms 500" pool_create pool "$meta" 256 "$t0" "$t1" "$t2"
K=$((128 * 1024))
for v in 1 2; do
	vol_create pool $v $((8 * 2048)) # 8 MiB: 64 extents
	must pool_msg pool set_volume $v tiering_policy cost-optimized
done
pat_make a $((6 * 1024 * 1024))
pat_make b $((6 * 1024 * 1024))
pat_write /dev/mapper/pool-1 0 a || fail "write volume 1"
pat_write /dev/mapper/pool-2 0 b || fail "write volume 2"
[ "$(vol_mapped pool-1 2)" = 48 ] || fail "volume 1 not on the HDD tier: $(dmsetup status pool-1)"

# Per-test paths (the runner's work directory): no state from other tests.
state=$PWD/state
sock=$PWD/tierd.sock
cat >/tmp/tierd.conf <<'EOF'
[daemon]
save_interval_s = 1

[planner]
model = "markov"
budget_per_round = 32

[[tier]]
name = "nvme"
class = "nvme"
cost_per_gb_month = 0.20
latency_us = 100

[[tier]]
class = "ssd"
cost_per_gb_month = 0.08
latency_us = 200

[[tier]]
class = "hdd"
cost_per_gb_month = 0.02
latency_us = 5000
EOF

TIERD_PID=
tierd_start() { # [EXTRA ARGS...]
	"$TIERD" --config /tmp/tierd.conf --state-dir "$state" --socket "$sock" --round-ms 500 "$@" \
		>>/tmp/tierd.log 2>&1 &
	TIERD_PID=$!
	wait_for 30 pool_field_is pool policy controller ||
		fail "tierd did not become the controller: $(dmsetup status pool); $(cat /tmp/tierd.log)"
	wait_for 20 test -S "$sock" || fail "no API socket: $(cat /tmp/tierd.log)"
}
keep_log() { cp /tmp/tierd.log "${LAB_OUT:-/tmp}/logs/$LAB_TEST.tierd.log" 2>/dev/null; }
trap 'keep_log; [ -n "$TIERD_PID" ] && kill -9 "$TIERD_PID" 2>/dev/null' EXIT

# api METHOD PATH [BODY]: prints the HTTP status; the body goes to /tmp/api.body.
api() {
	curl -s -o /tmp/api.body -w '%{http_code}' --unix-socket "$sock" -X "$1" \
		${3:+-H 'Content-Type: application/json' --data "$3"} "http://tierd$2"
}
# api_expect CODE PATTERN METHOD PATH [BODY]
api_expect() {
	local want=$1 pat=$2 got
	shift 2
	got=$(api "$@")
	[ "$got" = "$want" ] || fail "$1 $2 ${3:-}: HTTP $got, expected $want: $(cat /tmp/api.body)"
	[ -z "$pat" ] || grep -q -- "$pat" /tmp/api.body || fail "$1 $2 ${3:-}: body lacks '$pat': $(cat /tmp/api.body)"
}

tierd_start
info "tierd is the controller"
done0=$(pool_field pool mig_done)

# Two workloads: random reads over extents 8..15 of volume 1 and 32..39 of
# volume 2, and a verifying random writer on the last 2 MiB of volume 2
# (which keeps running across the kill -9 below).
fio --name=w --filename=/dev/mapper/pool-2 --direct=1 --ioengine=libaio --rw=randwrite --bs=4k \
	--offset=$((6 * 1024 * 1024)) --size=$((2 * 1024 * 1024)) --io_size=$((16 * 1024 * 1024)) \
	--iodepth=2 --rate_iops=200 --verify=crc32c --verify_fatal=1 --do_verify=1 --verify_backlog=64 \
	--output-format=terse >/tmp/fio-w.out 2>&1 &
fio_w=$!
fio --direct=1 --ioengine=libaio --rw=randread --bs=4k --iodepth=4 --time_based --runtime=25 \
	--name=v1 --filename=/dev/mapper/pool-1 --offset=$((8 * K)) --size=$((8 * K)) \
	--name=v2 --filename=/dev/mapper/pool-2 --offset=$((32 * K)) --size=$((8 * K)) \
	--output-format=terse >/tmp/fio-r.out 2>&1 &
fio_r=$!

# While the reads go on, tierd moves the hot extents up (the volumes are
# cost-optimized: once the reads stop and the heat decays, tierd sends
# them down again).
hot_on_t0() { heat_dump pool "$1" | awk -v b="$2" '$1 >= b && $1 < b + 8 && $2 == 0' | wc -l; }
wait_for 25 eval '(($(hot_on_t0 1 8) >= 6 && $(hot_on_t0 2 32) >= 6))' ||
	fail "hot extents not on tier 0: vol1 $(hot_on_t0 1 8)/8, vol2 $(hot_on_t0 2 32)/8; $(dmsetup status pool)"
hot1=$(hot_on_t0 1 8) hot2=$(hot_on_t0 2 32)
cold=$(heat_dump pool 1 | awk '($1 < 8 || $1 >= 16) && $2 == 0' | wc -l)
((cold <= 2)) || fail "$cold cold extents of volume 1 on tier 0: $(heat_dump pool 1 | awk '$2 == 0')"
wait "$fio_r" || fail "fio reads: $(cat /tmp/fio-r.out)"
[ "$(pool_field pool policy)" = controller ] || fail "policy $(pool_field pool policy) while tierd runs"
api_expect 200 tierd_migrations_sent_total GET /metrics
sent=$(awk '/^tierd_(migrations|prefetches)_sent_total/ { n += $2 } END { print n + 0 }' /tmp/api.body)
((sent >= 12)) || fail "tierd sent $sent migrations and prefetches"
for m in tierd_tier_used_bytes tierd_fast_tier_hit_ratio tierd_prefetch_hits_total tierd_predictor_info \
	tierd_cpu_seconds_total tierd_resident_memory_bytes tierd_volume_iops tierd_transition_rate tierd_pool_busy; do
	grep -q "^$m" /tmp/api.body || fail "metrics lack $m"
done
info "metrics: $(grep -E '^tierd_(fast_tier_hit_ratio|transitions_total|cpu_seconds_total|resident_memory_bytes)' /tmp/api.body | tr '\n' ' ')"
info "hot extents on tier 0: vol1 $hot1/8, vol2 $hot2/8; tierd sent $sent migrations and prefetches, kernel did $(($(pool_field pool mig_done) - done0))"

# The API: reads and error paths.
api_expect 200 '"registered":true' GET /v1/pools
api_expect 200 '"id":2' GET /v1/pools/pool/volumes
api_expect 200 '"extents"' GET /v1/pools/pool/volumes/1/heat
api_expect 200 '"depth"' GET /v1/pools/pool/volumes/1/prefetch
api_expect 200 '"suggestions"' GET /v1/pools/pool/cost
api_expect 404 "no pool 'nope'" GET /v1/pools/nope/volumes
api_expect 404 "no volume 9" GET /v1/pools/pool/volumes/9
api_expect 400 "not valid JSON" POST /v1/pools/pool/volumes '{"id": 3,'
api_expect 400 "tiering_policy 'fastest'" POST /v1/pools/pool/volumes '{"id": 3, "size": "1M", "tiering_policy": "fastest"}'
api_expect 409 "exists already" POST /v1/pools/pool/volumes '{"id": 1, "size": "1M"}'
api_expect 400 "end (1) must be greater than begin (4)" POST /v1/pools/pool/volumes/1/pin '{"begin": 4, "end": 1, "tier": 0}'
# The kernel takes 6 labels: the 7th set_volume fails, the create is undone.
api_expect 400 "set_volume" POST /v1/pools/pool/volumes \
	'{"id": 3, "size": "1M", "labels": {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7"}}'
[ "$(pool_msg pool list_volumes | tr '\n' ' ' | sed 's/ *$//')" = "1 2" ] ||
	fail "a refused create left a volume: $(pool_msg pool list_volumes)"
[ ! -e /dev/mapper/pool-3 ] || fail "a refused create left /dev/mapper/pool-3"
api_expect 201 '"name":"pool-3"' POST /v1/pools/pool/volumes '{"id": 3, "size": "1M", "tiering_policy": "balanced"}'
dmsetup info pool-3 >/dev/null 2>&1 || fail "POST volumes made no device pool-3"
api_expect 204 '' DELETE /v1/pools/pool/volumes/3
dmsetup info pool-3 >/dev/null 2>&1 && fail "DELETE left device pool-3"
[ "$(pool_msg pool list_volumes | tr '\n' ' ' | sed 's/ *$//')" = "1 2" ] || fail "DELETE left volume 3"
api_expect 200 '"pinned":true' POST /v1/pools/pool/volumes/1/pin '{"begin": 0, "end": 2, "tier": 1}'
heat_dump pool 1 | awk '$1 < 2 && $5 !~ /p/ { bad = 1 } END { exit bad }' || fail "pin via the API: $(heat_dump pool 1 | head -n 2)"
api_expect 200 '"unpinned":true' POST /v1/pools/pool/volumes/1/unpin '{"begin": 0, "end": 2}'
info "API error paths answered as expected"

# Let a state save happen, then kill -9: the kernel falls back at once.
sleep 2
[ -s "$state/pool-pool.json" ] || fail "no saved state in $state: $(ls -l "$state")"
kill -9 "$TIERD_PID"
wait "$TIERD_PID" 2>/dev/null
TIERD_PID=
wait_for 5 pool_field_is pool policy fallback || fail "policy after kill -9: $(pool_field pool policy)"
info "kill -9: pool policy fallback"

# A TCP listener needs a token: refused without one, nothing registered.
ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null
"$TIERD" --config /tmp/tierd.conf --state-dir "$state" --socket "$PWD/notcp.sock" \
	--tcp 127.0.0.1:8470 >/tmp/tierd-notoken.log 2>&1 </dev/null &
notcp=$!
wait_for 10 eval '! kill -0 $notcp 2>/dev/null' || { kill -9 $notcp; fail "tierd --tcp without a token kept running"; }
wait $notcp && fail "tierd --tcp without a token exited 0"
grep -q token /tmp/tierd-notoken.log || fail "tierd --tcp without a token: no message naming the token: $(cat /tmp/tierd-notoken.log)"
[ "$(pool_field pool policy)" = fallback ] || fail "a refused tierd changed the policy: $(pool_field pool policy)"

# Restart: registers again, loads the saved state, and serves TCP with a token.
echo "s3cret-$$" >"$PWD/token"
chmod 600 "$PWD/token"
tierd_start --tcp 127.0.0.1:8470 --token-file "$PWD/token"
wait_for 10 grep -q 'loaded saved state: 2 volumes' /tmp/tierd.log ||
	fail "restart did not load the saved state: $(cat /tmp/tierd.log)"
info "restart: $(grep 'loaded saved state' /tmp/tierd.log | tail -n1 | sed 's/^tierd: //')"
tcp() { # TOKEN PATH: HTTP status of a GET over TCP
	curl -s -o /tmp/api.body -w '%{http_code}' ${1:+-H "Authorization: Bearer $1"} "http://127.0.0.1:8470$2"
}
wait_for 10 eval '[ "$(tcp "" /v1/pools)" = 401 ]' || fail "TCP without a token: HTTP $(tcp "" /v1/pools), expected 401"
[ "$(tcp wrong /v1/pools)" = 401 ] || fail "TCP with a wrong token: HTTP $(tcp wrong /v1/pools)"
[ "$(tcp "s3cret-$$" /v1/pools)" = 200 ] && grep -q '"registered":true' /tmp/api.body ||
	fail "TCP with the token: $(tcp "s3cret-$$" /v1/pools) $(cat /tmp/api.body)"
[ "$(tcp "s3cret-$$" /metrics)" = 200 ] && grep -q '^tierd_fast_tier_hit_ratio' /tmp/api.body ||
	fail "metrics over TCP: $(cat /tmp/api.body)"
info "TCP API: 401 without or with a wrong token, 200 with it"

# SIGHUP: a bad file is refused (the running configuration stays), a good
# one is applied.
cp /tmp/tierd.conf /tmp/tierd.conf.good
printf '[planner]\npromote_heat = 1\ndemote_heat = 2\n' >/tmp/tierd.conf
kill -HUP "$TIERD_PID"
wait_for 10 grep -q 'must be below planner.promote_heat.*keeping the running configuration' /tmp/tierd.log ||
	fail "a bad reload was not refused: $(tail -n 3 /tmp/tierd.log)"
kill -0 "$TIERD_PID" 2>/dev/null || fail "tierd died on a bad reload"
cp /tmp/tierd.conf.good /tmp/tierd.conf
kill -HUP "$TIERD_PID"
wait_for 10 grep -q 'reloaded /tmp/tierd.conf' /tmp/tierd.log || fail "no reload: $(tail -n 3 /tmp/tierd.log)"
[ "$(pool_field pool policy)" = controller ] || fail "policy after the reloads: $(pool_field pool policy)"
info "SIGHUP: bad config refused, good config reloaded"

# No data lost across the moves and the kill.
wait "$fio_w" || fail "fio verify writer: $(cat /tmp/fio-w.out)"
pat_check /dev/mapper/pool-1 0 a || fail "volume 1 data changed"
pat_check /dev/mapper/pool-2 0 b || fail "volume 2 data changed"

# SIGTERM: unregisters, the fallback policy takes over, exit 0.
kill -TERM "$TIERD_PID"
wait "$TIERD_PID" || fail "tierd exited $? on SIGTERM: $(tail -n 5 /tmp/tierd.log)"
TIERD_PID=
grep -q 'unregistered' /tmp/tierd.log || fail "no unregister on SIGTERM: $(tail -n 5 /tmp/tierd.log)"
[ "$(pool_field pool policy)" = fallback ] || fail "policy after SIGTERM: $(pool_field pool policy)"
mig_idle pool
must dmsetup remove pool-1
must dmsetup remove pool-2
must dmsetup remove pool
dmtier_unload
exit 0
