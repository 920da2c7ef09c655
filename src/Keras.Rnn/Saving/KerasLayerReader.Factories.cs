using System.Text.Json;
using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;

namespace Keras.Rnn.Saving;

internal static partial class KerasLayerReader
{
    // Each factory reads the arguments of the Keras class's __init__ (and the legacy ones Keras accepts), with
    // Keras' defaults for absent ones. Common arguments (trainable, dtype, activity_regularizer, input shapes) are read
    // by ApplyCommon afterwards.

    /// <summary>Keras 3's <c>keras.ops.not_equal</c> node; its constant operand comes with the call (see the graph reader).</summary>
    private static Layer NotEqualOperation(ConfigArgs a, string? name) => new NotEqual(0, name);

    /// <summary>tf.keras' wrapper of a TensorFlow function in a functional graph; only the mask comparison is supported.</summary>
    private static Layer TfOpLambda(ConfigArgs a, string? name)
    {
        var function = a.String("function");
        a.Ignore("symbol");
        return function is "math.not_equal" or "not_equal"
            ? new NotEqual(0, name)
            : throw a.Fail($"TFOpLambda wraps the TensorFlow function '{function}', which has no Keras.Rnn equivalent (only math.not_equal, used for masks, is supported).");
    }

    private static Layer Dense(ConfigArgs a, string? name)
    {
        IgnoreInactiveQuantization(a);
        return new Dense(a.Size("units"), a.Activation("activation", ActivationFunction.Linear), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("bias_initializer", () => new Zeros()),
            a.Regularizer("kernel_regularizer"), a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"),
            a.Constraint("bias_constraint"), name);
    }

    /// <summary>Keras 3's LoRA and quantization options are accepted only when unused.</summary>
    private static void IgnoreInactiveQuantization(ConfigArgs a)
    {
        if (a.NullableInt("lora_rank", 0, int.MaxValue) is > 0)
            throw a.Fail("LoRA (lora_rank > 0) is not supported.");
        a.Ignore("lora_alpha");
        if (a.Node("quantization_config") is { } q)
            throw a.Bad("quantization_config", "null (quantized layers are not supported)", q);
    }

    private static Layer Embedding(ConfigArgs a, string? name)
    {
        IgnoreInactiveQuantization(a);
        // Keras 3 drops Keras 2's `input_length` with a warning; it only mattered for the input shape.
        if (a.NullableInt("input_length", 0, ConfigArgs.MaxSize) is { } length && !a.Has("batch_input_shape") && !a.Has("input_shape"))
            a.Raw["batch_input_shape"] = new JsonArray(null, length);
        if (a.Bool("sparse", false)) throw a.Fail("sparse embeddings (sparse=true) are not supported.");
        // A vocabulary may be large; the weight budget bounds input_dim × output_dim.
        return new Embedding(a.Int("input_dim", 1, int.MaxValue), a.Size("output_dim"),
            a.Initializer("embeddings_initializer", () => new RandomUniform()), a.Regularizer("embeddings_regularizer"),
            a.Constraint("embeddings_constraint"), a.Bool("mask_zero", false), name);
    }

    private static Layer Masking(ConfigArgs a, string? name) => new Masking(a.Double("mask_value", 0.0), name);

    private static Layer Dropout(ConfigArgs a, string? name) =>
        new Dropout(a.Double("rate", 0.0, 0.0, 1.0), a.Shape("noise_shape"), a.NullableInt("seed"), name);

    private static Layer ActivationLayer(ConfigArgs a, string? name)
    {
        if (!a.HasValue("activation")) throw a.Bad("activation", "an activation name", a.Node("activation"));
        return new Activation(a.Activation("activation", ActivationFunction.Linear), name);
    }

    private static Layer RepeatVector(ConfigArgs a, string? name) => new RepeatVector(a.Size("n"), name);

    private static Layer Flatten(ConfigArgs a, string? name)
    {
        var format = a.String("data_format", "channels_last");
        if (format != "channels_last")
            throw a.Bad("data_format", "\"channels_last\" (channels_first is not supported)", a.Raw["data_format"]);
        return new Flatten(name);
    }

    private static Layer Reshape(ConfigArgs a, string? name)
    {
        var target = a.IntList("target_shape", -1, ConfigArgs.MaxSize) ?? throw a.Bad("target_shape", "a list of sizes", a.Node("target_shape"));
        return new Reshape(target, name);
    }

    private static Layer Concatenate(ConfigArgs a, string? name)
    {
        // Keras 2 wrote the axis as a one-element list in some versions.
        var axis = a.IntList("axis", -64, 64) ?? [-1];
        if (axis.Length != 1) throw a.Bad("axis", "one integer axis", a.Raw["axis"]);
        return new Concatenate(axis[0], name);
    }

    private static Layer AddLayer(ConfigArgs a, string? name) => new Add(name);

    // ------------------------------------------------------------------ recurrent layers

