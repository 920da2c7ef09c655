using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Keras.Rnn.Backend;

/// <summary>
/// The LSTM of <see cref="RecurrentKernels"/> on Keras-layout weights, gates <c>[i, f, c, o]</c>:
/// <c>z = x·W + b + h·U</c>, <c>c' = σ(z_f)·c + σ(z_i)·tanh(z_c)</c>, <c>h' = σ(z_o)·tanh(c')</c>.
/// </summary>
internal static class LstmKernel
{
    /// <summary>What the forward pass leaves: projection rows, gate activations, states after every step.</summary>
    /// <param name="X2">Inputs as time-major <c>(T·B, in)</c> rows.</param>
    /// <param name="Gates">Activated gates <c>(T·B, 4u)</c>: <c>[σ(z_i), σ(z_f), tanh(z_c), σ(z_o)]</c>.</param>
    /// <param name="H">Hidden state after every step, time-major <c>(T, B, u)</c> (held at masked steps).</param>
    /// <param name="C">Cell state after every step <c>(T, B, u)</c>.</param>
    /// <param name="FinalC">A copy of the last cell state <c>(B, u)</c>.</param>
    internal readonly record struct Result(Tensor X2, Tensor Gates, Tensor H, Tensor C, Tensor FinalC);

    /// <summary>The forward pass (no autograd). <paramref name="keep"/>: time-major float <c>(T, B)</c> mask or <c>null</c>;
    /// <paramref name="masks"/>: the recurrent dropout masks per gate, or <c>null</c>.</summary>
    internal static Result Forward(Tensor x, Tensor h0, Tensor c0, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor? keep,
        GateMasks? masks = null)
    {
        long b = x.shape[0], steps = x.shape[1], units = recurrentKernel.shape[0];
        var x2 = RecurrentKernels.TimeMajorRows(x);
        // One product for the input part of every step; the time loop then adds h·U in place.
        var gates = RecurrentKernels.Projection(x2, kernel, bias);
        var h = RecurrentKernels.Buffer([steps, b, units], x2);
        var c = RecurrentKernels.Buffer([steps, b, units], x2);
        if (FusedCells.AppliesTo(gates))
        {
            FusedForward(gates, h0, c0, recurrentKernel, keep, h, c, masks);
            return new Result(x2, gates, h, c, c.select(0, steps - 1).clone());
        }
        using (var views = torch.NewDisposeScope())
        {
            var g4 = gates.view(steps, b, 4, units);
            var z = gates.view(steps, b, 4 * units).unbind(0);
            var inputAndForget = g4.narrow(2, 0, 2).unbind(0);
            var input = g4.select(2, 0).unbind(0);
            var forget = g4.select(2, 1).unbind(0);
            var candidate = g4.select(2, 2).unbind(0);
            var output = g4.select(2, 3).unbind(0);
            var hs = h.unbind(0);
            var cs = c.unbind(0);
            var drop = RecurrentKernels.DropWeights(keep);
            var one = RecurrentKernels.One;
            Tensor hPrev = h0, cPrev = c0;
            for (int t = 0; t < steps; t++)
            {
                GateMasks.AddProduct(masks, z[t], hPrev, recurrentKernel, 1);
                inputAndForget[t].sigmoid_();
                candidate[t].tanh_();
                output[t].sigmoid_();
                cs[t].copy_(forget[t]).mul_(cPrev).addcmul_(input[t], candidate[t], one);
                hs[t].copy_(cs[t]).tanh_().mul_(output[t]);
                if (drop is not null)
                {
                    // Masked rows keep their states (exact: lerp with weight 0 or 1).
                    cs[t].lerp_(cPrev, drop[t]);
                    hs[t].lerp_(hPrev, drop[t]);
                }
                hPrev = hs[t];
                cPrev = cs[t];
            }
        }
        return new Result(x2, gates, h, c, c.select(0, steps - 1).clone());
    }

