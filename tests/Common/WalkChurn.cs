using System.Buffers.Binary;
using System.Diagnostics;

namespace BpfMaps.Tests.Common;

/// <summary>
/// Get_next_key dumps (or drains) of a 100k-entry hash map while another thread deletes and re-inserts
/// keys as fast as it can. Keys below <see cref="StableKeys"/> are never touched, so every pass must
/// emit them; no pass may emit a key twice or throw. Shared by the kernel tests and the engine tests,
/// so both backends run the same churn; it reports rather than asserts, so that a soak can count.
/// </summary>
public static class WalkChurn
{
    /// <summary>Entries in the map, and its max_entries.</summary>
    public const int Entries = 100_000;

    /// <summary>Keys [0, StableKeys) stay in the map for the whole run.</summary>
    public const int StableKeys = 10_000;

    /// <summary>A pass slower than this is reported as a hang: a guard, not a speed target.</summary>
    public static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

    /// <summary>The hash map the churn runs on (random hash seed, as in production).</summary>
    public static MapSpec Spec { get; } = new() { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Entries, Name = "t_walk_churn" };

    /// <summary><c>BPFMAPS_SOAK_ITER</c> passes when it is set, else <paramref name="ci"/>.</summary>
    public static int Passes(int ci) => Soak.Iterations(ci);

    /// <summary>The value every key holds (the churn re-inserts it unchanged).</summary>
    public static ulong ValueOf(uint key) => ((ulong)key * 3) + 1;

