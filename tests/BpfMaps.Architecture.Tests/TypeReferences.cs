using Mono.Cecil;
using Mono.Cecil.Cil;

namespace BpfMaps.Architecture.Tests;

/// <summary>One use of a type (and, for a call or field access, of a member) by a type of the module read.</summary>
/// <param name="From">The top-level type whose code or signatures hold the use (nested and compiler-generated types count as their top-level type).</param>
/// <param name="To">The top-level type used.</param>
/// <param name="Member">The member used, or null for a use of the type alone.</param>
/// <param name="Where">Where the use is, for messages.</param>
internal readonly record struct TypeUse(TypeDefinition From, TypeReference To, MemberReference? Member, string Where);

/// <summary>
/// Every type an assembly's compiled code refers to, read from its metadata and IL with Mono.Cecil: base types,
/// interfaces, attributes, fields, signatures, locals, catch clauses and the operands of every instruction.
/// What the compiler resolved is what is checked, so a fully qualified name or an alias hides nothing.
/// </summary>
internal static class TypeReferences
{
    private static readonly Dictionary<string, ModuleDefinition> s_modules = [];

    /// <summary>Reads the module of an assembly beside the tests (cached).</summary>
    public static ModuleDefinition Module(string assemblyName)
    {
        lock (s_modules)
        {
            if (!s_modules.TryGetValue(assemblyName, out ModuleDefinition? module))
            {
                var resolver = new DefaultAssemblyResolver();
                resolver.AddSearchDirectory(AppContext.BaseDirectory);
                resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
                module = ModuleDefinition.ReadModule(Path.Combine(AppContext.BaseDirectory, assemblyName + ".dll"),
                    new ReaderParameters { AssemblyResolver = resolver });
                s_modules[assemblyName] = module;
            }

            return module;
        }
    }

    /// <summary>The outermost declaring type.</summary>
    public static TypeReference TopLevel(TypeReference t)
    {
        while (t.DeclaringType is { } d)
        {
            t = d;
        }

        return t;
    }

    /// <summary>The assembly a reference points into: the module's own for a definition.</summary>
    public static string AssemblyOf(TypeReference t) => t.Scope switch
    {
        ModuleDefinition m => m.Assembly.Name.Name,
        AssemblyNameReference a => a.Name,
        _ => t.Module.Assembly.Name.Name,
    };

    /// <summary>Every use of a type by the types of <paramref name="module"/>.</summary>
    public static List<TypeUse> Uses(ModuleDefinition module)
    {
        var uses = new List<TypeUse>();
        foreach (TypeDefinition type in module.GetTypes())
        {
            var from = (TypeDefinition)TopLevel(type);
            void Add(TypeReference? t, string where, MemberReference? member = null)
            {
                foreach (TypeReference e in Expand(t))
                {
                    uses.Add(new TypeUse(from, TopLevel(e), member, where));
                }
            }

            Add(type.BaseType, $"{type.FullName} base type");
            foreach (InterfaceImplementation i in type.Interfaces)
            {
                Add(i.InterfaceType, $"{type.FullName} interface");
            }

            AddAttributes(type.CustomAttributes, type.FullName, Add);
            foreach (GenericParameter g in type.GenericParameters)
            {
                foreach (GenericParameterConstraint c in g.Constraints)
                {
                    Add(c.ConstraintType, $"{type.FullName} constraint");
                }
            }

            foreach (FieldDefinition f in type.Fields)
            {
                Add(f.FieldType, $"{type.FullName}.{f.Name}");
                AddAttributes(f.CustomAttributes, $"{type.FullName}.{f.Name}", Add);
            }

            foreach (PropertyDefinition p in type.Properties)
            {
                Add(p.PropertyType, $"{type.FullName}.{p.Name}");
            }

            foreach (EventDefinition e in type.Events)
            {
                Add(e.EventType, $"{type.FullName}.{e.Name}");
            }

            foreach (MethodDefinition m in type.Methods)
            {
                string where = $"{type.FullName}.{m.Name}";
                Add(m.ReturnType, where);
                foreach (ParameterDefinition p in m.Parameters)
                {
                    Add(p.ParameterType, where);
                }

                foreach (MethodReference o in m.Overrides)
                {
                    Add(o.DeclaringType, where, o);
                }

                AddAttributes(m.CustomAttributes, where, Add);
                foreach (GenericParameter g in m.GenericParameters)
                {
                    foreach (GenericParameterConstraint c in g.Constraints)
                    {
                        Add(c.ConstraintType, where);
                    }
                }

                if (!m.HasBody)
                {
                    continue;
                }

                foreach (VariableDefinition v in m.Body.Variables)
                {
                    Add(v.VariableType, where);
                }

                foreach (ExceptionHandler h in m.Body.ExceptionHandlers)
                {
                    Add(h.CatchType, where);
                }

                foreach (Instruction i in m.Body.Instructions)
                {
                    switch (i.Operand)
                    {
                        case TypeReference t:
                            Add(t, where);
                            break;
                        case MethodReference mr:
                            Add(mr.DeclaringType, where, mr);
                            Add(mr.ReturnType, where);
                            foreach (ParameterDefinition p in mr.Parameters)
                            {
                                Add(p.ParameterType, where);
                            }

                            if (mr is GenericInstanceMethod gm)
                            {
                                foreach (TypeReference a in gm.GenericArguments)
                                {
                                    Add(a, where);
                                }
                            }

                            break;
                        case FieldReference fr:
                            Add(fr.DeclaringType, where, fr);
                            Add(fr.FieldType, where);
                            break;
                    }
                }
            }
        }

        return uses;
    }

    private static void AddAttributes(IEnumerable<CustomAttribute> attributes, string where, Action<TypeReference?, string, MemberReference?> add)
    {
        foreach (CustomAttribute a in attributes)
        {
            add(a.AttributeType, where, a.Constructor);
        }
    }

    /// <summary>The named types inside a type expression: element types of arrays, pointers and byrefs, and generic arguments.</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference? t)
    {
        switch (t)
        {
            case null:
            case GenericParameter:
                yield break;
            case GenericInstanceType g:
                foreach (TypeReference e in Expand(g.ElementType))
                {
                    yield return e;
                }

                foreach (TypeReference a in g.GenericArguments)
                {
                    foreach (TypeReference e in Expand(a))
                    {
                        yield return e;
                    }
                }

                break;
            case FunctionPointerType f:
                foreach (TypeReference e in Expand(f.ReturnType))
                {
                    yield return e;
                }

                foreach (ParameterDefinition p in f.Parameters)
                {
                    foreach (TypeReference e in Expand(p.ParameterType))
                    {
                        yield return e;
                    }
                }

                break;
            case TypeSpecification s:
                foreach (TypeReference e in Expand(s.ElementType))
                {
                    yield return e;
                }

                break;
            default:
                yield return t;
                break;
        }
    }
}