    /// <summary>
    /// Keras' <c>implementation</c> (1 or 2; Keras 2's 0 — precomputed input projections with one dropout mask per
    /// gate, the same math — is taken as 1). Recurrent dropout forces 1, as in Keras.
    /// </summary>
    private static int Implementation(ConfigArgs a) => a.Int("implementation", 2, 0, 2) switch
    {
        0 => 1,
        var i => i,
    };

    /// <summary><c>use_cudnn</c>: <c>"auto"</c> (null here), or a boolean.</summary>
    private static bool? UseCudnn(ConfigArgs a)
    {
        var node = a.Node("use_cudnn");
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == "auto") return null;
        if (node is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return b.GetValue<bool>();
        throw a.Bad("use_cudnn", "\"auto\" or a boolean", node);
    }

    /// <summary>tf.keras' <c>time_major</c>: only batch-major inputs are supported.</summary>
    private static void RejectTimeMajor(ConfigArgs a)
    {
        if (a.Bool("time_major", false)) throw a.Fail("time_major=true is not supported (inputs are batch-major).");
    }

    private static void ApplyZeroOutputForMask(RNN layer, ConfigArgs a)
    {
        if (a.Bool("zero_output_for_mask", false)) layer.ZeroOutputForMask = true;
    }

    private static double Rate(ConfigArgs a, string key) => a.Double(key, 0.0, 0.0, 1.0);

    /// <summary>GRU's <c>reset_after</c>: absent means false for Keras 1 and 2 (their default), true for Keras 3.</summary>
    private static bool ResetAfter(ConfigArgs a) => a.Bool("reset_after", !a.Context.IsLegacy);

