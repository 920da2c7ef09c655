using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>
/// Runs torch's fused recurrent kernels (<c>aten::lstm</c>, <c>aten::gru</c>, <c>aten::rnn_tanh</c>,
/// <c>aten::rnn_relu</c>; cuDNN on GPU) on weights kept in Keras' layout, keeping gradients flowing to those weights.
/// This is the only place that knows torch's layouts: LSTM <c>weight_ih = kernelᵀ</c>, <c>weight_hh = recurrent_kernelᵀ</c>,
/// <c>bias_ih = bias</c>, <c>bias_hh = 0</c>; GRU (<c>reset_after=True</c>) gate blocks reordered from Keras'
/// <c>[z, r, h]</c> to torch's <c>[r, z, n]</c>, with <c>bias[0]</c> as the input bias and <c>bias[1]</c> as the recurrent one.
/// </summary>
/// <remarks>
/// TorchSharp has no functional form of these kernels, so they are reached through a small TorchScript compilation
/// unit. Sequences whose mask is right-padded run packed (<c>pack_padded_sequence</c>; lengths on the CPU, the
/// permutation on the data's device) and their outputs are then completed with Keras' rule for masked steps (repeat the
/// last output, or zeros). On CUDA the parameter list is made of views into one buffer laid out as cuDNN wants it, so
/// cuDNN uses it as it is (otherwise it copies the weights into such a buffer on every call and prints a warning).
/// </remarks>
internal static class FusedRnn
{
    private const string Script = """
def lstm(x: Tensor, h0: Tensor, c0: Tensor, params: List[Tensor], has_bias: bool, train: bool):
    y, h, c = torch.lstm(x, [h0, c0], params, has_bias, 1, 0.0, train, False, True)
    return y, h, c

def lstm_packed(x: Tensor, lengths: Tensor, h0: Tensor, c0: Tensor, params: List[Tensor], has_bias: bool, train: bool):
    sorted_len, cpu_idx = torch.sort(lengths, descending=True)
    idx = cpu_idx.to(x.device)
    data, batch_sizes = torch._pack_padded_sequence(x.index_select(0, idx), sorted_len, True)
    out, h, c = torch.lstm(data, batch_sizes, [h0.index_select(1, idx), c0.index_select(1, idx)], params, has_bias, 1, 0.0, train, False)
    y, _ = torch._pad_packed_sequence(out, batch_sizes, True, 0.0, x.size(1))
    inv = torch.argsort(idx)
    return y.index_select(0, inv), h.index_select(1, inv), c.index_select(1, inv)

def gru(x: Tensor, h0: Tensor, params: List[Tensor], has_bias: bool, train: bool):
    y, h = torch.gru(x, h0, params, has_bias, 1, 0.0, train, False, True)
    return y, h

def gru_packed(x: Tensor, lengths: Tensor, h0: Tensor, params: List[Tensor], has_bias: bool, train: bool):
    sorted_len, cpu_idx = torch.sort(lengths, descending=True)
    idx = cpu_idx.to(x.device)
    data, batch_sizes = torch._pack_padded_sequence(x.index_select(0, idx), sorted_len, True)
    out, h = torch.gru(data, batch_sizes, h0.index_select(1, idx), params, has_bias, 1, 0.0, train, False)
    y, _ = torch._pad_packed_sequence(out, batch_sizes, True, 0.0, x.size(1))
    inv = torch.argsort(idx)
    return y.index_select(0, inv), h.index_select(1, inv)

def rnn(x: Tensor, h0: Tensor, params: List[Tensor], has_bias: bool, train: bool, relu: bool):
    if relu:
        y, h = torch.rnn_relu(x, h0, params, has_bias, 1, 0.0, train, False, True)
    else:
        y, h = torch.rnn_tanh(x, h0, params, has_bias, 1, 0.0, train, False, True)
    return y, h

def rnn_packed(x: Tensor, lengths: Tensor, h0: Tensor, params: List[Tensor], has_bias: bool, train: bool, relu: bool):
    sorted_len, cpu_idx = torch.sort(lengths, descending=True)
    idx = cpu_idx.to(x.device)
    data, batch_sizes = torch._pack_padded_sequence(x.index_select(0, idx), sorted_len, True)
    if relu:
        out, h = torch.rnn_relu(data, batch_sizes, h0.index_select(1, idx), params, has_bias, 1, 0.0, train, False)
    else:
        out, h = torch.rnn_tanh(data, batch_sizes, h0.index_select(1, idx), params, has_bias, 1, 0.0, train, False)
    y, _ = torch._pad_packed_sequence(out, batch_sizes, True, 0.0, x.size(1))
    inv = torch.argsort(idx)
    return y.index_select(0, inv), h.index_select(1, inv)
""";

