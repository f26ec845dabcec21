#!/usr/bin/env bash
# GpuDaemon benchmark: publishes gpudaemon the way the Dockerfile ships it, runs `serve` on simulated
# GPUs against grpc-go peers (tests/interop) and writes docs/benchmarks.md.
#
# Usage: tests/bench/run.sh [--quick] [--out FILE]
#
#   --quick     fewer calls, restarts, rounds and scrapes (about 3 minutes instead of about 8)
#   --out FILE  where to write the report (default: docs/benchmarks.md)
#
# Measured, each in this one run:
#   Allocate latency and rate, sequential and 16-way, against `serve --simulate 8` and against a
#     grpc-go baseline plugin (`gpudaemon-interop baseline-plugin --devices 8`) answering the same call;
#   resident memory (VmRSS) of both plugins idle and after the Allocate load;
#   scenario fault -> Unhealthy on ListAndWatch (`gpudaemon-interop faultlat`), and the recovery;
#   kubelet restart -> registered again (`gpudaemon-interop kubelet --restarts R`);
#   exec -> registered (`gpudaemon-interop execreg`);
#   /metrics scrape latency (`gpudaemon-interop scrape`) for 8 time-sliced GPUs with 50 pods and for
#     64 MIG devices with 500 pods, pods served by `gpudaemon-interop podresources`, and the resident
#     memory the metrics and pod attribution add to an idle `serve`.
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
        sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
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
    scrapes=500 scrape_warmup=50
else
    calls=100000 warmup=5000 restarts=50 fault_rounds=50 exec_rounds=10 mode=full
    scrapes=2000 scrape_warmup=200
fi
devices=8
idle_wait=3
rss_goal_kib=$((40 * 1024))
scrape_goal_ms=5
metrics_rss_goal_kib=4882.8 # 5 MB = 5,000,000 bytes
replicas=4                  # time-slicing for the 8-GPU scrape shape: 32 replicas
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
publish_args=(-c Release -r linux-x64)
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

# --- Metrics scrape and the resident memory metrics add ------------------------------------------------

# h100_scenario FILE MIG_INSTANCES: 8 simulated H100s; with MIG_INSTANCES > 0, MIG on with that many
# 1g.10gb instances each, UUIDs MIG-bench00G-0000-4000-8000-00000000000K.
h100_scenario() {
    local file=$1 instances=$2 i k sep mig
    {
        echo '{'
        echo '  "driver": { "version": "550.127.05", "cudaVersion": "12.4", "loaded": true },'
        echo '  "gpus": ['
        for ((i = 0; i < devices; i++)); do
            sep=,
            ((i == devices - 1)) && sep=
            mig=
            if ((instances > 0)); then
                mig=', "mig": { "enabled": true, "instances": ['
                for ((k = 0; k < instances; k++)); do
                    ((k)) && mig+=', '
                mig+=$(printf '{ "profile": "1g.10gb", "memoryMiB": 9856, "uuid": "MIG-bench%03d-0000-4000-8000-%012d" }' "$i" "$k")
                done
                mig+='] }'
            fi
            printf '    { "uuid": "GPU-bench000-0000-4000-8000-%012d", "model": "NVIDIA H100 80GB HBM3", "memoryMiB": 81559, "numaNode": %d, "healthy": true%s }%s\n' \
                "$i" $((i * 2 / devices)) "$mig" "$sep"
        done
        echo '  ]'
        echo '}'
    } >"$file"
}

scrape_dir="$work/scrape"
mkdir -p "$scrape_dir"
h100_scenario "$scrape_dir/gpus.json" 0
h100_scenario "$scrape_dir/mig.json" 8
mig_devices=$((devices * 8))
gpu_pods=50 gpu_holders=$((devices * replicas))
mig_pods=500 mig_holders=$mig_devices
# 8 GPUs, time-sliced 4 ways: 32 pods hold one replica each (4 containers share every GPU), 18 hold no GPU.
for ((p = 0; p < gpu_pods; p++)); do
    if ((p < gpu_holders)); then
        printf 'bench/gpu-pod-%03d/main=nvidia.com/gpu:GPU-bench000-0000-4000-8000-%012d::%d\n' "$p" $((p % devices)) $((p / devices))
    else
        printf 'bench/cpu-pod-%03d/main\n' "$p"
    fi
done >"$scrape_dir/gpu-pods.txt"
# 64 MIG devices (mixed strategy): 64 pods hold one each, 436 hold no GPU.
for ((p = 0; p < mig_pods; p++)); do
    if ((p < mig_holders)); then
        printf 'bench/mig-pod-%03d/main=nvidia.com/mig-1g.10gb:MIG-bench%03d-0000-4000-8000-%012d\n' "$p" $((p / 8)) $((p % 8))
    else
        printf 'bench/cpu-pod-%03d/main\n' "$p"
    fi
done >"$scrape_dir/mig-pods.txt"

