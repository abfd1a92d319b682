# Shared by scripts/demo and scripts/test: where things live, and how to
# start moto the way the tests do.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
# One build cache outside the clone, reused by every clone on this machine
# (a fresh machine simply starts it empty).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/terraform-provider-privatelink/target}"
provider_version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)

say() { printf '%s: [%ss] %s\n' "$(basename "$0")" "$SECONDS" "$*" >&2; }

free_port() {
  "$tools/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_moto PORT LOGFILE: sets moto_pid; waits until it answers, then turns
# off Docker for Lambda (no Docker engine here) before anything is created.
# MOTO_ACCOUNT_ID is moto's default account, named so that moto does not
# look the access key up in the IAM of every partition on each call
# (tests/common/moto.rs has the figures). MOTO_LAMBDA_CONCURRENCY_QUOTA has
# moto enforce AWS's default concurrency limit when a function reserves some.
start_moto() {
  local port=$1 log=$2
  MOTO_ACCOUNT_ID=123456789012 MOTO_LAMBDA_CONCURRENCY_QUOTA=1000 MOTO_IAM_LOAD_MANAGED_POLICIES=true AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    "$tools/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 300); do
    if "$tools/bin/python" - "$port" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=2)
PY
      "$tools/bin/python" - "$port" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/moto-api/config",
    data=json.dumps({"lambda": {"use_docker": False}}).encode(), method="POST",
    headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10)
PY
      return 0
    fi
    kill -0 "$moto_pid" 2>/dev/null || { say "moto_server exited:"; cat "$log" >&2; return 1; }
    sleep 0.2
  done
  say "moto_server did not answer on port $port"; return 1
}

# mirror_provider DIR: lays the built binary out as a filesystem mirror and
# writes DIR/terraformrc that installs our provider from it (offline).
mirror_provider() {
  local dir=$1
  local target="$dir/mirror/registry.terraform.io/privatelink/privatelink/$provider_version/linux_amd64"
  mkdir -p "$target"
  cp "$CARGO_TARGET_DIR/debug/terraform-provider-privatelink" "$target/terraform-provider-privatelink_v$provider_version"
  cat >"$dir/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$dir/mirror"
    include = ["registry.terraform.io/privatelink/*"]
  }
  direct {
    exclude = ["registry.terraform.io/privatelink/*"]
  }
}
RC
}