    /// <summary>The time loop of <see cref="Forward"/> with each step's element-wise part in one <see cref="FusedCells"/> pass.</summary>
    private static unsafe void FusedForward(Tensor gates, Tensor h0, Tensor c0, Tensor recurrentKernel, Tensor? keep, Tensor h, Tensor c,
        GateMasks? masks)
    {
        long steps = h.shape[0], b = h.shape[1], units = h.shape[2];
        using var views = torch.NewDisposeScope();
        h0 = h0.contiguous();
        c0 = c0.contiguous();
        float* pz = FusedCells.Pointer(gates), ph = FusedCells.Pointer(h), pc = FusedCells.Pointer(c);
        float* ph0 = FusedCells.Pointer(h0), pc0 = FusedCells.Pointer(c0), pk = FusedCells.PointerOrNull(keep);
        long stateBlock = b * units;
        // A small layer does the recurrent product in C# too: no libtorch call and no tensor per step.
        bool small = masks is null && FusedCells.SmallProduct(b, units, 4);
        float* pu = small ? FusedCells.Pointer(recurrentKernel.contiguous()) : null;
        var z = small ? null : gates.view(steps, b, 4 * units).unbind(0);
        var hs = small ? null : h.unbind(0);
        for (int t = 0; t < steps; t++)
        {
            float* hp = t == 0 ? ph0 : ph + (t - 1) * stateBlock;
            if (small) FusedCells.AddProduct(hp, pu, pz + t * 4 * stateBlock, (int)b, (int)units, 4 * (int)units);
            else GateMasks.AddProduct(masks, z![t], t == 0 ? h0 : hs![t - 1], recurrentKernel, 1);
            FusedCells.LstmForwardStep(pz + t * 4 * stateBlock, t == 0 ? pc0 : pc + (t - 1) * stateBlock, hp, pc + t * stateBlock,
                ph + t * stateBlock, pk is null ? null : pk + t * b, (int)b, (int)units);
        }
    }

    /// <summary>
    /// <see cref="Backward"/>'s gate gradients <c>(T·B, 4u)</c> and the gradients of <c>h0</c>, <c>c0</c>, with each step's
    /// element-wise part in one <see cref="FusedCells"/> pass (nothing precomputed over all steps: less memory, one read
    /// of each step's gates). With <paramref name="overwriteGates"/> the gate gradients replace the gate activations in
    /// their buffer (each step's gates are read once, just before its gradients are written): the largest buffer of
    /// backward is not allocated at all.
    /// </summary>
    private static unsafe (Tensor Dz, Tensor Dh0, Tensor Dc0) FusedBackward(Result r, Tensor c0, Tensor recurrentKernel, Tensor? keep, Tensor? dH,
        Tensor? dFinalC, Tensor? dFinalH, bool overwriteGates, GateMasks? masks)
    {
        long steps = r.H.shape[0], b = r.H.shape[1], units = r.H.shape[2];
        var dz = overwriteGates ? r.Gates : RecurrentKernels.Buffer(r.Gates.shape, r.Gates);
        var dh = new StateGradients(b, units, r.H, dFinalH);
        var dc = RecurrentKernels.GradientBuffer(dFinalC, [b, units], r.H);
        using (var views = torch.NewDisposeScope())
        {
            // Scratch for tanh(c) of one row; a scope-held tensor, so it lives as long as the pointer is used.
            var tanhC = torch.empty([units], r.H.dtype, r.H.device);
            c0 = c0.contiguous();
            var incoming = RecurrentKernels.Has(dH) ? dH!.contiguous() : null;
            bool small = masks is null && FusedCells.SmallProduct(b, units, 4);
            var dzSteps = small ? null : dz.view(steps, b, 4 * units).unbind(0);
            var recurrentT = small ? null : recurrentKernel.t().contiguous();
            float* pg = FusedCells.Pointer(r.Gates), pc = FusedCells.Pointer(r.C), pc0 = FusedCells.Pointer(c0), pdz = FusedCells.Pointer(dz);
            float* pin = FusedCells.PointerOrNull(incoming), pk = FusedCells.PointerOrNull(keep), pdc = FusedCells.Pointer(dc), pt = FusedCells.Pointer(tanhC);
            long stateBlock = b * units;
            float* pu = small ? FusedCells.Pointer(recurrentKernel.contiguous()) : null;
            for (long t = steps - 1; t >= 0; t--)
            {
                FusedCells.LstmBackwardStep(pg + t * 4 * stateBlock, pc + t * stateBlock, t == 0 ? pc0 : pc + (t - 1) * stateBlock,
                    pin is null ? null : pin + t * stateBlock, dh.CurrentPointer, pdc, pdz + t * 4 * stateBlock, dh.NextPointer,
                    pk is null ? null : pk + t * b, pt, (int)b, (int)units);
                if (small) FusedCells.AddProductTransposed(pdz + t * 4 * stateBlock, pu, dh.NextPointer, (int)b, 4 * (int)units, (int)units);
                else GateMasks.AddBackward(masks, dh.Next, dzSteps![t], recurrentT!);
                dh.Swap();
            }
        }
        return (dz, dh.Current, dc);
    }

