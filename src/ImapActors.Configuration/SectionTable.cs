namespace ImapActors.Configuration;

public static partial class EngineConfig
{
    /// <summary>
    /// The keys of one section, each declared once: its name, how its value is read and how it is applied to
    /// <typeparamref name="T"/>. The unknown-key check (<see cref="Names"/>) and the reading (<see cref="Read"/>) both come
    /// from this list, so a key cannot be read without being known or known without being read. Defaults are not here:
    /// they are the seed's (the settings records'), and the embedded defaults file is a layer under the operator's.
    /// </summary>
    private sealed class SectionTable<T>
    {
        private readonly List<Entry> _entries = [];
        private readonly List<string> _names = [];

        /// <summary>Every key the section accepts, nested sections included.</summary>
        public IReadOnlyList<string> Names => _names;

        public IReadOnlyList<Entry> Entries => _entries;

        /// <summary>One key (or a secret's three forms); <paramref name="Default"/> is null when no record holds its default.</summary>
        public sealed record Entry(string Name, IReadOnlyList<string> Names, Func<Loader, ConfigReader, object?> ReadValue,
            Func<T, object?>? Default, Func<T, object, T> Apply);

        /// <summary>A nested object read by its own table (or by hand): declared here only so the section knows it.</summary>
        public SectionTable<T> Section(string name)
        {
            _names.Add(name);
            return this;
        }

        public SectionTable<T> PositiveInt(string name, Func<T, int> get, Func<T, int, T> set) =>
            Add(name, [name], (_, r) => r.PositiveInt(name), t => get(t), (t, v) => set(t, (int)v));

        public SectionTable<T> NonNegativeInt(string name, Func<T, int> get, Func<T, int, T> set) =>
            Add(name, [name], (_, r) => r.NonNegativeInt(name), t => get(t), (t, v) => set(t, (int)v));

        public SectionTable<T> Port(string name, Func<T, int> get, Func<T, int, T> set) =>
            Add(name, [name], (_, r) => r.Port(name), t => get(t), (t, v) => set(t, (int)v));

        /// <summary>A port to listen on: 0 (any free port) to 65535.</summary>
        public SectionTable<T> ListenPort(string name, Func<T, int> get, Func<T, int, T> set) =>
            Add(name, [name], (_, r) => r.Int(name, 0, 65535, "must be a port number from 1 to 65535, or 0 for any free port"), t => get(t),
                (t, v) => set(t, (int)v));

        public SectionTable<T> Size(string name, Func<T, long> get, Func<T, long, T> set) =>
            Add(name, [name], (_, r) => r.Size(name), t => get(t), (t, v) => set(t, (long)v));

        public SectionTable<T> Duration(string name, Func<T, TimeSpan> get, Func<T, TimeSpan, T> set) =>
            Add(name, [name], (_, r) => r.Duration(name), t => get(t), (t, v) => set(t, (TimeSpan)v));

        public SectionTable<T> Bool(string name, Func<T, bool> get, Func<T, bool, T> set) =>
            Add(name, [name], (_, r) => r.Bool(name), t => get(t), (t, v) => set(t, (bool)v));

        /// <summary>Keys the loader reads by hand because they depend on other keys (a port on use_ssl, a secret on auth_type).</summary>
        public SectionTable<T> ReadByLoader(params string[] names)
        {
            _names.AddRange(names);
            return this;
        }

        /// <summary>A string whose default lives only in the documented file (no record holds one).</summary>
        public SectionTable<T> String(string name, bool required, Func<T, string, T> set) =>
            Add(name, [name], (_, r) => r.String(name, required), null, (t, v) => set(t, (string)v));

        /// <summary>An optional string with a record default.</summary>
        public SectionTable<T> String(string name, Func<T, string> get, Func<T, string, T> set) =>
            Add(name, [name], (_, r) => r.String(name), t => get(t), (t, v) => set(t, (string)v));

        /// <summary>A list of strings with a record default.</summary>
        public SectionTable<T> StringList(string name, Func<T, IReadOnlyList<string>> get, Func<T, IReadOnlyList<string>, T> set) =>
            Add(name, [name], (_, r) => r.StringList(name), t => get(t), (t, v) => set(t, (IReadOnlyList<string>)v));

        /// <summary>One of the exact texts of <paramref name="choices"/>, in the order the error message lists them.</summary>
        public SectionTable<T> OneOf<TValue>(string name, (string Text, TValue Value)[] choices, Func<T, TValue, T> set)
            where TValue : notnull
        {
            var texts = choices.Select(c => c.Text).ToArray();
            return Add(name, [name], (_, r) => r.OneOf(name, texts) is { } text ? choices.First(c => c.Text == text).Value : null, null,
                (t, v) => set(t, (TValue)v));
        }

        /// <summary>One of the exact texts of <paramref name="choices"/>, with a record default.</summary>
        public SectionTable<T> OneOf<TValue>(string name, (string Text, TValue Value)[] choices, Func<T, TValue> get, Func<T, TValue, T> set)
            where TValue : notnull
        {
            var texts = choices.Select(c => c.Text).ToArray();
            return Add(name, [name], (_, r) => r.OneOf(name, texts) is { } text ? choices.First(c => c.Text == text).Value : null, t => get(t),
                (t, v) => set(t, (TValue)v));
        }

        /// <summary>A secret taking one of <c>name</c>, <c>name_env</c> or <c>name_file</c> (spelled as the section spells them).</summary>
        public SectionTable<T> Secret(string name, string envName, string fileName, bool required, Func<string, bool> literalIsSecret,
            Func<T, Domain.Secret, T> set) =>
            Add(name, [name, envName, fileName],
                (l, r) => l.ReadSecretForms(r, name, envName, fileName, required, requiredWhy: "", literalIsSecret), null,
                (t, v) => set(t, (Domain.Secret)v));

        /// <summary>The section's keys applied to <paramref name="seed"/> in table order; a key unset or refused keeps the seed's value.</summary>
        public T Read(Loader loader, ConfigReader section, T seed)
        {
            foreach (var entry in _entries)
            {
                if (entry.ReadValue(loader, section) is { } value)
                {
                    seed = entry.Apply(seed, value);
                }
            }

            return seed;
        }

        private SectionTable<T> Add(string name, string[] names, Func<Loader, ConfigReader, object?> read, Func<T, object?>? get,
            Func<T, object, T> apply)
        {
            _entries.Add(new Entry(name, names, read, get, apply));
            _names.AddRange(names);
            return this;
        }
    }
}
