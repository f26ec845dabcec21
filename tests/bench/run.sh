#!/usr/bin/env bash
# GpuDaemon benchmark: publishes gpudaemon the way the Dockerfile ships it, runs `serve` on simulated
# GPUs against grpc-go peers (tests/interop) and writes docs/benchmarks.md.
#
# Usage: tests/bench/run.sh [--quick] [--out FILE]
#
#   --quick     fewer calls, restarts and rounds (about 2 minutes instead of about 6)
#   --out FILE  where to write the report (default: docs/benchmarks.md)
#
# Measured, each in this one run:
#   Allocate latency and rate, sequential and 16-way, against `serve --simulate 8` and against a
#     grpc-go baseline plugin (`gpudaemon-interop baseline-plugin --devices 8`) answering the same call;
#   resident memory (VmRSS) of both plugins idle and after the Allocate load;
#   scenario fault -> Unhealthy on ListAndWatch (`gpudaemon-interop faultlat`), and the recovery;
#   kubelet restart -> registered again (`gpudaemon-interop kubelet --restarts R`);
#   exec -> registered (`gpudaemon-interop execreg`).
# The hand-written part of the report (analysis, before/after of fixes) is tests/bench/notes.md,
# appended verbatim.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
cd "$repo_root"

quick=0
out=docs/benchmarks.md
while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --out)
        [[ $# -ge 2 ]] || { echo "run.sh: --out needs a file" >&2; exit 2; }
        out="$2"
        shift
        ;;
    -h | --help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run.sh: unknown argument $1 (usage: tests/bench/run.sh [--quick] [--out FILE])" >&2
        exit 2
        ;;
    esac
    shift
done

if ((quick)); then
    calls=20000 warmup=2000 restarts=20 fault_rounds=20 exec_rounds=5 mode=quick
else
    calls=100000 warmup=5000 restarts=50 fault_rounds=50 exec_rounds=10 mode=full
fi
devices=8
idle_wait=3
rss_goal_kib=$((40 * 1024))
resource=nvidia.com/gpu
socket_name=gpudaemon-nvidia.com-gpu.sock

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

work="$(mktemp -d "${TMPDIR:-/tmp}/gpudaemon-bench.XXXXXX")"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# stop PID: SIGTERM one process this script started and wait for it.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# wait_for_socket PATH PID: until PATH is a socket (the process PID must stay alive), 30 s at most.
wait_for_socket() {
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -S "$1" ]] && return 0
        kill -0 "$2" 2>/dev/null || die "process $2 exited before $1 appeared"
        sleep 0.1
    done
    die "$1 did not appear within 30 s"
}

