#!/usr/bin/env bash
# Builds the GpuDaemon gRPC interop peer (gpudaemon-interop), a grpc-go program
# used to check that GpuDaemon's own gRPC-over-HTTP/2 layer talks to the gRPC
# implementation the kubelet uses.
#
# Usage: tests/interop/build.sh OUTDIR
#
# Everything generated (Go code from api.proto, a GOPATH tree, the binary) goes
# under OUTDIR; nothing is written next to this script. The build uses Debian's
# packaged Go libraries from /usr/share/gocode in GOPATH mode (no network).
set -euo pipefail

die() {
    echo "build.sh: $*" >&2
    exit 1
}

if [[ $# -ne 1 || -z "$1" ]]; then
    die "usage: build.sh OUTDIR"
fi

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
proto_root="$repo_root/protos"
proto_file="deviceplugin/v1beta1/api.proto"
gocode=/usr/share/gocode

# Tools, each with the Debian package that provides it.
need_tool() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install it with: apt-get install -y $2"
}
need_tool go golang-go
need_tool protoc protobuf-compiler
need_tool protoc-gen-go protoc-gen-go
need_tool protoc-gen-go-grpc protoc-gen-go-grpc

# Go libraries, each with the Debian package that provides it.
need_lib() {
    [[ -e "$gocode/src/$1" ]] || die "Go library $2 not found under $gocode; install it with: apt-get install -y $3"
}
need_lib google.golang.org/grpc/server.go google.golang.org/grpc golang-google-grpc-dev
need_lib google.golang.org/protobuf/proto/encode.go google.golang.org/protobuf golang-google-protobuf-dev
# registry.go only exists from golang/protobuf 1.4 on; the 1.3 package (which
# golang-google-grpc-dev also accepts) cannot handle APIv2 generated messages.
need_lib github.com/golang/protobuf/proto/registry.go "github.com/golang/protobuf >= 1.4" golang-github-golang-protobuf-1-5-dev

[[ -f "$proto_root/$proto_file" ]] || die "proto not found: $proto_root/$proto_file"

mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"
gopath="$out_dir/gopath"
pkg_root="$gopath/src/gpudaemon/interop"
go_pkg="gpudaemon/interop/v1beta1"

# Start from a clean tree so stale sources never linger between runs.
rm -rf "$pkg_root"
mkdir -p "$pkg_root/v1beta1"

protoc \
    --proto_path="$proto_root" \
    --go_out="$gopath/src" \
    --go_opt="M$proto_file=$go_pkg" \
    --go-grpc_out="$gopath/src" \
    --go-grpc_opt="M$proto_file=$go_pkg" \
    "$proto_root/$proto_file"

# The kubelet's pod-resources API, for the pod-attribution client's interop test.
podres_proto="podresources/v1/api.proto"
podres_pkg="gpudaemon/interop/podresv1"
[[ -f "$proto_root/$podres_proto" ]] || die "proto not found: $proto_root/$podres_proto"
mkdir -p "$pkg_root/podresv1"
protoc \
    --proto_path="$proto_root" \
    --go_out="$gopath/src" \
    --go_opt="M$podres_proto=$podres_pkg" \
    --go-grpc_out="$gopath/src" \
    --go-grpc_opt="M$podres_proto=$podres_pkg" \
    "$proto_root/$podres_proto"

for f in "$pkg_root/v1beta1/api.pb.go" "$pkg_root/v1beta1/api_grpc.pb.go" "$pkg_root/podresv1/api.pb.go" "$pkg_root/podresv1/api_grpc.pb.go"; do
    [[ -f "$f" ]] || die "protoc did not produce $f"
done

shopt -s nullglob
sources=("$script_dir"/*.go)
shopt -u nullglob
[[ ${#sources[@]} -gt 0 ]] || die "no Go sources in $script_dir"
cp "${sources[@]}" "$pkg_root/"

export GO111MODULE=off
export GOPATH="$gopath:$gocode"
export GOFLAGS=
export CGO_ENABLED=0
# Go needs a build cache; fall back to one under OUTDIR where none is usable.
if [[ -z "${GOCACHE:-}" ]]; then
    cache="$(go env GOCACHE 2>/dev/null || true)"
    if [[ -z "$cache" || "$cache" == off ]] || ! mkdir -p "$cache" 2>/dev/null; then
        export GOCACHE="$out_dir/gocache"
    fi
fi

go build -o "$out_dir/gpudaemon-interop" gpudaemon/interop
echo "built $out_dir/gpudaemon-interop"
