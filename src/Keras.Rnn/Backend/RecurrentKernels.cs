using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>Which implementation the built-in recurrent layers use for their whole-sequence kernel.</summary>
internal enum RecurrentKernelMode
{
    /// <summary>Our kernels (<see cref="RecurrentKernels"/>) on CPU; on other devices torch's fused kernels (cuDNN) where they
    /// can run, ours where they cannot (masks with gaps, go_backwards with a mask, GRU reset_after=False).</summary>
    Auto,
    /// <summary>Our kernels on every device (for tests and benchmarks).</summary>
    Custom,
    /// <summary>Never our kernels: torch's fused kernels where the configuration allows, else the step loop (the behaviour before our kernels existed).</summary>
    Aten,
}

/// <summary>The recurrent equations a <see cref="RecurrentKernels"/> call evaluates (Keras semantics, default activations).</summary>
internal enum RecurrentCell
{
    /// <summary>LSTM, gates <c>[i, f, c, o]</c>, <c>sigmoid</c>/<c>tanh</c>; states <c>[h, c]</c>.</summary>
    Lstm,
    /// <summary>GRU with <c>reset_after=True</c>, gates <c>[z, r, h]</c>, bias <c>(2, 3u)</c>.</summary>
    GruResetAfter,
    /// <summary>GRU with <c>reset_after=False</c>, bias <c>(3u,)</c>: <c>ĥ = tanh(x·W_h + b_h + (r ⊙ h)·U_h)</c>.</summary>
    GruResetBefore,
    /// <summary>SimpleRNN with <c>tanh</c>.</summary>
    SimpleTanh,
    /// <summary>SimpleRNN with <c>relu</c>.</summary>
    SimpleRelu,
}

/// <summary>
/// Whole-sequence recurrent kernels on Keras-layout weights with hand-written backward passes (custom autograd
/// functions), for LSTM, GRU (both <c>reset_after</c> forms) and SimpleRNN.
/// </summary>
/// <remarks>
/// <para>Forward: the input projection of every step is one matrix product <c>x (T·B, in) · kernel + bias</c>; each
/// step then does one product <c>h · recurrent_kernel</c> and its element-wise gate arithmetic in place on slices of big
/// time-major <c>(T, B, …)</c> buffers, which are what backward needs (gate activations, cell states, hidden states).
/// On CPU in float32 that arithmetic is one fused SIMD pass per step (<see cref="FusedCells"/>), and small layers do the
/// per-step product there too.
/// Time-major buffers make every step's slice one contiguous block (with batch-first buffers the rows of a step lie a
/// whole sequence apart).</para>
/// <para>Backward: the time loop only carries the gradients of the states, writing the gate gradients of every step
/// into one time-major <c>(T·B, G·u)</c> buffer — on the fused CPU path the saved gate buffer itself (<c>dh</c> flows
/// back through <c>dgates · recurrent_kernelᵀ</c>); the gradients of
/// the kernel, recurrent kernel, bias and inputs are then one large matrix product (or sum) each over all steps,
/// instead of one small product per step as in autograd through a step loop or libtorch's CPU RNN.</para>
/// <para>Masks of any shape are exact Keras semantics: at a masked step a row keeps its states (an exact blend
/// <c>lerp(new, old, 1 − mask)</c>), and its gate gradients are zero. The returned sequence holds the states after
/// every step; the caller turns it into Keras' outputs (see <see cref="MaskOutputs"/>).</para>
/// </remarks>
internal static class RecurrentKernels
{
    /// <summary>
    /// Which kernel the layers use (default <see cref="RecurrentKernelMode.Auto"/>). Process-wide; tests and
    /// benchmarks switch it to compare the paths.
    /// </summary>
    internal static RecurrentKernelMode Mode { get; set; } = RecurrentKernelMode.Auto;

    /// <summary>How many times <see cref="Run"/> was called in this process (a diagnostic: tests check which path ran).</summary>
    internal static long Invocations => Interlocked.Read(ref _invocations);