    /// <summary>
    /// The activated gates of every step from what the forward pass saved, without a time loop (every step's previous
    /// state is known): <c>z = x·W + b + [h0; H_0 … H_{T−2}]·U</c>, then the activations — for a second backward pass
    /// through a graph whose first one overwrote the gates (equal to the forward's gates to fp32 rounding).
    /// </summary>
    internal static Tensor RecomputeGates(Result r, Tensor h0, Tensor kernel, Tensor recurrentKernel, Tensor? bias, GateMasks? masks = null)
    {
        long units = r.H.shape[2];
        var z = RecurrentKernels.Projection(r.X2, kernel, bias);
        using (var recurrent = GateMasks.PreviousTimes(masks, h0, r.H, recurrentKernel, 0, 4)) z.add_(recurrent);
        var g4 = z.view(-1, 4, units);
        g4.narrow(1, 0, 2).sigmoid_();
        g4.select(1, 2).tanh_();
        g4.select(1, 3).sigmoid_();
        return z;
    }

    /// <summary>
    /// Backward pass. <paramref name="dH"/>: gradient of the time-major states after every step (or invalid),
    /// <paramref name="dFinalC"/>: of the final cell state (or invalid), <paramref name="dFinalH"/>: of the final state output (or
    /// invalid). <paramref name="overwriteGates"/>: the fused
    /// CPU path may write the gate gradients over <c>r.Gates</c> (saves the largest buffer; see <see cref="Function"/>);
    /// <paramref name="fused"/>: whether to take that path (default: where <see cref="FusedCells"/> applies).
    /// </summary>
    internal static (Tensor? DX, Tensor? DH0, Tensor? DC0, Tensor? DKernel, Tensor? DRecurrent, Tensor? DBias) Backward(Result r, Tensor h0,
        Tensor c0, Tensor kernel, Tensor recurrentKernel, Tensor? keep, Tensor? dH, Tensor? dFinalC, bool[] needs, bool overwriteGates = false,
        bool? fused = null, Tensor? dFinalH = null, GateMasks? masks = null)
    {
        long steps = r.H.shape[0], b = r.H.shape[1], units = r.H.shape[2];
        if (fused ?? FusedCells.AppliesTo(r.Gates))
        {
            var (fz, fh0, fc0) = FusedBackward(r, c0, recurrentKernel, keep, dH, dFinalC, dFinalH, overwriteGates, masks);
            return FinishBackward(r, h0, kernel, fz, fh0, fc0, needs, masks);
        }
        var g4 = r.Gates.view(steps, b, 4, units);
        var i = g4.select(2, 0);
        var f = g4.select(2, 1);
        var g = g4.select(2, 2);
        var o = g4.select(2, 3);
        var tc = r.C.tanh();

        // Everything that does not depend on the incoming gradients, in bulk over all steps:
        // dz = [dc·g·i(1−i), dc·c_prev·f(1−f), dc·i(1−g²), dh·tanh(c)·o(1−o)] = [dc, dc, dc, dh] ⊙ s,
        // dc += dh·o·(1 − tanh²c) = dh ⊙ p, and dc_prev = dc ⊙ f. (Temporaries are kept few: peak memory matters.)
        var s = g4.neg().add_(1).mul_(g4);
        s.select(2, 0).mul_(g);
        var sForget = s.select(2, 1);
        sForget.select(0, 0).mul_(c0);
        if (steps > 1) sForget.narrow(0, 1, steps - 1).mul_(r.C.narrow(0, 0, steps - 1));
        s.select(2, 2).copy_(g).mul_(g).neg_().add_(1).mul_(i);
        s.select(2, 3).mul_(tc);
        var p = tc.mul_(tc).neg_().add_(1).mul_(o);
        Tensor carry = f;
        Tensor[]? drop = null;
        if (keep is not null)
        {
            // Masked steps: no gate gradient, and dh, dc pass unchanged to the previous step.
            var k3 = keep.unsqueeze(-1);
            s.mul_(keep.view(steps, b, 1, 1));
            p.mul_(k3);
            carry = f.mul(k3).add_(torch.ones_like(k3).sub_(k3));
            drop = RecurrentKernels.DropWeights(keep);
        }

        // The state gradients are carried in two (B, u) buffers each, swapped every step: dh = incoming + recurrent part.
        var dhCur = RecurrentKernels.GradientBuffer(dFinalH, [b, units], r.H);
        var dhNext = torch.empty_like(dhCur);
        var dcCur = RecurrentKernels.GradientBuffer(dFinalC, [b, units], r.H);
        var dcNext = torch.empty_like(dhCur);
        var recurrentT = recurrentKernel.t().contiguous();
        var one = RecurrentKernels.One;
        using (var views = torch.NewDisposeScope())
        {
            var incoming = RecurrentKernels.Has(dH) ? dH!.unbind(0) : null;
            var sIfc = s.narrow(2, 0, 3).unbind(0);
            var sO = s.select(2, 3).unbind(0);
            var sFlat = s.view(steps, b, 4 * units).unbind(0);
            var ps = p.unbind(0);
            var carries = carry.unbind(0);
            for (long t = steps - 1; t >= 0; t--)
            {
                if (incoming is not null) dhCur.add_(incoming[t]);
                dcCur.addcmul_(dhCur, ps[t], one);
                using (var row = dcCur.unsqueeze(1)) sIfc[t].mul_(row);
                sO[t].mul_(dhCur);
                GateMasks.AddBackward(masks, dhNext, sFlat[t], recurrentT, 0);
                if (drop is not null) dhNext.addcmul_(dhCur, drop[t], one);
                dcNext.copy_(dcCur).mul_(carries[t]);
                (dhCur, dhNext) = (dhNext, dhCur);
                (dcCur, dcNext) = (dcNext, dcCur);
            }
        }
        return FinishBackward(r, h0, kernel, s.view(steps * b, 4 * units), dhCur, dcCur, needs, masks);
    }

