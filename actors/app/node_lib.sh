# Shell helpers for scripts that run a node of their own on loopback (sourced,
# not executed): start it on a free port, GET from it, stop it with SIGTERM.
# Sets/uses the globals node_pid and port.

node_pid="" port=""

# node_start BIN DIR ARGS...: runs `BIN ARGS...` with stdout in DIR/node.out and
# stderr in DIR/node.log, and waits up to 30 s for its "listening on" line.
# Returns 1 (with the node's output on stderr) if it does not come up.
node_start() {
  local bin=$1 dir=$2
  shift 2
  "$bin" "$@" >"$dir/node.out" 2>"$dir/node.log" &
  node_pid=$!
  port=""
  local _
  for _ in $(seq 1 300); do  # poll the start-up line, 0.1 s apart
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$dir/node.out" 2>/dev/null)
    [ -n "$port" ] && return 0
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the node did not start; its output:" >&2
  cat "$dir/node.out" "$dir/node.log" >&2
  return 1
}

# node_stop: SIGTERM, then wait for the drain; returns the node's exit status.
node_stop() {
  [ -n "$node_pid" ] || return 0
  local pid=$node_pid rc=0
  node_pid=""
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  return "$rc"
}

# http_get PATH: GET from the node over bash's /dev/tcp (no curl needed); body on stdout.
http_get() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
    sed '1,/^\r$/d' <&3
  ) 2>/dev/null
}
