using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Keras.Rnn.Backend;

/// <summary>
/// The GRU of <see cref="RecurrentKernels"/> on Keras-layout weights, gates <c>[z, r, h]</c>, <c>h' = z·h + (1 − z)·ĥ</c>.
/// <c>reset_after=True</c> (bias <c>(2, 3u)</c>): <c>ĥ = tanh(x·W_h + b0_h + r ⊙ (h·U_h + b1_h))</c>;
/// <c>reset_after=False</c> (bias <c>(3u,)</c>): <c>ĥ = tanh(x·W_h + b_h + (r ⊙ h)·U_h)</c>.
/// </summary>
internal static class GruKernel
{
    /// <summary>What the forward pass leaves.</summary>
    /// <param name="X2">Inputs as time-major <c>(T·B, in)</c> rows.</param>
    /// <param name="Gates">Activated gates <c>(T·B, 3u)</c>: <c>[z, r, ĥ]</c>.</param>
    /// <param name="Recurrent">The candidate block <c>h·U_h + b1_h</c> of every step <c>(T, B, u)</c> (reset_after only; backward needs it).</param>
    /// <param name="H">Hidden state after every step, time-major <c>(T, B, u)</c>.</param>
    internal readonly record struct Result(Tensor X2, Tensor Gates, Tensor? Recurrent, Tensor H);

    /// <summary>The forward pass (no autograd). <paramref name="keep"/>: time-major float <c>(T, B)</c> mask or <c>null</c>.</summary>
    internal static Result Forward(Tensor x, Tensor h0, Tensor kernel, Tensor recurrentKernel, Tensor? bias, Tensor? keep, bool resetAfter,
        GateMasks? masks = null)
    {
        long b = x.shape[0], steps = x.shape[1], units = recurrentKernel.shape[0];
        var x2 = RecurrentKernels.TimeMajorRows(x);
        var inputBias = bias is null ? null : resetAfter ? bias[0] : bias;
        var gates = RecurrentKernels.Projection(x2, kernel, inputBias);
        var h = RecurrentKernels.Buffer([steps, b, units], x2);
        Tensor? recurrent = null;
        if (resetAfter)
        {
            recurrent = RecurrentKernels.Buffer([steps, b, units], x2);
            if (FusedCells.AppliesTo(gates))
            {
                FusedForwardResetAfter(gates, h0, recurrentKernel, bias?[1], keep, h, recurrent, masks);
                return new Result(x2, gates, recurrent, h);
            }
        }
        else if (FusedCells.AppliesTo(gates))
        {
            FusedForwardResetBefore(gates, h0, recurrentKernel, keep, h, masks);
            return new Result(x2, gates, null, h);
        }
        using (var views = torch.NewDisposeScope())
        {
            var g3 = gates.view(steps, b, 3 * units);
            var g4 = gates.view(steps, b, 3, units);
            var zr = g3.narrow(2, 0, 2 * units).unbind(0);
            var zs = g4.select(2, 0).unbind(0);
            var rs = g4.select(2, 1).unbind(0);
            var candidates = g4.select(2, 2).unbind(0);
            var hs = h.unbind(0);
            var drop = RecurrentKernels.DropWeights(keep);
            var one = RecurrentKernels.One;
            Tensor hPrev = h0;
            if (resetAfter)
            {
                // h·U + b1 of one step in a (B, 3u) buffer; only its candidate block is kept for backward.
                var rec = torch.empty([b, 3 * units], x.dtype, x.device);
                var recZr = rec.narrow(1, 0, 2 * units);
                var recCandidate = rec.narrow(1, 2 * units, units);
                var recurrentBias = bias?[1];
                var recH = recurrent!.unbind(0);
                for (int t = 0; t < steps; t++)
                {
                    if (recurrentBias is null) GateMasks.AddProduct(masks, rec, hPrev, recurrentKernel, 0);
                    else GateMasks.AddProduct(masks, rec.copy_(recurrentBias.expand(b, 3 * units)), hPrev, recurrentKernel, 1);
                    recH[t].copy_(recCandidate);
                    zr[t].add_(recZr).sigmoid_();
                    candidates[t].addcmul_(rs[t], recH[t], one).tanh_();
                    // h' = ĥ + z·(h − ĥ) = z·h + (1 − z)·ĥ
                    hs[t].copy_(candidates[t]).lerp_(hPrev, zs[t]);
                    if (drop is not null) hs[t].lerp_(hPrev, drop[t]);
                    hPrev = hs[t];
                }
            }
            else
            {
                var kernelZr = recurrentKernel.narrow(1, 0, 2 * units);
                var kernelH = recurrentKernel.narrow(1, 2 * units, units);
                var masksZr = masks?.Narrow(0, 2);
                for (int t = 0; t < steps; t++)
                {
                    GateMasks.AddProduct(masksZr, zr[t], hPrev, kernelZr, 1);
                    zr[t].sigmoid_();
                    using var reset = rs[t].mul(hPrev);
                    // Under recurrent dropout the candidate's product takes r ⊙ (h ⊙ m_h).
                    if (masks is not null) reset.mul_(masks[2]);
                    candidates[t].addmm_(reset, kernelH).tanh_();
                    hs[t].copy_(candidates[t]).lerp_(hPrev, zs[t]);
                    if (drop is not null) hs[t].lerp_(hPrev, drop[t]);
                    hPrev = hs[t];
                }
            }
        }
        return new Result(x2, gates, recurrent, h);
    }

