#!/usr/bin/env bash
# GpuDaemon benchmark: publishes gpudaemon the way the Dockerfile ships it, runs `serve` on simulated
# GPUs against grpc-go peers (tests/interop) and writes docs/benchmarks.md: one table with every figure
# (GpuDaemon, the grpc-go baseline where there is one, ratio, goal, verdict), then how each is measured.
#
# Usage: tests/bench/run.sh [--quick | --smoke] [--out FILE]
#
#   (default)   full run, about 12 minutes after the publish
#   --quick     fewer calls, restarts and scrapes; still 5 rounds and a 60 s idle window (about 6 minutes)
#   --smoke     CI: tiny counts and a short idle window, every figure through the same code path (about
#               1 minute after the publish); fails only if a measurement could not be taken or a figure
#               is missing or not a number, never on a missed goal
#   --out FILE  where to write the report (default: docs/benchmarks.md)
#
# Figures, each from this one run:
#   1. Allocate p99, sequential and 16-way, GpuDaemon (`serve --simulate 8`) vs a grpc-go baseline plugin
#      (`gpudaemon-interop baseline-plugin --devices 8`): five interleaved rounds, both plugins running
#      throughout; the median of the rounds' p99.
#   2. Allocate calls/s, 16-way: the median of the rounds.
#   3. GpuDaemon's runtime counters from its own /metrics, read before and after each load run: allocated
#      bytes per Allocate (against before_bytes_* below), GCs and GC pause per 10k calls; JIT time to
#      the first registration (`gpudaemon-interop execreg --metrics-url`).
#   4. Resident memory of the whole agent (plugin + metrics + pod attribution against
#      `gpudaemon-interop podresources`) over a soak of five chunks of Allocates and scrapes.
#   5. Idle CPU of that agent, and of the baseline, over one window after the soak.
#   6. exec -> registered (`gpudaemon-interop execreg`).
#   7. fault -> Unhealthy on ListAndWatch (`gpudaemon-interop faultlat`), kubelet restart -> registered
#      (`gpudaemon-interop kubelet --restarts R`).
#   8. /metrics scrape p99 (`gpudaemon-interop scrape`), 8 GPUs x4 time-sliced / 50 pods and 64 MIG
#      devices / 500 pods.
#   9. Resident memory the metrics subsystem adds: VmRSS of `serve` with metrics and pod attribution after
#      scrapes, minus the same serve with `--metrics-listen "" --pod-resources-socket ""`; median of rounds.
# A **missed** verdict links to the heading of the same name in tests/bench/notes.md when there is one
# (any level, e.g. "#### Allocate p99, sequential"); the names are the table's first column up to " (".
# The hand-written part of the report is tests/bench/notes.md, appended verbatim.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
cd "$repo_root"

mode=full
out=docs/benchmarks.md
usage="usage: tests/bench/run.sh [--quick | --smoke] [--out FILE]"
while (($#)); do
    case "$1" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --out)
        [[ $# -ge 2 ]] || { echo "run.sh: --out needs a file ($usage)" >&2; exit 2; }
        out="$2"
        shift
        ;;
    -h | --help)
        sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run.sh: unknown argument $1 ($usage)" >&2
        exit 2
        ;;
    esac
    shift
done

rounds=5 # interleaved Allocate rounds in every mode
case $mode in
full)
    calls=50000 warmup=2000 soak_calls=20000 soak_scrapes=2000 idle_window=60 settle=30
    restarts=50 fault_rounds=50 exec_rounds=20 scrapes=2000 scrape_warmup=200
    metrics_rss_scrapes=500 metrics_rss_settle=30
    ;;
quick)
    calls=10000 warmup=1000 soak_calls=20000 soak_scrapes=2000 idle_window=60 settle=30
    restarts=20 fault_rounds=20 exec_rounds=10 scrapes=500 scrape_warmup=50
    metrics_rss_scrapes=500 metrics_rss_settle=30
    ;;
smoke)
    calls=300 warmup=50 soak_calls=1000 soak_scrapes=50 idle_window=5 settle=1
    restarts=3 fault_rounds=3 exec_rounds=3 scrapes=30 scrape_warmup=5
    metrics_rss_scrapes=20 metrics_rss_settle=1
    ;;
esac
soak_chunks=5

# Allocated bytes per Allocate before issue 12's hot-path work: the median of five rounds of
# `run.sh --quick` at commit 260a06d (the commit that added the runtime counters), on the 2-core
# development machine. The goal is a lower figure than these.
before_commit=260a06d
before_bytes_seq=4167 # rounds: 4178 4169 4161 4163 4167
before_bytes_par=4152 # rounds: 4135 4152 4154 4156 4152

devices=8  # the table's scrape rows name these shapes: 8 GPUs x4 / 50 pods, 64 MIG devices / 500 pods
replicas=4 # time-slicing for the 8-GPU shapes: 32 replicas
resource=nvidia.com/gpu
socket_name=gpudaemon-nvidia.com-gpu.sock
goal_rss_bytes=60000000      # 60 MB, decimal
growth_margin_kib=1024       # "no growth": last soak chunk minus the second within 1 MiB
goal_idle_cpu_pct=0.5
goal_exec_ms=300
goal_latency_ms=100
goal_scrape_gpu_ms=5
goal_scrape_mig_ms=20
goal_metrics_rss_bytes=5000000 # 5 MB, decimal: what the metrics subsystem may add

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "FAILED: $*"
    echo "run.sh: $*" >&2
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