    /// <summary>Fills <paramref name="map"/>, runs <paramref name="passes"/> get_next_key dumps (or drains) under churn and reports.</summary>
    /// <param name="map">An empty map of <see cref="Spec"/>.</param>
    /// <param name="passes">Passes to run.</param>
    /// <param name="drain">Drain instead of dump; the map is filled again before each pass.</param>
    /// <param name="onPass">Called after each pass with its enumerator, before it is disposed.</param>
    public static ChurnReport Run(BpfMap map, int passes, bool drain = false, Action<MapEnumerator, ChurnReport>? onPass = null)
    {
        var options = new DumpOptions { Method = DumpMethod.GetNextKey };
        Fill(map);
        var report = new ChurnReport();
        bool stop = false;
        long churnOps = 0;
        Exception? churnFailure = null;
        var churner = new Thread(() =>
        {
            try
            {
                var rnd = new Random(7);
                Span<byte> key = stackalloc byte[4];
                Span<byte> value = stackalloc byte[8];
                long ops = 0;
                while (!Volatile.Read(ref stop))
                {
                    uint k = (uint)rnd.Next(StableKeys, Entries);
                    BinaryPrimitives.WriteUInt32LittleEndian(key, k);
                    BinaryPrimitives.WriteUInt64LittleEndian(value, ValueOf(k));
                    map.Delete(key);
                    int err = map.UpdateOrErrno(key, value);
                    if (err != 0 && err != Errno.E2BIG)
                    {
                        throw new InvalidOperationException($"re-inserting key {k} failed with {Errno.Name(err)}");
                    }

                    if ((++ops & 1023) == 0)
                    {
                        Volatile.Write(ref churnOps, ops);
                    }
                }

                Volatile.Write(ref churnOps, ops);
            }
            catch (Exception e)
            {
                churnFailure = e;
            }
        })
        { IsBackground = true, Name = "walk churn" };

        churner.Start();
        var total = Stopwatch.StartNew();
        try
        {
            var emitted = new bool[Entries];
            for (int pass = 0; pass < passes && churnFailure is null; pass++)
            {
                Array.Clear(emitted);
                if (drain && pass > 0)
                {
                    Refill(map);
                }

                long churnBefore = Volatile.Read(ref churnOps);
                var clock = Stopwatch.StartNew();
                string? failure = OnePass(map, options, drain, emitted, clock, report, onPass, out int restarts, out int count);
                clock.Stop();
                report.Passes++;
                report.Restarts += restarts;
                report.MaxRestartsInAPass = Math.Max(report.MaxRestartsInAPass, restarts);
                report.MaxPass = clock.Elapsed > report.MaxPass ? clock.Elapsed : report.MaxPass;
                report.MinEmitted = Math.Min(report.MinEmitted, count);
                report.MaxEmitted = Math.Max(report.MaxEmitted, count);
                report.ChurnOpsDuringPasses += Volatile.Read(ref churnOps) - churnBefore;
                if (failure is not null)
                {
                    report.Failures.Add($"pass {pass + 1}: {failure}");
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            churner.Join();
            report.Total = total.Elapsed;
        }

        if (churnFailure is not null)
        {
            report.Failures.Add($"churn thread failed: {churnFailure}");
        }

        return report;
    }

    private static string? OnePass(BpfMap map, DumpOptions options, bool drain, bool[] emitted, Stopwatch clock, ChurnReport report, Action<MapEnumerator, ChurnReport>? onPass, out int restarts, out int count)
    {
        count = 0;
        restarts = 0;
        using MapEnumerator e = (drain ? map.Drain(options) : map.Dump(options)).GetEnumerator();
        try
        {
            while (e.MoveNextBatch())
            {
                ReadOnlySpan<byte> keys = e.BatchKeys;
                ReadOnlySpan<byte> values = e.BatchValues;
                for (int i = 0; i < e.BatchCount; i++)
                {
                    uint k = BinaryPrimitives.ReadUInt32LittleEndian(keys[(i * 4)..]);
                    ulong v = BinaryPrimitives.ReadUInt64LittleEndian(values[(i * map.ValueBufferSize)..]);
                    if (k >= Entries)
                    {
                        return $"key {k} was never written";
                    }

                    if (emitted[k])
                    {
                        return $"key {k} emitted twice ({count} keys into the pass, {e.Restarts} restarts)";
                    }

                    if (v != ValueOf(k))
                    {
                        return $"key {k} has value {v}, expected {ValueOf(k)}";
                    }

                    emitted[k] = true;
                    count++;
                }

                if (clock.Elapsed > HangGuard)
                {
                    return $"still walking after {clock.Elapsed.TotalSeconds:F0} s ({count} keys, {e.Restarts} restarts)";
                }
            }
        }
        catch (MapIterationRestartedException ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
        finally
        {
            restarts = e.Restarts;
            onPass?.Invoke(e, report);
        }

        if (!e.UsedGetNextKey)
        {
            return "the pass did not walk with get_next_key";
        }

        int missing = Array.IndexOf(emitted, false, 0, StableKeys);
        if (missing >= 0)
        {
            return $"stable key {missing} was not emitted ({count} keys, {e.Restarts} restarts)";
        }

        if (drain)
        {
            Span<byte> key = stackalloc byte[4];
            byte[] value = new byte[map.ValueBufferSize];
            for (uint k = 0; k < StableKeys; k++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(key, k);
                if (map.TryLookup(key, value))
                {
                    return $"stable key {k} is still in the map after the drain";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Puts every key back after a drain, while the churn goes on: an insert racing the churn can see
    /// E2BIG for a moment (room is given back per CPU or per stripe), so stable keys are retried.
    /// </summary>
    private static void Refill(BpfMap map)
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        for (uint k = 0; k < Entries; k++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(key, k);
            BinaryPrimitives.WriteUInt64LittleEndian(value, ValueOf(k));
            int err;
            for (int attempt = 0; (err = map.UpdateOrErrno(key, value)) == Errno.E2BIG && k < StableKeys && attempt < 10_000; attempt++)
            {
                Thread.Yield();
            }

            if (err != 0 && (err != Errno.E2BIG || k < StableKeys))
            {
                throw new InvalidOperationException($"refilling key {k} failed with {Errno.Name(err)}");
            }
        }
    }

    private static void Fill(BpfMap map)
    {
        var keys = new byte[Entries * 4];
        var values = new byte[Entries * 8];
        for (int i = 0; i < Entries; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(i * 4), (uint)i);
            BinaryPrimitives.WriteUInt64LittleEndian(values.AsSpan(i * 8), ValueOf((uint)i));
        }

        map.UpdateBatch(keys, values);
    }
}

/// <summary>What <see cref="WalkChurn.Run"/> saw.</summary>
public sealed class ChurnReport
{
    public int Passes { get; set; }

    public long Restarts { get; set; }

    public int MaxRestartsInAPass { get; set; }

    public TimeSpan MaxPass { get; set; }

    public TimeSpan Total { get; set; }

    public long MinEmitted { get; set; } = long.MaxValue;

    public long MaxEmitted { get; set; }

    public long ChurnOpsDuringPasses { get; set; }

    /// <summary>Whatever the caller's per-pass callback adds (for the report).</summary>
    public Dictionary<string, long> Extra { get; } = [];

    public List<string> Failures { get; } = [];

    public override string ToString()
        => $"{Passes} passes, {Failures.Count} failed, {Restarts} restarts (at most {MaxRestartsInAPass} in a pass), " +
           $"max pass {MaxPass.TotalMilliseconds:F0} ms, total {Total.TotalSeconds:F1} s, keys per pass {MinEmitted}..{MaxEmitted}, " +
           $"{ChurnOpsDuringPasses} delete+insert pairs during the passes" +
           string.Concat(Extra.Select(kv => $", {kv.Key} {kv.Value}"));
}