    /// <summary>The reset_after time loop of <see cref="Forward"/> with each step's element-wise part in one <see cref="FusedCells"/> pass.</summary>
    private static unsafe void FusedForwardResetAfter(Tensor gates, Tensor h0, Tensor recurrentKernel, Tensor? recurrentBias, Tensor? keep, Tensor h,
        Tensor recurrent, GateMasks? masks)
    {
        long steps = h.shape[0], b = h.shape[1], units = h.shape[2];
        using var views = torch.NewDisposeScope();
        h0 = h0.contiguous();
        recurrentBias = recurrentBias?.contiguous();
        var rec = torch.empty([b, 3 * units], h.dtype, h.device);
        float* pg = FusedCells.Pointer(gates), ph = FusedCells.Pointer(h), ph0 = FusedCells.Pointer(h0), pRec = FusedCells.Pointer(rec);
        float* pRecH = FusedCells.Pointer(recurrent), pBias = FusedCells.PointerOrNull(recurrentBias), pk = FusedCells.PointerOrNull(keep);
        long block = b * units;
        // A small layer does the recurrent product in C# too: no libtorch call and no tensor per step.
        bool small = masks is null && FusedCells.SmallProduct(b, units, 3);
        float* pu = small ? FusedCells.Pointer(recurrentKernel.contiguous()) : null;
        var hs = small ? null : h.unbind(0);
        for (int t = 0; t < steps; t++)
        {
            float* hp = t == 0 ? ph0 : ph + (t - 1) * block;
            if (small)
            {
                new Span<float>(pRec, (int)(3 * block)).Clear();
                FusedCells.AddProduct(hp, pu, pRec, (int)b, (int)units, 3 * (int)units);
            }
            else GateMasks.AddProduct(masks, rec, t == 0 ? h0 : hs![t - 1], recurrentKernel, 0);
            FusedCells.GruForwardStep(pg + t * 3 * block, pRec, pBias, hp, pRecH + t * block, ph + t * block, pk is null ? null : pk + t * b,
                (int)b, (int)units);
        }
    }