    private static readonly Lazy<jit.CompilationUnit> Unit = new(() =>
    {
        NativeLibraries.EnsureLoaded();
        return torch.jit.compile(Script + "\n");
    });

    /// <summary>How a mask lets the fused kernel run: not at all, on the full sequences, or packed by lengths.</summary>
    public enum MaskPlan
    {
        /// <summary>No mask: run on whole sequences.</summary>
        None,
        /// <summary>Right-padded mask: run packed by lengths.</summary>
        Packed,
        /// <summary>Gaps, left padding or fully masked rows: the step loop must run.</summary>
        Unsupported,
    }

    /// <summary>Decides how a mask can be handled and returns the per-sequence lengths (CPU int64) when packed.</summary>
    public static MaskPlan PlanMask(Tensor? mask, bool goBackwards, out Tensor? lengths)
    {
        lengths = null;
        if (mask is null) return MaskPlan.None;
        if (goBackwards) return MaskPlan.Unsupported;
        using var scope = torch.NewDisposeScope();
        var m = mask.to_type(ScalarType.Bool);
        long batch = m.shape[0], steps = m.shape[1];
        var count = m.sum(1, type: ScalarType.Int64);
        var rightPadded = torch.arange(steps, device: m.device).unsqueeze(0).lt(count.unsqueeze(1)).eq(m).all();
        // The lengths and the right-padding test come to the host in one transfer (one device synchronisation).
        var host = torch.cat([count, rightPadded.to_type(ScalarType.Int64).unsqueeze(0)]).cpu();
        var values = host.data<long>();
        if (values[batch] == 0) return MaskPlan.Unsupported;
        long shortest = long.MaxValue;
        for (long i = 0; i < batch; i++) shortest = Math.Min(shortest, values[i]);
        if (shortest == 0) return MaskPlan.Unsupported;
        if (shortest == steps) return MaskPlan.None;
        lengths = host.narrow(0, 0, batch).MoveToOuterDisposeScope();
        return MaskPlan.Packed;
    }

    /// <summary>Fused LSTM. Returns batch-first outputs <c>(B, T, U)</c> and final <c>h</c>, <c>c</c> <c>(B, U)</c>.</summary>
    /// <param name="x">Inputs <c>(B, T, in)</c>.</param>
    /// <param name="h0">Initial hidden state <c>(B, U)</c>.</param>
    /// <param name="c0">Initial cell state <c>(B, U)</c>.</param>
    /// <param name="parameters">Torch's parameter list, from <see cref="LstmParameters"/>.</param>
    /// <param name="lengths">Sequence lengths (CPU int64) for right-padded masks, or <c>null</c>.</param>
    /// <param name="zeroOutputForMask">Zeros (instead of the last output) at padded steps.</param>
    public static (Tensor Outputs, Tensor H, Tensor C) Lstm(Tensor x, Tensor h0, Tensor c0, Tensor[] parameters, Tensor? lengths,
        bool zeroOutputForMask)
    {
        using var scope = torch.NewDisposeScope();
        bool hasBias = parameters.Length == 4;
        bool train = torch.is_grad_enabled();
        object result = lengths is null
            ? Unit.Value.invoke("lstm", x, h0.unsqueeze(0), c0.unsqueeze(0), parameters, hasBias, train)
            : Unit.Value.invoke("lstm_packed", x, lengths, h0.unsqueeze(0), c0.unsqueeze(0), parameters, hasBias, train);
        var (y, h, c) = ((Tensor, Tensor, Tensor))result;
        if (lengths is not null) y = CompleteMaskedOutputs(y, lengths, zeroOutputForMask);
        return (y.MoveToOuterDisposeScope(), h.squeeze(0).MoveToOuterDisposeScope(), c.squeeze(0).MoveToOuterDisposeScope());
    }

