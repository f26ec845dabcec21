namespace GpuDaemon.Tests.TestSupport;

public static class AsyncEnumerableExtensions
{
    /// <summary>The first item matching <paramref name="predicate"/>, failing the test if none comes within <paramref name="timeout"/>.</summary>
    public static async Task<T> FirstMatchAsync<T>(this IAsyncEnumerable<T> source, Func<T, bool> predicate, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await foreach (var item in source.WithCancellation(cts.Token))
            {
                if (predicate(item))
                {
                    return item;
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }

        throw new TimeoutException($"no matching {typeof(T).Name} arrived in time");
    }
}