    /// <summary>The reset_after=False time loop of <see cref="Forward"/> with the element-wise parts in <see cref="FusedCells"/> passes.</summary>
    private static unsafe void FusedForwardResetBefore(Tensor gates, Tensor h0, Tensor recurrentKernel, Tensor? keep, Tensor h, GateMasks? masks)
    {
        long steps = h.shape[0], b = h.shape[1], units = h.shape[2];
        using var views = torch.NewDisposeScope();
        h0 = h0.contiguous();
        var g3 = gates.view(steps, b, 3 * units);
        var zr = g3.narrow(2, 0, 2 * units).unbind(0);
        var candidates = g3.narrow(2, 2 * units, units).unbind(0);
        var kernelZr = recurrentKernel.narrow(1, 0, 2 * units);
        var kernelH = recurrentKernel.narrow(1, 2 * units, units);
        var q = torch.empty([b, units], h.dtype, h.device);
        var hs = h.unbind(0);
        float* pg = FusedCells.Pointer(gates), ph = FusedCells.Pointer(h), ph0 = FusedCells.Pointer(h0), pq = FusedCells.Pointer(q);
        float* pk = FusedCells.PointerOrNull(keep);
        long block = b * units;
        Tensor hPrev = h0;
        var masksZr = masks?.Narrow(0, 2);
        for (int t = 0; t < steps; t++)
        {
            float* hp = t == 0 ? ph0 : ph + (t - 1) * block;
            GateMasks.AddProduct(masksZr, zr[t], hPrev, kernelZr, 1);
            FusedCells.GruResetBeforeGates(pg + t * 3 * block, hp, pq, (int)b, (int)units);
            // Under recurrent dropout the candidate's product takes q = r ⊙ (h ⊙ m_h).
            if (masks is not null) q.mul_(masks[2]);
            candidates[t].addmm_(q, kernelH);
            FusedCells.GruResetBeforeState(pg + t * 3 * block, hp, ph + t * block, pk is null ? null : pk + t * b, (int)b, (int)units);
            hPrev = hs[t];
        }
    }

    /// <summary>
    /// The reset_after=False backward time loop with the element-wise parts in <see cref="FusedCells"/> passes: the gate
    /// gradients (before activation) written over the gates <c>(T·B, 3u)</c>, the products <c>q = r ⊙ h_prev</c> of every
    /// step <c>(T·B, u)</c> (for the recurrent kernel's gradient) and the gradient of <c>h0</c>.
    /// </summary>
    private static unsafe (Tensor Dz, Tensor Q, Tensor Dh0) FusedBackwardResetBefore(Result r, Tensor h0, Tensor recurrentKernel, Tensor? keep, Tensor? dH,
        Tensor? dFinalH, bool overwriteGates, GateMasks? masks)
    {
        long steps = r.H.shape[0], b = r.H.shape[1], units = r.H.shape[2];
        // The time loop rewrites each step's gates in place; without overwriteGates it works on a copy.
        var dz = overwriteGates ? r.Gates : r.Gates.clone();
        var q = RecurrentKernels.Buffer([steps * b, units], r.H);
        var dh = new StateGradients(b, units, r.H, dFinalH);
        using (var views = torch.NewDisposeScope())
        {
            h0 = h0.contiguous();
            var kernelZrT = recurrentKernel.narrow(1, 0, 2 * units).t().contiguous();
            var kernelHT = recurrentKernel.narrow(1, 2 * units, units).t().contiguous();
            var g3 = dz.view(steps, b, 3 * units);
            var zrGrad = g3.narrow(2, 0, 2 * units).unbind(0);
            var candidateGrad = g3.narrow(2, 2 * units, units).unbind(0);
            var dq = torch.empty([b, units], r.H.dtype, r.H.device);
            var incoming = RecurrentKernels.Has(dH) ? dH!.contiguous() : null;
            float* pg = FusedCells.Pointer(dz), ph = FusedCells.Pointer(r.H), ph0 = FusedCells.Pointer(h0), pq = FusedCells.Pointer(q);
            float* pdq = FusedCells.Pointer(dq), pin = FusedCells.PointerOrNull(incoming), pk = FusedCells.PointerOrNull(keep);
            long block = b * units;
            var masksZr = masks?.Narrow(0, 2);
            for (long t = steps - 1; t >= 0; t--)
            {
                float* hp = t == 0 ? ph0 : ph + (t - 1) * block, gt = pg + t * 3 * block, kt = pk is null ? null : pk + t * b;
                FusedCells.GruResetBeforeBackwardGates(gt, hp, pin is null ? null : pin + t * block, dh.CurrentPointer, dh.NextPointer, kt, (int)b,
                    (int)units);
                dq.addmm_(candidateGrad[t], kernelHT, beta: 0);
                // Under recurrent dropout q = r ⊙ h ⊙ m_h: the gradients of r and h through q carry m_h, which scaling dq
                // gives both (the q kept for the weight gradient is masked after the loop).
                if (masks is not null) dq.mul_(masks[2]);
                FusedCells.GruResetBeforeBackwardReset(gt, hp, pdq, dh.NextPointer, pq + t * block, kt, (int)b, (int)units);
                GateMasks.AddBackward(masksZr, dh.Next, zrGrad[t], kernelZrT);
                dh.Swap();
            }
            if (masks is not null) q.view(steps, b, units).mul_(masks[2]);
        }
        return (dz, q, dh.Current);
    }