    /// <summary>Fused GRU (<c>reset_after=True</c>). Returns batch-first outputs and the final state.</summary>
    /// <param name="x">Inputs <c>(B, T, in)</c>.</param>
    /// <param name="h0">Initial state <c>(B, U)</c>.</param>
    /// <param name="parameters">Torch's parameter list, from <see cref="GruParameters"/>.</param>
    /// <param name="lengths">Sequence lengths (CPU int64) for right-padded masks, or <c>null</c>.</param>
    /// <param name="zeroOutputForMask">Zeros (instead of the last output) at padded steps.</param>
    public static (Tensor Outputs, Tensor H) Gru(Tensor x, Tensor h0, Tensor[] parameters, Tensor? lengths, bool zeroOutputForMask)
    {
        using var scope = torch.NewDisposeScope();
        bool hasBias = parameters.Length == 4;
        bool train = torch.is_grad_enabled();
        object result = lengths is null
            ? Unit.Value.invoke("gru", x, h0.unsqueeze(0), parameters, hasBias, train)
            : Unit.Value.invoke("gru_packed", x, lengths, h0.unsqueeze(0), parameters, hasBias, train);
        var (y, h) = ((Tensor, Tensor))result;
        if (lengths is not null) y = CompleteMaskedOutputs(y, lengths, zeroOutputForMask);
        return (y.MoveToOuterDisposeScope(), h.squeeze(0).MoveToOuterDisposeScope());
    }

