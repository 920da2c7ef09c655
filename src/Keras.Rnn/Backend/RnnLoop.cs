using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>One recurrent step: (input or projected input at t, states) → (output, new states).</summary>
internal delegate (Tensor Output, IReadOnlyList<Tensor> States) RnnStep(Tensor input, IReadOnlyList<Tensor> states);

/// <summary>
/// The generic time loop of a recurrent layer (Keras' <c>backend.rnn</c>), with Keras' exact masking rules: at a
/// masked step the states are carried over unchanged and the output repeats the previous step's output (zeros
/// before the first unmasked step), or is zero with <c>zeroOutputForMask</c>; masked steps may be anywhere.
/// </summary>
internal static class RnnLoop
{
    /// <summary>Runs the loop.</summary>
    /// <param name="step">The step function.</param>
    /// <param name="inputs">Per-step inputs, batch first <c>(B, T, ...)</c>.</param>
    /// <param name="initialStates">Initial states.</param>
    /// <param name="goBackwards">Process <c>x[T−1..0]</c>; outputs stay in processing order.</param>
    /// <param name="mask">Boolean <c>(B, T)</c> mask or <c>null</c>.</param>
    /// <param name="zeroOutputForMask">Zeros instead of repeated outputs at masked steps.</param>
    /// <param name="returnAllOutputs">Whether to stack every step's output.</param>
    /// <returns>Last output <c>(B, O)</c>, all outputs <c>(B, T, O)</c> (or the last one as <c>(B, 1, O)</c>), final states.</returns>
    public static (Tensor Last, Tensor Outputs, IReadOnlyList<Tensor> States) Run(RnnStep step, Tensor inputs,
        IReadOnlyList<Tensor> initialStates, bool goBackwards, Tensor? mask, bool zeroOutputForMask, bool returnAllOutputs)
    {
        long steps = inputs.shape[1];
        if (steps == 0)
            throw new ArgumentException("A recurrent layer received a sequence with 0 time steps.");
        var timeMajor = inputs.transpose(0, 1);
        var stepInputs = timeMajor.unbind(0);
        Tensor[]? stepMasks = null;
        if (mask is not null)
        {
            var m = mask.to_type(ScalarType.Bool).transpose(0, 1).unsqueeze(-1); // (T, B, 1)
            stepMasks = m.unbind(0);
        }

        var states = initialStates.ToArray();
        var outputs = new List<Tensor>((int)steps);
        Tensor? previous = null;
        for (long i = 0; i < steps; i++)
        {
            long t = goBackwards ? steps - 1 - i : i;
            var (output, newStates) = step(stepInputs[t], states);
            if (newStates.Count != states.Length)
                throw new InvalidOperationException($"The RNN cell returned {newStates.Count} states, but its state_size declares {states.Length}.");
            if (stepMasks is not null)
            {
                var keep = stepMasks[t];
                previous ??= torch.zeros_like(output);
                output = torch.where(keep, output, zeroOutputForMask ? torch.zeros_like(output) : previous);
                for (int k = 0; k < states.Length; k++)
                    states[k] = torch.where(keep, newStates[k], states[k]);
                previous = output;
            }
            else
            {
                for (int k = 0; k < states.Length; k++) states[k] = newStates[k];
            }
            if (returnAllOutputs || i == steps - 1) outputs.Add(output);
        }
        var last = outputs[^1];
        var stacked = returnAllOutputs ? torch.stack(outputs, 1) : last.unsqueeze(1);
        return (last, stacked, states);
    }
}
