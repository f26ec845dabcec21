using System.CommandLine;
using GpuDaemon.Cli;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Metrics;
using GpuDaemon.NodeLabels;
using GpuDaemon.Nvidia.Loading;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;
using YamlDotNet.RepresentationModel;

namespace GpuDaemon.Tests.Deploy;

/// <summary>
/// deploy/base and every overlay, as <c>kubectl kustomize</c> renders them: the arguments are the real command
/// line's, the paths, ports and probes are the code's defaults, and every container is least-privileged.
/// </summary>
public sealed class ManifestTests
{
    public const string Namespace = "gpudaemon";
    public const string GpuPresentLabel = NodeLabelKeys.GpuPresent;
    public const string PciNvidiaLabel = "feature.node.kubernetes.io/pci-10de.present";
    public const string DriverInstaller = "overlays/driver-installer";
    public const string Simulated = "overlays/simulated";
    public const string GpuOperator = "overlays/gpu-operator";
    public const string PrometheusOperator = "overlays/prometheus-operator";

    /// <summary>Every kustomization the tests render: the base and each folder under deploy/overlays (a test holds the two equal).</summary>
    public static readonly string[] Folders = ["base", Simulated, GpuOperator, DriverInstaller, PrometheusOperator];

    public static TheoryData<string> Kustomizations
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var folder in Folders)
            {
                data.Add(folder);
            }

            return data;
        }
    }

    /// <summary>The executable inside the image: the Dockerfile's ENTRYPOINT.</summary>
    public static string ImageEntryPoint => DockerfileTests.EntryPoint();

    [KubectlTheory]
    [MemberData(nameof(Kustomizations))]
    public void Render_Kustomization_OneDaemonSetEveryObjectInTheNamespaceNoApiRights(string folder)
    {
        var objects = Kustomize.Render(folder);

        Assert.Single(objects, o => Kind(o) == "DaemonSet");
        Assert.Single(objects, o => Kind(o) == "Namespace" && Str(o, "metadata.name") == Namespace);
        Assert.All(objects.Where(o => Kind(o) != "Namespace"), o => Assert.Equal(Namespace, Str(o, "metadata.namespace")));
        Assert.DoesNotContain(objects, o => Kind(o) is "Role" or "ClusterRole" or "RoleBinding" or "ClusterRoleBinding");
        var account = Assert.Single(objects, o => Kind(o) == "ServiceAccount");
        Assert.Equal("false", Str(account, "automountServiceAccountToken"));
        var pod = PodSpec(objects);
        Assert.Equal(Str(account, "metadata.name"), Str(pod, "serviceAccountName"));
        Assert.Equal("false", Str(pod, "automountServiceAccountToken"));
    }

    [KubectlTheory]
    [MemberData(nameof(Kustomizations))]
    public void Containers_Kustomization_ValidateThenServeWithArgsTheCliAccepts(string folder)
    {
        var objects = Kustomize.Render(folder);
        var pod = PodSpec(objects);
        var init = Assert.Single(Seq(pod, "initContainers"));
        var serve = Assert.Single(Seq(pod, "containers"));

        Assert.Equal("validate", Args(init)[0]);
        Assert.Equal("serve", Args(serve)[0]);
        Assert.Contains("--require-validation", Args(serve));
        if (folder != Simulated)
        {
            Assert.Contains("--wait", Args(init));
        }

        foreach (var container in new[] { init, serve })
        {
            Assert.Equal([ImageEntryPoint], Strings(container, "command"));
            var root = GpuDaemonCli.CreateRootCommand(TextWriter.Null, new DictionaryEnvironment(new Dictionary<string, string>()));
            var errors = root.Parse(Args(container)).Errors;
            Assert.True(errors.Count == 0, $"{folder}: {Str(container, "name")}'s args are refused: {string.Join("; ", errors.Select(e => e.Message))}");
            var problem = Record.Exception(() => BindAsTheCommandDoes(objects, container));
            Assert.True(problem is null, $"{folder}: {Str(container, "name")}'s settings are refused: {problem?.Message}");
        }
    }

    /// <summary>
    /// The container's args, its literal env and (for serve) the ConfigMap's config file, merged and bound the way
    /// the command does at start: serve into <see cref="ServeSettings"/>, validate into its backend and validation
    /// options. A value the parser takes but the binding refuses (a bad duration, a zero count) throws here.
    /// </summary>
    private static void BindAsTheCommandDoes(IReadOnlyList<YamlMappingNode> objects, YamlMappingNode container)
    {
        var environment = new DictionaryEnvironment(Seq(container, "env")
            .Where(e => Find(e, "value") is not null)
            .ToDictionary(e => Str(e, "name"), e => Str(e, "value"), StringComparer.Ordinal));
        var root = GpuDaemonCli.CreateRootCommand(TextWriter.Null, environment);
        var args = Args(container);
        var parse = root.Parse(args);
        var command = root.Subcommands.Single(c => c.Name == args[0]);
        var config = (Option<string>)command.Options.Single(o => o.Name == "--config");
        var options = command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name is not ("--config" or "--help")).ToList();

        var configPath = Effective(container, "config", string.Empty);
        string? configText = null;
        if (configPath.Length > 0)
        {
            var mount = Mount(container, Path.GetDirectoryName(configPath)!);
            var mapName = Str(Volume(PodSpec(objects), Str(mount, "name")), "configMap.name");
            var map = Assert.Single(objects, o => Kind(o) == "ConfigMap" && Str(o, "metadata.name") == mapName);
            configText = Str(map, "data." + Path.GetFileName(configPath).Replace(".", "\\.", StringComparison.Ordinal));
        }

        var settings = SettingsLoader.Load(parse, options, config, environment, configText);
        if (args[0] == "serve")
        {
            Assert.NotNull(ServeSettings.Bind(settings));
        }
        else
        {
            var backend = GpuBackendOptions.Bind(settings, BackendKind.Nvml);
            Assert.NotNull(ValidationFlags.Bind(settings, backend.DriverRoot));
        }
    }

    [Fact]
    public void BindAsTheCommandDoes_ValueTheParserTakesButTheBindingRefuses_Throws()
    {
        var container = LoadYaml(string.Join("\n", "name: serve", "args: [serve, --recovery-period, soon]"), inline: true);
        Assert.Empty(GpuDaemonCli.CreateRootCommand(TextWriter.Null, new DictionaryEnvironment(new Dictionary<string, string>())).Parse(Args(container)).Errors);
        Assert.NotNull(Record.Exception(() => BindAsTheCommandDoes([], container)));
    }

    [KubectlTheory]
    [MemberData(nameof(Kustomizations))]
    public void SecurityContext_EveryContainer_LeastPrivilegeExceptTheDocumentedInstaller(string folder)
    {
        var pod = PodSpec(Kustomize.Render(folder));
        Assert.Null(Find(pod, "hostNetwork"));
        Assert.Null(Find(pod, "hostPID"));
        Assert.Null(Find(pod, "hostIPC"));
        Assert.Equal("RuntimeDefault", Str(pod, "securityContext.seccompProfile.type"));

        foreach (var container in Seq(pod, "initContainers").Concat(Seq(pod, "containers")))
        {
            var name = Str(container, "name");
            var installer = folder == DriverInstaller && name == "validate";
            Assert.Equal(installer ? "true" : "false", Str(container, "securityContext.privileged"));
            Assert.Equal(installer ? "true" : "false", Str(container, "securityContext.allowPrivilegeEscalation"));
            Assert.Equal("true", Str(container, "securityContext.readOnlyRootFilesystem"));
            Assert.Equal("RuntimeDefault", Str(container, "securityContext.seccompProfile.type"));
            Assert.Equal(["ALL"], Strings(container, "securityContext.capabilities.drop"));
            Assert.Null(Find(container, "securityContext.capabilities.add"));
            // uid 0 owns the kubelet's directories and sockets; no capability is kept (docs/deploy.md).
            Assert.Equal("0", Str(container, "securityContext.runAsUser"));
            Assert.All(Seq(container, "volumeMounts"), m => Assert.NotEqual("Bidirectional", Find(m, "mountPropagation")?.ToString()));
        }
    }

    [KubectlTheory]
    [MemberData(nameof(Kustomizations))]
    public void Mounts_Kustomization_AtTheCodesDefaultPathsReadOnlyWherePossible(string folder)
    {
        var objects = Kustomize.Render(folder);
        var pod = PodSpec(objects);
        var init = Seq(pod, "initContainers")[0];
        var serve = Seq(pod, "containers")[0];

        var pluginDir = Effective(serve, DevicePluginFlags.DevicePluginDir, KubeletConstants.DefaultDevicePluginDir);
        Assert.Equal(KubeletConstants.DefaultDevicePluginDir, pluginDir);
        AssertHostMount(pod, serve, pluginDir, readOnly: false);

        var podResources = Effective(serve, PodResourcesFlags.PodResourcesSocket, PodAttributionOptions.DefaultSocketPath);
        Assert.Equal(PodAttributionOptions.DefaultSocketPath, podResources);
        AssertHostMount(pod, serve, Path.GetDirectoryName(podResources)!, readOnly: true);

        var validations = ValidationDefaults.Directory;
        Assert.Equal(validations, Effective(serve, ValidationGateFlags.ValidationDir, validations));
        Assert.Equal(validations, Effective(init, ValidationGateFlags.ValidationDir, validations));
        var statusVolume = Mount(serve, validations);
        Assert.Equal("true", Str(statusVolume, "readOnly"));
        Assert.Null(Find(Mount(init, validations), "readOnly"));
        Assert.Equal(Str(statusVolume, "name"), Str(Mount(init, validations), "name"));
        if (folder == Simulated)
        {
            // Simulated status files stay in the pod: a real GPU node's are never touched.
            Assert.NotNull(Find(Volume(pod, Str(statusVolume, "name")), "emptyDir"));
        }
        else
        {
            Assert.Equal(validations, Str(Volume(pod, Str(statusVolume, "name")), "hostPath.path"));
        }

        // Node labels: serve writes its NFD local-source file into the default folder, writable, from the host
        // (the simulated overlay keeps it in the pod, so no real node's labels are touched).
        var labels = Effective(serve, NodeLabelsFlags.NodeLabelsDir, NodeLabelsOptions.DefaultDirectory);
        Assert.Equal(NodeLabelsOptions.DefaultDirectory, labels);
        var labelsMount = Mount(serve, labels);
        Assert.Null(Find(labelsMount, "readOnly"));
        var labelsVolume = Volume(pod, Str(labelsMount, "name"));
        if (folder == Simulated)
        {
            Assert.NotNull(Find(labelsVolume, "emptyDir"));
        }
        else
        {
            Assert.Equal(labels, Str(labelsVolume, "hostPath.path"));
        }

        // The config file: a ConfigMap mounted as a whole directory (no subPath), so its atomic swap reaches serve.
        var config = Effective(serve, "config", string.Empty);
        var configMount = Mount(serve, Path.GetDirectoryName(config)!);
        Assert.Null(Find(configMount, "subPath"));
        Assert.Equal("true", Str(configMount, "readOnly"));
        var mapName = Str(Volume(pod, Str(configMount, "name")), "configMap.name");
        var map = Assert.Single(objects, o => Kind(o) == "ConfigMap" && Str(o, "metadata.name") == mapName);
        var text = Str(map, "data." + Path.GetFileName(config).Replace(".", "\\.", StringComparison.Ordinal));
        var known = ServeSettingNames();
        var settings = ServeSettings.Bind(new DaemonSettings(ConfigFileReader.Parse(text, config, known)));
        Assert.NotNull(settings);
    }

    [KubectlTheory]
    [MemberData(nameof(Kustomizations))]
    public void MetricsAndProbes_Kustomization_EqualTheEndpointsDefaults(string folder)
    {
        var objects = Kustomize.Render(folder);
        var pod = PodSpec(objects);
        var templateLabels = Map(Assert.Single(objects, o => Kind(o) == "DaemonSet"), "spec.template.metadata.labels");
        var serve = Seq(pod, "containers")[0];

        var listen = Effective(serve, MetricsFlags.MetricsListen, MetricsOptions.DefaultListen);
        Assert.EndsWith(":" + MetricsOptions.DefaultPort, listen, StringComparison.Ordinal);
        var port = Assert.Single(Seq(serve, "ports"));
        Assert.Equal("metrics", Str(port, "name"));
        Assert.Equal(MetricsOptions.DefaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Str(port, "containerPort"));
        Assert.Equal(MetricsPaths.Health, Str(serve, "livenessProbe.httpGet.path"));
        Assert.Equal("metrics", Str(serve, "livenessProbe.httpGet.port"));
        Assert.Equal(MetricsPaths.Readiness, Str(serve, "readinessProbe.httpGet.path"));
        Assert.Equal("metrics", Str(serve, "readinessProbe.httpGet.port"));

        var env = Assert.Single(Seq(serve, "env"), e => Str(e, "name") == "NODE_NAME");
        Assert.Equal("spec.nodeName", Str(env, "valueFrom.fieldRef.fieldPath"));

        var service = Assert.Single(objects, o => Kind(o) == "Service");
        var servicePort = Assert.Single(Seq(service, "spec.ports"));
        Assert.Equal("metrics", Str(servicePort, "name"));
        Assert.Equal(Str(port, "containerPort"), Str(servicePort, "port"));
        Assert.Equal("metrics", Str(servicePort, "targetPort"));
        Assert.Equal("true", Str(service, "metadata.annotations.prometheus\\.io/scrape"));
        Assert.Equal(Str(port, "containerPort"), Str(service, "metadata.annotations.prometheus\\.io/port"));
        Assert.Equal(MetricsPaths.Metrics, Str(service, "metadata.annotations.prometheus\\.io/path"));
        AssertSubset(Map(service, "spec.selector"), templateLabels);
    }

    [KubectlTheory]
    [MemberData(nameof(Kustomizations))]
    public void Scheduling_Kustomization_SelectorTolerationsPriorityRollingUpdateResources(string folder)
    {
        var daemonSet = Assert.Single(Kustomize.Render(folder), o => Kind(o) == "DaemonSet");
        var pod = PodSpec([daemonSet]);

        AssertSubset(Map(daemonSet, "spec.selector.matchLabels"), Map(daemonSet, "spec.template.metadata.labels"));
        Assert.Equal("RollingUpdate", Str(daemonSet, "spec.updateStrategy.type"));
        Assert.NotNull(Find(daemonSet, "spec.updateStrategy.rollingUpdate.maxUnavailable"));
        Assert.Equal("system-node-critical", Str(pod, "priorityClassName"));
        var tolerations = Seq(pod, "tolerations");
        Assert.Contains(tolerations, t => Str(t, "key") == ResourceName.DefaultGpu && Str(t, "effect") == "NoSchedule" && Str(t, "operator") == "Exists");
        Assert.Contains(tolerations, t => Str(t, "key") == "CriticalAddonsOnly" && Str(t, "operator") == "Exists");

        foreach (var container in Seq(pod, "initContainers").Concat(Seq(pod, "containers")))
        {
            foreach (var kind in new[] { "requests", "limits" })
            {
                Assert.NotNull(Find(container, $"resources.{kind}.cpu"));
                Assert.NotNull(Find(container, $"resources.{kind}.memory"));
            }
        }

        if (folder == Simulated)
        {
            // Any node but a real GPU node: no GPU selector, no NVIDIA runtime, no NVIDIA_* variables.
            Assert.Null(Find(pod, "nodeSelector"));
            Assert.Null(Find(pod, "runtimeClassName"));
            var term = Seq(pod, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms")[0];
            var expression = Assert.Single(Seq(term, "matchExpressions"));
            Assert.Equal(GpuPresentLabel, Str(expression, "key"));
            Assert.Equal("DoesNotExist", Str(expression, "operator"));
            Assert.All(Seq(pod, "initContainers").Concat(Seq(pod, "containers")), c =>
            {
                Assert.Contains("--simulate", Args(c));
                Assert.DoesNotContain(Seq(c, "env"), e => Str(e, "name").StartsWith("NVIDIA_", StringComparison.Ordinal));
            });
            Assert.DoesNotContain(Seq(pod, "volumes"), v => Find(v, "hostPath.path")?.ToString() is { } p && p != KubeletConstants.DefaultDevicePluginDir && p != Path.GetDirectoryName(PodAttributionOptions.DefaultSocketPath));
            return;
        }

        // A driver-less node has no nvidia.com/gpu.present yet: the installer selects NFD's PCI vendor label.
        var selector = Map(pod, "nodeSelector");
        Assert.Equal(folder == DriverInstaller ? PciNvidiaLabel : GpuPresentLabel, Assert.Single(selector.Children).Key.ToString());
        Assert.Equal("true", Assert.Single(selector.Children).Value.ToString());
        Assert.Equal("nvidia", Str(pod, "runtimeClassName"));
        var serve = Seq(pod, "containers")[0];
        Assert.Equal("all", EnvValue(serve, "NVIDIA_VISIBLE_DEVICES"));
        Assert.Equal("utility,compute", EnvValue(serve, "NVIDIA_DRIVER_CAPABILITIES"));
    }

    [KubectlFact]
    public void GpuOperator_BothContainers_ReadTheOperatorsDriverRoot()
    {
        var pod = PodSpec(Kustomize.Render(GpuOperator));
        foreach (var container in Seq(pod, "initContainers").Concat(Seq(pod, "containers")))
        {
            Assert.Equal(NativeLibraryResolver.OperatorDriverRoot, Effective(container, GpuBackendOptions.DriverRootSetting, "/"));
            var mount = Mount(container, NativeLibraryResolver.OperatorDriverRoot);
            Assert.Equal("true", Str(mount, "readOnly"));
            Assert.Equal("HostToContainer", Str(mount, "mountPropagation"));
            Assert.Equal(NativeLibraryResolver.OperatorDriverRoot, Str(Volume(pod, Str(mount, "name")), "hostPath.path"));
        }
    }

    [KubectlFact]
    public void DriverInstaller_Validate_InstallsThroughTheHostWithTheShellImage()
    {
        var pod = PodSpec(Kustomize.Render(DriverInstaller));
        var init = Seq(pod, "initContainers")[0];
        var serve = Seq(pod, "containers")[0];

        var install = Effective(init, "install-command", string.Empty);
        Assert.StartsWith("chroot /host ", install, StringComparison.Ordinal);
        foreach (var root in new[] { "host-root", GpuBackendOptions.DriverRootSetting })
        {
            Assert.Equal("/host", Effective(init, root, "/"));
        }

        // NVML and CUDA open the device nodes the install creates at /dev: the host's /dev, not the container's own.
        Assert.Equal("/", Effective(init, DevicePluginFlags.DevRoot, "/"));
        var dev = Mount(init, "/dev");
        Assert.Equal("/dev", Str(Volume(pod, Str(dev, "name")), "hostPath.path"));
        Assert.Equal("HostToContainer", Str(dev, "mountPropagation"));
        Assert.DoesNotContain(Seq(serve, "volumeMounts"), m => Str(m, "mountPath") == "/dev");
        Assert.Contains("and the host's `/dev` at `/dev`", File.ReadAllText(RepoFiles.Path("docs/validate.md")), StringComparison.Ordinal);

        Assert.Equal("/", Str(Volume(pod, Str(Mount(init, "/host"), "name")), "hostPath.path"));
        Assert.DoesNotContain(Seq(init, "env"), e => Str(e, "name") == "NVIDIA_VISIBLE_DEVICES");
        Assert.DoesNotContain(Seq(serve, "volumeMounts"), m => Str(m, "mountPath") == "/host");
        // The installer image is the Dockerfile's stage with a shell; serve keeps the shell-less one.
        Assert.StartsWith("gpudaemon-" + DockerfileTests.InstallerStage + ":", Str(init, "image"), StringComparison.Ordinal);
        Assert.StartsWith("gpudaemon:", Str(serve, "image"), StringComparison.Ordinal);
    }

    [KubectlFact]
    public void PrometheusOperator_Objects_WrapTheMetricsAssetsUnchanged()
    {
        var objects = Kustomize.Render(PrometheusOperator);

        var rule = Assert.Single(objects, o => Kind(o) == "PrometheusRule");
        var alerts = LoadYaml(RepoFiles.Path("deploy/metrics/alerts.yaml"));
        Assert.Equal(Canonical(alerts["groups"]), Canonical(Node(rule, "spec.groups")));

        var dashboard = Assert.Single(objects, o => Kind(o) == "ConfigMap" && Find(o, "metadata.labels.grafana_dashboard") is not null);
        var json = Assert.Single(Map(dashboard, "data")).Value;
        Assert.Equal(File.ReadAllText(RepoFiles.Path("deploy/metrics/dashboard.json")), json);

        var monitor = Assert.Single(objects, o => Kind(o) == "ServiceMonitor");
        var service = Assert.Single(objects, o => Kind(o) == "Service");
        AssertSubset(Map(monitor, "spec.selector.matchLabels"), Map(service, "metadata.labels"));
        var endpoint = Assert.Single(Seq(monitor, "spec.endpoints"));
        Assert.Equal(Str(Seq(service, "spec.ports")[0], "name"), Str(endpoint, "port"));
        Assert.Equal(MetricsPaths.Metrics, Str(endpoint, "path"));
        // Without it Prometheus renames the GPU series' pod/namespace/container to exported_*.
        Assert.Equal("true", Str(endpoint, "honorLabels"));
    }

    [Fact]
    public void Kustomizations_OverlayList_EqualsTheFoldersUnderDeployOverlays()
    {
        var folders = Directory.GetDirectories(RepoFiles.Path("deploy/overlays")).Select(d => "overlays/" + Path.GetFileName(d)).Order(StringComparer.Ordinal);
        var tested = Folders.Where(f => f != "base").Order(StringComparer.Ordinal);
        Assert.Equal(folders, tested);
    }

    [KubectlFact]
    public void ReadmeNodePoolPatch_OverTheBase_SelectsOnlyTheCloudPool()
    {
        var readme = File.ReadAllText(RepoFiles.Path("README.md"));
        var section = readme[readme.IndexOf("**Target a node pool.**", StringComparison.Ordinal)..readme.IndexOf("**Upgrade.**", StringComparison.Ordinal)];
        var blocks = System.Text.RegularExpressions.Regex.Matches(section, "```yaml\n(?<body>.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.Equal(2, blocks.Count);

        using var temp = new TempDirectory();
        var overlay = Path.Combine(temp.Path, "overlays", "my-pool");
        Directory.CreateDirectory(overlay);
        // kustomize refuses an absolute base: point the README's ../../base at the repository's, relative to the overlay.
        var kustomization = blocks[0].Groups["body"].Value.Replace("../../base", Path.GetRelativePath(overlay, RepoFiles.Path("deploy/base")), StringComparison.Ordinal);
        Assert.NotEqual(blocks[0].Groups["body"].Value, kustomization);
        File.WriteAllText(Path.Combine(overlay, "kustomization.yaml"), kustomization);
        File.WriteAllText(Path.Combine(overlay, "node-pool.yaml"), blocks[1].Groups["body"].Value);

        var selector = Map(PodSpec(Kustomize.Render(overlay)), "nodeSelector");
        var only = Assert.Single(selector.Children);
        Assert.Equal("cloud.google.com/gke-accelerator", only.Key.ToString());
        Assert.Equal("nvidia-tesla-t4", only.Value.ToString());
    }

    [KubectlFact]
    public void Resources_ServeMemoryRequest_AtLeastTheWholeAgentResidentSetBenchmarked()
    {
        var benchmarks = File.ReadAllText(RepoFiles.Path("docs/benchmarks.md"));
        var row = System.Text.RegularExpressions.Regex.Match(benchmarks, @"^\| Resident memory, whole agent[^|]*\| [^|(]*\((?<mib>[0-9.]+) MiB", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(row.Success, "docs/benchmarks.md has no 'Resident memory, whole agent' row with a MiB figure");
        var measuredMiB = double.Parse(row.Groups["mib"].Value, System.Globalization.CultureInfo.InvariantCulture);

        var serve = Seq(PodSpec(Kustomize.Render("base")), "containers")[0];
        var requestMiB = MebiBytes(Str(serve, "resources.requests.memory"));
        Assert.True(requestMiB >= measuredMiB, $"serve requests {requestMiB} MiB, below the {measuredMiB} MiB the whole agent holds in docs/benchmarks.md");
        Assert.True(MebiBytes(Str(serve, "resources.limits.memory")) > requestMiB);
    }

    [KubectlFact]
    public void DeployDoc_ResourcesTable_EqualsTheRenderedManifests()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/deploy.md"));
        var rows = new List<(string Name, YamlMappingNode Container)>();
        var basePod = PodSpec(Kustomize.Render("base"));
        rows.Add(("validate", Seq(basePod, "initContainers")[0]));
        rows.Add(("serve", Seq(basePod, "containers")[0]));
        rows.Add(("validate (driver-installer)", Seq(PodSpec(Kustomize.Render(DriverInstaller)), "initContainers")[0]));

        foreach (var (name, container) in rows)
        {
            var expected = $"| {name} | {Cpu(Str(container, "resources.requests.cpu"))}, {Str(container, "resources.requests.memory")} | {Cpu(Str(container, "resources.limits.cpu"))}, {Str(container, "resources.limits.memory")} |";
            Assert.Contains(expected, doc, StringComparison.Ordinal);
        }

        static string Cpu(string quantity) => quantity + " CPU";
    }

    private static double MebiBytes(string quantity) => quantity switch
    {
        _ when quantity.EndsWith("Gi", StringComparison.Ordinal) => double.Parse(quantity[..^2], System.Globalization.CultureInfo.InvariantCulture) * 1024,
        _ when quantity.EndsWith("Mi", StringComparison.Ordinal) => double.Parse(quantity[..^2], System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new Xunit.Sdk.XunitException($"memory quantity {quantity} is neither Mi nor Gi"),
    };

    [Fact]
    public void KustomizeVersion_BaseComment_SameAsTheDeployDoc()
    {
        const string Statement = "kustomize v2 and later (kubectl 1.14 and later; Debian's";
        Assert.Contains("# Written for " + Statement + " kubernetes-client is 1.20)", File.ReadAllText(RepoFiles.Path("deploy/base/kustomization.yaml")), StringComparison.Ordinal);
        Assert.Contains("written for " + Statement + " `kubernetes-client` is 1.20)", File.ReadAllText(RepoFiles.Path("docs/deploy.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void DeployDoc_Installer_DoesNotClaimPrivilegeKeepsSeccompAndTurnsGfdOff()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/deploy.md"));
        Assert.DoesNotContain("it keeps\nthe read-only root filesystem and `RuntimeDefault`", doc, StringComparison.Ordinal);
        Assert.Contains("apply no seccomp filter to it", doc, StringComparison.Ordinal);
        Assert.Contains("--set gfd.enabled=false", doc, StringComparison.Ordinal);
    }

    // --- helpers over the rendered objects ---------------------------------------------------------------

    private static string[] ServeSettingNames()
    {
        var root = GpuDaemonCli.CreateRootCommand(TextWriter.Null, new DictionaryEnvironment(new Dictionary<string, string>()));
        var serve = root.Subcommands.Single(c => c.Name == "serve");
        return [.. serve.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name is not ("--config" or "--help")).Select(o => SettingNames.FromFlag(o.Name))];
    }

    private static void AssertHostMount(YamlMappingNode pod, YamlMappingNode container, string path, bool readOnly)
    {
        var mount = Mount(container, path);
        Assert.Equal(readOnly ? "true" : null, Find(mount, "readOnly")?.ToString());
        Assert.Equal(path, Str(Volume(pod, Str(mount, "name")), "hostPath.path"));
    }

    private static void AssertSubset(YamlMappingNode subset, YamlMappingNode of)
    {
        Assert.NotEmpty(subset.Children);
        foreach (var (key, value) in subset.Children)
        {
            Assert.True(of.Children.TryGetValue(key, out var other) && other.ToString() == value.ToString(), $"label {key}={value} is missing from {Canonical(of)}");
        }
    }

    /// <summary>A flag's value in the container's args (<c>--name value</c> or <c>--name=value</c>), else the default.</summary>
    private static string Effective(YamlMappingNode container, string flag, string fallback)
    {
        var args = Args(container);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--" + flag && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--" + flag + "=", StringComparison.Ordinal))
            {
                return args[i][(flag.Length + 3)..];
            }
        }

        return fallback;
    }

    private static string? EnvValue(YamlMappingNode container, string name) =>
        Seq(container, "env").SingleOrDefault(e => Str(e, "name") == name) is { } e ? Str(e, "value") : null;

    private static YamlMappingNode Mount(YamlMappingNode container, string path) =>
        Assert.Single(Seq(container, "volumeMounts"), m => Str(m, "mountPath") == path);

    private static YamlMappingNode Volume(YamlMappingNode pod, string name) =>
        Assert.Single(Seq(pod, "volumes"), v => Str(v, "name") == name);

    private static YamlMappingNode PodSpec(IReadOnlyList<YamlMappingNode> objects) =>
        Map(Assert.Single(objects, o => Kind(o) == "DaemonSet"), "spec.template.spec");

    private static string[] Args(YamlMappingNode container) => Strings(container, "args");

    private static string Kind(YamlMappingNode o) => Str(o, "kind");

    private static string[] Strings(YamlMappingNode node, string path) =>
        Find(node, path) is YamlSequenceNode s ? [.. s.Children.Select(n => n.ToString())] : [];

    private static List<YamlMappingNode> Seq(YamlNode node, string path) =>
        Find(node, path) is YamlSequenceNode s ? [.. s.Children.Select(c => (YamlMappingNode)c)] : [];

    private static string Str(YamlNode node, string path) =>
        Find(node, path)?.ToString() ?? throw new Xunit.Sdk.XunitException($"{path} is missing");

    private static YamlMappingNode Map(YamlNode node, string path) =>
        Find(node, path) as YamlMappingNode ?? throw new Xunit.Sdk.XunitException($"{path} is missing");

    private static YamlNode Node(YamlNode node, string path) =>
        Find(node, path) ?? throw new Xunit.Sdk.XunitException($"{path} is missing");

    /// <summary>The node at a dotted path (a key with a dot in it is written with <c>\.</c>), or null.</summary>
    private static YamlNode? Find(YamlNode node, string path)
    {
        var current = node;
        foreach (var raw in System.Text.RegularExpressions.Regex.Split(path, @"(?<!\\)\."))
        {
            var key = raw.Replace("\\.", ".", StringComparison.Ordinal);
            if (current is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    private static YamlMappingNode LoadYaml(string text, bool inline)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(inline ? text : File.ReadAllText(text)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    /// <summary>A node's content, independent of style and key order.</summary>
    private static string Canonical(YamlNode node) => node switch
    {
        YamlScalarNode s => "\"" + s.Value + "\"",
        YamlSequenceNode q => "[" + string.Join(",", q.Children.Select(Canonical)) + "]",
        YamlMappingNode m => "{" + string.Join(",", m.Children.OrderBy(c => c.Key.ToString(), StringComparer.Ordinal).Select(c => Canonical(c.Key) + ":" + Canonical(c.Value))) + "}",
        _ => node.ToString(),
    };
}
