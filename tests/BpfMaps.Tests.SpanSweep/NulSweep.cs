using System.Reflection;
using BpfMaps.Asm;
using BpfMaps.InProcess;
using BpfMaps.Programs;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// Gives every public path or name string an embedded NUL. The kernel and libc read such a string up to
/// the NUL, so "/sys/fs/bpf/a\0b" would quietly become "/sys/fs/bpf/a". Each call is paired with a control
/// call that passes the same string without the NUL, so an ArgumentException about something else does
/// not count as the NUL being refused.
/// </summary>
internal sealed class NulSweep(TargetSet set, Output output)
{
    // The part before the NUL is under /proc, where nothing can be pinned or created: a call that drops the
    // rest of the string fails there instead of pinning somewhere real.
    private const string NulPath = "/proc/bpfmaps-nul\0/sys/fs/bpf/bpfmaps-nul";
    private const string CleanPath = "/proc/bpfmaps-nul/sys/fs/bpf/bpfmaps-nul";
    private const string NulName = "sweep\0nul";
    private const string CleanName = "sweep_nul";

    private sealed record Consumer(string Property, string Via, string Param, bool Kernel, Func<TargetSet, string, object?> Call);

    // Records whose string property names something the kernel sees, and a public call that hands it over.
    // A new property of this kind fails the test until it is listed here (NOCONSUMER).
    private static readonly Consumer[] s_consumers =
    [
        new("MapSpec.Name", "BpfMap.Create(MapSpec)", "spec", Kernel: true,
            (_, s) => BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = s })),
        new("MapSpec.Name", "InProcessMap.Create(MapSpec, InProcessOptions)", "spec", Kernel: false,
            (_, s) => InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = s })),
        new("ProgramLoadOptions.Name", "BpfProgram.Load(ProgramType, AssembledProgram, string, ProgramLoadOptions)", "options", Kernel: true,
            (_, s) => BpfProgram.Load(ProgramType.SocketFilter, new InstructionBuilder().Mov64(Register.R0, 0).Exit().Build(), "GPL", new ProgramLoadOptions { Name = s })),
        new("CounterProgramOptions.Name", "CounterProgram.Load(BpfMap, CounterProgramOptions)", "options", Kernel: true,
            (t, s) => CounterProgram.Load(t.Targets.First(x => x.Name == "kernel hash").Fixture!.Map, new CounterProgramOptions { Name = s })),
        new("EventProgramOptions.Name", "EventProgram.Load(BpfMap, BpfMap, EventProgramOptions)", "options", Kernel: true,
            (t, s) =>
            {
                using BpfMap state = EventProgram.CreateStateMap("sweep_state");
                return EventProgram.Load((BpfMap)t.Targets.First(x => x.Name == "kernel ringbuf").Receiver, state, new EventProgramOptions { Name = s });
            }),
        new("Exp2HistogramProgramOptions.Name", "Exp2HistogramProgram.Load(BpfMap, Exp2HistogramProgramOptions)", "options", Kernel: true,
            (t, s) => Exp2HistogramProgram.Load(t.Targets.First(x => x.Name == "kernel hash").Fixture!.Map, new Exp2HistogramProgramOptions { Name = s })),
    ];

    public static bool IsPathOrName(string? name)
        => name is not null && (name.EndsWith("path", StringComparison.OrdinalIgnoreCase) || name.EndsWith("name", StringComparison.OrdinalIgnoreCase));

    public int Run()
    {
        foreach (ApiSurface.Member member in ApiSurface.Members())
        {
            ParameterInfo[] ps = member.Method.GetParameters();
            int[] strings = Enumerable.Range(0, ps.Length).Where(i => ps[i].ParameterType == typeof(string) && IsPathOrName(ps[i].Name)).ToArray();
            if (strings.Length == 0)
            {
                continue;
            }

            if (member.SkipReason is not null)
            {
                output.Line("SKIP", member.Signature, member.SkipReason);
                continue;
            }

            MethodBase m = member.Method;
            var subject = Arguments.Subject(m);
            List<Target> receivers = subject is null
                ? [new Target(m is ConstructorInfo ? "(new)" : "(static)", "", null, false)]
                : set.Targets.Where(t => subject.Value.Type.IsInstanceOfType(t.Receiver)).ToList();
            if (receivers.Count == 0 && subject is { Index: < 0 } && !subject.Value.Type.IsAbstract && subject.Value.Type.GetConstructor(Type.EmptyTypes) is { } ctor)
            {
                receivers.Add(new Target($"new {ApiSurface.Name(subject.Value.Type)}()", ctor.Invoke(null), null, false));
            }

            if (receivers.Count == 0)
            {
                output.Line("NOTARGET", member.Signature, $"no receiver of type {ApiSurface.Name(subject!.Value.Type)}: "
                    + (set.KernelUnavailable is null ? "add one to TargetSet" : "bpf() is unavailable, so no kernel targets were made"));
                continue;
            }

            Func<CallFrame, object?> invoke = Invoker.Build(m);
            foreach (int s in strings)
            {
                foreach (Target t in receivers)
                {
                    string nul = ps[s].Name!.EndsWith("path", StringComparison.OrdinalIgnoreCase) ? NulPath : NulName;
                    string clean = nul == NulPath ? CleanPath : CleanName;
                    Report(member.Signature, ps[s].Name!, t.Name,
                        Outcome(() => invoke(Frame(m, subject?.Index ?? -2, t, s, nul))),
                        Outcome(() => invoke(Frame(m, subject?.Index ?? -2, t, s, clean))));
                }
            }
        }

        foreach (PropertyInfo p in ApiSurface.Assemblies.SelectMany(a => a.GetExportedTypes())
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(p => p.PropertyType == typeof(string) && p.GetSetMethod() is not null && IsPathOrName(p.Name) && !IsPositional(p))
            .OrderBy(p => p.DeclaringType!.Name + "." + p.Name, StringComparer.Ordinal))
        {
            string property = $"{ApiSurface.Name(p.DeclaringType!)}.{p.Name}";
            Consumer[] consumers = s_consumers.Where(c => c.Property == property).ToArray();
            if (consumers.Length == 0)
            {
                output.Line("NOCONSUMER", property, "a settable path/name property with no call listed in NulSweep's consumers");
            }

            foreach (Consumer c in consumers)
            {
                if (c.Kernel && set.KernelUnavailable is not null)
                {
                    output.Line("NOTARGET", $"{property} via {c.Via}", "needs the kernel: bpf() is unavailable");
                    continue;
                }

                string nul = p.Name.EndsWith("Path", StringComparison.Ordinal) ? NulPath : NulName;
                string clean = nul == NulPath ? CleanPath : CleanName;
                Report($"{property} via {c.Via}", c.Param, "(static)", Outcome(() => c.Call(set, nul)), Outcome(() => c.Call(set, clean)));
            }
        }

        output.Line("END");
        return 0;
    }

    // A positional record's property is also its constructor's parameter, which the member sweep covers.
    private static bool IsPositional(PropertyInfo p)
        => p.DeclaringType!.GetConstructors().Any(c => c.GetParameters().Any(a => a.Name == p.Name && a.ParameterType == p.PropertyType));

    private static CallFrame Frame(MethodBase m, int subject, Target t, int stringIndex, string value)
    {
        var frame = new CallFrame { Receiver = m.IsStatic || m is ConstructorInfo ? null : t.Receiver };
        ParameterInfo[] ps = m.GetParameters();
        frame.Pointers = new nint[ps.Length];
        frame.Lengths = new int[ps.Length];
        Arguments.Fill(frame, m, subject, t, p => p.Position == stringIndex ? value : null);
        return frame;
    }

    private static (string Type, bool IsArgument, string Message) Outcome(Func<object?> call)
    {
        try
        {
            object? r = call();
            (r as IDisposable)?.Dispose();
            return ("-", false, $"returned {r ?? "null"}");
        }
        catch (Exception e)
        {
            return (e.GetType().FullName!, e is ArgumentException and not ArgumentNullException, e.Message);
        }
    }

    private void Report(string method, string param, string target, (string Type, bool IsArgument, string Message) nul, (string Type, bool IsArgument, string Message) clean)
        => output.Line("NUL", method, param, target,
            nul.Type, nul.IsArgument ? "1" : "0", nul.Message,
            clean.Type, clean.IsArgument ? "1" : "0", clean.Message);
}
