namespace GpuDaemon.DevicePlugin.Kubelet;

/// <summary>Where one resource's endpoint stands; readiness is <see cref="EndpointPhase.Registered"/> for every resource.</summary>
internal enum EndpointPhase
{
    /// <summary>Created, not yet serving its socket.</summary>
    Starting,

    /// <summary>Its socket is served; it is not (or no longer) registered with the kubelet.</summary>
    Serving,

    /// <summary>Served and registered: the kubelet can use it.</summary>
    Registered,

    /// <summary>Its socket cannot be served; retried with capped backoff. <see cref="EndpointState.LastError"/> says why.</summary>
    Failing,
}

/// <summary>
/// One resource's endpoint as the manager exposes it: its phase, since when, and the last problem it hit
/// (a failed bind, a refused registration), cleared when it is registered again.
/// </summary>
internal sealed record EndpointState(string Resource, EndpointPhase Phase, DateTimeOffset Since, string? LastError);
