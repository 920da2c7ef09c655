using Keras.Rnn.Backend;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Training;

/// <summary>One batch: inputs, targets (may be absent for prediction) and sample weights, per model input/output.</summary>
internal sealed record DataBatch(IReadOnlyList<Tensor> X, IReadOnlyList<Tensor>? Y, IReadOnlyList<Tensor?>? SampleWeight, long Size);

/// <summary>A source of batches for one epoch after another.</summary>
internal interface IDataAdapter
{
    /// <summary>Batches per epoch, or <c>null</c> when unknown (a stream without <c>stepsPerEpoch</c>).</summary>
    int? StepsPerEpoch { get; }

    /// <summary>The batches of the next epoch.</summary>
    IEnumerable<DataBatch> NextEpoch();
}

/// <summary>
/// Batches from in-memory arrays or tensors (Keras' array data adapter): <c>ceil(N / batchSize)</c> batches per
/// epoch, the last one smaller, reshuffled each epoch when asked.
/// </summary>
internal sealed class ArrayDataAdapter : IDataAdapter
{
    private readonly IReadOnlyList<Tensor> _x;
    private readonly IReadOnlyList<Tensor>? _y;
    private readonly IReadOnlyList<Tensor?>? _sampleWeight;
    private readonly int _batchSize;
    private readonly bool _shuffle;
    private readonly int? _stepsPerEpoch;
    private long _cursor;
    private long[]? _order;

    public ArrayDataAdapter(IReadOnlyList<Tensor> x, IReadOnlyList<Tensor>? y, IReadOnlyList<Tensor?>? sampleWeight, int batchSize,
        bool shuffle, int? stepsPerEpoch)
    {
        if (batchSize <= 0) throw new ArgumentException($"batchSize must be a positive integer, got {batchSize}.", nameof(batchSize));
        if (stepsPerEpoch is <= 0) throw new ArgumentException($"stepsPerEpoch must be positive, got {stepsPerEpoch}.", nameof(stepsPerEpoch));
        _x = x;
        _y = y;
        _sampleWeight = sampleWeight;
        _batchSize = batchSize;
        _shuffle = shuffle;
        _stepsPerEpoch = stepsPerEpoch;
        NumSamples = CheckCardinality(x, y, sampleWeight);
        _cursor = NumSamples;
        if (NumSamples == 0) throw new ArgumentException("The data is empty: x has 0 samples.");
    }

    public long NumSamples { get; }

    public int? StepsPerEpoch => _stepsPerEpoch ?? (int)((NumSamples + _batchSize - 1) / _batchSize);

    /// <summary>Checks that all arrays hold the same number of samples (Keras' "data cardinality" check).</summary>
    internal static long CheckCardinality(IReadOnlyList<Tensor> x, IReadOnlyList<Tensor>? y, IReadOnlyList<Tensor?>? sw)
    {
        static long N(Tensor t) => t.dim() == 0 ? 1 : t.shape[0];
        var all = x.Select(t => ("x", N(t))).Concat(y?.Select(t => ("y", N(t))) ?? [])
            .Concat(sw?.OfType<Tensor>().Select(t => ("sample_weight", N(t))) ?? []).ToList();
        if (all.Select(a => a.Item2).Distinct().Count() > 1)
            throw new ArgumentException(
                "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples. " +
                string.Join(" ", all.GroupBy(a => a.Item1).Select(g => $"'{g.Key}' sizes: {string.Join(", ", g.Select(a => a.Item2))}")));
        return all[0].Item2;
    }

    public IEnumerable<DataBatch> NextEpoch()
    {
        int steps = StepsPerEpoch!.Value;
        // Without stepsPerEpoch every epoch is one full pass; with it, batches continue where the last epoch stopped.
        if (_stepsPerEpoch is null) _cursor = NumSamples;
        for (int step = 0; step < steps; step++)
        {
            if (_cursor >= NumSamples)
            {
                _cursor = 0;
                _order = _shuffle ? RandomState.Permutation(NumSamples) : null;
            }
            long start = _cursor;
            long size = Math.Min(_batchSize, NumSamples - start);
            _cursor += size;
            yield return Slice(start, size);
        }
    }