    /// <summary>The weight, bias and input gradients from the gate gradients <paramref name="dz"/> <c>(T·B, 4u)</c>: one product each over all steps.</summary>
    private static (Tensor? DX, Tensor? DH0, Tensor? DC0, Tensor? DKernel, Tensor? DRecurrent, Tensor? DBias) FinishBackward(Result r, Tensor h0,
        Tensor kernel, Tensor dz, Tensor dh0, Tensor dc0, bool[] needs, GateMasks? masks)
    {
        long steps = r.H.shape[0], b = r.H.shape[1];
        var (dx, dk, db) = RecurrentKernels.ProjectionGradients(dz, r.X2, kernel, b, steps, needs[0], needs[3], needs[5]);
        // [h0; h_0 … h_{T−2}]ᵀ · dz without concatenating: the first step's rows, then all others in one product.
        var dr = needs[4] ? GateMasks.PreviousTransposedTimes(masks, h0, r.H, dz, 0) : null;
        return (dx, needs[1] ? dh0 : null, needs[2] ? dc0 : null, dk, dr, db);
    }

    /// <summary>The custom autograd function: inputs <c>(x, h0, c0, kernel, recurrent_kernel, bias?, keep?, recurrent dropout masks?)</c>,
    /// outputs <c>(H time-major, final c, final h)</c>.</summary>
    internal sealed class Function : MultiTensorFunction<Function>
    {
        /// <inheritdoc />
        public override string Name => "KerasRnnLstm";

