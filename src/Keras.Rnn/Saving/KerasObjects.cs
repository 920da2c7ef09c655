using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Keras.Rnn.Activations;
using Keras.Rnn.Constraints;
using Keras.Rnn.Initializers;
using Keras.Rnn.Layers;
using Keras.Rnn.Regularizers;

namespace Keras.Rnn.Saving;

/// <summary>
/// The registry of custom Keras objects for loading (Keras' <c>keras.saving.register_keras_serializable</c> and
/// <c>custom_objects</c>): layers (and subclassed models) and activation functions that are not built in, by the
/// class name or registered name under which Keras configs refer to them. <see cref="Models.Model.FromJson"/> and
/// <see cref="Models.Model.Load"/> look up a config's <c>registered_name</c> (e.g. <c>my_package&gt;MyLayer</c>),
/// its part after <c>&gt;</c>, then its <c>class_name</c>: first in the call's <c>customObjects</c>, then here.
/// </summary>
/// <remarks>
/// A factory receives the layer's <c>config</c> as plain .NET values: <see cref="string"/>, <see cref="bool"/>,
/// <see cref="long"/> (integers), <see cref="double"/>, <c>null</c>, <c>List&lt;object?&gt;</c> and
/// <c>Dictionary&lt;string, object?&gt;</c> (nested Keras objects stay dictionaries; turn them into objects with
/// <see cref="DeserializeLayer"/>, <see cref="DeserializeActivation"/>, <see cref="DeserializeInitializer"/>, ...).
/// After the factory returns, the layer's <c>name</c> and <c>trainable</c> flag are set from the config. A
/// <c>build_config</c> next to the config builds the layer (<see cref="Layer.Build(Shape)"/>) when it is not built
/// yet, so its weights can be loaded.
/// </remarks>
/// <example>
/// <code>
/// // A C# layer whose Keras counterpart is `@register_keras_serializable(package="demo") class Scale(Layer)` with a
/// // config {"factor": 2.0, ...}:
/// KerasObjects.RegisterLayer("demo&gt;Scale", config =&gt; new Scale((double)config["factor"]!));
/// var model = Model.Load("scaled.keras");
///
/// // Or for one call only:
/// var model2 = Model.FromJson(json, customObjects: new Dictionary&lt;string, Func&lt;IReadOnlyDictionary&lt;string, object?&gt;, Layer&gt;&gt;
/// {
///     ["Scale"] = config =&gt; new Scale((double)config["factor"]!),
/// });
/// </code>
/// </example>
public static class KerasObjects
{
    private static readonly ConcurrentDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>> Layers = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, ActivationFunction> Activations = new(StringComparer.Ordinal);

