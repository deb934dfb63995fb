using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using BpfMaps.InProcess;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// The public surface of BpfMaps and BpfMaps.InProcess, found by reflection so that a member added
/// later is swept without anyone listing it. Generic types and methods are closed over the types the
/// sweep's maps hold: keys are uint, everything else ulong.
/// </summary>
internal static class ApiSurface
{
    public static readonly Assembly[] Assemblies = [typeof(BpfMap).Assembly, typeof(InProcessMap).Assembly];

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>A public constructor or method, closed, with the reason it cannot be called (or null).</summary>
    public sealed record Member(MethodBase Method, string Signature, string? SkipReason);

    /// <summary>Every public constructor and method of every public type, in a stable order.</summary>
    public static List<Member> Members()
    {
        var result = new List<Member>();
        foreach (Type open in Assemblies.SelectMany(a => a.GetExportedTypes()))
        {
            bool closable = TryClose(open, out Type type, out string? why);
            IEnumerable<MethodBase> members = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
                .Concat<MethodBase>(type.GetMethods(Declared));
            foreach (MethodBase m in members)
            {
                MethodBase closed = m;
                string? skip = closable ? null : why;
                if (skip is null && m is MethodInfo { IsGenericMethodDefinition: true } g)
                {
                    Type[] args = g.GetGenericArguments().Select(ArgumentFor).ToArray();
                    try
                    {
                        closed = g.MakeGenericMethod(args);
                    }
                    catch (ArgumentException e)
                    {
                        skip = $"cannot close the generic method over {string.Join(", ", args.Select(Name))}: {e.Message}";
                    }
                }

                if (skip is null && typeof(Delegate).IsAssignableFrom(type))
                {
                    skip = "a delegate's Invoke runs the caller's own code; it hands nothing to the kernel or the engine";
                }
                else if (skip is null && type.IsByRefLike && !closed.IsStatic && closed is not ConstructorInfo)
                {
                    skip = "instance method of a ref struct: no receiver can be boxed for the sweep (its constructors are swept)";
                }

                result.Add(new Member(closed, Signature(closed), skip));
            }
        }

        return result.OrderBy(m => m.Signature, StringComparer.Ordinal).ToList();
    }

    public static bool TryClose(Type open, out Type closed, out string? why)
    {
        closed = open;
        why = null;
        if (!open.IsGenericTypeDefinition)
        {
            return true;
        }

        Type[] args = open.GetGenericArguments().Select(ArgumentFor).ToArray();
        try
        {
            closed = open.MakeGenericType(args);
            return true;
        }
        catch (ArgumentException e)
        {
            why = $"cannot close {Name(open)} over {string.Join(", ", args.Select(Name))}: {e.Message}";
            return false;
        }
    }

    // The maps the sweep creates have 4-byte keys and 8-byte values.
    private static Type ArgumentFor(Type genericParameter)
        => genericParameter.Name.Contains("Key", StringComparison.Ordinal) ? typeof(uint) : typeof(ulong);

    public static bool IsSpan(Type t)
        => t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(Span<>) || t.GetGenericTypeDefinition() == typeof(ReadOnlySpan<>));

    public static bool IsReadOnlySpan(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ReadOnlySpan<>);

    public static bool TakesSpan(MethodBase m) => m.GetParameters().Any(p => IsSpan(p.ParameterType));

    public static int SizeOf(Type t) => (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;

    public static string Signature(MethodBase m)
    {
        var sb = new StringBuilder();
        sb.Append(Name(m.DeclaringType!)).Append('.').Append(m is ConstructorInfo ? "new" : m.Name).Append('(');
        ParameterInfo[] ps = m.GetParameters();
        for (int i = 0; i < ps.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            Type t = ps[i].ParameterType;
            if (t.IsByRef)
            {
                sb.Append(ps[i].IsOut ? "out " : ps[i].IsIn ? "in " : "ref ");
                t = t.GetElementType()!;
            }

            sb.Append(Name(t));
        }

        return sb.Append(')').ToString();
    }

    public static string Name(Type t)
    {
        if (t.IsGenericParameter)
        {
            return t.Name;
        }

        string? keyword = Type.GetTypeCode(t) switch
        {
            TypeCode.Boolean => "bool",
            TypeCode.Byte => "byte",
            TypeCode.SByte => "sbyte",
            TypeCode.Int16 => "short",
            TypeCode.UInt16 => "ushort",
            TypeCode.Int32 => "int",
            TypeCode.UInt32 => "uint",
            TypeCode.Int64 => "long",
            TypeCode.UInt64 => "ulong",
            TypeCode.String => "string",
            TypeCode.Double => "double",
            _ => null,
        };
        if (keyword is not null && !t.IsEnum)
        {
            return keyword;
        }

        if (t.IsArray)
        {
            return Name(t.GetElementType()!) + "[]";
        }

        string name = t.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        if (t.IsNested && !t.IsGenericParameter)
        {
            name = Name(t.DeclaringType!) + "." + name;
        }

        Type[] args = t.IsGenericType ? t.GetGenericArguments() : [];
        if (t.IsNested && t.DeclaringType!.IsGenericType)
        {
            args = args.Skip(t.DeclaringType.GetGenericArguments().Length).ToArray();
        }

        return args.Length == 0 ? name : $"{name}<{string.Join(", ", args.Select(Name))}>";
    }
}
