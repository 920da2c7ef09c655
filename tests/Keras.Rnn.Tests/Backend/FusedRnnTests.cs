using Keras.Rnn.Backend;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Keras.Rnn.Tests.Backend;

public class FusedRnnTests
{
    /// <summary>
    /// The parameter list handed to cuDNN lies in one buffer, in order and without gaps (cuDNN's weight layout: a
    /// parameter starts where the previous one ends), keeps each parameter's shape and values, and passes gradients
    /// back to the Keras-layout weights it was made from.
    /// </summary>
    [Fact]
    public void ParametersInOneBufferAreOrderedGaplessViewsThatPassGradients()
    {
        var kernel = torch.randn(5, 8).requires_grad_(true);          // Keras (in, 4u), u = 2
        var recurrent = torch.randn(2, 8).requires_grad_(true);       // Keras (u, 4u)
        var bias = torch.randn(8).requires_grad_(true);
        var parts = new[] { kernel.t(), recurrent.t(), bias, torch.zeros(8) };
        var views = FusedRnn.InOneBuffer(parts);

        long offset = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            Assert.Equal(parts[i].shape, views[i].shape);
            Assert.True(views[i].is_contiguous());
            Assert.Equal(offset, views[i].storage_offset());
            Assert.True(views[i].allclose(parts[i].detach(), 0, 0));
            offset += parts[i].numel();
        }
        // A weighted sum of the views (weight i + 1 for parameter i) gives each source that weight as its gradient, in
        // Keras' layout.
        var weights = views.Select((v, i) => torch.full_like(v, i + 1)).ToArray();
        var loss = views.Zip(weights, (v, w) => v.mul(w).sum()).Aggregate((a, b) => a.add(b));
        loss.backward();
        Assert.True(kernel.grad!.allclose(torch.full(5, 8, 1f), 0, 0));
        Assert.True(recurrent.grad!.allclose(torch.full(2, 8, 2f), 0, 0));
        Assert.True(bias.grad!.allclose(torch.full(8, 3f), 0, 0));
    }
}

