using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// Calls every public method that takes a <c>Span&lt;T&gt;</c> or <c>ReadOnlySpan&lt;T&gt;</c> on every
/// receiver it fits, with short spans carved from a <see cref="GuardedRegion"/> and every count at
/// <see cref="Arguments.Count"/>, and prints one line before and one after each call (see Program.cs).
/// </summary>
internal sealed class SpanSweep(TargetSet set, Output output)
{
    private sealed record Call(ApiSurface.Member Member, Target Target, int Subject, int[] Lengths, string Variant);

    private readonly Dictionary<Type, Target?> _defaults = [];

    public int Run(int start, int end, int[] crashAt)
    {
        List<Call> plan = Plan();
        int slots = plan.Count == 0 ? 1 : plan.Max(c => c.Lengths.Count(l => l >= 0));
        // Room after each span for the largest batch a count could ask for: Count values of the largest map.
        int gap = (int)Math.Max(128 * 1024, BitOperations.RoundUpToPowerOf2((uint)(2 * Arguments.Count * set.MaxValueBuffer)));
        using var region = new GuardedRegion(gap, slots);
        var invokers = new Dictionary<MethodBase, Func<CallFrame, object?>>();
        end = Math.Min(end, plan.Count);
        output.Line("PLAN", end.ToString(System.Globalization.CultureInfo.InvariantCulture));

        for (int i = start; i < end; i++)
        {
            Call call = plan[i];
            MethodBase m = call.Member.Method;
            if (!invokers.TryGetValue(m, out var invoke))
            {
                invokers[m] = invoke = Invoker.Build(m);
            }

            // Announced before anything is done for it, so a crash while preparing the call is charged to it too.
            output.Line("CALL", i.ToString(System.Globalization.CultureInfo.InvariantCulture), call.Member.Signature, call.Target.Name, call.Variant);
            call.Target.Fixture?.Reset();
            region.Fill();
            var frame = new CallFrame
            {
                Receiver = m.IsStatic || m is ConstructorInfo ? null : call.Target.Receiver,
                Pointers = new nint[call.Lengths.Length],
                Lengths = new int[call.Lengths.Length],
            };
            Arguments.Fill(frame, m, call.Subject, call.Target);
            var spans = new List<(string, int, int)>();
            ParameterInfo[] ps = m.GetParameters();
            int slot = 0;
            for (int p = 0; p < ps.Length; p++)
            {
                if (call.Lengths[p] < 0)
                {
                    continue;
                }

                int bytes = call.Lengths[p] * ApiSurface.SizeOf(ps[p].ParameterType.GetGenericArguments()[0]);
                frame.Pointers[p] = region.At(slot);
                frame.Lengths[p] = call.Lengths[p];
                if (ApiSurface.IsReadOnlySpan(ps[p].ParameterType))
                {
                    region.WriteInput(slot, bytes);
                }

                spans.Add((ps[p].Name!, slot, bytes));
                slot++;
            }

            object? result = null;
            Exception? error = null;
            try
            {
                if (crashAt.Contains(i))
                {
                    Fault();
                }

                result = invoke(frame);
            }
            catch (Exception e)
            {
                error = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            }

            // Heap damage shows at the next collection: force it while this call is the one in progress.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            string? oob = region.FindWritesOutside(spans);
            string refs = string.Join("", ps.Select((p, k) => frame.Args[k] is IStrongBox b && Invoker.IsBoxedByRef(p) ? $" {p.Name}={b.Value}" : ""));
            output.Line("DONE", i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                error?.GetType().FullName ?? "-",
                error is ArgumentException ? "1" : "0",
                error is not null ? error.Message : $"returned {Describe(result)}{refs}",
                oob ?? "-");
            DisposeAll(result, frame);
        }

        output.Line("END");
        return 0;
    }

    // Dies the way heap corruption found by the GC does: the runtime aborts the process (SIGABRT).
    private static void Fault() => Environment.FailFast("BPFMAPS_SWEEP_CRASH_AT asked this call to crash");

