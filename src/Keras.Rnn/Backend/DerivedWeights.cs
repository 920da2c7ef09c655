using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>
/// Tensors derived from a layer's variables (e.g. recurrent weights mapped to torch's layout), computed once and reused
/// while the variables stay unchanged, for calls that need no gradient with respect to them (inference, or frozen
/// weights). Any change the library makes to a variable (<see cref="Variable.Assign(Tensor)"/>, optimizer steps,
/// constraints, weight loading, device moves) increments its <see cref="Variable.Version"/>, which makes the copy stale.
/// </summary>
/// <remarks>
/// Calls that record gradients for the variables always derive afresh (the derived tensors must then be part of the
/// autograd graph). The cached tensors are owned here (outside any dispose scope) and replaced, not mutated, on refresh.
/// </remarks>
internal sealed class DerivedWeights
{
    private readonly object _gate = new();
    private Variable?[] _sources = [];
    private long[] _versions = [];
    private Tensor[]? _derived;
    private ScalarType? _dtype; // the autocast dtype the cached tensors were read in (mixed precision), or null

    /// <summary>How many times this cache derived its tensors (a diagnostic for tests).</summary>
    internal int Refreshes { get; private set; }

    /// <summary>
    /// The tensors <paramref name="derive"/> makes from the variables' values: cached when no gradient is recorded
    /// for any of them, derived afresh (inside the caller's dispose scope) otherwise.
    /// </summary>
    /// <param name="sources">The variables (entries may be <c>null</c>, e.g. no bias).</param>
    /// <param name="derive">Computes the derived tensors from the variables' current values.</param>
    /// <returns>The derived tensors. Cached ones belong to this object: do not dispose or modify them.</returns>
    public Tensor[] Get(IReadOnlyList<Variable?> sources, Func<Tensor[]> derive)
    {
        if (torch.is_grad_enabled() && sources.Any(v => v is not null && v.Live.requires_grad)) return derive();
        lock (_gate)
        {
            if (_derived is null || !Matches(sources) || _dtype != DTypePolicies.AutocastScope.Current)
            {
                Tensor[] fresh;
                using (torch.no_grad())
                {
                    fresh = derive();
                    for (int i = 0; i < fresh.Length; i++)
                        fresh[i] = IsSourceValue(fresh[i], sources) ? fresh[i] : fresh[i].DetachFromDisposeScope();
                }
                var old = _derived;
                _derived = fresh;
                _sources = sources.ToArray();
                _versions = sources.Select(v => v?.Version ?? 0).ToArray();
                _dtype = DTypePolicies.AutocastScope.Current;
                Refreshes++;
                if (old is not null)
                    foreach (var t in old)
                        if (!IsSourceValue(t, _sources)) t.Dispose();
            }
            return _derived;
        }
    }

    /// <summary>Whether the cache was made from exactly these variables, at their current versions (a new value tensor,
    /// as after a device move, comes with a new version).</summary>
    private bool Matches(IReadOnlyList<Variable?> sources)
    {
        if (sources.Count != _sources.Length) return false;
        for (int i = 0; i < sources.Count; i++)
        {
            var v = sources[i];
            if (!ReferenceEquals(v, _sources[i])) return false;
            if (v is not null && v.Version != _versions[i]) return false;
        }
        return true;
    }

    /// <summary>A derived tensor that is a variable's own value (returned as is) must not be detached or disposed here.</summary>
    private static bool IsSourceValue(Tensor t, IReadOnlyList<Variable?> sources) => sources.Any(v => v is not null && ReferenceEquals(v.Live, t));
}