        /// <inheritdoc />
        public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var h0 = (Tensor)vars[1];
            var c0 = (Tensor)vars[2];
            var kernel = (Tensor)vars[3];
            var recurrent = (Tensor)vars[4];
            var bias = vars[5] as Tensor;
            var keep = vars[6] as Tensor;
            var recurrentMasks = vars.Length > 7 ? vars[7] as Tensor : null;
            using var scope = torch.NewDisposeScope();
            var r = Forward(x, h0, c0, kernel, recurrent, bias, keep, recurrentMasks is null ? null : new GateMasks(recurrentMasks));
            ctx.save_for_backward([r.X2, r.Gates, r.H, r.C, h0, c0, kernel, recurrent, keep!, bias!, recurrentMasks!]);
            ctx.save_data("gatesOverwritten", new StrongBox<bool>(false));
            ctx.save_data("needs", new[]
            {
                x.requires_grad, h0.requires_grad, c0.requires_grad, kernel.requires_grad, recurrent.requires_grad, bias?.requires_grad ?? false,
            });
            ctx.set_materialize_grads(false);
            // The saved tensors must outlive this scope until apply has stored them; the caller's scope frees the wrappers.
            r.X2.MoveToOuterDisposeScope();
            r.Gates.MoveToOuterDisposeScope();
            r.C.MoveToOuterDisposeScope();
            var finalH = r.H.select(0, r.H.shape[0] - 1).clone();
            return [r.H.MoveToOuterDisposeScope(), r.FinalC.MoveToOuterDisposeScope(), finalH.MoveToOuterDisposeScope()];
        }

        /// <inheritdoc />
        public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var needs = (bool[])ctx.get_data("needs");
            var r = new Result(saved[0], saved[1], saved[2], saved[3], null!);
            // The first backward pass writes the gate gradients over the saved gates; a second one through the same graph
            // (retain_graph) recomputes them first.
            var overwritten = (StrongBox<bool>)ctx.get_data("gatesOverwritten");
            var masks = RecurrentKernels.Has(saved[10]) ? new GateMasks(saved[10]) : null;
            if (overwritten.Value) r = r with { Gates = RecomputeGates(r, saved[4], saved[6], saved[7], RecurrentKernels.Has(saved[9]) ? saved[9] : null, masks) };
            // Decided once: the flag must say exactly whether this pass overwrites the saved gates.
            bool fused = FusedCells.AppliesTo(r.Gates);
            if (!overwritten.Value) overwritten.Value = fused;
            var (dx, dh0, dc0, dk, dr, db) = Backward(r, saved[4], saved[5], saved[6], saved[7], RecurrentKernels.Has(saved[8]) ? saved[8] : null,
                gradOutputs[0], gradOutputs.Count > 1 ? gradOutputs[1] : null, needs, overwriteGates: true, fused: fused,
                dFinalH: gradOutputs.Count > 2 ? gradOutputs[2] : null, masks: masks);
            return [dx?.MoveToOuterDisposeScope()!, dh0?.MoveToOuterDisposeScope()!, dc0?.MoveToOuterDisposeScope()!,
                dk?.MoveToOuterDisposeScope()!, dr?.MoveToOuterDisposeScope()!, db?.MoveToOuterDisposeScope()!, null!, null!];
        }
    }
}