# scrape_shape NAME SCENARIO PODS_FILE EXPECT_PODS PLUGIN_SOCKET [SERVE FLAGS...]: serve with metrics and pod attribution
# against a grpc-go pod-resources server, scrape it with and without gzip, read VmRSS; then the same serve
# with both off, idle for as long, and its VmRSS. Sets ${NAME}_gz, ${NAME}_plain (SCRAPE lines),
# ${NAME}_rss_on, ${NAME}_rss_off (KiB), ${NAME}_lists (pod-resources List calls during the scraping).
scrape_shape() {
    local name=$1 scenario=$2 pods=$3 expect=$4 plugin_socket=$5
    shift 5
    local dir="$scrape_dir/$name" url line pr_pid gd_pid born lived lists_before
    mkdir -p "$dir/on" "$dir/off"
    mkfifo "$dir/stdin"
    exec 7<>"$dir/stdin" # holds the pod-resources server's stdin open; it stops at end of stdin
    "$peer" podresources --socket "$dir/pod-resources.sock" --pods-file "$pods" <&7 >"$dir/podresources.log" 2>&1 &
    pr_pid=$!
    pids+=("$pr_pid")
    wait_for_line "$dir/podresources.log" LISTENING "$pr_pid"

    log "$name: serve --simulation ($(basename "$scenario")) $* with metrics and pod attribution, $expect pods holding devices"
    born=$(date +%s%N)
    "$gpudaemon" serve --simulation "$scenario" "$@" --device-plugin-dir "$dir/on" --log-level information \
        --metrics-listen 127.0.0.1:0 --pod-resources-socket "$dir/pod-resources.sock" >"$dir/serve-on.log" 2>&1 &
    gd_pid=$!
    pids+=("$gd_pid")
    wait_for_line "$dir/serve-on.log" ".*Serving metrics on http://" "$gd_pid"
    url=$(grep -o 'Serving metrics on http://[0-9.]*:[0-9]*' "$dir/serve-on.log" | head -n 1 | sed 's/^Serving metrics on //')/metrics
    wait_for_socket "$dir/on/$plugin_socket" "$gd_pid"
    for gz in true false; do
        log "$name: $scrapes scrapes of $url (gzip $gz) after $scrape_warmup unmeasured"
        lists_before=$(grep -c '^LIST' "$dir/podresources.log" || true)
        line=$("$peer" scrape --url "$url" --gzip="$gz" --expect-pods "$expect" --scrapes "$scrapes" --warmup "$scrape_warmup" | grep '^SCRAPE') ||
            die "$name: scrape (gzip $gz) failed"
        log "$name: $line"
        if [[ $gz == true ]]; then
            printf -v "${name}_gz" %s "$line"
            printf -v "${name}_lists" %s $(($(grep -c '^LIST' "$dir/podresources.log" || true) - lists_before))
        else
            printf -v "${name}_plain" %s "$line"
        fi
    done
    sleep "$idle_wait"
    printf -v "${name}_rss_on" %s "$(rss_kib "$gd_pid")"
    lived=$((($(date +%s%N) - born) / 1000000))
    stop "$gd_pid"
    stop "$pr_pid"
    exec 7>&-

    log "$name: the same serve with --metrics-listen \"\" --pod-resources-socket \"\", idle for ${lived} ms like the one above"
    born=$(date +%s%N)
    "$gpudaemon" serve --simulation "$scenario" "$@" --device-plugin-dir "$dir/off" --log-level information \
        --metrics-listen "" --pod-resources-socket "" >"$dir/serve-off.log" 2>&1 &
    gd_pid=$!
    pids+=("$gd_pid")
    wait_for_socket "$dir/off/$plugin_socket" "$gd_pid"
    sleep "$(awk -v ms=$((lived - ($(date +%s%N) - born) / 1000000)) 'BEGIN { printf "%.3f", (ms > 0 ? ms : 0) / 1000 }')"
    printf -v "${name}_rss_off" %s "$(rss_kib "$gd_pid")"
    stop "$gd_pid"
    log "$name: VmRSS $(mib "$(eval echo "\$${name}_rss_on")") MiB with metrics, $(mib "$(eval echo "\$${name}_rss_off")") MiB without"
}

scrape_shape gpu "$scrape_dir/gpus.json" "$scrape_dir/gpu-pods.txt" "$gpu_holders" "$socket_name" --replicas "$replicas"
# Every GPU is in MIG mode, so only the MIG profile's resource is advertised.
scrape_shape mig "$scrape_dir/mig.json" "$scrape_dir/mig-pods.txt" "$mig_holders" gpudaemon-nvidia.com-mig-1g.10gb.sock --mig-strategy mixed

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

gpu_scrape_p99=$(field "$gpu_gz" p99_ms)
gpu_rss_added=$((gpu_rss_on - gpu_rss_off))
mig_rss_added=$((mig_rss_on - mig_rss_off))
# le_kib A B: true if A (KiB, may be negative) <= B.
le_kib() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
scrape_row() { # label SCRAPE_gzip SCRAPE_plain lists goal
    echo "| $1 | $(field "$2" scrapes) | $(field "$2" p50_ms) | $(field "$2" p99_ms) | $(field "$2" max_ms) | $(field "$3" p50_ms) / $(field "$3" p99_ms) | $(field "$2" bytes) / $(field "$2" wire_bytes) | $(field "$2" samples) | $(field "$2" pods) | $4 | $5 |"
}
rss_row() { # label off on added
    echo "| $1 | $(mib "$2") MiB | $(mib "$3") MiB | $(mib "$4") MiB | $(verdict le_kib "$4" "$metrics_rss_goal_kib") |"
}

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

