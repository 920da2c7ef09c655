using Keras.Rnn.Models;
using static TorchSharp.torch;

namespace Keras.Rnn.Saving;

/// <summary>
/// INTEGRATION HOOKS between saving and training (the optimizer and <c>Compile</c> live on another branch). Nothing
/// here is public; the training code assigns these delegates once (e.g. from a static constructor or a module
/// initializer) so that weight files carry the optimizer state and <c>.keras</c> archives the compile config, exactly
/// as Keras 3 writes them. While they are unset, models save and load as uncompiled Keras models do.
/// </summary>
internal static class SavingHooks
{
    /// <summary>
    /// The optimizer's variables of a compiled model, in Keras' order (<c>optimizer.variables</c>: iterations,
    /// learning rate, then the slots as Keras creates them), or <c>null</c> when the model is not compiled (then no
    /// <c>/optimizer</c> group is written). <c>Path</c> is the variable's Keras path (used in messages);
    /// <c>Value</c> is the live state tensor. Saving writes each value with its own dtype (int64 iterations, float32
    /// slots) to <c>/optimizer/vars/0..n-1</c>. Loading, when <see cref="AssignOptimizerVariables"/> is not set,
    /// copies the file's values into these tensors in place.
    /// </summary>
    internal static Func<Model, IReadOnlyList<(string Path, Tensor Value)>?>? OptimizerVariables;

    /// <summary>The optimizer's Keras name (e.g. <c>"adam"</c>), written as the <c>name</c> attribute of <c>/optimizer/vars</c>.</summary>
    internal static Func<Model, string?>? OptimizerName;

    /// <summary>
    /// Optional loader for the optimizer state: receives the tensors read from <c>/optimizer/vars</c> (CPU, in file
    /// order, already checked against <see cref="OptimizerVariables"/> for count and shapes; they are disposed when
    /// the call returns, so copy what you keep). When unset the values are copied into the tensors
    /// <see cref="OptimizerVariables"/> returns.
    /// </summary>
    internal static Action<Model, IReadOnlyList<Tensor>>? AssignOptimizerVariables;

    /// <summary>
    /// The model's Keras <c>compile_config</c> (a dictionary of config values: optimizer, loss, metrics... in the same
    /// object/dictionary form as <c>GetConfig</c> values), or <c>null</c> when it is not compiled. Keras 3 writes an
    /// empty object for an uncompiled model, and so do we while this is unset or returns <c>null</c>.
    /// </summary>
    internal static Func<Model, IReadOnlyDictionary<string, object?>?>? CompileConfig;
}