    /// <summary>Fused simple RNN with tanh or relu. Returns batch-first outputs and the final state.</summary>
    /// <param name="x">Inputs <c>(B, T, in)</c>.</param>
    /// <param name="h0">Initial state <c>(B, U)</c>.</param>
    /// <param name="parameters">Torch's parameter list, from <see cref="SimpleRnnParameters"/>.</param>
    /// <param name="relu"><c>relu</c> instead of <c>tanh</c>.</param>
    /// <param name="lengths">Sequence lengths (CPU int64) for right-padded masks, or <c>null</c>.</param>
    /// <param name="zeroOutputForMask">Zeros (instead of the last output) at padded steps.</param>
    public static (Tensor Outputs, Tensor H) SimpleRnn(Tensor x, Tensor h0, Tensor[] parameters, bool relu, Tensor? lengths,
        bool zeroOutputForMask)
    {
        using var scope = torch.NewDisposeScope();
        bool hasBias = parameters.Length == 4;
        bool train = torch.is_grad_enabled();
        object result = lengths is null
            ? Unit.Value.invoke("rnn", x, h0.unsqueeze(0), parameters, hasBias, train, relu)
            : Unit.Value.invoke("rnn_packed", x, lengths, h0.unsqueeze(0), parameters, hasBias, train, relu);
        var (y, h) = ((Tensor, Tensor))result;
        if (lengths is not null) y = CompleteMaskedOutputs(y, lengths, zeroOutputForMask);
        return (y.MoveToOuterDisposeScope(), h.squeeze(0).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Torch's LSTM parameter list for a layer's variables: derived afresh when gradients flow to them, else from
    /// <paramref name="cache"/> (so inference does not remap the weights on every call).
    /// </summary>
    /// <param name="kernel">Keras kernel <c>(in, 4u)</c>.</param>
    /// <param name="recurrentKernel">Keras recurrent kernel <c>(u, 4u)</c>.</param>
    /// <param name="bias">Keras bias <c>(4u,)</c> or <c>null</c>.</param>
    /// <param name="cache">The layer's cache of derived weights.</param>
    public static Tensor[] LstmParameters(Variable kernel, Variable recurrentKernel, Variable? bias, DerivedWeights cache) =>
        cache.Get([kernel, recurrentKernel, bias], () => LstmParams(kernel.Value, recurrentKernel.Value, bias?.Value));

    /// <summary>Torch's GRU parameter list for a layer's variables (cached like <see cref="LstmParameters"/>).</summary>
    /// <param name="kernel">Keras kernel <c>(in, 3u)</c>.</param>
    /// <param name="recurrentKernel">Keras recurrent kernel <c>(u, 3u)</c>.</param>
    /// <param name="bias">Keras bias <c>(2, 3u)</c> or <c>null</c>.</param>
    /// <param name="cache">The layer's cache of derived weights.</param>
    public static Tensor[] GruParameters(Variable kernel, Variable recurrentKernel, Variable? bias, DerivedWeights cache) =>
        cache.Get([kernel, recurrentKernel, bias], () => GruParams(kernel.Value, recurrentKernel.Value, bias?.Value));

    /// <summary>Torch's simple-RNN parameter list for a layer's variables (cached like <see cref="LstmParameters"/>).</summary>
    /// <param name="kernel">Keras kernel <c>(in, u)</c>.</param>
    /// <param name="recurrentKernel">Keras recurrent kernel <c>(u, u)</c>.</param>
    /// <param name="bias">Keras bias <c>(u,)</c> or <c>null</c>.</param>
    /// <param name="cache">The layer's cache of derived weights.</param>
    public static Tensor[] SimpleRnnParameters(Variable kernel, Variable recurrentKernel, Variable? bias, DerivedWeights cache) =>
        cache.Get([kernel, recurrentKernel, bias], () => LstmParams(kernel.Value, recurrentKernel.Value, bias?.Value));

    /// <summary>Torch's LSTM (or simple RNN) parameter list from Keras weights (same gate order <c>[i, f, c, o]</c>).</summary>
    internal static Tensor[] LstmParams(Tensor kernel, Tensor recurrentKernel, Tensor? bias) => ForDevice(LstmParts(kernel, recurrentKernel, bias));

    /// <summary>The LSTM (or simple-RNN) parameters in torch's layout, as views where they can be (see <see cref="ForDevice"/>).</summary>
    private static Tensor[] LstmParts(Tensor kernel, Tensor recurrentKernel, Tensor? bias) => bias is null
        ? [kernel.t(), recurrentKernel.t()]
        : [kernel.t(), recurrentKernel.t(), bias, torch.zeros_like(bias)];

    /// <summary>
    /// A parameter list as torch's kernel on the parameters' device takes it best: on CUDA in one buffer
    /// (<see cref="InOneBuffer"/>); elsewhere each matrix contiguous (libtorch's CPU kernels run ~10% slower on
    /// transposed views, and the copy is small next to the sequence's work).
    /// </summary>
    private static Tensor[] ForDevice(Tensor[] parts) =>
        parts[0].device_type == DeviceType.CUDA ? InOneBuffer(parts) : parts.Select(p => p.is_contiguous() ? p : p.contiguous()).ToArray();

    /// <summary>Torch's GRU parameter list from Keras weights: gates <c>[z, r, h]</c> → <c>[r, z, n]</c>.</summary>
    internal static Tensor[] GruParams(Tensor kernel, Tensor recurrentKernel, Tensor? bias) => ForDevice(GruParts(kernel, recurrentKernel, bias));

    private static Tensor[] GruParts(Tensor kernel, Tensor recurrentKernel, Tensor? bias)
    {
        // Reordering the transposed views along dim 0 yields contiguous torch-layout matrices in one copy.
        var wih = ReorderZrhToRzn(kernel.t(), 0);
        var whh = ReorderZrhToRzn(recurrentKernel.t(), 0);
        return bias is null ? [wih, whh] : [wih, whh, ReorderZrhToRzn(bias[0], 0), ReorderZrhToRzn(bias[1], 0)];
    }

    /// <summary>
    /// Copies a single-layer parameter list into one new buffer, in order and without gaps, and returns views of it
    /// with the original shapes (gradients flow back through the copy). That is cuDNN's own weight layout
    /// (<c>weight_ih, weight_hh, bias_ih, bias_hh</c>, gate blocks in torch's order), which lets cuDNN use the
    /// weights where they are instead of compacting them on every call.
    /// </summary>
    /// <remarks>
    /// The views come from one <c>split</c>, whose backward is one concatenation of the parameters' gradients (views
    /// from separate <c>narrow</c> calls would each scatter their gradient into a zeroed buffer-sized tensor, and the
    /// engine would then add those up: a dozen buffer-sized kernels per training step).
    /// </remarks>
    internal static Tensor[] InOneBuffer(Tensor[] parameters)
    {
        var flat = torch.cat(parameters.Select(p => p.reshape(-1)).ToArray());
        var pieces = flat.split(parameters.Select(p => p.numel()).ToArray());
        var views = new Tensor[parameters.Length];
        for (int i = 0; i < parameters.Length; i++) views[i] = pieces[i].view(parameters[i].shape);
        return views;
    }

    private static Tensor ReorderZrhToRzn(Tensor t, int dim)
    {
        var parts = t.chunk(3, dim);
        return torch.cat([parts[1], parts[0], parts[2]], dim);
    }

    /// <summary>
    /// Keras' rule for masked steps after the last valid one: repeat the last valid output
    /// (or zeros with <paramref name="zeroOutputs"/>). Packed kernels leave zeros there.
    /// </summary>
    private static Tensor CompleteMaskedOutputs(Tensor y, Tensor lengths, bool zeroOutputs)
    {
        if (zeroOutputs) return y;
        long steps = y.shape[1];
        var last = lengths.to(y.device).sub(1).unsqueeze(1);
        var index = torch.arange(steps, device: y.device).unsqueeze(0).minimum(last);
        return y.gather(1, index.unsqueeze(-1).expand(-1, -1, y.shape[2]));
    }
}
