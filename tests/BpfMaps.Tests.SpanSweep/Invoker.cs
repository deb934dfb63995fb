using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// What one call is made of. Span parameters come from <see cref="Pointers"/> and <see cref="Lengths"/>
/// (an entry for every parameter, used only at span positions); every other parameter from
/// <see cref="Args"/>: the boxed value, or for ref/in/out a <see cref="StrongBox{T}"/> whose field is
/// passed by reference, so that a count the callee writes back can be read afterwards.
/// </summary>
internal sealed class CallFrame
{
    public object? Receiver;
    public nint[] Pointers = [];
    public int[] Lengths = [];
    public object?[] Args = [];
}

/// <summary>
/// Builds a call for any public method or constructor, including those with ref-struct parameters,
/// which reflection's Invoke cannot pass: a <see cref="DynamicMethod"/> constructs each
/// <c>Span&lt;T&gt;</c> from pointer and length with its <c>(void*, int)</c> constructor.
/// </summary>
internal static class Invoker
{
    private static readonly FieldInfo s_receiver = typeof(CallFrame).GetField(nameof(CallFrame.Receiver))!;
    private static readonly FieldInfo s_pointers = typeof(CallFrame).GetField(nameof(CallFrame.Pointers))!;
    private static readonly FieldInfo s_lengths = typeof(CallFrame).GetField(nameof(CallFrame.Lengths))!;
    private static readonly FieldInfo s_args = typeof(CallFrame).GetField(nameof(CallFrame.Args))!;

    /// <summary>Whether parameter <paramref name="p"/> is passed through a StrongBox in <see cref="CallFrame.Args"/>.</summary>
    public static bool IsBoxedByRef(ParameterInfo p) => p.ParameterType.IsByRef && !p.ParameterType.GetElementType()!.IsByRefLike;

    public static Func<CallFrame, object?> Build(MethodBase method)
    {
        Type declaring = method.DeclaringType!;
        var dm = new DynamicMethod("sweep_" + method.Name, typeof(object), [typeof(CallFrame)], typeof(CallFrame).Module, skipVisibility: true);
        ILGenerator il = dm.GetILGenerator();

        if (!method.IsStatic && method is not ConstructorInfo)
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, s_receiver);
            il.Emit(declaring.IsValueType ? OpCodes.Unbox : OpCodes.Castclass, declaring);
        }

        ParameterInfo[] ps = method.GetParameters();
        for (int i = 0; i < ps.Length; i++)
        {
            Type t = ps[i].ParameterType;
            if (ApiSurface.IsSpan(t))
            {
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldfld, s_pointers);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Ldelem_I);
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldfld, s_lengths);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Ldelem_I4);
                il.Emit(OpCodes.Newobj, t.GetConstructor([typeof(void*), typeof(int)])!);
            }
            else if (t.IsByRef && t.GetElementType()!.IsByRefLike)
            {
                // out PerCpuValues<T> and the like: a local (zeroed) stands in; the value is dropped.
                il.Emit(OpCodes.Ldloca, il.DeclareLocal(t.GetElementType()!));
            }
            else if (t.IsByRef)
            {
                Type box = typeof(StrongBox<>).MakeGenericType(t.GetElementType()!);
                LoadArg(il, i);
                il.Emit(OpCodes.Castclass, box);
                il.Emit(OpCodes.Ldflda, box.GetField(nameof(StrongBox<int>.Value))!);
            }
            else if (t.IsByRefLike)
            {
                il.Emit(OpCodes.Ldloc, il.DeclareLocal(t));
            }
            else
            {
                LoadArg(il, i);
                il.Emit(t.IsValueType ? OpCodes.Unbox_Any : OpCodes.Castclass, t);
            }
        }

        Type result;
        switch (method)
        {
            case ConstructorInfo ctor:
                il.Emit(OpCodes.Newobj, ctor);
                result = declaring;
                break;
            case MethodInfo m:
                il.Emit(m.IsStatic || declaring.IsValueType || !m.IsVirtual ? OpCodes.Call : OpCodes.Callvirt, m);
                result = m.ReturnType;
                break;
            default:
                throw new NotSupportedException(method.ToString());
        }

        if (result == typeof(void))
        {
            il.Emit(OpCodes.Ldnull);
        }
        else if (result.IsByRef || result.IsByRefLike)
        {
            il.Emit(OpCodes.Pop);
            il.Emit(OpCodes.Ldstr, $"({ApiSurface.Name(result.IsByRef ? result.GetElementType()! : result)})");
        }
        else if (result.IsValueType)
        {
            il.Emit(OpCodes.Box, result);
        }

        il.Emit(OpCodes.Ret);
        return dm.CreateDelegate<Func<CallFrame, object?>>();
    }

    private static void LoadArg(ILGenerator il, int i)
    {
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, s_args);
        il.Emit(OpCodes.Ldc_I4, i);
        il.Emit(OpCodes.Ldelem_Ref);
    }
}