    /// <summary>
    /// The activated reset_after=False gates <c>[z, r, ĥ]</c> of every step from what the forward pass saved, without a
    /// time loop — for a second backward pass through a graph whose first one overwrote them.
    /// </summary>
    internal static Tensor RecomputeGatesResetBefore(Result r, Tensor h0, Tensor kernel, Tensor recurrentKernel, Tensor? bias, GateMasks? masks = null)
    {
        long steps = r.H.shape[0], b = r.H.shape[1], units = r.H.shape[2];
        var gates = RecurrentKernels.Projection(r.X2, kernel, bias);
        using var scope = torch.NewDisposeScope();
        var zr = gates.narrow(1, 0, 2 * units);
        zr.add_(GateMasks.PreviousTimes(masks?.Narrow(0, 2), h0, r.H, recurrentKernel, 0, 2)).sigmoid_();
        var previous = RecurrentKernels.PreviousStates(h0, r.H);
        previous.mul_(gates.narrow(1, units, units));
        if (masks is not null) previous.view(steps, b, units).mul_(masks[2]);
        gates.narrow(1, 2 * units, units).addmm_(previous, recurrentKernel.narrow(1, 2 * units, units)).tanh_();
        return gates;
    }

    /// <summary>
    /// The reset_after backward time loop with each step's element-wise part in one <see cref="FusedCells"/> pass: the
    /// gradient of the input projection <c>(T·B, 3u)</c>, the candidate block of the gradient of <c>h·U + b1</c>
    /// <c>(T·B, u)</c> (its other blocks equal the input projection's), and the gradient of <c>h0</c>.
    /// </summary>
    private static unsafe (Tensor DzIn, Tensor DRecH, Tensor Dh0) FusedBackwardResetAfter(Result r, Tensor h0, Tensor recurrentKernel, Tensor? keep,
        Tensor? dH, Tensor? dFinalH, bool overwriteGates, GateMasks? masks)
    {
        long steps = r.H.shape[0], b = r.H.shape[1], units = r.H.shape[2];
        // Each step's gates are read once, just before its gradients are written: they can share the buffer.
        var dzIn = overwriteGates ? r.Gates : RecurrentKernels.Buffer(r.Gates.shape, r.Gates);
        var dRecH = RecurrentKernels.Buffer([steps * b, units], r.H);
        var dh = new StateGradients(b, units, r.H, dFinalH);
        using (var views = torch.NewDisposeScope())
        {
            h0 = h0.contiguous();
            var dRec = torch.empty([b, 3 * units], r.H.dtype, r.H.device);
            var incoming = RecurrentKernels.Has(dH) ? dH!.contiguous() : null;
            float* pg = FusedCells.Pointer(r.Gates), pRecH = FusedCells.Pointer(r.Recurrent!), ph = FusedCells.Pointer(r.H), ph0 = FusedCells.Pointer(h0);
            float* pin = FusedCells.PointerOrNull(incoming), pk = FusedCells.PointerOrNull(keep), pz = FusedCells.Pointer(dzIn);
            float* pRec = FusedCells.Pointer(dRec), pdRecH = FusedCells.Pointer(dRecH);
            long block = b * units;
            bool small = masks is null && FusedCells.SmallProduct(b, units, 3);
            float* pu = small ? FusedCells.Pointer(recurrentKernel.contiguous()) : null;
            var recurrentT = small ? null : recurrentKernel.t().contiguous();
            for (long t = steps - 1; t >= 0; t--)
            {
                FusedCells.GruBackwardStep(pg + t * 3 * block, pRecH + t * block, t == 0 ? ph0 : ph + (t - 1) * block, pin is null ? null : pin + t * block,
                    dh.CurrentPointer, pz + t * 3 * block, pRec, pdRecH + t * block, dh.NextPointer, pk is null ? null : pk + t * b, (int)b,
                    (int)units);
                if (small) FusedCells.AddProductTransposed(pRec, pu, dh.NextPointer, (int)b, 3 * (int)units, (int)units);
                else GateMasks.AddBackward(masks, dh.Next, dRec, recurrentT!);
                dh.Swap();
            }
        }
        return (dzIn, dRecH, dh.Current);
    }