    private static long _invocations;

    /// <summary>Whether layers running on <paramref name="device"/> prefer these kernels to torch's fused ones under the current <see cref="Mode"/>.</summary>
    public static bool AppliesTo(Device device) => Mode switch
    {
        RecurrentKernelMode.Custom => true,
        RecurrentKernelMode.Aten => false,
        _ => device.type == DeviceType.CPU,
    };

    /// <summary>
    /// Matrix-product FLOPs per step (<c>2·B·4u·(in + u)</c>) below which libtorch's own CPU LSTM trains faster than
    /// our kernel when the kernel cannot use its fused CPU steps (<see cref="FusedCells"/>, float32 only): with little
    /// work per step, ten element-wise libtorch calls per step cost more than the large backward products save.
    /// Measured on a 2-core CPU before the fused steps existed: batch 32 × 20 units trained about 1.7× faster with
    /// libtorch's LSTM, batch 64 × 256 units about 1.1–1.25× faster with ours.
    /// </summary>
    internal const double LstmTrainingStepFlopsThreshold = 4e6;

    /// <summary>
    /// Whether an LSTM layer should try torch's fused kernel before ours under <see cref="RecurrentKernelMode.Auto"/>:
    /// for inference (no gradients recorded; libtorch's CPU LSTM forward, oneDNN's, is faster than ours), and for
    /// small layers in a dtype the fused steps do not cover (see <see cref="LstmTrainingStepFlopsThreshold"/>). In
    /// float32 training ours is as fast or faster at every size measured (batch 32 × 20 units: 1.03–1.04× the raw loop
    /// against 1.05–1.11× through libtorch's kernel). Only libtorch's LSTM is that fast; its CPU GRU and RNN are
    /// slower than ours at every size measured.
    /// </summary>
    /// <param name="sequences">The layer's inputs <c>(B, T, in)</c>.</param>
    /// <param name="units">The layer's units.</param>
    internal static bool PreferTorchLstm(Tensor sequences, int units)
    {
        if (!torch.is_grad_enabled()) return true;
        if (FusedCells.AppliesTo(sequences)) return false;
        double stepFlops = 2.0 * sequences.shape[0] * 4 * units * (sequences.shape[2] + units);
        return stepFlops < LstmTrainingStepFlopsThreshold;
    }

    /// <summary>The value 1 as a torch scalar (for <c>addcmul_</c>), created once.</summary>
    internal static Scalar One => OneScalar.Value;

    private static readonly Lazy<Scalar> OneScalar = new(() =>
    {
        NativeLibraries.EnsureLoaded();
        return 1.0.ToScalar();
    });

    /// <summary>Number of gate blocks of a cell's kernels.</summary>
    public static int Gates(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Lstm => 4,
        RecurrentCell.GruResetAfter or RecurrentCell.GruResetBefore => 3,
        _ => 1,
    };