    private DataBatch Slice(long start, long size)
    {
        Tensor? index = null;
        if (_order is not null)
            index = torch.tensor(_order.AsSpan((int)start, (int)size).ToArray(), ScalarType.Int64);
        Tensor Take(Tensor t) => index is null ? t.narrow(0, start, size) : t.index_select(0, Devices.To(index, t.device));
        var batch = new DataBatch(
            _x.Select(Take).ToList(),
            _y?.Select(Take).ToList(),
            _sampleWeight?.Select(t => t is null ? null : Take(t)).ToList(),
            size);
        return batch;
    }
}

/// <summary>Batches from a user's enumerable (streaming data that does not fit in memory).</summary>
internal sealed class StreamingDataAdapter : IDataAdapter
{
    private readonly IEnumerable<(ArrayLike X, ArrayLike? Y, ArrayLike? SampleWeight)> _source;
    private readonly Func<ArrayLike, string, IReadOnlyList<Tensor>> _inputs;
    private readonly Func<ArrayLike, string, IReadOnlyList<Tensor>>? _targets;
    private readonly int? _stepsPerEpoch;
    private IEnumerator<(ArrayLike X, ArrayLike? Y, ArrayLike? SampleWeight)>? _enumerator;

    public StreamingDataAdapter(IEnumerable<(ArrayLike X, ArrayLike? Y, ArrayLike? SampleWeight)> source,
        Func<ArrayLike, string, IReadOnlyList<Tensor>> inputs, Func<ArrayLike, string, IReadOnlyList<Tensor>>? targets, int? stepsPerEpoch)
    {
        if (stepsPerEpoch is <= 0) throw new ArgumentException($"stepsPerEpoch must be positive, got {stepsPerEpoch}.", nameof(stepsPerEpoch));
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _inputs = inputs;
        _targets = targets;
        _stepsPerEpoch = stepsPerEpoch;
    }

    public int? StepsPerEpoch => _stepsPerEpoch;

    /// <summary>Turns a batch's targets into per-sample weights (for <c>classWeight</c>), or <c>null</c>.</summary>
    public Func<IReadOnlyList<Tensor>, IReadOnlyList<Tensor?>>? ClassWeight { get; init; }

    public IEnumerable<DataBatch> NextEpoch()
    {
        if (_stepsPerEpoch is null)
        {
            using var e = _source.GetEnumerator();
            bool any = false;
            while (e.MoveNext())
            {
                any = true;
                yield return Convert(e.Current);
            }
            if (!any) throw new ArgumentException("The data enumerable produced no batches.");
            yield break;
        }
        for (int step = 0; step < _stepsPerEpoch; step++)
        {
            _enumerator ??= _source.GetEnumerator();
            if (!_enumerator.MoveNext())
            {
                _enumerator.Dispose();
                _enumerator = _source.GetEnumerator();
                if (!_enumerator.MoveNext())
                    throw new ArgumentException("The data enumerable produced no batches.");
            }
            yield return Convert(_enumerator.Current);
        }
    }

    private DataBatch Convert((ArrayLike X, ArrayLike? Y, ArrayLike? SampleWeight) item)
    {
        var x = _inputs(item.X, "x");
        var y = item.Y is null || _targets is null ? null : _targets(item.Y, "y");
        IReadOnlyList<Tensor?>? sw = item.SampleWeight is null || _targets is null ? null : _targets(item.SampleWeight, "sample_weight");
        if (ClassWeight is not null && y is not null) sw = ClassWeight(y);
        long size = ArrayDataAdapter.CheckCardinality(x, y, sw);
        return new DataBatch(x, y, sw, size);
    }
}