    /// <summary>
    /// The activated reset_after gates <c>[z, r, ĥ]</c> of every step from what the forward pass saved, without a time
    /// loop — for a second backward pass through a graph whose first one overwrote them (equal to the forward's gates
    /// to fp32 rounding).
    /// </summary>
    internal static Tensor RecomputeGatesResetAfter(Result r, Tensor h0, Tensor kernel, Tensor recurrentKernel, Tensor? bias, GateMasks? masks = null)
    {
        long units = r.H.shape[2];
        var gates = RecurrentKernels.Projection(r.X2, kernel, bias?[0]);
        using var scope = torch.NewDisposeScope();
        var recZr = GateMasks.PreviousTimes(masks, h0, r.H, recurrentKernel, 0, 2);
        if (bias is not null) recZr.add_(bias[1].narrow(0, 0, 2 * units));
        var zr = gates.narrow(1, 0, 2 * units);
        zr.add_(recZr).sigmoid_();
        gates.narrow(1, 2 * units, units).addcmul_(gates.narrow(1, units, units), r.Recurrent!.view(-1, units), RecurrentKernels.One).tanh_();
        return gates;
    }

    /// <summary>
    /// Backward pass; <paramref name="dH"/> is the gradient of the time-major states after every step (or invalid),
    /// <paramref name="dFinalH"/> that of the final state output (or invalid).
    /// <paramref name="overwriteGates"/>: the fused CPU path may write the gate gradients over <c>r.Gates</c>;
    /// <paramref name="fused"/>: whether to take that path (default: where <see cref="FusedCells"/> applies).
    /// </summary>
    /// <remarks>
    /// Memory of the unfused path: besides what the forward pass saved, backward allocates the gate-gradient buffer <c>w</c> <c>(T, B, 3u)</c>
    /// and the state-gradient buffer <c>(T, B, u)</c>; the states entering every step are read as views (<c>h0</c> and
    /// <c>H[0 … T−2]</c>) instead of being concatenated, products such as <c>z(1 − z)</c> are formed in place, and
    /// <c>(1 − z)(1 − ĥ²)</c> is written straight into <c>w</c> where it is not needed after the time loop. Saved tensors
    /// are never modified (a graph kept with <c>retain_graph</c> can run backward again).
    /// </remarks>
    internal static (Tensor? DX, Tensor? DH0, Tensor? DKernel, Tensor? DRecurrent, Tensor? DBias) Backward(Result r, Tensor h0, Tensor kernel,
        Tensor recurrentKernel, bool hasBias, Tensor? keep, Tensor? dH, bool[] needs, bool resetAfter, bool overwriteGates = false, bool? fused = null,
        Tensor? dFinalH = null, GateMasks? masks = null)
    {
        long steps = r.H.shape[0], b = r.H.shape[1], units = r.H.shape[2];
        bool useFused = fused ?? FusedCells.AppliesTo(r.Gates);
        if (resetAfter && useFused)
        {
            var (dzIn, dRecH, fh0) = FusedBackwardResetAfter(r, h0, recurrentKernel, keep, dH, dFinalH, overwriteGates, masks);
            var dZr = dzIn.narrow(1, 0, 2 * units);
            var (fdx, fdk, fdbInput) = RecurrentKernels.ProjectionGradients(dzIn, r.X2, kernel, b, steps, needs[0], needs[2], needs[4] && hasBias);
            var fdr = needs[3]
                ? torch.cat([GateMasks.PreviousTransposedTimes(masks, h0, r.H, dZr, 0), GateMasks.PreviousTransposedTimes(masks, h0, r.H, dRecH, 2)], 1)
                : null;
            var fdb = fdbInput is null ? null : torch.stack([fdbInput, torch.cat([fdbInput.narrow(0, 0, 2 * units), dRecH.sum(0L)])]);
            return (fdx, needs[1] ? fh0 : null, fdk, fdr, fdb);
        }
        if (useFused)
        {
            var (fdz, q, fh0) = FusedBackwardResetBefore(r, h0, recurrentKernel, keep, dH, dFinalH, overwriteGates, masks);
            var (fdx, fdk, fdb) = RecurrentKernels.ProjectionGradients(fdz, r.X2, kernel, b, steps, needs[0], needs[2], needs[4] && hasBias);
            var fdr = needs[3]
                ? torch.cat([GateMasks.PreviousTransposedTimes(masks?.Narrow(0, 2), h0, r.H, fdz.narrow(1, 0, 2 * units), 0),
                    q.t().mm(fdz.narrow(1, 2 * units, units))], 1)
                : null;
            return (fdx, needs[1] ? fh0 : null, fdk, fdr, fdb);
        }
        var g4 = r.Gates.view(steps, b, 3, units);
        var z = g4.select(2, 0);
        var reset = g4.select(2, 1);
        var candidate = g4.select(2, 2);
        var w = torch.empty([steps, b, 3, units], r.H.dtype, r.H.device);
        var wz = w.select(2, 0);
        var wr = w.select(2, 1);
        var wh = w.select(2, 2);
        // Per unit of dh: dz before σ = (h_prev − ĥ)·z(1 − z), written as w − w·z after w = (h_prev − ĥ)·z.
        wz.select(0, 0).copy_(h0);
        if (steps > 1) wz.narrow(0, 1, steps - 1).copy_(r.H.narrow(0, 0, steps - 1));
        wz.sub_(candidate).mul_(z);
        wz.addcmul_(wz, z, -1.0);
        var k3 = keep?.unsqueeze(-1);
        if (k3 is not null) wz.mul_(k3);
        // dĥ before tanh, per unit of dh: f = (1 − ĥ²)(1 − z), zero at masked steps. With reset_after it is needed after
        // the time loop too; otherwise it is w's candidate block.
        var fh = resetAfter ? torch.empty_like(r.Recurrent!) : wh;
        fh.copy_(candidate).mul_(candidate).neg_().add_(1);
        fh.addcmul_(fh, z, -1.0);
        if (k3 is not null) fh.mul_(k3);
        // dh_prev = dh·z + (gate gradients)·Uᵀ; a masked step passes dh on unchanged (carry 1, no gate gradient).
        var carry = k3 is null ? z : z.mul(k3).add_(torch.ones_like(k3).sub_(k3));
        var dh = RecurrentKernels.GradientBuffer(dH, [steps, b, units], r.H);
        if (RecurrentKernels.Has(dFinalH)) dh.select(0, steps - 1).add_(dFinalH!);
        var dh0 = torch.zeros_like(h0);
        var one = RecurrentKernels.One;
        Tensor dz, dr;
        if (resetAfter)
        {
            // The gradient of h·U + b1 of a step is dh ⊙ w with w = [w_z, f·(h·U_h + b1_h)·r(1 − r), f·r].
            wr.copy_(reset).addcmul_(reset, reset, -1.0).mul_(r.Recurrent!).mul_(fh);
            wh.copy_(fh).mul_(reset);
            var recurrentT = recurrentKernel.t().contiguous();
            using (var views = torch.NewDisposeScope())
            {
                var dhs = dh.unbind(0);
                var dhRows = dh.unsqueeze(2).unbind(0);
                var ws = w.unbind(0);
                var wFlat = w.view(steps, b, 3 * units).unbind(0);
                var carries = carry.unbind(0);
                for (long t = steps - 1; t >= 0; t--)
                {
                    ws[t].mul_(dhRows[t]);
                    var dhPrev = t > 0 ? dhs[t - 1] : dh0;
                    GateMasks.AddBackward(masks, dhPrev, wFlat[t], recurrentT);
                    dhPrev.addcmul_(dhs[t], carries[t], one);
                }
            }
            var dRec = w.view(steps * b, 3 * units);
            dr = needs[3] ? GateMasks.PreviousTransposedTimes(masks, h0, r.H, dRec, 0) : null!;
            var dRecBias = needs[4] && hasBias ? dRec.sum(0L) : null;
            // The input projection's gradient differs only in the candidate block: dh·(1 − z)(1 − ĥ²), without r.
            wh.copy_(fh).mul_(dh);
            dz = w.view(steps * b, 3 * units);
            var (dx, dk, dbInput) = RecurrentKernels.ProjectionGradients(dz, r.X2, kernel, b, steps, needs[0], needs[2], needs[4] && hasBias);
            var db = dbInput is null ? null : torch.stack([dbInput, dRecBias!]);
            return (dx, needs[1] ? dh0 : null, dk, dr, db);
        }
        else
        {
            // w = [w_z, h_prev·r(1 − r) (times dq), (1 − z)(1 − ĥ²)]; dq = dĥ_pre·U_hᵀ is the gradient of r ⊙ h.
            wr.select(0, 0).copy_(h0);
            if (steps > 1) wr.narrow(0, 1, steps - 1).copy_(r.H.narrow(0, 0, steps - 1));
            // Under recurrent dropout q = r ⊙ h_prev ⊙ m_h.
            if (masks is not null) wr.mul_(masks[2]);
            wr.mul_(reset).addcmul_(wr, reset, -1.0);
            var masksZr = masks?.Narrow(0, 2);
            var kernelZrT = recurrentKernel.narrow(1, 0, 2 * units).t().contiguous();
            var kernelHT = recurrentKernel.narrow(1, 2 * units, units).t().contiguous();
            using (var views = torch.NewDisposeScope())
            {
                var dhs = dh.unbind(0);
                var w3 = w.view(steps, b, 3 * units);
                var wZ = wz.unbind(0);
                var wR = wr.unbind(0);
                var wH = wh.unbind(0);
                var wZr = w3.narrow(2, 0, 2 * units).unbind(0);
                var rs = reset.unbind(0);
                var carries = carry.unbind(0);
                for (long t = steps - 1; t >= 0; t--)
                {
                    var dht = dhs[t];
                    wZ[t].mul_(dht);
                    wH[t].mul_(dht);
                    using var dq = wH[t].mm(kernelHT);
                    wR[t].mul_(dq);
                    var dhPrev = t > 0 ? dhs[t - 1] : dh0;
                    GateMasks.AddBackward(masksZr, dhPrev, wZr[t], kernelZrT);
                    dhPrev.addcmul_(dht, carries[t], one);
                    if (masks is not null) dq.mul_(masks[2]);
                    dhPrev.addcmul_(dq, rs[t], one);
                }
            }
            dz = w.view(steps * b, 3 * units);
            var (dx, dk, db) = RecurrentKernels.ProjectionGradients(dz, r.X2, kernel, b, steps, needs[0], needs[2], needs[4] && hasBias);
            if (needs[3])
            {
                var dZr = GateMasks.PreviousTransposedTimes(masksZr, h0, r.H, dz.narrow(1, 0, 2 * units), 0);
                // (r ⊙ h_prev)ᵀ·dĥ_pre, with r ⊙ h_prev formed in the state-gradient buffer (dead after the time loop).
                var resetH = dh;
                resetH.select(0, 0).copy_(h0);
                if (steps > 1) resetH.narrow(0, 1, steps - 1).copy_(r.H.narrow(0, 0, steps - 1));
                resetH.mul_(reset);
                if (masks is not null) resetH.mul_(masks[2]);
                var dRh = resetH.view(steps * b, units).t().mm(dz.narrow(1, 2 * units, units));
                dr = torch.cat([dZr, dRh], 1);
            }
            else dr = null!;
            return (dx, needs[1] ? dh0 : null, dk, dr, db);
        }
    }

