# SPDX-License-Identifier: GPL-2.0
# Helpers for the netlink kernel tests (050-059); source after lab.sh.
#   tier-listen  registers as controller and prints reports (tools/tier-listen)
#   tier-nlctl   one netlink command (tools/tier-nlctl)
#   tier-nlfuzz  malformed-message sender (tools/tier-nlfuzz)
TIER_LISTEN=$LAB_BUILD/tools/tier-listen/tier-listen
TIER_NLCTL=$LAB_BUILD/tools/tier-nlctl/tier-nlctl
TIER_NLFUZZ=$LAB_BUILD/tools/tier-nlfuzz/tier-nlfuzz

nl_require() {
	local b
	for b in "$TIER_LISTEN" "$TIER_NLCTL" "$TIER_NLFUZZ"; do
		[ -x "$b" ] || fail "not built: $b (tools/lab build)"
	done
}

# Listener outputs go to $LAB_OUT/logs/<test>.<file> when the test ends.
NL_OUTPUTS=()
nl_keep_outputs() {
	local f
	for f in "${NL_OUTPUTS[@]}"; do
		[ -e "$f" ] && cp "$f" "${LAB_OUT:-/tmp}/logs/$LAB_TEST.$(basename "$f")" 2>/dev/null
		[ -e "$f.err" ] && cp "$f.err" "${LAB_OUT:-/tmp}/logs/$LAB_TEST.$(basename "$f").err" 2>/dev/null
	done
}
trap nl_keep_outputs EXIT

# nl_listen_start OUT ARGS...: tier-listen ARGS in the background, stdout to
# OUT, stderr to OUT.err; waits until it registered (its first stderr
# line); sets LISTEN_PID.
nl_listen_start() {
	local out=$1 i
	shift
	NL_OUTPUTS+=("$out")
	"$TIER_LISTEN" "$@" >"$out" 2>"$out.err" &
	LISTEN_PID=$!
	for i in $(seq 100); do
		grep -q 'controller of' "$out.err" 2>/dev/null && return 0
		kill -0 "$LISTEN_PID" 2>/dev/null || fail "tier-listen $* exited: $(cat "$out.err")"
		sleep 0.1
	done
	fail "tier-listen $* did not register within 10 s: $(cat "$out.err")"
}

# nl_listen_stop: SIGTERM the listener, wait; fail unless it exited 0.
nl_listen_stop() {
	kill -TERM "$LISTEN_PID" 2>/dev/null
	wait "$LISTEN_PID" || fail "tier-listen exited with $?"
}

# kmsg_mark TEXT: a line in the kernel log (no fork: for timing).
kmsg_mark() { echo "$LAB_TEST: $*" >/dev/kmsg; }

# heat_entries FILE VOLUME: "extent tier reads writes flags" lines of every
# heat report for VOLUME in tier-listen --json output FILE.
heat_entries() {
	grep '"type":"heat"' "$1" | grep "\"volume\":$2," |
		grep -o '\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]' | tr -d '[]' | tr ',' ' '
}

# transition_entries FILE VOLUME: "time extent bytes flags tier" lines.
transition_entries() {
	grep '"type":"transitions"' "$1" | grep "\"volume\":$2," |
		grep -o '\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]' | tr -d '[]' | tr ',' ' '
}

# migration_entries FILE: "volume extent from to flags" lines.
migration_entries() {
	grep '"type":"migration_done"' "$1" |
		grep -o '\[[0-9]*,[0-9]*,[0-9]*,[0-9]*,[0-9]*\]' | tr -d '[]' | tr ',' ' '
}
