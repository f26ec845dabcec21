# GpuDaemon image: one self-contained, trimmed, ReadyToRun linux-x64 binary on a minimal base without a shell.
#   docker build -t gpudaemon .                                          (the image the DaemonSet runs)
#   docker build --target installer -t gpudaemon-installer .             (the same binary with /bin/sh, for
#                                                                         validate --install-command; see docs/deploy.md)
# The build stage runs every test (tests/run-all.sh) before it publishes; a failing test fails the build.

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY . .
RUN bash tests/run-all.sh
# The publish settings (self-contained, trimmed, ReadyToRun composite) are in the Cli project, shared with the benchmark.
RUN dotnet publish src/GpuDaemon.Cli/GpuDaemon.Cli.csproj -c Release -r linux-x64 -o /out

# The installer variant: validate's --install-command runs through /bin/sh -c and usually chroots into the host.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble AS installer
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="gpudaemon-installer" \
      org.opencontainers.image.description="GpuDaemon with a shell, for gpudaemon validate --install-command" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="mcr.microsoft.com/dotnet/runtime-deps:10.0-noble"
COPY --from=build /out/ /opt/gpudaemon/
ENV DOTNET_gcServer=0 \
    DOTNET_GCgen0size=0x200000 \
    DOTNET_GCRegionSize=0x100000 \
    DOTNET_TieredPGO=0 \
    MALLOC_MMAP_THRESHOLD_=65536
ENTRYPOINT ["/opt/gpudaemon/gpudaemon"]
CMD ["validate"]

# Runtime settings (both images; tests/bench/run.sh applies the same): a small gen0 budget and 1 MiB GC regions keep
# the managed heap's committed memory near its live size, and a fixed 64 KiB mmap threshold makes glibc return
# large blocks (zlib's deflate state, one per gzip scrape) to the kernel on free instead of keeping them in
# per-thread arenas, about 16 MiB resident after a soak of scrapes. Measurements: tests/bench/notes.md.
# The default image (last stage): Ubuntu chiseled, no shell and no package manager.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="gpudaemon" \
      org.opencontainers.image.description="GpuDaemon: the GPU-node agent for Kubernetes (device plugin, validator, metrics)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled"
COPY --from=build /out/ /opt/gpudaemon/
ENV DOTNET_gcServer=0 \
    DOTNET_GCgen0size=0x200000 \
    DOTNET_GCRegionSize=0x100000 \
    DOTNET_TieredPGO=0 \
    MALLOC_MMAP_THRESHOLD_=65536
EXPOSE 9400
ENTRYPOINT ["/opt/gpudaemon/gpudaemon"]
CMD ["serve"]