    private static Layer SimpleRnn(ConfigArgs a, string? name)
    {
        RejectTimeMajor(a);
        a.Ignore("implementation"); // Keras 2.0's SimpleRNN took it; it has no effect on a SimpleRNN.
        var layer = new SimpleRNN(a.Size("units"), a.Activation("activation", ActivationFunction.Tanh), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("recurrent_initializer", () => new Orthogonal()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Regularizer("kernel_regularizer"), a.Regularizer("recurrent_regularizer"),
            a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"), a.Constraint("recurrent_constraint"),
            a.Constraint("bias_constraint"), Rate(a, "dropout"), Rate(a, "recurrent_dropout"), a.NullableInt("seed"),
            a.Bool("return_sequences", false), a.Bool("return_state", false), a.Bool("go_backwards", false), a.Bool("stateful", false),
            a.Bool("unroll", false), name);
        ApplyZeroOutputForMask(layer, a);
        return layer;
    }

    private static Layer Lstm(ConfigArgs a, string? name)
    {
        RejectTimeMajor(a);
        var layer = new LSTM(a.Size("units"), a.Activation("activation", ActivationFunction.Tanh),
            a.Activation("recurrent_activation", ActivationFunction.Sigmoid), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("recurrent_initializer", () => new Orthogonal()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Bool("unit_forget_bias", true), a.Regularizer("kernel_regularizer"),
            a.Regularizer("recurrent_regularizer"), a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"),
            a.Constraint("recurrent_constraint"), a.Constraint("bias_constraint"), Rate(a, "dropout"), Rate(a, "recurrent_dropout"),
            a.NullableInt("seed"), a.Bool("return_sequences", false), a.Bool("return_state", false), a.Bool("go_backwards", false),
            a.Bool("stateful", false), a.Bool("unroll", false), UseCudnn(a), name, Implementation(a));
        ApplyZeroOutputForMask(layer, a);
        return layer;
    }

    private static Layer Gru(ConfigArgs a, string? name)
    {
        RejectTimeMajor(a);
        var layer = new GRU(a.Size("units"), a.Activation("activation", ActivationFunction.Tanh),
            a.Activation("recurrent_activation", ActivationFunction.Sigmoid), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("recurrent_initializer", () => new Orthogonal()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Regularizer("kernel_regularizer"), a.Regularizer("recurrent_regularizer"),
            a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"), a.Constraint("recurrent_constraint"),
            a.Constraint("bias_constraint"), Rate(a, "dropout"), Rate(a, "recurrent_dropout"), a.NullableInt("seed"),
            a.Bool("return_sequences", false), a.Bool("return_state", false), a.Bool("go_backwards", false), a.Bool("stateful", false),
            a.Bool("unroll", false), ResetAfter(a), UseCudnn(a), name, Implementation(a));
        ApplyZeroOutputForMask(layer, a);
        return layer;
    }

    private static Layer SimpleRnnCell(ConfigArgs a, string? name) =>
        new SimpleRNNCell(a.Size("units"), a.Activation("activation", ActivationFunction.Tanh), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("recurrent_initializer", () => new Orthogonal()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Regularizer("kernel_regularizer"), a.Regularizer("recurrent_regularizer"),
            a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"), a.Constraint("recurrent_constraint"),
            a.Constraint("bias_constraint"), Rate(a, "dropout"), Rate(a, "recurrent_dropout"), a.NullableInt("seed"), name);

    private static Layer LstmCell(ConfigArgs a, string? name) =>
        new LSTMCell(a.Size("units"), a.Activation("activation", ActivationFunction.Tanh),
            a.Activation("recurrent_activation", ActivationFunction.Sigmoid), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("recurrent_initializer", () => new Orthogonal()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Bool("unit_forget_bias", true), a.Regularizer("kernel_regularizer"),
            a.Regularizer("recurrent_regularizer"), a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"),
            a.Constraint("recurrent_constraint"), a.Constraint("bias_constraint"), Rate(a, "dropout"), Rate(a, "recurrent_dropout"),
            a.NullableInt("seed"), Implementation(a), name);

    private static Layer GruCell(ConfigArgs a, string? name) =>
        new GRUCell(a.Size("units"), a.Activation("activation", ActivationFunction.Tanh),
            a.Activation("recurrent_activation", ActivationFunction.Sigmoid), a.Bool("use_bias", true),
            a.Initializer("kernel_initializer", () => new GlorotUniform()), a.Initializer("recurrent_initializer", () => new Orthogonal()),
            a.Initializer("bias_initializer", () => new Zeros()), a.Regularizer("kernel_regularizer"), a.Regularizer("recurrent_regularizer"),
            a.Regularizer("bias_regularizer"), a.Constraint("kernel_constraint"), a.Constraint("recurrent_constraint"),
            a.Constraint("bias_constraint"), Rate(a, "dropout"), Rate(a, "recurrent_dropout"), a.NullableInt("seed"), ResetAfter(a),
            Implementation(a), name);

    /// <summary>A cell argument: a serialized cell, or a list of them (stacked).</summary>
    private static AbstractRNNCell Cell(ConfigArgs a, string key)
    {
        var node = a.Node(key);
        if (node is JsonArray list)
        {
            if (list.Count == 0) throw a.Bad(key, "a cell or a non-empty list of cells", node);
            return new StackedRNNCells(list.Select((c, i) => CellAt(c, a, $"{a.PathOf(key)}[{i}]")).ToList());
        }
        if (node is null) throw a.Bad(key, "a serialized RNN cell", node);
        return CellAt(node, a, a.PathOf(key));
    }

    private static AbstractRNNCell CellAt(JsonNode? node, ConfigArgs a, string location)
    {
        if (node is null) throw a.Context.Error(location, $"{a.Owner}: expected a serialized RNN cell, found null.");
        var layer = DeserializeLayer(node, a.Context, location, build: false);
        return layer as AbstractRNNCell
            ?? throw a.Context.Error(location, $"{a.Owner}: expected an RNN cell (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells or a registered cell), found layer '{layer.Name}' ({layer.GetType().Name}).");
    }

    private static Layer Rnn(ConfigArgs a, string? name)
    {
        RejectTimeMajor(a);
        var layer = new RNN(Cell(a, "cell"), a.Bool("return_sequences", false), a.Bool("return_state", false), a.Bool("go_backwards", false),
            a.Bool("stateful", false), a.Bool("unroll", false), a.Bool("zero_output_for_mask", false), name);
        return layer;
    }

    private static Layer StackedCells(ConfigArgs a, string? name)
    {
        var node = a.Node("cells");
        if (node is not JsonArray list || list.Count == 0) throw a.Bad("cells", "a non-empty list of serialized cells", node);
        return new StackedRNNCells(list.Select((c, i) => CellAt(c, a, $"{a.PathOf("cells")}[{i}]")).ToList(), name);
    }

    private static RNN RecurrentLayer(ConfigArgs a, string key)
    {
        var node = a.Node(key);
        if (node is null) throw a.Bad(key, "a serialized recurrent layer", node);
        var layer = DeserializeLayer(node, a.Context, a.PathOf(key), build: false);
        return layer as RNN
            ?? throw a.Context.Error(a.PathOf(key), $"{a.Owner}: expected a recurrent layer (SimpleRNN, LSTM, GRU or RNN), found layer '{layer.Name}' ({layer.GetType().Name}).");
    }

    private static Layer BidirectionalLayer(ConfigArgs a, string? name)
    {
        var forward = RecurrentLayer(a, "layer");
        RNN? backward = a.HasValue("backward_layer") ? RecurrentLayer(a, "backward_layer") : null;
        a.Ignore("backward_layer");
        string? mergeMode = a.Has("merge_mode") ? a.String("merge_mode") : "concat";
        return new Bidirectional(forward, mergeMode, backward, name);
    }

    private static Layer TimeDistributedLayer(ConfigArgs a, string? name)
    {
        var node = a.Node("layer");
        if (node is null) throw a.Bad("layer", "a serialized layer", node);
        return new TimeDistributed(DeserializeLayer(node, a.Context, a.PathOf("layer"), build: false), name);
    }
}
