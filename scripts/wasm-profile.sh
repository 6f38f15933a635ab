#!/usr/bin/env bash
# wasm-profile.sh - where a Luau script's time goes inside Palisade's wasm sandbox, by C function of the guest
# and, for one function, by basic block of the machine code wazero generated for it.
#
#   scripts/wasm-profile.sh SCRIPT.lua [C_FUNCTION]
#
# Builds, in a scratch directory, a `palisade` binary from this checkout's current guest/palisade.wasm (run
# `make guest` first) against a copy of wazero with its perf-map support switched on (build tag `perfmap`:
# wazero then names every compiled basic block in /tmp/perf-PID.map) and, when C_FUNCTION is given, with that
# function's final x86 assembly printed (wazero's debug option). Runs the script with an unlimited memory budget
# under `perf record` (cpu-clock sampling: works in VMs without hardware counters) and maps wasm function indexes
# back to C names with an unstripped build of the same sources. The repository is not modified.
#
# Needs: perf, llvm-objdump-19, the Go toolchain, the guest toolchain (make guest). Samples taken while wazero
# compiles the module are left out of the shares (only samples in wasm code count).
set -euo pipefail
SCRIPT=$(readlink -f "$1")
FN="${2:-}"
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/wasm-profile.XXXXXX)
echo "wasm-profile: work directory $W" >&2

# 1) function names: an unstripped link of the same objects (function order is identical)
make -s -C "$REPO" guest OUT="$W/named.wasm" BUILD="$W/build" \
	WASM_LDFLAGS="--target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -Wl,--stack-first -Wl,-z,stack-size=1048576 -Wl,--export=__stack_pointer -Wl,--no-export-dynamic -Wl,--gc-sections" >/dev/null
llvm-objdump-19 -d "$W/named.wasm" | grep '^[0-9a-f]* <' | awk '{print NR-2, $2}' | tr -d '<>:' >"$W/names.txt"
IDX=-1
if [ -n "$FN" ]; then
	IDX=$(awk -v f="$FN" '$2==f {print $1}' "$W/names.txt")
	[ -n "$IDX" ] || { echo "wasm-profile: no function $FN in the guest" >&2; exit 2; }
fi

# 2) a palisade binary on a wazero copy with perf maps (and the assembly of function IDX)
WZ_VERSION=$(cd "$REPO" && go list -m -f '{{.Version}}' github.com/tetratelabs/wazero)
cp -r "$(go env GOMODCACHE)/github.com/tetratelabs/wazero@$WZ_VERSION" "$W/wazero"
chmod -R u+w "$W/wazero"
if [ "$IDX" != -1 ]; then
	sed -i "s/^const printTarget = .*/const printTarget = $IDX/; s/PrintFinalizedMachineCode *= false/PrintFinalizedMachineCode = true/" \
		"$W/wazero/internal/engine/wazevo/wazevoapi/debug_options.go"
fi
mkdir -p "$W/src"
(cd "$REPO" && git ls-files -z | xargs -0 cp --parents -t "$W/src")
cp "$REPO/guest/palisade.wasm" "$W/src/guest/palisade.wasm"
(cd "$W/src" && go mod edit -replace "github.com/tetratelabs/wazero=$W/wazero" && go build -tags perfmap -o "$W/palisade" ./cmd/palisade)

# 3) run under perf
perf record -q -e cpu-clock -F 20000 -o "$W/perf.data" "$W/palisade" luau --mem 0 "$SCRIPT" >"$W/out.txt" 2>"$W/err.txt" || true
perf report -i "$W/perf.data" --no-children --sort sym -g none 2>/dev/null |
	grep '\[[0-9]*/[0-9]*\]' | awk '{gsub("%","",$1); print $1, $3}' >"$W/syms.txt"
python3 - "$W" "$IDX" <<'PY'
import collections, re, sys
W, IDX = sys.argv[1], int(sys.argv[2])
names = dict(l.split(None, 1) for l in open(W + '/names.txt'))
fn, blk = collections.Counter(), collections.Counter()
for l in open(W + '/syms.txt'):
    p, s = l.split(None, 1)
    m = re.match(r'\[(\d+)/\d+\]', s)
    if not m:
        continue
    i = int(m.group(1))
    fn[i] += float(p)
    if i == IDX and ':::::' in s:
        blk[s.strip().split(':::::')[-1]] += float(p)
tot = sum(fn.values()) or 1
print("share of samples in wasm code, by guest function:")
for i, p in fn.most_common(25):
    print("  %5.1f%%  %s" % (100 * p / tot, names.get(str(i), '?').strip()))
if IDX != -1:
    t2 = sum(blk.values()) or 1
    print("blocks of %s (share within it); its assembly: %s/out.txt, at 'Lnn (SSA Block'" % (names[str(IDX)].strip(), W))
    for b, p in blk.most_common(25):
        print("  %5.1f%%  %s" % (100 * p / t2, b))
PY
