#!/usr/bin/env bash
# Sets up and runs every GpuDaemon test on a Debian machine: installs the C compiler (stand-in NVML and
# CUDA libraries) and the interop peer's toolchain
# (grpc-go from Debian's packages) and promtool (Debian's prometheus, for the alert-rule tests) if missing, builds warning-free, runs the xUnit suite (interop
# included) and ends with one "N passed, N failed" line.
# After the xUnit suite it runs the benchmark's smoke run (tests/bench/run.sh --smoke, about 2-3 minutes
# with its publish) into a temporary report and prints that report's figure table; the run fails only if a
# figure could not be measured, never on a missed goal.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  gcc libc6-dev prometheus golang-go protobuf-compiler protoc-gen-go protoc-gen-go-grpc
  golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev
)

if ! command -v dotnet >/dev/null 2>&1; then
  echo "run-all: the .NET 10 SDK (dotnet) is not on PATH; install it first (see README, 'Requirements')." >&2
  exit 1
fi

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "run-all: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "run-all: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl renders deploy/ for the manifest tests; Debian serves it as kubernetes-client. Where no package
# provides it, those tests are reported as skipped, with the reason.
if ! command -v kubectl >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "run-all: installing kubernetes-client (kubectl, for the deploy/ manifest tests)"
  if ! { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null; }; then
    echo "run-all: could not install kubernetes-client; the deploy/ manifest tests will be skipped" >&2
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

dotnet build GpuDaemon.sln -c Release -warnaserror -nologo -v quiet

log=$(mktemp)
bench_report=$(mktemp)
trap 'rm -f "$log" "$bench_report"' EXIT
set +e
dotnet test GpuDaemon.sln -c Release --no-build --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  echo "run-all: dotnet test printed no summary (exit $status)" >&2
  exit $((status == 0 ? 1 : status))
fi
failed=$(sed -E 's/Failed: +([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")

echo "run-all: benchmark smoke run (tests/bench/run.sh --smoke)"
bench_status=0
bash tests/bench/run.sh --smoke --out "$bench_report" || bench_status=$?
if [ "$bench_status" -eq 0 ]; then
  # The figure table: from its heading up to the next section.
  awk '/^## Figures/ { on = 1 } /^## Machine/ { on = 0 } on' "$bench_report"
else
  echo "run-all: the benchmark smoke run failed (exit $bench_status; its reason is the 'run.sh:' line above)" >&2
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ]; then
  echo "run-all: no test ran" >&2
  exit 1
fi
if [ "$status" -eq 0 ] && [ "$bench_status" -ne 0 ]; then
  exit "$bench_status"
fi
exit "$status"