# free_port: a local TCP port nothing listens on (never the default 9400), not handed out before.
used_ports=" 9400 "
free_port() {
    local i p
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000)) # below Linux's ephemeral range (32768-60999), which outgoing connections take
        [[ $used_ports == *" $p "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            used_ports+="$p "
            echo "$p"
            return 0
        fi
    done
    die "found no free local TCP port"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { if (k ~ /^-?[0-9.]+$/) printf "%.1f", k / 1024; else printf "n/a" }'; }
mb() { awk -v k="$1" 'BEGIN { if (k ~ /^-?[0-9.]+$/) printf "%.1f", k * 1024 / 1000000; else printf "n/a" }'; }
# cpu_ticks PID: utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# field LINE KEY: the value of KEY=value in LINE.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# median V...: the median of the numbers given (the mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | awk '/^-?[0-9.eE+-]+$/' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { printf "n/a"; exit }
        if (NR % 2) printf "%.6g", v[(NR + 1) / 2]; else printf "%.6g", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# fmt DECIMALS V: V rounded ("n/a" if not a number).
fmt() { awk -v d="$1" -v v="$2" 'BEGIN { if (v ~ /^-?[0-9.eE+-]+$/) printf "%." d "f", v; else printf "n/a" }'; }

# ratio A B: A / B to two decimals ("n/a" if either is not a number or B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.eE+-]+$/ && b ~ /^[0-9.eE+-]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

# le A B / ge A B: true if number A <= B (>= B); false if either is not a number.
le() { isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
ge() { isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
lt() { isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

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
mapfile -t dotnet_env < <(grep -oE '(DOTNET|MALLOC)_[A-Za-z0-9_]+=[^[:space:]\\]+' Dockerfile | sort -u)
((${#dotnet_env[@]})) || die "found no DOTNET_ settings in the Dockerfile"
export "${dotnet_env[@]}"
log "runtime settings from the Dockerfile: ${dotnet_env[*]}"

log "building the grpc-go peer (tests/interop/build.sh)"
bash tests/interop/build.sh "$work/interop" >"$work/interop-build.log" 2>&1 || {
    cat "$work/interop-build.log" >&2
    die "tests/interop/build.sh failed"
}
peer="$work/interop/gpudaemon-interop"

# --- Shared helpers for GpuDaemon processes -----------------------------------------------------------

# registrar DIR: a grpc-go Registration server on DIR/kubelet.sock, so the plugin registers once and
# stops retrying, as on a node. Sets reg_pid.
registrar() {
    mkdir -p "$1"
    "$peer" server --socket "$1/kubelet.sock" --watch-stdin=false >"$1/registrar.log" 2>&1 &
    reg_pid=$!
    pids+=("$reg_pid")
    wait_for_line "$1/registrar.log" LISTENING "$reg_pid"
}

# counters URL: one COUNTERS line with GpuDaemon's runtime counters (gpudaemon-interop counters).
counters() { "$peer" counters --url "$1" | grep '^COUNTERS' || die "could not read the runtime counters from $1"; }

# wait_for_metrics URL PID: until URL answers with the runtime counters, 30 s at most.
wait_for_metrics() {
    local i
    for ((i = 0; i < 150; i++)); do
        "$peer" counters --url "$1" >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || die "process $2 exited before $1 answered"
        sleep 0.2
    done
    die "$1 did not answer within 30 s"
}

# delta BEFORE AFTER NAME: AFTER's NAME minus BEFORE's (COUNTERS lines).
delta() { awk -v a="$(field "$1" "$3")" -v b="$(field "$2" "$3")" 'BEGIN { printf "%.9g", b - a }'; }

# --- 1-3. Allocate: five interleaved rounds, runtime counters around GpuDaemon's ------------------------

dir="$work/alloc"
gd_port=$(free_port)
gd_url="http://127.0.0.1:$gd_port/metrics"
registrar "$dir"
log "starting gpudaemon serve --simulate $devices --metrics-listen 127.0.0.1:$gd_port --pod-resources-socket \"\""
"$gpudaemon" serve --simulate "$devices" --device-plugin-dir "$dir" --metrics-listen "127.0.0.1:$gd_port" \
    --pod-resources-socket "" >"$work/serve-alloc.log" 2>&1 &
gd_pid=$!
pids+=("$gd_pid")
alloc_reg_pid=$reg_pid
wait_for_socket "$dir/$socket_name" "$gd_pid"
wait_for_metrics "$gd_url" "$gd_pid"

log "starting gpudaemon-interop baseline-plugin --devices $devices"
"$peer" baseline-plugin --socket "$work/baseline.sock" --devices "$devices" >"$work/baseline.log" 2>&1 &
base_pid=$!
pids+=("$base_pid")
wait_for_socket "$work/baseline.sock" "$base_pid"

# load_run NAME ROUND CONCURRENCY: one load run; for GpuDaemon with the counters read around it.
# Appends "ROUND NAME CONCURRENCY ALLOCATE-line [bytes_per_call= gcs_per_10k= pause_ms_per_10k=]" to alloc_lines.
alloc_lines=()
load_run() {
    local name=$1 round=$2 c=$3 sock before after line extra=
    if [[ $name == gd ]]; then sock="$dir/$socket_name"; else sock="$work/baseline.sock"; fi
    [[ $name == gd ]] && before=$(counters "$gd_url")
    line=$("$peer" load --socket "$sock" --calls "$calls" --concurrency "$c" --warmup "$warmup" | grep '^ALLOCATE') ||
        die "$name: round $round, load with concurrency $c failed"
    if [[ $name == gd ]]; then
        after=$(counters "$gd_url")
        extra=$(awk -v n=$((calls + warmup)) -v b="$(delta "$before" "$after" dotnet_gc_allocated_bytes_total)" \
            -v g="$(delta "$before" "$after" dotnet_gc_collections_total)" -v p="$(delta "$before" "$after" dotnet_gc_pause_seconds_total)" \
            'BEGIN { printf "bytes_per_call=%.0f gcs_per_10k=%.2f pause_ms_per_10k=%.3f", b / n, g * 10000 / n, p * 1000 * 10000 / n }')
    fi
    log "round $round $name c=$c: $line $extra"
    alloc_lines+=("round=$round plugin=$name $line $extra")
}

for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order=(gd base); else order=(base gd); fi
    for c in 1 16; do
        for name in "${order[@]}"; do load_run "$name" "$r" "$c"; done
    done
done
base_rss_load=$(rss_kib "$base_pid")
stop "$gd_pid"
stop "$alloc_reg_pid"

# alloc_values PLUGIN CONCURRENCY KEY: KEY of every round's run of PLUGIN at CONCURRENCY.
alloc_values() {
    local l
    for l in "${alloc_lines[@]}"; do
        [[ $(field "$l" plugin) == "$1" && $(field "$l" concurrency) == "$2" ]] && field "$l" "$3"
    done
}
alloc_median() { median $(alloc_values "$@"); }

# --- Scenario files and pods for the whole agent and the scrape shapes -------------------------------

# h100_scenario FILE MIG_INSTANCES: 8 simulated H100s; with MIG_INSTANCES > 0, MIG on with that many
# 1g.10gb instances each, UUIDs MIG-benchGGG-0000-4000-8000-00000000000K.
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

# agent NAME SCENARIO PODS_FILE PLUGIN_SOCKET [SERVE FLAGS...]: the whole agent (device plugin, metrics on a
# free port, pod attribution against a grpc-go pod-resources server), registered with a grpc-go Registration
# server. Sets agent_pid, agent_url, agent_pr_pid, agent_reg_pid and agent_dir.
agent() {
    local name=$1 scenario=$2 pods=$3 plugin_socket=$4 port
    shift 4
    agent_dir="$work/agent-$name"
    mkdir -p "$agent_dir"
    # The pod-resources server stops at the end of its stdin; fd 7 holds the FIFO open until agent_stop.
    mkfifo "$agent_dir/stdin"
    exec 7<>"$agent_dir/stdin"
    "$peer" podresources --socket "$agent_dir/pod-resources.sock" --pods-file "$pods" <&7 >"$agent_dir/podresources.log" 2>&1 &
    agent_pr_pid=$!
    pids+=("$agent_pr_pid")
    wait_for_line "$agent_dir/podresources.log" LISTENING "$agent_pr_pid"
    registrar "$agent_dir/plugins"
    agent_reg_pid=$reg_pid
    port=$(free_port)
    agent_url="http://127.0.0.1:$port/metrics"
    log "$name: serve --simulation ($(basename "$scenario")) $* --metrics-listen 127.0.0.1:$port, pod attribution ($(basename "$pods"))"
    "$gpudaemon" serve --simulation "$scenario" "$@" --device-plugin-dir "$agent_dir/plugins" \
        --metrics-listen "127.0.0.1:$port" --pod-resources-socket "$agent_dir/pod-resources.sock" >"$agent_dir/serve.log" 2>&1 &
    agent_pid=$!
    pids+=("$agent_pid")
    wait_for_socket "$agent_dir/plugins/$plugin_socket" "$agent_pid"
    wait_for_metrics "$agent_url" "$agent_pid"
}
agent_stop() {
    stop "$agent_pid"
    stop "$agent_reg_pid"
    stop "$agent_pr_pid"
    exec 7>&-
}

# --- 4-5. Whole agent: soak, then idle CPU ------------------------------------------------------------

agent soak "$scrape_dir/gpus.json" "$scrape_dir/gpu-pods.txt" "$socket_name" --replicas "$replicas"
soak_pid=$agent_pid
soak_rss_start=$(rss_kib "$soak_pid")
soak_rss=()
soak_lines=()
for ((k = 1; k <= soak_chunks; k++)); do
    line=$("$peer" load --socket "$agent_dir/plugins/$socket_name" --calls "$soak_calls" --concurrency 16 --warmup 0 | grep '^ALLOCATE') ||
        die "soak chunk $k: load failed"
    soak_lines+=("chunk=$k $line")
    line=$("$peer" scrape --url "$agent_url" --gzip=true --expect-pods "$gpu_holders" --scrapes "$soak_scrapes" --warmup 0 | grep '^SCRAPE') ||
        die "soak chunk $k: scrape failed"
    soak_lines+=("chunk=$k $line")
    soak_rss+=("$(rss_kib "$soak_pid")")
    log "soak chunk $k/$soak_chunks: $soak_calls Allocates, $soak_scrapes scrapes, VmRSS $(mib "${soak_rss[-1]}") MiB"
done
soak_rss_last=${soak_rss[-1]}
soak_growth=$((soak_rss_last - soak_rss[1]))

log "idle CPU: $settle s to settle, then a $idle_window s window on the agent and the baseline plugin"
sleep "$settle"
clk_tck=$(getconf CLK_TCK)
gd_t0=$(cpu_ticks "$soak_pid")
base_t0=$(cpu_ticks "$base_pid")
w0=$(date +%s%N)
sleep "$idle_window"
gd_t1=$(cpu_ticks "$soak_pid")
base_t1=$(cpu_ticks "$base_pid")
w1=$(date +%s%N)
idle_pct() { awk -v t=$(($2 - $1)) -v hz="$clk_tck" -v ns=$((w1 - w0)) 'BEGIN { printf "%.3f", t / hz / (ns / 1e9) * 100 }'; }
gd_idle_cpu=$(idle_pct "$gd_t0" "$gd_t1")
base_idle_cpu=$(idle_pct "$base_t0" "$base_t1")
idle_seconds=$(awk -v ns=$((w1 - w0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
gd_idle_rss=$(rss_kib "$soak_pid")
base_idle_rss=$(rss_kib "$base_pid")
log "idle CPU over $idle_seconds s: GpuDaemon $gd_idle_cpu %, baseline $base_idle_cpu % of one core"
agent_stop
stop "$base_pid"

# --- 7. Scenario fault -> Unhealthy on ListAndWatch ---------------------------------------------------

scenario="$work/fault/scenario.json"
mkdir -p "$work/fault/plugins"
h100_scenario "$scenario" 0
fault_uuid=$(printf 'GPU-bench000-0000-4000-8000-%012d' 3)
log "starting gpudaemon serve --simulation (8 GPUs) --recovery-period 0s; faulting $fault_uuid $fault_rounds times"
"$gpudaemon" serve --simulation "$scenario" --recovery-period 0s --device-plugin-dir "$work/fault/plugins" \
    --metrics-listen "" --pod-resources-socket "" >"$work/serve-fault.log" 2>&1 &
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

# --- 7. Kubelet restart -> registered -----------------------------------------------------------------

dir="$work/rereg"
log "kubelet emulator with $restarts restarts against gpudaemon serve --simulate $devices"
"$peer" kubelet --dir "$dir" --expect-devices "$devices" --restarts "$restarts" >"$work/kubelet.log" 2>&1 &
kubelet_pid=$!
pids+=("$kubelet_pid")
wait_for_line "$work/kubelet.log" LISTENING "$kubelet_pid"
"$gpudaemon" serve --simulate "$devices" --device-plugin-dir "$dir" --metrics-listen "" --pod-resources-socket "" >"$work/serve-rereg.log" 2>&1 &
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

# --- 3, 6. Exec -> registered, and the JIT time by then ------------------------------------------------

exec_port=$(free_port)
log "exec -> registered, $exec_rounds starts, first-registration series from 127.0.0.1:$exec_port"
exec_out=$("$peer" execreg --dir "$work/exec" --rounds "$exec_rounds" --log "$work/serve-exec.log" 2>"$work/execreg.err" \
    --metrics-url "http://127.0.0.1:$exec_port/metrics" -- \
    "$gpudaemon" serve --simulate "$devices" --device-plugin-dir "$work/exec" \
    --metrics-listen "127.0.0.1:$exec_port" --pod-resources-socket "") || {
    tail -n 5 "$work/serve-exec.log" >&2 || true
    die "execreg failed: $(tail -n 1 "$work/execreg.err")"
}
exec_line=$(grep '^EXEC_REGISTERED_MS' <<<"$exec_out")
arrived_line=$(grep '^EXEC_REGISTER_ARRIVED_MS' <<<"$exec_out")
mapfile -t exec_metrics < <(grep '^METRICS' <<<"$exec_out")
((${#exec_metrics[@]} == exec_rounds)) || die "execreg printed ${#exec_metrics[@]} METRICS lines for $exec_rounds starts"
exec_values() { local l; for l in "${exec_metrics[@]}"; do field "$l" "$1"; done; }
jit_ms=$(median $(exec_values gpudaemon_first_registration_jit_seconds | awk '{ print $1 * 1000 }'))
first_reg_ms=$(median $(exec_values gpudaemon_first_registration_seconds | awk '{ print $1 * 1000 }'))
jit_methods=$(median $(exec_values gpudaemon_first_registration_jitted_methods))
log "$exec_line; JIT by the first registration: median $jit_ms ms, $jit_methods methods"

# --- 8. Metrics scrape --------------------------------------------------------------------------------

# scrape_shape NAME SCENARIO PODS_FILE EXPECT_PODS PLUGIN_SOCKET [SERVE FLAGS...]: the whole agent, scraped
# with and without gzip. Sets ${NAME}_gz, ${NAME}_plain (SCRAPE lines), ${NAME}_lists (pod-resources List
# calls during the gzip run).
scrape_shape() {
    local name=$1 scenario=$2 pods=$3 expect=$4 plugin_socket=$5 line lists_before
    shift 5
    agent "$name" "$scenario" "$pods" "$plugin_socket" "$@"
    for gz in true false; do
        log "$name: $scrapes scrapes of $agent_url (gzip $gz) after $scrape_warmup unmeasured"
        lists_before=$(grep -c '^LIST' "$agent_dir/podresources.log" || true)
        line=$("$peer" scrape --url "$agent_url" --gzip="$gz" --expect-pods "$expect" --scrapes "$scrapes" --warmup "$scrape_warmup" | grep '^SCRAPE') ||
            die "$name: scrape (gzip $gz) failed"
        log "$name: $line"
        if [[ $gz == true ]]; then
            printf -v "${name}_gz" %s "$line"
            printf -v "${name}_lists" %s $(($(grep -c '^LIST' "$agent_dir/podresources.log" || true) - lists_before))
        else
            printf -v "${name}_plain" %s "$line"
        fi
    done
    agent_stop
}

scrape_shape gpu "$scrape_dir/gpus.json" "$scrape_dir/gpu-pods.txt" "$gpu_holders" "$socket_name" --replicas "$replicas"
# Every GPU is in MIG mode, so only the MIG profile's resource is advertised.
scrape_shape mig "$scrape_dir/mig.json" "$scrape_dir/mig-pods.txt" "$mig_holders" gpudaemon-nvidia.com-mig-1g.10gb.sock --mig-strategy mixed

# --- 9. Resident memory the metrics subsystem adds -------------------------------------------------------

# Each round: the 8-GPU agent with metrics and pod attribution, scraped, settled, VmRSS read; then the same
# serve with both off (registered the same way), idle for as long as the first one lived, VmRSS read.
metrics_rss_on=() metrics_rss_off=() metrics_rss_added=()
for ((r = 1; r <= rounds; r++)); do
    born=$(date +%s%N)
    agent "rss-on-$r" "$scrape_dir/gpus.json" "$scrape_dir/gpu-pods.txt" "$socket_name" --replicas "$replicas"
    "$peer" scrape --url "$agent_url" --gzip=true --expect-pods "$gpu_holders" --scrapes "$metrics_rss_scrapes" --warmup 0 >/dev/null ||
        die "metrics memory round $r: scrape failed"
    sleep "$metrics_rss_settle"
    rss_on=$(rss_kib "$agent_pid")
    lived_ms=$((($(date +%s%N) - born) / 1000000))
    agent_stop

    born=$(date +%s%N)
    off_dir="$work/rss-off-$r"
    registrar "$off_dir/plugins"
    off_reg_pid=$reg_pid
    "$gpudaemon" serve --simulation "$scrape_dir/gpus.json" --replicas "$replicas" --device-plugin-dir "$off_dir/plugins" \
        --metrics-listen "" --pod-resources-socket "" >"$off_dir/serve.log" 2>&1 &
    off_pid=$!
    pids+=("$off_pid")
    wait_for_socket "$off_dir/plugins/$socket_name" "$off_pid"
    sleep "$(awk -v ms=$((lived_ms - ($(date +%s%N) - born) / 1000000)) 'BEGIN { printf "%.3f", (ms > 0 ? ms : 0) / 1000 }')"
    rss_off=$(rss_kib "$off_pid")
    stop "$off_pid"
    stop "$off_reg_pid"

    metrics_rss_on+=("$rss_on") metrics_rss_off+=("$rss_off") metrics_rss_added+=("$((rss_on - rss_off))")
    log "metrics memory round $r: VmRSS $(mib "$rss_on") MiB with metrics ($metrics_rss_scrapes scrapes), $(mib "$rss_off") MiB without; added $(mib "$((rss_on - rss_off))") MiB"
done
metrics_rss_added_kib=$(median "${metrics_rss_added[@]}")

elapsed=$(($(date +%s) - started))
log "measurements done in ${elapsed}s; writing $out"

# --- Report -------------------------------------------------------------------------------------------

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cores=$(nproc)
dotnet_version=$(dotnet --version 2>/dev/null || echo unknown)
go_version=$(go version 2>/dev/null | awk '{ print $3 }')
grpc_go_version=$(sed -n 's/^const Version = "\(.*\)"/\1/p' /usr/share/gocode/src/google.golang.org/grpc/version.go 2>/dev/null || true)

notes_file="$script_dir/notes.md"
# slug TITLE: the anchor GitHub gives a heading TITLE.
slug() { printf '%s' "$1" | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C sed 's/[^a-z0-9 _-]//g; s/ /-/g'; }
# verdict TITLE COMMAND...: met, or **missed** linked to notes.md's heading TITLE where there is one.
verdict() {
    local title=$1
    shift
    if "$@"; then
        echo met
    elif [[ -f $notes_file ]] && awk -v t="$title" '/^#+[ \t]/ { l = $0; sub(/^#+[ \t]+/, "", l); sub(/[ \t]+$/, "", l); if (l == t) found = 1 } END { exit !found }' "$notes_file"; then
        echo "[**missed**](#$(slug "$title"))"
    else
        echo "**missed**"
    fi
}

# Every figure of the table, NAME=VALUE, checked to be a number once the report is written.
figures=()
figure() { figures+=("$1=$2"); }

g_seq_p99=$(alloc_median gd 1 p99_us)
b_seq_p99=$(alloc_median base 1 p99_us)
g_par_p99=$(alloc_median gd 16 p99_us)
b_par_p99=$(alloc_median base 16 p99_us)
g_par_rate=$(alloc_median gd 16 calls_per_s)
b_par_rate=$(alloc_median base 16 calls_per_s)
bytes_seq=$(alloc_median gd 1 bytes_per_call)
bytes_par=$(alloc_median gd 16 bytes_per_call)
gcs_seq=$(alloc_median gd 1 gcs_per_10k)
gcs_par=$(alloc_median gd 16 gcs_per_10k)
pause_seq=$(alloc_median gd 1 pause_ms_per_10k)
pause_par=$(alloc_median gd 16 pause_ms_per_10k)
exec_p50=$(field "$exec_line" p50)
exec_p99=$(field "$exec_line" p99)
fault_p99=$(field "$fault_line" p99)
rereg_p99=$(field "$rereg_line" p99)
gpu_scrape_p99=$(field "$gpu_gz" p99_ms)
mig_scrape_p99=$(field "$mig_gz" p99_ms)
soak_rss_bytes=$((soak_rss_last * 1024))
metrics_rss_added_bytes=$(awk -v k="$metrics_rss_added_kib" 'BEGIN { printf "%.0f", k * 1024 }')
base_rss_bytes=$((base_rss_load * 1024))

figure allocate_p99_seq_gpudaemon_us "$g_seq_p99"
figure allocate_p99_seq_baseline_us "$b_seq_p99"
figure allocate_p99_par_gpudaemon_us "$g_par_p99"
figure allocate_p99_par_baseline_us "$b_par_p99"
figure allocate_rate_par_gpudaemon "$g_par_rate"
figure allocate_rate_par_baseline "$b_par_rate"
figure bytes_per_allocate_seq "$bytes_seq"
figure bytes_per_allocate_par "$bytes_par"
figure bytes_per_allocate_before_seq "$before_bytes_seq"
figure bytes_per_allocate_before_par "$before_bytes_par"
figure gcs_per_10k_seq "$gcs_seq"
figure gcs_per_10k_par "$gcs_par"
figure gc_pause_ms_per_10k_seq "$pause_seq"
figure gc_pause_ms_per_10k_par "$pause_par"
figure jit_ms_first_registration "$jit_ms"
figure rss_after_soak_kib "$soak_rss_last"
figure rss_growth_kib "$soak_growth"
figure idle_cpu_gpudaemon_pct "$gd_idle_cpu"
figure idle_cpu_baseline_pct "$base_idle_cpu"
figure exec_registered_p50_ms "$exec_p50"
figure exec_registered_p99_ms "$exec_p99"
figure fault_unhealthy_p99_ms "$fault_p99"
figure kubelet_restart_p99_ms "$rereg_p99"
figure scrape_p99_gpu_ms "$gpu_scrape_p99"
figure scrape_p99_mig_ms "$mig_scrape_p99"
figure metrics_rss_added_kib "$metrics_rss_added_kib"

# round_rows: one table row per load run, in the order run.
round_rows() {
    local l name
    for l in "${alloc_lines[@]}"; do
        if [[ $(field "$l" plugin) == gd ]]; then name=GpuDaemon; else name=baseline; fi
        echo "| $(field "$l" round) | $name | $(field "$l" concurrency) | $(field "$l" p50_us) | $(field "$l" p99_us) | $(field "$l" p999_us) | $(field "$l" calls_per_s) | $(field "$l" bytes_per_call) | $(field "$l" gcs_per_10k) | $(field "$l" pause_ms_per_10k) |"
    done
}
median_row() { # label CONCURRENCY
    echo "| median | $1 | $2 | $(alloc_median "$3" "$2" p50_us) | $(alloc_median "$3" "$2" p99_us) | $(alloc_median "$3" "$2" p999_us) | $(alloc_median "$3" "$2" calls_per_s) | $4 | $5 | $6 |"
}
soak_rows() {
    local k
    echo "| start (registered, pods attributed) | $(mib "$soak_rss_start") MiB | $(mb "$soak_rss_start") MB |"
    for ((k = 1; k <= soak_chunks; k++)); do
        echo "| after chunk $k ($((k * soak_calls)) Allocates, $((k * soak_scrapes)) scrapes) | $(mib "${soak_rss[k - 1]}") MiB | $(mb "${soak_rss[k - 1]}") MB |"
    done
}
exec_rows() {
    local l
    for l in "${exec_metrics[@]}"; do
        echo "| $(field "$l" round) | $(fmt 1 "$(awk -v s="$(field "$l" gpudaemon_first_registration_seconds)" 'BEGIN { print s * 1000 }')") | $(fmt 1 "$(awk -v s="$(field "$l" gpudaemon_first_registration_jit_seconds)" 'BEGIN { print s * 1000 }')") | $(field "$l" gpudaemon_first_registration_jitted_methods) |"
    done
}
scrape_row() { # label SCRAPE_gzip SCRAPE_plain lists
    echo "| $1 | $(field "$2" scrapes) | $(field "$2" p50_ms) | $(field "$2" p99_ms) | $(field "$2" max_ms) | $(field "$3" p50_ms) / $(field "$3" p99_ms) | $(field "$2" bytes) / $(field "$2" wire_bytes) | $(field "$2" samples) | $(field "$2" pods) | $4 |"
}

metrics_rss_rows() {
    local r
    for ((r = 1; r <= rounds; r++)); do
        echo "| $r | $(mib "${metrics_rss_on[r - 1]}") MiB | $(mib "${metrics_rss_off[r - 1]}") MiB | $(mib "${metrics_rss_added[r - 1]}") MiB |"
    done
}

soak_total_calls=$((soak_chunks * soak_calls))
soak_total_scrapes=$((soak_chunks * soak_scrapes))
mode_flag=
[[ $mode != full ]] && mode_flag=" --$mode"

mkdir -p "$(dirname "$out")"
{
    cat <<EOF2
# GpuDaemon benchmarks

Generated by \`bash tests/bench/run.sh$mode_flag\` ($mode mode) on $(date -u '+%Y-%m-%d %H:%M UTC'), all
numbers from that one run ($elapsed s including the publish). Re-run it to refresh this file; the text after
"Notes" comes from \`tests/bench/notes.md\`.

## Figures

| figure | GpuDaemon | grpc-go baseline | ratio | goal | verdict |
|---|---|---|---|---|---|
| Allocate p99, sequential (µs, median of $rounds rounds) | $g_seq_p99 | $b_seq_p99 | $(ratio "$g_seq_p99" "$b_seq_p99") | ≤ 1.0× baseline | $(verdict "Allocate p99, sequential" le "$(ratio "$g_seq_p99" "$b_seq_p99")" 1.0) |
| Allocate p99, 16-way (µs, median of $rounds rounds) | $g_par_p99 | $b_par_p99 | $(ratio "$g_par_p99" "$b_par_p99") | ≤ 1.0× baseline | $(verdict "Allocate p99, 16-way" le "$(ratio "$g_par_p99" "$b_par_p99")" 1.0) |
| Allocate calls/s, 16-way (median of $rounds rounds) | $g_par_rate | $b_par_rate | $(ratio "$g_par_rate" "$b_par_rate") | ≥ 1.2× baseline | $(verdict "Allocate calls/s, 16-way" ge "$(ratio "$g_par_rate" "$b_par_rate")" 1.2) |
| Allocated bytes per Allocate, sequential (median) | $bytes_seq | before: $before_bytes_seq (at $before_commit) | $(ratio "$bytes_seq" "$before_bytes_seq") | lower than before | $(verdict "Allocated bytes per Allocate, sequential" lt "$bytes_seq" "$before_bytes_seq") |
| Allocated bytes per Allocate, 16-way (median) | $bytes_par | before: $before_bytes_par (at $before_commit) | $(ratio "$bytes_par" "$before_bytes_par") | lower than before | $(verdict "Allocated bytes per Allocate, 16-way" lt "$bytes_par" "$before_bytes_par") |
| GCs per 10k Allocates (all generations; sequential / 16-way, median) | $gcs_seq / $gcs_par | | | reported | reported |
| GC pause per 10k Allocates (ms; sequential / 16-way, median) | $pause_seq / $pause_par | | | reported | reported |
| JIT time to first registration (ms, median of $exec_rounds starts) | $jit_ms | | | reported | reported |
| Resident memory, whole agent (after $soak_total_calls Allocates and $soak_total_scrapes scrapes) | $(mb "$soak_rss_last") MB ($(mib "$soak_rss_last") MiB) | $(mb "$base_rss_load") MB ($(mib "$base_rss_load") MiB; plugin only, after its rounds) | $(ratio "$soak_rss_last" "$base_rss_load") | ≤ 60 MB | $(verdict "Resident memory, whole agent" le "$soak_rss_bytes" "$goal_rss_bytes") |
| Resident memory growth (last soak chunk minus the second, MiB) | $(mib "$soak_growth") | | | ≤ $(mib "$growth_margin_kib") MiB | $(verdict "Resident memory growth" le "$soak_growth" "$growth_margin_kib") |
| Idle CPU (% of one core over $idle_seconds s) | $gd_idle_cpu | $base_idle_cpu | $(ratio "$gd_idle_cpu" "$base_idle_cpu") | ≤ $goal_idle_cpu_pct % | $(verdict "Idle CPU" le "$gd_idle_cpu" "$goal_idle_cpu_pct") |
| exec → registered (ms, median; p99 $exec_p99 of $exec_rounds starts) | $exec_p50 | | | ≤ $goal_exec_ms ms median | $(verdict "exec → registered" le "$exec_p50" "$goal_exec_ms") |
| fault → Unhealthy on ListAndWatch (ms, p99 of $fault_rounds) | $fault_p99 | | | ≤ $goal_latency_ms ms | $(verdict "fault → Unhealthy on ListAndWatch" le "$fault_p99" "$goal_latency_ms") |
| kubelet restart → registered (ms, p99 of $restarts) | $rereg_p99 | | | ≤ $goal_latency_ms ms | $(verdict "kubelet restart → registered" le "$rereg_p99" "$goal_latency_ms") |
| Scrape p99, 8 GPUs / 50 pods (ms; ×4 time-sliced, gzip) | $gpu_scrape_p99 | | | ≤ $goal_scrape_gpu_ms ms | $(verdict "Scrape p99, 8 GPUs / 50 pods" le "$gpu_scrape_p99" "$goal_scrape_gpu_ms") |
| Scrape p99, 64 MIG devices / 500 pods (ms; gzip) | $mig_scrape_p99 | | | ≤ $goal_scrape_mig_ms ms | $(verdict "Scrape p99, 64 MIG devices / 500 pods" le "$mig_scrape_p99" "$goal_scrape_mig_ms") |
| Resident memory the metrics subsystem adds (8 GPUs / 50 pods, median of $rounds rounds) | $(mb "$metrics_rss_added_kib") MB ($(mib "$metrics_rss_added_kib") MiB) | | | ≤ 5 MB | $(verdict "Resident memory the metrics subsystem adds" le "$metrics_rss_added_bytes" "$goal_metrics_rss_bytes") |

Ratios are GpuDaemon / baseline (or / before): below 1 is better for latency, bytes, memory and CPU,
above 1 is better for calls/s. MB is 1,000,000 bytes, MiB 1,048,576. A **missed** verdict links to its
explanation in the notes below where there is one. Each figure is explained in the sections that follow.

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
  \`${dotnet_env[*]}\`, as \`gpudaemon serve\` on simulated GPUs in a temporary device-plugin directory,
  registered with a grpc-go Registration server (\`gpudaemon-interop server\`) as on a node. Metrics listen on a
  free loopback port (never 9400).
- **Baseline**: \`gpudaemon-interop baseline-plugin --devices $devices\`, a grpc-go device plugin of the same shape
  (same options, device list and Allocate answer: \`NVIDIA_VISIBLE_DEVICES\` plus device specs for the GPU and the
  control devices). It does no health tracking, logging, metrics or registration.
- **Client**: \`gpudaemon-interop load --calls $calls --warmup $warmup --concurrency 1|16\` (grpc-go, one connection like the
  kubelet, one device per Allocate, rotating over the devices). Latency is per call, nearest-rank percentiles.
- Built by \`tests/interop/build.sh\`; see tests/interop/README.md for each subcommand.

## Allocate: every round

\`serve --simulate $devices --metrics-listen 127.0.0.1:PORT --pod-resources-socket ""\` and the baseline run side by side
for all $rounds rounds. Each round runs, for concurrency 1 and then 16, both plugins one after the other, the
GpuDaemon first in odd rounds and the baseline first in even rounds. Each run is $warmup unmeasured and $calls measured
calls on a new connection. The figures take the median over the rounds of each run's p99 (and calls/s).

Around each GpuDaemon run, \`gpudaemon-interop counters\` reads GpuDaemon's own \`/metrics\`:
\`dotnet_gc_allocated_bytes_total\`, \`dotnet_gc_collections_total\` (all generations summed) and
\`dotnet_gc_pause_seconds_total\`. The difference is divided by the run's $((calls + warmup)) calls (warm-up included,
since it ran between the readings). It also holds what the process did meanwhile besides Allocate: one
ListAndWatch stream per run, its timers, and the scrape that took the first reading.

| round | plugin | concurrency | p50 (µs) | p99 (µs) | p99.9 (µs) | calls/s | bytes per Allocate | GCs per 10k | GC pause per 10k (ms) |
|---|---|---|---|---|---|---|---|---|---|
$(round_rows)
$(median_row GpuDaemon 1 gd "$bytes_seq" "$gcs_seq" "$pause_seq")
$(median_row baseline 1 base "" "" "")
$(median_row GpuDaemon 16 gd "$bytes_par" "$gcs_par" "$pause_par")
$(median_row baseline 16 base "" "" "")

"before" in the bytes-per-Allocate rows is the same measurement with this script at commit $before_commit, before the
hot-path work of issue 12: the median of five \`--quick\` rounds, kept as a constant in \`tests/bench/run.sh\`. A run's
fixed costs (its connection and ListAndWatch stream, the scrape that takes the first reading; about 0.25 MB) are
spread over its calls: about 25 bytes per call in \`--quick\`, 5 in a full run and several hundred in \`--smoke\`, so
compare with "before" from a full or \`--quick\` run only.

## Whole agent: resident memory over a soak, then idle CPU

\`serve --simulation FILE --replicas $replicas\` (8 simulated H100s, time-sliced 4 ways) with metrics on and pod attribution
against \`gpudaemon-interop podresources --pods-file\` serving $gpu_pods pods, $gpu_holders of them holding a GPU replica.
The soak is $soak_chunks chunks of $soak_calls Allocates (\`load --concurrency 16\`) followed by $soak_scrapes gzip scrapes; VmRSS
is read from \`/proc/PID/status\` after each chunk. The figure is the reading after the last chunk; growth is the last
reading minus the second (the first chunk still warms up), within $(mib "$growth_margin_kib") MiB for "no growth".

| when | VmRSS | |
|---|---|---|
$(soak_rows)
| after the idle window | $(mib "$gd_idle_rss") MiB | $(mb "$gd_idle_rss") MB |

The baseline's column is the grpc-go plugin alone after its $rounds rounds of load: it has no metrics or pod attribution.

Idle CPU: after the soak, $settle s to settle (the runtime recompiles the soak's hot methods in the background
for some seconds after it; idle means after that), then utime + stime from \`/proc/PID/stat\` over $idle_seconds s for this agent and,
in the same window, for the baseline plugin (still running since its rounds), as a percentage of one core
(clock tick 1/$clk_tck s). The baseline's VmRSS at the end of the window: $(mib "$base_idle_rss") MiB.

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
- Exec: \`gpudaemon-interop execreg --metrics-url\` serves \`kubelet.sock\`, starts the published
  \`gpudaemon serve --simulate $devices --metrics-listen 127.0.0.1:PORT --pod-resources-socket ""\` and times from exec to
  the Register call arriving and to the registration being accepted (GetDevicePluginOptions on the plugin's
  socket answered). It then reads the process's first-registration series from \`/metrics\` and stops it with
  SIGTERM; $exec_rounds starts.

## Start-up: JIT by the first registration

From each start's \`/metrics\`: \`gpudaemon_first_registration_seconds\` (process start to the accepted registration, as
the process sees it), \`gpudaemon_first_registration_jit_seconds\` and \`gpudaemon_first_registration_jitted_methods\`.
The figure is the median JIT time; median start-up $first_reg_ms ms, $jit_methods methods.

| start | first registration (ms) | JIT by then (ms) | methods compiled |
|---|---|---|---|
$(exec_rows)

## Metrics scrape

| shape | scrapes | p50 (ms) | p99 (ms) | max (ms) | without gzip p50 / p99 (ms) | response bytes (text / gzip) | samples | pods named | pod-resources List calls meanwhile |
|---|---|---|---|---|---|---|---|---|---|
$(scrape_row "$devices GPUs ×$replicas time-sliced, $gpu_pods pods ($gpu_holders hold a replica)" "$gpu_gz" "$gpu_plain" "$gpu_lists")
$(scrape_row "$mig_devices MIG devices (8 H100 × 8 \`1g.10gb\`, mixed), $mig_pods pods ($mig_holders hold one)" "$mig_gz" "$mig_plain" "$mig_lists")

- \`gpudaemon-interop scrape --scrapes $scrapes --warmup $scrape_warmup\` scrapes \`/metrics\` like Prometheus: one kept-alive
  connection, one request at a time, Prometheus's \`Accept\` header and \`Accept-Encoding: gzip\` (the p50/p99
  columns; the gzip-off run follows it on the same process). A scrape's time runs from sending the request to the
  last byte of the body. Before measuring it waits until a scrape names every pod that holds a device, so the
  pod-attribution map is in place.
- The whole agent as above (a fresh process per shape): \`--replicas $replicas\` and pods holding \`<uuid>::k\` for the
  first shape, so every GPU is written once per holding container (\`vgpu\` label); \`--mig-strategy mixed\` and pods
  holding \`nvidia.com/mig-1g.10gb\` MIG UUIDs for the second. The other pods hold no device. "List calls meanwhile"
  counts the calls during the gzip run: scrapes never call the kubelet.

## Resident memory the metrics subsystem adds

Each of $rounds rounds starts the agent of the soak (8 simulated H100s, \`--replicas $replicas\`, metrics on a loopback
port, pod attribution against \`gpudaemon-interop podresources\` serving $gpu_pods pods), takes $metrics_rss_scrapes gzip scrapes,
waits $metrics_rss_settle s and reads VmRSS; then the same \`serve\` with \`--metrics-listen "" --pod-resources-socket ""\`,
registered the same way and idle for as long as the first one lived, and reads its VmRSS. The figure is the
median of the rounds' differences.

| round | with metrics and pod attribution | without | added |
|---|---|---|---|
$(metrics_rss_rows)

## Raw lines

\`\`\`text
$(printf '%s\n' "${alloc_lines[@]}")
$(printf 'soak %s\n' "${soak_lines[@]}")
$fault_line
$recover_line
$rereg_line
$arrived_line
$exec_line
$(printf '%s\n' "${exec_metrics[@]}")
gpu $gpu_gz
gpu $gpu_plain
mig $mig_gz
mig $mig_plain
\`\`\`

EOF2
    if [[ -f $notes_file ]]; then
        echo "## Notes"
        echo
        cat "$notes_file"
    fi
} >"$out"
log "wrote $out"

# A figure that is missing or not a number means a measurement was not taken: fail, whatever the mode.
for f in "${figures[@]}"; do
    isnum "${f#*=}" || die "figure ${f%%=*} is missing or not a number ('${f#*=}'); see $out"
done
log "all ${#figures[@]} figures are numbers"