# wait_for_line FILE TEXT PID: until FILE has a line starting with TEXT, 30 s at most.
wait_for_line() {
    local i
    for ((i = 0; i < 300; i++)); do
        grep -q "^$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || die "process $3 exited before printing $2"
        sleep 0.1
    done
    die "no '$2' line in $1 within 30 s"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# field LINE KEY: the value of KEY=value in LINE.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# ratio A B: A / B to two decimals ("n/a" if either is not a number or B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

# le A B: true if number A <= number B.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a + 0 <= b + 0) }'; }

verdict() { if "$@"; then echo met; else echo "**missed**"; fi; }

started=$(date +%s)
log "mode $mode, work dir $work"

# --- Build ------------------------------------------------------------------------------------------

# Exactly the Dockerfile's publish command, and the runtime settings its ENV line gives the image.
publish_args=(-c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:InvariantGlobalization=true)
log "dotnet publish src/GpuDaemon.Cli ${publish_args[*]}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! dotnet publish src/GpuDaemon.Cli/GpuDaemon.Cli.csproj "${publish_args[@]}" -o "$work/publish" -nologo -v quiet >"$work/publish.log" 2>&1; then
    tail -n 20 "$work/publish.log" >&2
    die "dotnet publish failed"
fi
gpudaemon="$work/publish/gpudaemon"
[[ -x "$gpudaemon" ]] || die "publish produced no $gpudaemon"
published_mib=$(du -sk "$work/publish" | awk '{ printf "%.1f", $1 / 1024 }')

# The Dockerfile's ENV block: every DOTNET_* setting, applied to every gpudaemon process below.
mapfile -t dotnet_env < <(grep -oE 'DOTNET_[A-Za-z0-9_]+=[^[:space:]\\]+' Dockerfile)
((${#dotnet_env[@]})) || die "found no DOTNET_ settings in the Dockerfile"
export "${dotnet_env[@]}"
log "runtime settings from the Dockerfile: ${dotnet_env[*]}"

log "building the grpc-go peer (tests/interop/build.sh)"
bash tests/interop/build.sh "$work/interop" >"$work/interop-build.log" 2>&1 || {
    cat "$work/interop-build.log" >&2
    die "tests/interop/build.sh failed"
}
peer="$work/interop/gpudaemon-interop"

# --- Allocate latency and rate, resident memory -------------------------------------------------------

# measure_plugin NAME SOCKET PID: idle RSS, then sequential and 16-way load, RSS after each.
# Sets ${NAME}_rss_idle, ${NAME}_rss_seq, ${NAME}_rss_par (KiB), ${NAME}_seq, ${NAME}_par (ALLOCATE lines).
measure_plugin() {
    local name=$1 sock=$2 pid=$3 line
    sleep "$idle_wait"
    printf -v "${name}_rss_idle" %s "$(rss_kib "$pid")"
    for c in 1 16; do
        log "$name: $calls Allocate calls, concurrency $c"
        line=$("$peer" load --socket "$sock" --calls "$calls" --concurrency "$c" --warmup "$warmup" | grep '^ALLOCATE') ||
            die "$name: load with concurrency $c failed"
        log "$name: $line"
        if ((c == 1)); then
            printf -v "${name}_seq" %s "$line"
            printf -v "${name}_rss_seq" %s "$(rss_kib "$pid")"
        else
            printf -v "${name}_par" %s "$line"
            printf -v "${name}_rss_par" %s "$(rss_kib "$pid")"
        fi
    done
}

dir="$work/alloc"
mkdir -p "$dir"
log "starting gpudaemon serve --simulate $devices (no kubelet: it keeps retrying registration, which load does not need)"
"$gpudaemon" serve --simulate "$devices" --device-plugin-dir "$dir" >"$work/serve-alloc.log" 2>&1 &
gd_pid=$!
pids+=("$gd_pid")
wait_for_socket "$dir/$socket_name" "$gd_pid"
measure_plugin gd "$dir/$socket_name" "$gd_pid"
stop "$gd_pid"

log "starting gpudaemon-interop baseline-plugin --devices $devices"
"$peer" baseline-plugin --socket "$work/baseline.sock" --devices "$devices" >"$work/baseline.log" 2>&1 &
base_pid=$!
pids+=("$base_pid")
wait_for_socket "$work/baseline.sock" "$base_pid"
measure_plugin base "$work/baseline.sock" "$base_pid"
stop "$base_pid"

# --- Scenario fault -> Unhealthy on ListAndWatch ------------------------------------------------------

scenario="$work/fault/scenario.json"
mkdir -p "$work/fault/plugins"
{
    echo '{'
    echo '  "driver": { "version": "550.127.05", "cudaVersion": "12.4", "loaded": true },'
    echo '  "gpus": ['
    for ((i = 0; i < devices; i++)); do
        sep=,
        ((i == devices - 1)) && sep=
        printf '    { "uuid": "GPU-bench000-0000-4000-8000-%012d", "numaNode": %d, "healthy": true }%s\n' "$i" $((i * 2 / devices)) "$sep"
    done
    echo '  ]'
    echo '}'
} >"$scenario"
fault_uuid=$(printf 'GPU-bench000-0000-4000-8000-%012d' 3)
log "starting gpudaemon serve --simulation (8 GPUs) --recovery-period 0s; faulting $fault_uuid $fault_rounds times"
"$gpudaemon" serve --simulation "$scenario" --recovery-period 0s --device-plugin-dir "$work/fault/plugins" >"$work/serve-fault.log" 2>&1 &
gd_pid=$!
pids+=("$gd_pid")
wait_for_socket "$work/fault/plugins/$socket_name" "$gd_pid"
fault_out=$("$peer" faultlat --socket "$work/fault/plugins/$socket_name" --scenario "$scenario" --uuid "$fault_uuid" --rounds "$fault_rounds") ||
    die "faultlat failed: $fault_out"
stop "$gd_pid"
fault_line=$(grep '^FAULT_MS' <<<"$fault_out")
recover_line=$(grep '^RECOVER_MS' <<<"$fault_out")
log "$fault_line"
log "$recover_line"

# --- Kubelet restart -> registered --------------------------------------------------------------------

dir="$work/rereg"
log "kubelet emulator with $restarts restarts against gpudaemon serve --simulate $devices"
"$peer" kubelet --dir "$dir" --expect-devices "$devices" --restarts "$restarts" >"$work/kubelet.log" 2>&1 &
kubelet_pid=$!
pids+=("$kubelet_pid")
wait_for_line "$work/kubelet.log" LISTENING "$kubelet_pid"
"$gpudaemon" serve --simulate "$devices" --device-plugin-dir "$dir" >"$work/serve-rereg.log" 2>&1 &
gd_pid=$!
pids+=("$gd_pid")
kubelet_status=0
wait "$kubelet_pid" || kubelet_status=$?
stop "$gd_pid"
rereg_line=$(grep '^REREGISTER_MS' "$work/kubelet.log" || true)
kubelet_summary=$(grep '^kubelet emulator:' "$work/kubelet.log" || true)
((kubelet_status == 0)) || {
    grep -E '^FAIL' "$work/kubelet.log" >&2 || true
    die "kubelet emulator failed ($kubelet_summary)"
}
log "$rereg_line ($kubelet_summary)"

# --- Exec -> registered -------------------------------------------------------------------------------

log "exec -> registered, $exec_rounds starts"
exec_out=$("$peer" execreg --dir "$work/exec" --rounds "$exec_rounds" --log "$work/serve-exec.log" -- \
    "$gpudaemon" serve --simulate "$devices" --device-plugin-dir "$work/exec") || die "execreg failed: $exec_out"
exec_line=$(grep '^EXEC_REGISTERED_MS' <<<"$exec_out")
arrived_line=$(grep '^EXEC_REGISTER_ARRIVED_MS' <<<"$exec_out")
log "$exec_line"

elapsed=$(($(date +%s) - started))
log "measurements done in ${elapsed}s; writing $out"

# --- Report -------------------------------------------------------------------------------------------

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cores=$(nproc)
dotnet_version=$(dotnet --version 2>/dev/null || echo unknown)
go_version=$(go version 2>/dev/null | awk '{ print $3 }')
grpc_go_version=$(sed -n 's/^const Version = "\(.*\)"/\1/p' /usr/share/gocode/src/google.golang.org/grpc/version.go 2>/dev/null || true)

alloc_row() { # label KEY line_gd line_base unit better
    local label=$1 key=$2 a b
    a=$(field "$3" "$key")
    b=$(field "$4" "$key")
    echo "| $label | $a | $b | $(ratio "$a" "$b") |"
}

g_seq_p99=$(field "$gd_seq" p99_us)
b_seq_p99=$(field "$base_seq" p99_us)
g_par_p99=$(field "$gd_par" p99_us)
b_par_p99=$(field "$base_par" p99_us)
gd_rss_max=$gd_rss_idle
for v in "$gd_rss_seq" "$gd_rss_par"; do ((v > gd_rss_max)) && gd_rss_max=$v; done
fault_p99=$(field "$fault_line" p99)
rereg_p99=$(field "$rereg_line" p99)

mkdir -p "$(dirname "$out")"
{
    cat <<EOF
# GpuDaemon benchmarks

Generated by \`bash tests/bench/run.sh$( ((quick)) && echo ' --quick')\` ($mode mode) on $(date -u '+%Y-%m-%d %H:%M UTC'), all
numbers from that one run ($elapsed s of measuring). Re-run it to refresh this file; the text after
"Notes" comes from \`tests/bench/notes.md\`.

## Machine

| | |
|---|---|
| CPU | $cpu_model |
| cores (nproc) | $cores |
| memory | $mem_total |
| kernel | $(uname -r) |
| .NET SDK | $dotnet_version |
| Go, grpc-go | ${go_version:-unknown}, ${grpc_go_version:-unknown} |

With $cores cores, the load client, its 16 goroutines and the plugin under test all share the same
CPUs: the 16-way numbers measure a contended machine, not the plugin alone. Both plugins are measured
under the same contention.

## What runs

- **GpuDaemon**: \`dotnet publish src/GpuDaemon.Cli/GpuDaemon.Cli.csproj ${publish_args[*]}\` (the
  Dockerfile's command; $published_mib MiB published), run with the Dockerfile's runtime settings
  \`${dotnet_env[*]}\`, as \`gpudaemon serve --simulate $devices\` in a temporary device-plugin directory.
- **Baseline**: \`gpudaemon-interop baseline-plugin --devices $devices\`, a grpc-go device plugin of the same shape
  (same options, device list and Allocate answer: \`NVIDIA_VISIBLE_DEVICES\` plus device specs for the GPU and the
  control devices). It does no health tracking, logging or registration.
- **Client**: \`gpudaemon-interop load --calls $calls --warmup $warmup --concurrency 1|16\` (grpc-go, one connection like the
  kubelet, one device per Allocate, rotating over the 8 devices). Latency is per call, nearest-rank percentiles.
- Built by \`tests/interop/build.sh\`; see tests/interop/README.md for each subcommand.

## Allocate, sequential (concurrency 1, $calls calls)

| | GpuDaemon | grpc-go baseline | ratio |
|---|---|---|---|
$(alloc_row "p50 (µs)" p50_us "$gd_seq" "$base_seq")
$(alloc_row "p99 (µs)" p99_us "$gd_seq" "$base_seq")
$(alloc_row "p99.9 (µs)" p999_us "$gd_seq" "$base_seq")
$(alloc_row "calls/s" calls_per_s "$gd_seq" "$base_seq")

## Allocate, 16-way (concurrency 16, $calls calls)

| | GpuDaemon | grpc-go baseline | ratio |
|---|---|---|---|
$(alloc_row "p50 (µs)" p50_us "$gd_par" "$base_par")
$(alloc_row "p99 (µs)" p99_us "$gd_par" "$base_par")
$(alloc_row "p99.9 (µs)" p999_us "$gd_par" "$base_par")
$(alloc_row "calls/s" calls_per_s "$gd_par" "$base_par")

Ratios are GpuDaemon / baseline: below 1 is better for latency, above 1 is better for calls/s.

## Resident memory (VmRSS)

| | GpuDaemon | grpc-go baseline | ratio |
|---|---|---|---|
| idle (${idle_wait} s after the socket appeared) | $(mib "$gd_rss_idle") MiB | $(mib "$base_rss_idle") MiB | $(ratio "$gd_rss_idle" "$base_rss_idle") |
| after $calls + $warmup sequential Allocates | $(mib "$gd_rss_seq") MiB | $(mib "$base_rss_seq") MiB | $(ratio "$gd_rss_seq" "$base_rss_seq") |
| after $calls + $warmup more, 16-way | $(mib "$gd_rss_par") MiB | $(mib "$base_rss_par") MiB | $(ratio "$gd_rss_par" "$base_rss_par") |

## Health and registration latency (GpuDaemon only; milliseconds, nearest rank)

| measurement | n | p50 | p99 | max |
|---|---|---|---|---|
| scenario fault → Unhealthy on ListAndWatch | $(field "$fault_line" n) | $(field "$fault_line" p50) | $(field "$fault_line" p99) | $(field "$fault_line" max) |
| scenario recovery → Healthy on ListAndWatch (\`--recovery-period 0s\`) | $(field "$recover_line" n) | $(field "$recover_line" p50) | $(field "$recover_line" p99) | $(field "$recover_line" max) |
| kubelet restart → registered | $restarts | $(field "$rereg_line" p50) | $(field "$rereg_line" p99) | $(field "$rereg_line" max) |
| exec → Register arrives | $(field "$arrived_line" n) | $(field "$arrived_line" p50) | $(field "$arrived_line" p99) | $(field "$arrived_line" max) |
| exec → registered | $(field "$exec_line" n) | $(field "$exec_line" p50) | $(field "$exec_line" p99) | $(field "$exec_line" max) |

- Fault: \`gpudaemon-interop faultlat\` watches ListAndWatch on \`serve --simulation FILE --recovery-period 0s\`
  (8 GPUs), replaces the file atomically (temporary file + rename) with GPU 3's \`healthy\` flipped, and
  times the rename to the ListAndWatch message that shows the new health. Each round is a fault and a recovery.
- Kubelet restart: \`gpudaemon-interop kubelet --expect-devices $devices --restarts $restarts\` removes every socket and serves a
  new \`kubelet.sock\`; the time runs from the new socket to the answered GetDevicePluginOptions inside
  Register. Run: $kubelet_summary.
- Exec: \`gpudaemon-interop execreg\` serves \`kubelet.sock\`, starts the published \`gpudaemon serve --simulate $devices\`
  and times from exec to the Register call arriving and to the registration being accepted
  (GetDevicePluginOptions on the plugin's socket answered), then stops it with SIGTERM; $exec_rounds starts.

## Goals

| goal | result | |
|---|---|---|
| Allocate p99 no worse than grpc-go, sequential | ${g_seq_p99} µs vs ${b_seq_p99} µs | $(verdict le "$g_seq_p99" "$b_seq_p99") |
| Allocate p99 no worse than grpc-go, 16-way | ${g_par_p99} µs vs ${b_par_p99} µs | $(verdict le "$g_par_p99" "$b_par_p99") |
| resident ≤ 40 MiB (largest of the three readings) | $(mib "$gd_rss_max") MiB | $(verdict le "$gd_rss_max" "$rss_goal_kib") |
| fault → kubelet p99 ≤ 100 ms | ${fault_p99} ms | $(verdict le "$fault_p99" 100) |
| kubelet restart → re-registered p99 ≤ 100 ms | ${rereg_p99} ms | $(verdict le "$rereg_p99" 100) |

## Raw lines

\`\`\`text
GpuDaemon $gd_seq
GpuDaemon $gd_par
baseline  $base_seq
baseline  $base_par
$fault_line
$recover_line
$rereg_line
$arrived_line
$exec_line
\`\`\`

EOF
    if [[ -f "$script_dir/notes.md" ]]; then
        echo "## Notes"
        echo
        cat "$script_dir/notes.md"
    fi
} >"$out"
log "wrote $out"
