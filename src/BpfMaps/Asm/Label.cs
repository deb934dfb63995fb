namespace BpfMaps.Asm;

/// <summary>A jump target of one <see cref="InstructionBuilder"/>; placed with <see cref="InstructionBuilder.Mark"/>.</summary>
public readonly record struct Label
{
    internal Label(int id, InstructionBuilder owner)
    {
        Id = id;
        Owner = owner;
    }

    internal int Id { get; }

    internal InstructionBuilder? Owner { get; }
}
