#!/usr/bin/env bash
# The SDK's types (sdk/) against real plugins, with tsc (sdk/node_modules,
# installed by scripts/setup):
#   1. every example plugin's server.js type-checks (JSDoc, checkJs);
#   2. every `patchbay init` skeleton type-checks with the tsconfig.json and
#      .patchbay/sdk/ it writes, in JavaScript and with --ts;
#   3. wrong calls are type errors (so the checks above can fail);
#   4. a --ts skeleton packs into server.js + server.js.map, no server.ts;
#   5. a packed --ts plugin runs under `patchbay serve`.
#   tests/sdk/typecheck.sh PATCHBAY_BINARY
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
patchbay=$1
tsc="$root/sdk/node_modules/typescript/bin/tsc"
[ -f "$tsc" ] || { echo "typescript is not installed in sdk/ (run scripts/setup)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. Example plugins, checked against sdk/ itself.
for server in "$root"/examples/plugins/*/server.js; do
  name=$(basename "$(dirname "$server")")
  cat > "$work/tsconfig-$name.json" <<EOF
{
  "compilerOptions": {
    "target": "ES2022", "module": "ES2022", "moduleResolution": "bundler", "lib": ["ES2022"], "types": [],
    "strict": true, "noEmit": true, "allowJs": true, "checkJs": true,
    "paths": { "@patchbay/sdk": ["$root/sdk/index.d.ts"] }
  },
  "files": ["$server"]
}
EOF
  if ! out=$(node "$tsc" -p "$work/tsconfig-$name.json" 2>&1); then fail "example $name:"$'\n'"$out"; fi
done

# 2. Skeletons as init writes them.
for type in hook widget feature; do
  for lang in js ts; do
    dir="$work/$type-$lang"
    flag=(); [ $lang = ts ] && flag=(--ts)
    "$patchbay" init "sk-$type" --type "$type" --dir "$dir" "${flag[@]}" >/dev/null
    if ! out=$(node "$tsc" -p "$dir" 2>&1); then fail "skeleton $type ($lang):"$'\n'"$out"; fi
  done
done

# 3. Wrong calls fail, each with the error tsc gives for it.
expect_error() {  # LABEL CODE SOURCE-LINE
  local dir="$work/wrong-$1"
  "$patchbay" init "wrong" --type hook --dir "$dir" --ts >/dev/null
  sed -i "s|^export default function (sodium: Sodium) {|&\n  $3|" "$dir/server.ts"
  if out=$(node "$tsc" -p "$dir" 2>&1); then
    fail "a wrong call passed the check ($1): $3"
  elif ! grep -q "error $2" <<<"$out"; then
    fail "$1: expected tsc error $2, got:"$'\n'"$out"
  fi
}
expect_error insert-without-record TS2554 "sodium.db.insert('items');"
expect_error misspelt-context-field TS2339 "sodium.hooks.on('server:onCreate', (ctx) => { console.log(ctx.server.nmae); });"
expect_error unknown-api TS2339 "sodium.database.find('items');"
expect_error config-set-arity TS2554 "sodium.config.set('key');"
expect_error status-text TS2345 "sodium.http.registerRoutes((r) => { r.get('/x', (req, res) => res.status('ok')); });"

# 4. server.ts is compiled into the package.
"$patchbay" pack "$work/feature-ts" -o "$work/out.zip" >/dev/null
listing=$(unzip -Z1 "$work/out.zip")
grep -qx server.js <<<"$listing" || fail "the packed --ts skeleton has no server.js: $listing"
grep -qx server.js.map <<<"$listing" || fail "the packed --ts skeleton has no server.js.map: $listing"
if grep -q -e '\.ts$' -e tsconfig.json -e '^\.patchbay' <<<"$listing"; then fail "the package holds TypeScript sources or editor files: $listing"; fi

# 5. ... and runs: the packed widget (--ts) served by `patchbay serve`.
"$patchbay" pack "$work/widget-ts" -o "$work/widget.zip" >/dev/null
mkdir -p "$work/host/plugins/sk-widget"
(cd "$work/host/plugins/sk-widget" && unzip -q "$work/widget.zip")
printf '{"plugins":{"enabled":true,"directory":"%s","active":["sk-widget"]}}\n' "$work/host/plugins" > "$work/host/config.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$patchbay" serve --listen "127.0.0.1:$port" --data "$work/host" 2>"$work/serve.log" &
serve=$!
answer=""
for _ in $(seq 100); do
  answer=$(curl -sf "http://127.0.0.1:$port/api/plugins/sk-widget/summary" 2>/dev/null) && break
  sleep 0.1
done
kill $serve 2>/dev/null; wait $serve 2>/dev/null || true
[ -n "$answer" ] || fail "the packed TypeScript widget did not answer /summary:"$'\n'"$(tail -5 "$work/serve.log")"

if [ $failures -gt 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "SDK types: examples, skeletons (js and ts), wrong calls and the ts pack all as expected"
