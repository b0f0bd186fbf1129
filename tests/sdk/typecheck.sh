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

# tsc starts in ~3 s, so one run checks many files: a tsconfig over FILES
# (absolute paths), @patchbay/sdk mapped to sdk/ itself.
check_files() {  # CONFIG FILE...  ($lib: the libs, ES2022 unless set)
  local config=$1; shift
  local libs=${lib:-'"ES2022"'}
  local files=""
  for f in "$@"; do files="$files${files:+, }\"$f\""; done
  cat > "$config" <<EOF
{
  "compilerOptions": {
    "target": "ES2022", "module": "ES2022", "moduleResolution": "bundler", "lib": [$libs], "types": [],
    "strict": true, "noEmit": true, "allowJs": true, "checkJs": true,
    "paths": { "@patchbay/sdk": ["$root/sdk/index.d.ts"], "@patchbay/sdk/client": ["$root/sdk/client.d.ts"] }
  },
  "files": [$files]
}
EOF
  node "$tsc" -p "$config" 2>&1
}

# 1. and 2. Example plugins and every skeleton, in both languages. Two
# skeletons are checked with the tsconfig.json init wrote (the others' are
# the same text), and every skeleton's .patchbay/sdk/ must be sdk/ itself.
servers=("$root"/examples/plugins/*/server.js)
for type in hook widget feature; do
  for lang in js ts; do
    dir="$work/$type-$lang"
    flag=(); [ $lang = ts ] && flag=(--ts)
    "$patchbay" init "sk-$type" --type "$type" --dir "$dir" "${flag[@]}" >/dev/null
    servers+=("$dir/server.$lang")
    for d in index.d.ts server.d.ts globals.d.ts client.d.ts; do
      cmp -s "$dir/.patchbay/sdk/$d" "$root/sdk/$d" || fail "skeleton $type ($lang): .patchbay/sdk/$d is not sdk/$d"
    done
  done
done
if ! out=$(check_files "$work/tsconfig-all.json" "${servers[@]}"); then fail "examples and skeletons:"$'\n'"$out"; fi
for own in feature-ts hook-js; do
  if ! out=$(node "$tsc" -p "$work/$own" 2>&1); then fail "skeleton $own with its own tsconfig.json:"$'\n'"$out"; fi
done

# 1b. Client modules, with the DOM's types: the examples', the browser
# tests' plugins', and the skeletons' (one run).
clients=("$root"/examples/plugins/*/client.js "$root"/tests/web/plugins/*/client.js "$work"/widget-js/client.js "$work"/feature-js/client.js)
if ! out=$(lib='"ES2022", "DOM"' check_files "$work/tsconfig-clients.json" "${clients[@]}"); then fail "client modules:"$'\n'"$out"; fi
mkdir -p "$work/wrong-client"
cat > "$work/wrong-client/client.js" <<'EOF'
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium */
export default function (sodium) {
  sodium.toast.warn('no such toast');
  sodium.ui.addServerTab({ id: 'x', render: () => '' });
}
EOF
if out=$(lib='"ES2022", "DOM"' check_files "$work/tsconfig-wrong-client.json" "$work/wrong-client/client.js"); then fail "the wrong client calls passed the check"; fi
grep -q "client.js(3,[0-9]*): error TS2339" <<<"$out" || fail "toast.warn: expected TS2339, got:"$'\n'"$out"
grep -q "client.js(4,[0-9]*): error TS2345" <<<"$out" || fail "a server tab without a label: expected TS2345, got:"$'\n'"$out"

# 3. Wrong calls fail, each with the error tsc gives for it (one run).
wrong_files=()
declare -A expected
add_wrong() {  # LABEL CODE SOURCE-LINE
  local dir="$work/wrong-$1"
  "$patchbay" init "wrong" --type hook --dir "$dir" --ts >/dev/null
  sed -i "s|^export default function (sodium: Sodium) {|&\n  $3|" "$dir/server.ts"
  wrong_files+=("$dir/server.ts")
  expected[$1]=$2
}
add_wrong insert-without-record TS2554 "sodium.db.insert('items');"
add_wrong misspelt-context-field TS2339 "sodium.hooks.on('server:onCreate', (ctx) => { console.log(ctx.server.nmae); });"
add_wrong unknown-api TS2339 "sodium.database.find('items');"
add_wrong config-set-arity TS2554 "sodium.config.set('key');"
add_wrong status-text TS2345 "sodium.http.registerRoutes((r) => { r.get('/x', (req, res) => res.status('ok')); });"
if out=$(check_files "$work/tsconfig-wrong.json" "${wrong_files[@]}"); then fail "the wrong calls passed the check"; fi
for label in "${!expected[@]}"; do
  grep -q "wrong-$label/server.ts([0-9,]*): error ${expected[$label]}" <<<"$out" ||
    fail "$label: expected tsc error ${expected[$label]} in wrong-$label/server.ts, got:"$'\n'"$out"
done

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
