using System.Reflection;
using System.Runtime.CompilerServices;
using BpfMaps.Programs;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// Values for the parameters that are not under test: counts are large (<see cref="Count"/>), keys
/// name an entry that exists, cursors and inner maps belong to the receiver's map.
/// </summary>
internal static class Arguments
{
    /// <summary>Every count parameter gets this: far more than any short span holds.</summary>
    public const int Count = 512;

    public static bool IsCount(ParameterInfo p)
    {
        string n = p.Name ?? "";
        return n.Contains("count", StringComparison.OrdinalIgnoreCase) || n is "cpus" or "n";
    }

    /// <summary>
    /// Which targets can receive <paramref name="m"/>: the instance's own type, or for a static method the
    /// first parameter of a kind the targets come in (a BpfMap, a SafeHandle, a backend; see
    /// <see cref="TargetSet.ReceiverKinds"/>). Null: a static call with no subject.
    /// </summary>
    public static (int Index, Type Type)? Subject(MethodBase m)
    {
        if (m is ConstructorInfo)
        {
            return null;
        }

        if (!m.IsStatic)
        {
            return (-1, m.DeclaringType!);
        }

        ParameterInfo[] ps = m.GetParameters();
        for (int i = 0; i < ps.Length; i++)
        {
            Type t = ps[i].ParameterType;
            if (!t.IsByRef && !t.IsValueType && t != typeof(object) && TargetSet.ReceiverKinds.Any(t.IsAssignableFrom))
            {
                return (i, t);
            }
        }

        return null;
    }

    /// <summary>Fills <paramref name="frame"/>'s Args for every parameter that is not a span and not the subject.</summary>
    public static void Fill(CallFrame frame, MethodBase m, int subject, Target? target, Func<ParameterInfo, string?>? strings = null)
    {
        ParameterInfo[] ps = m.GetParameters();
        frame.Args = new object?[ps.Length];
        for (int i = 0; i < ps.Length; i++)
        {
            ParameterInfo p = ps[i];
            Type t = p.ParameterType;
            if (i == subject)
            {
                frame.Args[i] = target!.Receiver;
            }
            else if (ApiSurface.IsSpan(t) || (t.IsByRef && t.GetElementType()!.IsByRefLike) || t.IsByRefLike)
            {
                // Spans come from the frame's pointers; ref-struct locals are made in the IL.
            }
            else if (t.IsByRef)
            {
                Type e = t.GetElementType()!;
                object? initial = p.IsOut ? null : Value(p, e, target, strings);
                var box = (IStrongBox)Activator.CreateInstance(typeof(StrongBox<>).MakeGenericType(e))!;
                if (initial is not null)
                {
                    box.Value = initial;
                }

                frame.Args[i] = box;
            }
            else
            {
                frame.Args[i] = Value(p, t, target, strings);
            }
        }
    }

    private static object? Value(ParameterInfo p, Type t, Target? target, Func<ParameterInfo, string?>? strings)
    {
        MapFixture? f = target?.Fixture;
        if (t == typeof(string))
        {
            return strings?.Invoke(p) ?? (p.Name == "license" ? "GPL" : "sweep");
        }

        if (t == typeof(bool))
        {
            return false;
        }

        if (t.IsEnum)
        {
            // Zero is the "no flags" value of most enums here; for program types and BTF kinds it is the
            // invalid "unspecified"/void, which a method refuses before it looks at the other arguments.
            return t == typeof(ProgramType) ? ProgramType.SocketFilter
                : t == typeof(BpfMaps.Btf.BtfKind) ? BpfMaps.Btf.BtfKind.Typedef
                : Enum.ToObject(t, 0);
        }

        if (t.IsPrimitive)
        {
            string n = p.Name ?? "";
            int v = IsCount(p) ? Count
                : n.Contains("size", StringComparison.OrdinalIgnoreCase) ? 4
                : n is "key" or "value" ? 1
                : 0;
            return Convert.ChangeType(v, t, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (t == typeof(BatchCursor))
        {
            return f?.Map.CreateCursor();
        }

        if (t == typeof(BpfMap))
        {
            return f?.Inner ?? f?.Map;
        }

        if (t == typeof(IMapBackend))
        {
            return (f?.Inner ?? f?.Map)?.Backend;
        }

        if (t == typeof(System.Runtime.InteropServices.SafeHandle))
        {
            return f?.Map.Handle;
        }

        if (t == typeof(MapSpec))
        {
            return new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16 };
        }

        if (t.IsArray)
        {
            return Array.CreateInstance(t.GetElementType()!, 0);
        }

        return t.IsValueType ? Activator.CreateInstance(t) : null;
    }
}
