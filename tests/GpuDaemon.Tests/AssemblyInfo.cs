// GpuDaemon runs on Linux nodes only; its tests use unix sockets and file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