    /// <summary>Registers a factory for a custom layer (or subclassed model) class.</summary>
    /// <typeparam name="T">The layer type the factory creates.</typeparam>
    /// <param name="className">The class name or registered name (<c>package&gt;Name</c>) used in Keras configs.</param>
    /// <param name="factory">Creates the layer from its config (see the remarks of <see cref="KerasObjects"/>).</param>
    /// <exception cref="ArgumentException">Empty name.</exception>
    public static void RegisterLayer<T>(string className, Func<IReadOnlyDictionary<string, object?>, T> factory) where T : Layer
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(className);
        ArgumentNullException.ThrowIfNull(factory);
        Layers[className] = config => factory(config);
    }

    /// <summary>
    /// Registers a custom layer class created through its public constructor: each constructor parameter takes the
    /// config value of its snake_case name (<c>units</c>, <c>use_bias</c>, ...) — numbers, strings, booleans, shapes,
    /// lists of numbers, activations, initializers, regularizers and constraints are converted — and missing ones keep
    /// their defaults. Other config keys are rejected unless <c>null</c>/<c>false</c>.
    /// </summary>
    /// <typeparam name="T">The layer type.</typeparam>
    /// <param name="className">The name used in Keras configs (default: the type's name).</param>
    public static void RegisterLayer<T>(string? className = null) where T : Layer
    {
        var name = string.IsNullOrWhiteSpace(className) ? typeof(T).Name : className;
        Layers[name] = config => KerasLayerReader.BindCustomLayer(typeof(T), name, config);
    }

    /// <summary>Removes a registered layer factory.</summary>
    /// <param name="className">The name it was registered under.</param>
    /// <returns>Whether a factory was removed.</returns>
    public static bool UnregisterLayer(string className) => Layers.TryRemove(className, out _);

    /// <summary>Registers a custom activation function under the name Keras configs use (a string, or the
    /// <c>registered_name</c> of a serialized function).</summary>
    /// <param name="name">The name, e.g. <c>my_package&gt;scaled_tanh</c> or <c>scaled_tanh</c>.</param>
    /// <param name="activation">The function.</param>
    public static void RegisterActivation(string name, Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> activation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(activation);
        Activations[name] = new ActivationFunction(ShortName(name), activation);
    }

    /// <summary>Removes a registered activation.</summary>
    /// <param name="name">The name it was registered under.</param>
    /// <returns>Whether one was removed.</returns>
    public static bool UnregisterActivation(string name) => Activations.TryRemove(name, out _);

    private static string ShortName(string name) => name.Contains('>') ? name[(name.LastIndexOf('>') + 1)..] : name;

    /// <summary>A registered activation by name (also by the part after <c>&gt;</c>), or <c>null</c>.</summary>
    internal static ActivationFunction? FindActivation(string name)
    {
        if (Activations.TryGetValue(name, out var a)) return a;
        var shortName = ShortName(name);
        if (shortName != name && Activations.TryGetValue(shortName, out a)) return a;
        foreach (var (key, value) in Activations)
            if (ShortName(key) == shortName) return value;
        return null;
    }

    /// <summary>The factory for a class: the call's custom objects first, then the registry; by registered name, its short form, then class name.</summary>
    internal static Func<IReadOnlyDictionary<string, object?>, Layer>? FindLayer(string className, string? registeredName,
        IReadOnlyDictionary<string, Func<IReadOnlyDictionary<string, object?>, Layer>>? customObjects)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(registeredName))
        {
            candidates.Add(registeredName);
            if (registeredName.Contains('>')) candidates.Add(ShortName(registeredName));
        }
        candidates.Add(className);
        foreach (var name in candidates)
            if (customObjects is not null && customObjects.TryGetValue(name, out var f)) return f;
        foreach (var name in candidates)
            if (Layers.TryGetValue(name, out var f)) return f;
        // A registration under "package>Name" also serves configs that only carry the class name (Keras <= 3.6).
        foreach (var (key, f) in Layers)
            if (key.Contains('>') && ShortName(key) == className) return f;
        if (customObjects is not null)
            foreach (var (key, f) in customObjects)
                if (key.Contains('>') && ShortName(key) == className) return f;
        return null;
    }

    // ------------------------------------------------------------------ helpers for factories

    private static KerasLoadContext ContextForHelpers() =>
        KerasLoadContext.Current ?? new KerasLoadContext("a custom layer's config", false, null, null);

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        _ => JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(value)),
    };

    /// <summary>A layer from its serialized form (as found in a config: a dictionary with <c>class_name</c> and <c>config</c>).</summary>
    /// <param name="config">The serialized layer.</param>
    /// <exception cref="ArgumentException">Not a serialized layer, or an invalid one (inside <c>Load</c>: <see cref="KerasFileException"/>).</exception>
    public static Layer DeserializeLayer(object? config)
    {
        var ctx = ContextForHelpers();
        return KerasLayerReader.DeserializeLayer(ToNode(config) ?? throw ctx.Error("", "expected a serialized layer, found null."), ctx, "$");
    }

    /// <summary>An activation from a name or serialized function (<c>null</c>: linear).</summary>
    /// <param name="config">The value found in a config.</param>
    public static ActivationFunction DeserializeActivation(object? config)
    {
        var node = ToNode(config);
        if (node is null) return ActivationFunction.Linear;
        var args = new ConfigArgs(new JsonObject { ["activation"] = node }, "custom layer", "$", ContextForHelpers());
        return args.Activation("activation", ActivationFunction.Linear);
    }

    /// <summary>An initializer from a name or serialized object, or <c>null</c> for <c>null</c>.</summary>
    /// <param name="config">The value found in a config.</param>
    public static Initializer? DeserializeInitializer(object? config) =>
        ToNode(config) is { } node ? KerasObjectsReader.Initializer(node, ContextForHelpers(), "$", "custom layer") : null;

    /// <summary>A regularizer from a name or serialized object, or <c>null</c>.</summary>
    /// <param name="config">The value found in a config.</param>
    public static Regularizer? DeserializeRegularizer(object? config) =>
        ToNode(config) is { } node ? KerasObjectsReader.Regularizer(node, ContextForHelpers(), "$", "custom layer") : null;

    /// <summary>A constraint from a name or serialized object, or <c>null</c>.</summary>
    /// <param name="config">The value found in a config.</param>
    public static Constraint? DeserializeConstraint(object? config) =>
        ToNode(config) is { } node ? KerasObjectsReader.Constraint(node, ContextForHelpers(), "$", "custom layer") : null;

    internal static string RegistrationHint(string className, string? registeredName) =>
        $"If it is a custom layer, register a C# implementation before loading — KerasObjects.RegisterLayer(\"{registeredName ?? className}\", config => new My{SafeIdentifier(className)}(...)) " +
        $"or KerasObjects.RegisterLayer<My{SafeIdentifier(className)}>(\"{registeredName ?? className}\") — or pass it in customObjects.";

    private static string SafeIdentifier(string name) => new(name.Where(char.IsLetterOrDigit).ToArray());
}
