using Keras.Rnn.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Keras.Rnn.Backend;

/// <summary>
/// Finds a layer's output shapes by running it on small zero tensors, for layers that do not compute shapes
/// themselves (typically user-written ones). Unknown dimensions are tried with two sizes; an output dimension that
/// changes between the two runs is unknown too (the approach of Keras' torch backend).
/// </summary>
internal static class SymbolicShapeInference
{
    public static IReadOnlyList<Shape> Infer(Layer layer, IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments)
    {
        var first = Run(layer, inputShapes, arguments, 2);
        var second = inputShapes.Any(s => !s.IsFullyDefined) ? Run(layer, inputShapes, arguments, 3) : first;
        if (first.Count != second.Count)
            throw new KerasLayerException(layer, "the number of outputs depends on the input size; override ComputeOutputShapes.");
        var result = new List<Shape>();
        for (int i = 0; i < first.Count; i++)
        {
            if (first[i].Length != second[i].Length)
                throw new KerasLayerException(layer, "the output rank depends on the input size; override ComputeOutputShapes.");
            result.Add(new Shape(first[i].Select((d, k) => d == second[i][k] ? (int?)checked((int)d) : null).ToArray()));
        }
        return result;
    }

    private static List<long[]> Run(Layer layer, IReadOnlyList<Shape> inputShapes, IReadOnlyDictionary<string, object?> arguments, int unknownSize)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var device = layer.Weights.Count > 0 ? layer.Weights[0].Value.device : torch.CPU;
        var inputs = inputShapes.Select(s => torch.zeros(s.Select(d => (long)(d ?? unknownSize)).ToArray(), ScalarType.Float32, device)).ToList();
        var context = new CallContext(false, new Tensor?[inputs.Count], null, arguments, null);
        var outputs = layer.CallAll(inputs, context);
        return outputs.Select(o => o.shape).ToList();
    }
}