    /// <summary>
    /// Runs <paramref name="cell"/> over a whole sequence.
    /// </summary>
    /// <param name="cell">The equations.</param>
    /// <param name="x">Inputs <c>(B, T, in)</c>, batch first, in processing order (flip them first for <c>go_backwards</c>).</param>
    /// <param name="initialStates"><c>[h0]</c>, or <c>[h0, c0]</c> for LSTM, each <c>(B, u)</c>.</param>
    /// <param name="kernel">Keras kernel <c>(in, G·u)</c>.</param>
    /// <param name="recurrentKernel">Keras recurrent kernel <c>(u, G·u)</c>.</param>
    /// <param name="bias">Keras bias (<c>(G·u,)</c>; <c>(2, 3u)</c> for GRU reset_after) or <c>null</c>.</param>
    /// <param name="mask">Boolean <c>(B, T)</c> mask in processing order, or <c>null</c>.</param>
    /// <param name="recurrentMasks">Keras' recurrent dropout masks, one per gate block <c>(G, B, u)</c> (scaled by
    /// <c>1 / (1 − rate)</c>; gate block <c>g</c>'s recurrent product uses <c>h ⊙ m_g</c>), or <c>null</c> (default).
    /// LSTM and GRU (both forms) only.</param>
    /// <returns>The first state after every step <c>(B, T, u)</c> (held at masked steps; a transposed view of a
    /// time-major buffer), and the final states. When gradients are recorded, the final first state is a separate output
    /// of the kernel (equal to the sequence's last step): a layer that returns only its last output then sends backward
    /// a <c>(B, u)</c> gradient instead of a zero-filled <c>(T, B, u)</c> one with a single step set.</returns>
    /// <exception cref="ArgumentException">Shapes, dtypes or devices do not fit together.</exception>
    public static (Tensor Sequence, Tensor[] FinalStates) Run(RecurrentCell cell, Tensor x, IReadOnlyList<Tensor> initialStates,
        Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor? mask, Tensor? recurrentMasks = null)
    {
        Validate(cell, x, initialStates, kernel, recurrentKernel, bias, mask);
        if (recurrentMasks is not null)
        {
            if (cell is RecurrentCell.SimpleTanh or RecurrentCell.SimpleRelu)
                throw new ArgumentException($"Recurrent kernel: recurrent dropout masks are supported for LSTM and GRU only, not {cell}.",
                    nameof(recurrentMasks));
            long[] expected = [Gates(cell), x.shape[0], recurrentKernel.shape[0]];
            if (!recurrentMasks.shape.SequenceEqual(expected))
                throw new ArgumentException($"Recurrent kernel: recurrent dropout masks must be {Shape.Of(expected)}, got {Shape.Of(recurrentMasks.shape)}.",
                    nameof(recurrentMasks));
        }
        Interlocked.Increment(ref _invocations);
        using var scope = torch.NewDisposeScope();
        var dtype = kernel.dtype;
        if (x.dtype != dtype) x = x.to_type(dtype);
        var h0 = initialStates[0].dtype == dtype ? initialStates[0] : initialStates[0].to_type(dtype);
        Tensor? c0 = null;
        if (cell == RecurrentCell.Lstm) c0 = initialStates[1].dtype == dtype ? initialStates[1] : initialStates[1].to_type(dtype);
        var rm = recurrentMasks is null ? null : recurrentMasks.to(dtype, kernel.device).contiguous();
        // Time-major (T, B) float mask: row t is step t's keep flag per sequence.
        var keep = mask?.t().to_type(dtype).contiguous();
        bool needsGraph = torch.is_grad_enabled()
                          && (x.requires_grad || h0.requires_grad || (c0?.requires_grad ?? false) || kernel.requires_grad
                              || recurrentKernel.requires_grad || (bias?.requires_grad ?? false));
        long steps = x.shape[1];
        Tensor sequence;
        Tensor[] final;
        switch (cell)
        {
            case RecurrentCell.Lstm:
            {
                Tensor h, c, last;
                if (needsGraph)
                {
                    var outs = LstmKernel.Function.apply(x, h0, c0!, kernel, recurrentKernel, bias, keep, rm);
                    (h, c, last) = (outs[0], outs[1], outs[2]);
                }
                else
                {
                    using var _ = torch.no_grad();
                    var f = LstmKernel.Forward(x, h0, c0!, kernel, recurrentKernel, bias, keep, rm is null ? null : new GateMasks(rm));
                    (h, c) = (f.H, f.FinalC);
                    last = h.select(0, steps - 1);
                }
                sequence = h.transpose(0, 1);
                final = [last, c];
                break;
            }
            case RecurrentCell.GruResetAfter or RecurrentCell.GruResetBefore:
            {
                bool resetAfter = cell == RecurrentCell.GruResetAfter;
                Tensor h, last;
                if (needsGraph)
                {
                    var outs = GruKernel.Function.apply(x, h0, kernel, recurrentKernel, bias, keep, resetAfter, rm);
                    (h, last) = (outs[0], outs[1]);
                }
                else
                {
                    using var _ = torch.no_grad();
                    h = GruKernel.Forward(x, h0, kernel, recurrentKernel, bias, keep, resetAfter, rm is null ? null : new GateMasks(rm)).H;
                    last = h.select(0, steps - 1);
                }
                sequence = h.transpose(0, 1);
                final = [last];
                break;
            }
            default:
            {
                bool relu = cell == RecurrentCell.SimpleRelu;
                Tensor flat;
                Tensor? last = null;
                if (needsGraph)
                {
                    var outs = SimpleRnnKernel.Function.apply(x, h0, kernel, recurrentKernel, bias, keep, relu);
                    (flat, last) = (outs[0], outs[1]);
                }
                else
                {
                    using var _ = torch.no_grad();
                    flat = SimpleRnnKernel.Forward(x, h0, kernel, recurrentKernel, bias, keep, relu).H;
                }
                // The function's output is the flat (T·B, u) buffer (an output must not be a view); shape it here.
                var h = flat.view(steps, x.shape[0], -1);
                sequence = h.transpose(0, 1);
                final = [last ?? h.select(0, steps - 1)];
                break;
            }
        }
        return (sequence.MoveToOuterDisposeScope(), final.Select(t => t.MoveToOuterDisposeScope()).ToArray());
    }