    private List<Call> Plan()
    {
        var plan = new List<Call>();
        foreach (ApiSurface.Member member in ApiSurface.Members().Where(m => ApiSurface.TakesSpan(m.Method)))
        {
            if (member.SkipReason is not null)
            {
                output.Line("SKIP", member.Signature, member.SkipReason);
                continue;
            }

            MethodBase m = member.Method;
            var subject = Arguments.Subject(m);
            List<Target> receivers;
            if (subject is null)
            {
                receivers = [new Target(m is ConstructorInfo ? "(new)" : "(static)", "", null, false)];
            }
            else
            {
                receivers = set.Targets.Where(t => subject.Value.Type.IsInstanceOfType(t.Receiver)).ToList();
                if (receivers.Count == 0 && subject.Value.Index < 0 && Default(subject.Value.Type) is { } d)
                {
                    receivers.Add(d);
                }
            }

            if (receivers.Count == 0)
            {
                output.Line("NOTARGET", member.Signature, $"no receiver of type {ApiSurface.Name(subject!.Value.Type)}: "
                    + (set.KernelUnavailable is null ? "add one to TargetSet" : "bpf() is unavailable, so no kernel targets were made"));
                continue;
            }

            List<(int[] Lengths, string Label)> variants = Variants(m);
            output.Line("METHOD", member.Signature, (receivers.Count * variants.Count).ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (Target t in receivers)
            {
                foreach (var (lengths, label) in variants)
                {
                    plan.Add(new Call(member, t, subject?.Index ?? -2, lengths, label));
                }
            }
        }

        return plan;
    }

    // A receiver for a type no target covers: default(T) for structs, new T() for classes that have it.
    private Target? Default(Type type)
    {
        if (!_defaults.TryGetValue(type, out Target? t))
        {
            object? o = type.IsValueType ? Activator.CreateInstance(type)
                : !type.IsAbstract && type.GetConstructor(Type.EmptyTypes) is { } c ? c.Invoke(null) : null;
            t = o is null ? null : new Target(type.IsValueType ? $"default({ApiSurface.Name(type)})" : $"new {ApiSurface.Name(type)}()", o, null, false);
            _defaults[type] = t;
        }

        return t;
    }

    /// <summary>
    /// Span lengths (in elements, -1 for parameters that are not spans) for each call of <paramref name="m"/>:
    /// all short, all long, the first long and the rest short, the first short and the rest long, and the
    /// read-only spans empty with the writable ones short (a batch that starts at the beginning).
    /// Short is 3 bytes (1 element of a wider type), long 16 bytes (4 elements).
    /// </summary>
    private static List<(int[] Lengths, string Label)> Variants(MethodBase m)
    {
        ParameterInfo[] ps = m.GetParameters();
        int[] spans = Enumerable.Range(0, ps.Length).Where(i => ApiSurface.IsSpan(ps[i].ParameterType)).ToArray();
        int Short(int i) => ps[i].ParameterType.GetGenericArguments()[0] == typeof(byte) ? 3 : 1;
        int Long(int i) => ps[i].ParameterType.GetGenericArguments()[0] == typeof(byte) ? 16 : 4;

        var shapes = new List<Func<int, int, int>>
        {
            (i, _) => Short(i),
            (i, _) => Long(i),
            (i, k) => k == 0 ? Long(i) : Short(i),
            (i, k) => k == 0 ? Short(i) : Long(i),
        };
        if (spans.Any(i => ApiSurface.IsReadOnlySpan(ps[i].ParameterType)) && spans.Any(i => !ApiSurface.IsReadOnlySpan(ps[i].ParameterType)))
        {
            shapes.Add((i, _) => ApiSurface.IsReadOnlySpan(ps[i].ParameterType) ? 0 : Short(i));
        }

        var result = new List<(int[], string)>();
        var seen = new HashSet<string>();
        foreach (var shape in shapes)
        {
            int[] lengths = Enumerable.Repeat(-1, ps.Length).ToArray();
            for (int k = 0; k < spans.Length; k++)
            {
                lengths[spans[k]] = shape(spans[k], k);
            }

            string label = string.Join(" ", Enumerable.Range(0, ps.Length)
                .Where(i => lengths[i] >= 0 || Arguments.IsCount(ps[i]))
                .Select(i => lengths[i] >= 0
                    ? $"{ps[i].Name}={lengths[i] * ApiSurface.SizeOf(ps[i].ParameterType.GetGenericArguments()[0])}B"
                    : $"{ps[i].Name}={Arguments.Count}"));
            if (seen.Add(label))
            {
                result.Add((lengths, label));
            }
        }

        return result;
    }

    private static string Describe(object? result) => result switch
    {
        null => "(void)",
        string s => s,
        _ => result.ToString() ?? "",
    };

    private static void DisposeAll(object? result, CallFrame frame)
    {
        (result as IDisposable)?.Dispose();
        foreach (object? a in frame.Args)
        {
            if (a is IStrongBox { Value: IDisposable d })
            {
                d.Dispose();
            }
        }
    }
}