    /// <summary>The custom autograd function: inputs <c>(x, h0, kernel, recurrent_kernel, bias?, keep?, resetAfter, recurrent dropout masks?)</c>, outputs time-major
    /// <c>H</c> and a copy of the final state (see <see cref="RecurrentKernels.Run"/>).</summary>
    internal sealed class Function : MultiTensorFunction<Function>
    {
        /// <inheritdoc />
        public override string Name => "KerasRnnGru";

        /// <inheritdoc />
        public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
        {
            var arguments = SingleStateArguments.From(vars);
            var (x, h0, kernel, recurrent, bias, keep, resetAfter) = arguments;
            var recurrentMasks = vars.Length > 7 ? vars[7] as Tensor : null;
            using var scope = torch.NewDisposeScope();
            var r = Forward(x, h0, kernel, recurrent, bias, keep, resetAfter, recurrentMasks is null ? null : new GateMasks(recurrentMasks));
            ctx.save_for_backward([r.X2, r.Gates, r.Recurrent!, r.H, h0, kernel, recurrent, keep!, bias!, recurrentMasks!]);
            ctx.save_data("gatesOverwritten", new StrongBox<bool>(false));
            ctx.save_data("needs", arguments.Needs());
            ctx.save_data("resetAfter", resetAfter);
            ctx.save_data("hasBias", bias is not null);
            ctx.set_materialize_grads(false);
            r.X2.MoveToOuterDisposeScope();
            r.Gates.MoveToOuterDisposeScope();
            r.Recurrent?.MoveToOuterDisposeScope();
            var final = r.H.select(0, r.H.shape[0] - 1).clone();
            return [r.H.MoveToOuterDisposeScope(), final.MoveToOuterDisposeScope()];
        }

