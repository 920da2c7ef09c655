using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Keras.Rnn.Backend;

/// <summary>The SimpleRNN of <see cref="RecurrentKernels"/>: <c>h' = act(x·W + b + h·U)</c> with <c>tanh</c> or <c>relu</c>.</summary>
internal static class SimpleRnnKernel
{
    /// <summary>
    /// The forward pass (no autograd): the hidden state after every step as flat time-major <c>(T·B, u)</c> rows, and
    /// the inputs as time-major rows.
    /// <paramref name="keep"/>: time-major float <c>(T, B)</c> mask or <c>null</c>.
    /// </summary>
    internal static (Tensor H, Tensor X2) Forward(Tensor x, Tensor h0, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor? keep, bool relu)
    {
        long b = x.shape[0], steps = x.shape[1], units = recurrentKernel.shape[0];
        var x2 = RecurrentKernels.TimeMajorRows(x);
        // The projection buffer becomes the states: each step adds h·U and activates in place.
        var h = RecurrentKernels.Projection(x2, kernel, bias);
        using var views = torch.NewDisposeScope();
        var hs = h.view(steps, b, units).unbind(0);
        var drop = RecurrentKernels.DropWeights(keep);
        Tensor hPrev = h0;
        for (int t = 0; t < steps; t++)
        {
            hs[t].addmm_(hPrev, recurrentKernel);
            if (relu) hs[t].relu_();
            else hs[t].tanh_();
            if (drop is not null) hs[t].lerp_(hPrev, drop[t]);
            hPrev = hs[t];
        }
        return (h, x2);
    }

    /// <summary>Backward pass; <paramref name="dH"/> is the gradient of the flat states (or invalid),
    /// <paramref name="dFinalH"/> that of the final state output (or invalid).</summary>
    internal static (Tensor? DX, Tensor? DH0, Tensor? DKernel, Tensor? DRecurrent, Tensor? DBias) Backward(Tensor x2, Tensor hFlat, Tensor h0,
        Tensor kernel, Tensor recurrentKernel, Tensor? keep, Tensor? dH, bool[] needs, bool relu, Tensor? dFinalH = null)
    {
        long b = h0.shape[0], units = h0.shape[1], steps = hFlat.shape[0] / b;
        var h = hFlat.view(steps, b, units);
        // act'(pre-activation) from the activation's output: 1 − h² for tanh, [h > 0] for relu (in a pooled buffer).
        var d = RecurrentKernels.Buffer(h.shape, h);
        if (relu) d.copy_(h.gt(0));
        else d.copy_(h).mul_(h).neg_().add_(1);
        Tensor[]? drop = null;
        if (keep is not null)
        {
            d.mul_(keep.unsqueeze(-1));
            drop = RecurrentKernels.DropWeights(keep);
        }
        // dh = incoming + recurrent part, carried in two (B, u) buffers swapped every step.
        var dhCur = RecurrentKernels.GradientBuffer(dFinalH, [b, units], h);
        var dhNext = torch.empty_like(dhCur);
        var recurrentT = recurrentKernel.t().contiguous();
        var one = RecurrentKernels.One;
        using (var views = torch.NewDisposeScope())
        {
            var incoming = RecurrentKernels.Has(dH) ? dH!.reshape(steps, b, units).unbind(0) : null;
            var ds = d.unbind(0);
            for (long t = steps - 1; t >= 0; t--)
            {
                if (incoming is not null) dhCur.add_(incoming[t]);
                ds[t].mul_(dhCur);
                dhNext.addmm_(ds[t], recurrentT, beta: 0);
                if (drop is not null) dhNext.addcmul_(dhCur, drop[t], one);
                (dhCur, dhNext) = (dhNext, dhCur);
            }
        }
        var dh0 = dhCur;
        var dz = d.view(steps * b, units);
        var (dx, dk, db) = RecurrentKernels.ProjectionGradients(dz, x2, kernel, b, steps, needs[0], needs[2], needs[4]);
        var dr = needs[3] ? RecurrentKernels.PreviousTransposedTimes(h0, h, dz) : null;
        return (dx, needs[1] ? dh0 : null, dk, dr, db);
    }

    /// <summary>The custom autograd function: inputs <c>(x, h0, kernel, recurrent_kernel, bias?, keep?, relu)</c>, outputs flat <c>H</c>
    /// and a copy of the final state (see <see cref="RecurrentKernels.Run"/>).</summary>
    internal sealed class Function : MultiTensorFunction<Function>
    {
        /// <inheritdoc />
        public override string Name => "KerasRnnSimple";

        /// <inheritdoc />
        public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
        {
            var arguments = SingleStateArguments.From(vars);
            var (x, h0, kernel, recurrent, bias, keep, relu) = arguments;
            using var scope = torch.NewDisposeScope();
            var (h, x2) = Forward(x, h0, kernel, recurrent, bias, keep, relu);
            ctx.save_for_backward([x2, h, h0, kernel, recurrent, keep!]);
            ctx.save_data("needs", arguments.Needs());
            ctx.save_data("relu", relu);
            ctx.set_materialize_grads(false);
            x2.MoveToOuterDisposeScope();
            var final = h.narrow(0, h.shape[0] - h0.shape[0], h0.shape[0]).clone();
            return [h.MoveToOuterDisposeScope(), final.MoveToOuterDisposeScope()];
        }

        /// <inheritdoc />
        public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var needs = (bool[])ctx.get_data("needs");
            bool relu = (bool)ctx.get_data("relu");
            var (dx, dh0, dk, dr, db) = Backward(saved[0], saved[1], saved[2], saved[3], saved[4], RecurrentKernels.Has(saved[5]) ? saved[5] : null,
                gradOutputs[0], needs, relu, gradOutputs.Count > 1 ? gradOutputs[1] : null);
            return [dx?.MoveToOuterDisposeScope()!, dh0?.MoveToOuterDisposeScope()!, dk?.MoveToOuterDisposeScope()!,
                dr?.MoveToOuterDisposeScope()!, db?.MoveToOuterDisposeScope()!, null!, null!];
        }
    }
}
