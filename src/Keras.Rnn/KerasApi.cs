using Keras.Rnn.Backend;
using Keras.Rnn.Layers;
using Keras.Rnn.Utils;
using TorchSharp;

namespace Keras.Rnn;

/// <summary>
/// Top-level functions of the Keras API: <see cref="Input"/> for functional models, <see cref="SetRandomSeed"/> and
/// <see cref="ClearSession"/>. Import them with <c>using static Keras.Rnn.KerasApi;</c> to write Keras-like code.
/// </summary>
/// <example>
/// <code>
/// using static Keras.Rnn.KerasApi;
/// SetRandomSeed(42);
/// var inputs = Input(shape: [null, 8]);
/// var x = new LSTM(32, returnSequences: true).Apply(inputs);
/// var outputs = new Dense(1).Apply(new LSTM(16).Apply(x));
/// var model = new Model(inputs, outputs);
/// </code>
/// </example>
public static class KerasApi
{
    /// <summary>Creates a symbolic input (Keras' <c>keras.Input</c>).</summary>
    /// <param name="shape">Shape without the batch dimension; <c>null</c> entries are variable (e.g. sequence length).</param>
    /// <param name="batchSize">Fixed batch size, or <c>null</c> (default) for any.</param>
    /// <param name="dtype">Dtype: <c>"float32"</c> (default), <c>"int32"</c>/<c>"int64"</c> for token ids, or <c>"bool"</c>.</param>
    /// <param name="name">Name of the input (default <c>input_layer</c>, made unique).</param>
    /// <returns>The symbolic input tensor.</returns>
    public static KerasTensor Input(Shape shape, int? batchSize = null, string dtype = "float32", string? name = null) =>
        new InputLayer(shape, batchSize, dtype, name).Output;

    /// <summary>
    /// Seeds every source of randomness (Keras' <c>keras.utils.set_random_seed</c>): weight initialisation, dropout and
    /// the shuffling in <c>Fit</c>. With the same seed, a CPU run repeats exactly.
    /// </summary>
    /// <param name="seed">The seed.</param>
    public static void SetRandomSeed(int seed)
    {
        NativeLibraries.EnsureLoaded();
        torch.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
        RandomState.Seed(seed);
    }

    /// <summary>Resets automatic layer names (<c>lstm</c>, <c>lstm_1</c>, ... start again), like Keras' <c>clear_session</c>.</summary>
    public static void ClearSession() => Naming.Reset();
}
