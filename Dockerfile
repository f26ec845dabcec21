# GpuDaemon image: one self-contained, trimmed linux-x64 binary on a minimal base.
# Build: docker build -t gpudaemon .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig GpuDaemon.sln ./
COPY protos/ protos/
COPY src/ src/
RUN dotnet publish src/GpuDaemon.Cli/GpuDaemon.Cli.csproj -c Release -r linux-x64 --self-contained \
      -p:PublishTrimmed=true -p:InvariantGlobalization=true -o /out

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
COPY --from=build /out/ /opt/gpudaemon/
ENV DOTNET_gcServer=0 \
    DOTNET_GCgen0size=0x400000 \
    DOTNET_TieredPGO=0
ENTRYPOINT ["/opt/gpudaemon/gpudaemon"]
CMD ["serve"]