        /// <inheritdoc />
        public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
        {
            using var scope = torch.NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var needs = (bool[])ctx.get_data("needs");
            bool resetAfter = (bool)ctx.get_data("resetAfter");
            bool hasBias = (bool)ctx.get_data("hasBias");
            var r = new Result(saved[0], saved[1], RecurrentKernels.Has(saved[2]) ? saved[2] : null, saved[3]);
            // The first backward pass (fused CPU path) writes the gate gradients over the saved gates; a second one through
            // the same graph (retain_graph) recomputes them first.
            var overwritten = (StrongBox<bool>)ctx.get_data("gatesOverwritten");
            var savedBias = RecurrentKernels.Has(saved[8]) ? saved[8] : null;
            var masks = RecurrentKernels.Has(saved[9]) ? new GateMasks(saved[9]) : null;
            if (overwritten.Value)
                r = r with
                {
                    Gates = resetAfter
                        ? RecomputeGatesResetAfter(r, saved[4], saved[5], saved[6], savedBias, masks)
                        : RecomputeGatesResetBefore(r, saved[4], saved[5], saved[6], savedBias, masks),
                };
            // Decided once: the flag must say exactly whether this pass overwrites the saved gates.
            bool fused = FusedCells.AppliesTo(r.Gates);
            if (!overwritten.Value) overwritten.Value = fused;
            var (dx, dh0, dk, dr, db) = Backward(r, saved[4], saved[5], saved[6], hasBias, RecurrentKernels.Has(saved[7]) ? saved[7] : null,
                gradOutputs[0], needs, resetAfter, overwriteGates: true, fused: fused, dFinalH: gradOutputs.Count > 1 ? gradOutputs[1] : null,
                masks: masks);
            return [dx?.MoveToOuterDisposeScope()!, dh0?.MoveToOuterDisposeScope()!, dk?.MoveToOuterDisposeScope()!,
                dr?.MoveToOuterDisposeScope()!, db?.MoveToOuterDisposeScope()!, null!, null!, null!];
        }
    }
}