    /// <summary>
    /// Keras' outputs from the states after every step: with a mask, a masked step repeats the previous output (zeros
    /// before a row's first real step), which equals the held state once a real step was seen; with
    /// <paramref name="zeroOutputForMask"/> it is zero.
    /// </summary>
    /// <param name="sequence">States after every step <c>(B, T, u)</c>, processing order.</param>
    /// <param name="mask">Boolean <c>(B, T)</c> mask in processing order, or <c>null</c>.</param>
    /// <param name="zeroOutputForMask">Zeros at masked steps.</param>
    public static Tensor MaskOutputs(Tensor sequence, Tensor? mask, bool zeroOutputForMask)
    {
        if (mask is null) return sequence;
        using var scope = torch.NewDisposeScope();
        var m = mask.to_type(ScalarType.Bool);
        var shown = zeroOutputForMask ? m : m.to_type(ScalarType.Int32).cumsum(1, ScalarType.Int32).gt(0);
        return sequence.mul(shown.unsqueeze(-1).to_type(sequence.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The last output under Keras' mask rules (see <see cref="MaskOutputs"/>) from the last state: zero for rows with
    /// no real step (or, with <paramref name="zeroOutputForMask"/>, whose last step is masked).
    /// </summary>
    /// <param name="lastState">The state after the last step <c>(B, u)</c>.</param>
    /// <param name="mask">Boolean <c>(B, T)</c> mask in processing order, or <c>null</c>.</param>
    /// <param name="zeroOutputForMask">Zeros at masked steps.</param>
    public static Tensor MaskLastOutput(Tensor lastState, Tensor? mask, bool zeroOutputForMask)
    {
        if (mask is null) return lastState;
        using var scope = torch.NewDisposeScope();
        var m = mask.to_type(ScalarType.Bool);
        var shown = zeroOutputForMask ? m.select(1, m.shape[1] - 1) : m.any(1);
        return lastState.mul(shown.unsqueeze(-1).to_type(lastState.dtype)).MoveToOuterDisposeScope();
    }

    private static void Validate(RecurrentCell cell, Tensor x, IReadOnlyList<Tensor> initialStates, Tensor kernel, Tensor recurrentKernel,
        Tensor? bias, Tensor? mask)
    {
        // libtorch's own shape errors can end the process on some platforms: check everything here first.
        if (x.dim() != 3) throw new ArgumentException($"Recurrent kernel: inputs must be (batch, time, features), got {Shape.Of(x.shape)}.", nameof(x));
        long batch = x.shape[0], steps = x.shape[1], features = x.shape[2];
        if (steps == 0) throw new ArgumentException("Recurrent kernel: the sequence has 0 time steps.", nameof(x));
        if (!x.is_floating_point()) throw new ArgumentException($"Recurrent kernel: inputs must be floating point, got {x.dtype}.", nameof(x));
        int g = Gates(cell);
        if (recurrentKernel.dim() != 2 || recurrentKernel.shape[1] != g * recurrentKernel.shape[0])
            throw new ArgumentException($"Recurrent kernel: recurrent_kernel must be (units, {g}·units), got {Shape.Of(recurrentKernel.shape)}.", nameof(recurrentKernel));
        long units = recurrentKernel.shape[0];
        if (kernel.dim() != 2 || kernel.shape[0] != features || kernel.shape[1] != g * units)
            throw new ArgumentException($"Recurrent kernel: kernel must be ({features}, {g * units}), got {Shape.Of(kernel.shape)}.", nameof(kernel));
        if (!kernel.is_floating_point() || recurrentKernel.dtype != kernel.dtype)
            throw new ArgumentException($"Recurrent kernel: kernel and recurrent_kernel must share a floating dtype, got {kernel.dtype} and {recurrentKernel.dtype}.", nameof(recurrentKernel));
        if (bias is not null)
        {
            long[] expected = cell == RecurrentCell.GruResetAfter ? [2, g * units] : [g * units];
            if (!bias.shape.SequenceEqual(expected))
                throw new ArgumentException($"Recurrent kernel: bias must be {Shape.Of(expected)}, got {Shape.Of(bias.shape)}.", nameof(bias));
            if (bias.dtype != kernel.dtype)
                throw new ArgumentException($"Recurrent kernel: bias dtype {bias.dtype} differs from the kernel's {kernel.dtype}.", nameof(bias));
        }
        int stateCount = cell == RecurrentCell.Lstm ? 2 : 1;
        if (initialStates.Count != stateCount)
            throw new ArgumentException($"Recurrent kernel: expected {stateCount} initial state(s), got {initialStates.Count}.", nameof(initialStates));
        foreach (var s in initialStates)
            if (s.dim() != 2 || s.shape[0] != batch || s.shape[1] != units)
                throw new ArgumentException($"Recurrent kernel: initial states must be ({batch}, {units}), got {Shape.Of(s.shape)}.", nameof(initialStates));
        if (mask is not null && (mask.dim() != 2 || mask.shape[0] != batch || mask.shape[1] != steps))
            throw new ArgumentException($"Recurrent kernel: the mask must be ({batch}, {steps}), got {Shape.Of(mask.shape)}.", nameof(mask));
        var device = kernel.device;
        foreach (var t in new[] { x, recurrentKernel, bias, mask }.Concat(initialStates))
            if (t is not null && (t.device_type != device.type || t.device_index != device.index))
                throw new ArgumentException($"Recurrent kernel: all tensors must be on {device}, found one on {t.device}.", nameof(x));
    }

    /// <summary>
    /// A state-gradient buffer of <paramref name="shape"/>: a copy of the gradient that came from outside the kernel (of
    /// the time-major states <c>(T, B, u)</c>, or of a final state <c>(B, u)</c>), or zeros when there is none.
    /// </summary>
    internal static Tensor GradientBuffer(Tensor? grad, long[] shape, Tensor like)
    {
        var buffer = Buffer(shape, like);
        if (!Has(grad)) return buffer.zero_();
        buffer.view(grad!.shape).copy_(grad);
        return buffer;
    }

    /// <summary>Batch-first inputs <c>(B, T, in)</c> as time-major rows <c>(T·B, in)</c>: a view when one sequence or one
    /// step is already laid out so, else a copy (in a pooled buffer when large).</summary>
    internal static Tensor TimeMajorRows(Tensor x)
    {
        long b = x.shape[0], steps = x.shape[1], features = x.shape[2];
        if ((b == 1 || steps == 1) && x.is_contiguous()) return x.view(steps * b, features);
        var rows = Buffer([steps * b, features], x);
        rows.view(steps, b, features).copy_(x.transpose(0, 1));
        return rows;
    }

    /// <summary>An uninitialised buffer in <paramref name="like"/>'s dtype and device; large CPU buffers come from
    /// <see cref="HostBufferPool"/> (reused from batch to batch).</summary>
    internal static Tensor Buffer(long[] shape, Tensor like) => HostBufferPool.Empty(shape, like.dtype, like.device);

    /// <summary>The input projection <c>x2·kernel + bias</c> of every step <c>(T·B, G·u)</c>, in a pooled buffer when large.</summary>
    /// <param name="x2">Time-major input rows <c>(T·B, in)</c>.</param>
    /// <param name="kernel">Keras kernel <c>(in, G·u)</c>.</param>
    /// <param name="bias">Bias <c>(G·u,)</c> or <c>null</c>.</param>
    internal static Tensor Projection(Tensor x2, Tensor kernel, Tensor? bias)
    {
        var z = Buffer([x2.shape[0], kernel.shape[1]], x2);
        if (bias is null) return z.addmm_(x2, kernel, beta: 0);
        return z.copy_(bias.expand(z.shape)).addmm_(x2, kernel);
    }

    /// <summary>
    /// <c>[h0, H_0 … H_{T−2}]ᵀ · rows</c> for time-major rows <c>(T·B, n)</c>, without concatenating the states:
    /// <c>h0ᵀ·rows_0 + H[0 … T−2]ᵀ·rows_{1 … T−1}</c>.
    /// </summary>
    internal static Tensor PreviousTransposedTimes(Tensor h0, Tensor h, Tensor rows)
    {
        long steps = h.shape[0], b = h.shape[1], units = h.shape[2];
        var result = h0.t().mm(rows.narrow(0, 0, b));
        if (steps > 1) result.addmm_(h.narrow(0, 0, steps - 1).view((steps - 1) * b, units).t(), rows.narrow(0, b, (steps - 1) * b));
        return result;
    }

    /// <summary>The state entering every step as time-major rows <c>(T·B, u)</c>: <c>[h0; H_0 … H_{T−2}]</c> (a new tensor).</summary>
    internal static Tensor PreviousStates(Tensor h0, Tensor h)
    {
        long steps = h.shape[0], b = h.shape[1], units = h.shape[2];
        var previous = Buffer([steps * b, units], h);
        previous.narrow(0, 0, b).copy_(h0);
        if (steps > 1) previous.narrow(0, b, (steps - 1) * b).copy_(h.narrow(0, 0, steps - 1).reshape((steps - 1) * b, units));
        return previous;
    }

    /// <summary>Per-step <c>(B, 1)</c> weights <c>1 − keep</c> from the time-major <c>(T, B)</c> mask, or <c>null</c> without a mask.</summary>
    internal static Tensor[]? DropWeights(Tensor? keep) => keep is null ? null : torch.ones_like(keep).sub_(keep).unsqueeze(-1).unbind(0);

    /// <summary>Whether an optional tensor argument is a real tensor.</summary>
    internal static bool Has(Tensor? t) => t is not null && !t.IsInvalid;

    /// <summary>
    /// The gradients of the projection <c>x·kernel + bias</c> (and of the batch-first inputs), from the gradient of the
    /// projection <paramref name="dz"/> <c>(T·B, G·u)</c> with time-major rows <paramref name="x2"/>: one product each
    /// over all steps.
    /// </summary>
    internal static (Tensor? DX, Tensor? DKernel, Tensor? DBias) ProjectionGradients(Tensor dz, Tensor x2, Tensor kernel, long batch, long steps,
        bool needX, bool needKernel, bool needBias)
    {
        var dk = needKernel ? x2.t().mm(dz) : null;
        var db = needBias ? dz.sum(0L) : null;
        var dx = needX ? Buffer([dz.shape[0], kernel.shape[0]], dz).addmm_(dz, kernel.t(), beta: 0).view(steps, batch, -1).transpose(0, 1) : null;
        return (dx, dk, db);
    }
}

/// <summary>
/// The arguments of a single-state kernel's autograd function (GRU, SimpleRNN), in the order they are passed to
/// <c>apply</c>: <c>(x, h0, kernel, recurrent_kernel, bias?, keep?, flag)</c>.
/// </summary>
/// <param name="X">Inputs.</param>
/// <param name="H0">Initial state.</param>
/// <param name="Kernel">Keras kernel.</param>
/// <param name="Recurrent">Keras recurrent kernel.</param>
/// <param name="Bias">Bias or <c>null</c>.</param>
/// <param name="Keep">Float mask or <c>null</c>.</param>
/// <param name="Flag">The cell variant (GRU: reset_after; SimpleRNN: relu).</param>
internal readonly record struct SingleStateArguments(Tensor X, Tensor H0, Tensor Kernel, Tensor Recurrent, Tensor? Bias, Tensor? Keep, bool Flag)
{
    /// <summary>Unpacks <paramref name="vars"/> as passed to <c>apply</c>.</summary>
    public static SingleStateArguments From(object[] vars) =>
        new((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], vars[4] as Tensor, vars[5] as Tensor, (bool)vars[6]);

    /// <summary>Which of <c>(x, h0, kernel, recurrent_kernel, bias)</c> need a gradient.</summary>
    public bool[] Needs() =>
        [X.requires_grad, H0.requires_grad, Kernel.requires_grad, Recurrent.requires_grad, Bias?.requires_grad ?? false];
}

/// <summary>
/// Keras' recurrent dropout inside the kernels (implementation 1): the recurrent product of gate block <c>g</c> uses
/// <c>h ⊙ m_g</c>, with one mask per gate block drawn once per sequence. Every method takes <c>null</c> for "no
/// recurrent dropout" and then does the plain product, so the kernels call them unconditionally.
/// </summary>
internal sealed class GateMasks
{
    private readonly Tensor[] _masks, _scratch;
    private readonly Tensor _stacked, _scratchAll;
    private readonly long _units;

    /// <summary>Wraps the masks <c>(G, B, u)</c> (one per gate block, each scaled by <c>1 / (1 − rate)</c>).</summary>
    public GateMasks(Tensor masks)
    {
        _stacked = masks;
        _scratchAll = torch.empty_like(masks);
        _masks = masks.unbind(0);
        _scratch = _scratchAll.unbind(0);
        _units = masks.shape[2];
    }

    /// <summary>The masks of gate blocks <paramref name="first"/> … <paramref name="first"/> + <paramref name="count"/> − 1 (e.g. a GRU's z and r).</summary>
    public GateMasks Narrow(int first, int count) => new(_stacked.narrow(0, first, count));

    /// <summary>The mask of gate block <paramref name="gate"/> <c>(B, u)</c>.</summary>
    public Tensor this[int gate] => _masks[gate];

    /// <summary>
    /// <c>target = beta·target + [(h ⊙ m_0)·U_0 | … | (h ⊙ m_{G−1})·U_{G−1}]</c> for <paramref name="target"/>
    /// <c>(B, G·u)</c> and <paramref name="recurrentKernel"/> <c>(u, G·u)</c>.
    /// </summary>
    public static void AddProduct(GateMasks? masks, Tensor target, Tensor h, Tensor recurrentKernel, float beta)
    {
        if (masks is null)
        {
            target.addmm_(h, recurrentKernel, beta: beta);
            return;
        }
        using var scope = torch.NewDisposeScope();
        masks._scratchAll.copy_(masks._stacked).mul_(h);
        long u = masks._units;
        for (int g = 0; g < masks._masks.Length; g++)
            target.narrow(1, g * u, u).addmm_(masks._scratch[g], recurrentKernel.narrow(1, g * u, u), beta: beta);
    }

    /// <summary>
    /// <c>dh = beta·dh + Σ_g (d_g·U_gᵀ) ⊙ m_g</c>: the gradient of the previous state from the gradients
    /// <paramref name="rows"/> <c>(B, G·u)</c> of the recurrent products, with <paramref name="recurrentT"/> <c>= Uᵀ</c>;
    /// <paramref name="beta"/> is 0 (overwrite) or 1 (accumulate).
    /// </summary>
    public static void AddBackward(GateMasks? masks, Tensor dh, Tensor rows, Tensor recurrentT, float beta = 1)
    {
        if (beta is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be 0 or 1.");
        if (masks is null)
        {
            dh.addmm_(rows, recurrentT, beta: beta);
            return;
        }
        using var scope = torch.NewDisposeScope();
        if (beta == 0) dh.zero_();
        long u = masks._units;
        for (int g = 0; g < masks._masks.Length; g++)
        {
            masks._scratch[g].addmm_(rows.narrow(1, g * u, u), recurrentT.narrow(0, g * u, u), beta: 0);
            dh.addcmul_(masks._scratch[g], masks._masks[g], RecurrentKernels.One);
        }
    }

    /// <summary>
    /// The recurrent kernel's gradient for the gate blocks <paramref name="firstGate"/> … of <paramref name="rows"/>
    /// <c>(T·B, k·u)</c>: <c>[(h_prev ⊙ m_g)ᵀ·rows_g]</c> over all steps, side by side <c>(u, k·u)</c>.
    /// </summary>
    public static Tensor PreviousTransposedTimes(GateMasks? masks, Tensor h0, Tensor h, Tensor rows, int firstGate)
    {
        if (masks is null) return RecurrentKernels.PreviousTransposedTimes(h0, h, rows);
        long u = h.shape[2];
        int k = (int)(rows.shape[1] / u);
        using var previous = RecurrentKernels.PreviousStates(h0, h);
        using var masked = RecurrentKernels.Buffer(previous.shape, previous);
        var parts = new Tensor[k];
        for (int j = 0; j < k; j++) parts[j] = masks.Masked(masked, previous, h, firstGate + j).t().mm(rows.narrow(1, j * u, u));
        if (k == 1) return parts[0];
        var result = torch.cat(parts, 1);
        foreach (var p in parts) p.Dispose();
        return result;
    }

    /// <summary>
    /// <c>[(h_prev ⊙ m_g)·U_g]</c> of every step <c>(T·B, k·u)</c> for the <paramref name="count"/> gate blocks from
    /// <paramref name="firstGate"/> of <paramref name="recurrentKernel"/> — for recomputing gates without a time loop.
    /// </summary>
    public static Tensor PreviousTimes(GateMasks? masks, Tensor h0, Tensor h, Tensor recurrentKernel, int firstGate, int count)
    {
        long steps = h.shape[0], b = h.shape[1], u = h.shape[2];
        var block = recurrentKernel.narrow(1, firstGate * u, count * u);
        using var previous = RecurrentKernels.PreviousStates(h0, h);
        if (masks is null) return previous.mm(block);
        var result = RecurrentKernels.Buffer([steps * b, count * u], h);
        using var masked = RecurrentKernels.Buffer(previous.shape, previous);
        for (int j = 0; j < count; j++)
            result.narrow(1, j * u, u).addmm_(masks.Masked(masked, previous, h, firstGate + j), recurrentKernel.narrow(1, (firstGate + j) * u, u), beta: 0);
        return result;
    }

    /// <summary>The previous states of every step <paramref name="previous"/> <c>(T·B, u)</c> times gate block
    /// <paramref name="gate"/>'s mask, written into <paramref name="masked"/> (returned); <paramref name="h"/> gives the shape.</summary>
    private Tensor Masked(Tensor masked, Tensor previous, Tensor h, int gate)
    {
        masked.view(h.shape).copy_(previous.view(h.shape)).mul_(_masks[gate]);
        return masked;
    }
}