## Metrics scrape

| shape | scrapes | p50 (ms) | p99 (ms) | max (ms) | without gzip p50 / p99 (ms) | response bytes (text / gzip) | samples | pods named | pod-resources List calls meanwhile | goal p99 ≤ ${scrape_goal_ms} ms |
|---|---|---|---|---|---|---|---|---|---|---|
$(scrape_row "$devices GPUs ×$replicas time-sliced, $gpu_pods pods ($gpu_holders hold a replica)" "$gpu_gz" "$gpu_plain" "$gpu_lists" "$(verdict le "$gpu_scrape_p99" "$scrape_goal_ms")")
$(scrape_row "$mig_devices MIG devices (8 H100 × 8 \`1g.10gb\`, mixed), $mig_pods pods ($mig_holders hold one)" "$mig_gz" "$mig_plain" "$mig_lists" "no goal set")

- \`gpudaemon-interop scrape --scrapes $scrapes --warmup $scrape_warmup\` scrapes \`/metrics\` like Prometheus: one kept-alive
  connection, one request at a time, Prometheus's \`Accept\` header and \`Accept-Encoding: gzip\` (the p50/p99
  columns; the gzip-off run follows it on the same process). A scrape's time runs from sending the request to the
  last byte of the body. Before measuring it waits until a scrape names every pod that holds a device, so the
  pod-attribution map is in place.
- \`serve --simulation FILE\` (8 simulated H100s) with \`--metrics-listen 127.0.0.1:0 --pod-resources-socket S\`, where
  \`gpudaemon-interop podresources --pods-file\` (grpc-go) serves the kubelet's pod-resources \`List\` for the
  generated pods: \`--replicas $replicas\` and pods holding \`<uuid>::k\` for the first shape, so every GPU is
  written once per holding container (\`vgpu\` label); \`--mig-strategy mixed\` and pods holding
  \`nvidia.com/mig-1g.10gb\` MIG UUIDs for the second. The other pods hold no device. "List calls meanwhile"
  counts the calls during the gzip run: scrapes never call the kubelet.

## Resident memory the metrics add (VmRSS)

| shape | \`--metrics-listen "" --pod-resources-socket ""\` | metrics + pod attribution, after the scrapes | added | goal ≤ 5 MB |
|---|---|---|---|---|
$(rss_row "$devices GPUs ×$replicas time-sliced, $gpu_pods pods" "$gpu_rss_off" "$gpu_rss_on" "$gpu_rss_added")
$(rss_row "$mig_devices MIG devices, $mig_pods pods" "$mig_rss_off" "$mig_rss_on" "$mig_rss_added")

Same scenario and flags, no Allocate. The metrics reading is taken ${idle_wait} s after both scrape runs
($((2 * (scrapes + scrape_warmup))) scrapes and the wait for pods); the process without metrics is started afterwards and idles
for as long as the first one lived before its reading. 5 MB is taken as 5,000,000 bytes (4.77 MiB).

## Goals

| goal | result | |
|---|---|---|
| Allocate p99 no worse than grpc-go, sequential | ${g_seq_p99} µs vs ${b_seq_p99} µs | $(verdict le "$g_seq_p99" "$b_seq_p99") |
| Allocate p99 no worse than grpc-go, 16-way | ${g_par_p99} µs vs ${b_par_p99} µs | $(verdict le "$g_par_p99" "$b_par_p99") |
| resident ≤ 40 MiB (largest of the three readings) | $(mib "$gd_rss_max") MiB | $(verdict le "$gd_rss_max" "$rss_goal_kib") |
| fault → kubelet p99 ≤ 100 ms | ${fault_p99} ms | $(verdict le "$fault_p99" 100) |
| kubelet restart → re-registered p99 ≤ 100 ms | ${rereg_p99} ms | $(verdict le "$rereg_p99" 100) |
| 8-GPU scrape p99 ≤ ${scrape_goal_ms} ms (gzip, $gpu_pods pods, time-sliced) | ${gpu_scrape_p99} ms | $(verdict le "$gpu_scrape_p99" "$scrape_goal_ms") |
| metrics add ≤ 5 MB resident (8 GPUs) | $(mib "$gpu_rss_added") MiB | $(verdict le_kib "$gpu_rss_added" "$metrics_rss_goal_kib") |

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
gpu $gpu_gz
gpu $gpu_plain
mig $mig_gz
mig $mig_plain
\`\`\`

EOF
    if [[ -f "$script_dir/notes.md" ]]; then
        echo "## Notes"
        echo
        cat "$script_dir/notes.md"
    fi
} >"$out"
log "wrote $out"
