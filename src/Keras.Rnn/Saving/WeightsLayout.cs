using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Utils;

namespace Keras.Rnn.Saving;

/// <summary>One object whose own variables Keras stores in a weights file: its group is <c>{Path}/vars</c>.</summary>
/// <param name="Path">Keras' object path, e.g. <c>layers/lstm/cell</c>; empty for the model itself.</param>
/// <param name="Layer">Our layer at that path.</param>
/// <param name="Variables">The layer's own variables (not its sub-layers'), in creation order: datasets <c>0..n-1</c>.</param>
internal sealed record WeightsEntry(string Path, Layer Layer, IReadOnlyList<Variable> Variables)
{
    /// <summary>The HDF5 group holding the datasets (<c>vars</c> at the root, else <c>{Path}/vars</c>).</summary>
    public string GroupPath => Path.Length == 0 ? "vars" : Path + "/vars";

    /// <summary>How messages name the layer: our name, class and Keras key.</summary>
    public string Describe() =>
        $"layer '{Layer.Name}' ({Layer.GetType().Name}, key '{(Path.Length == 0 ? "/" : Path)}')";
}

/// <summary>
/// Maps our object tree onto the keys Keras 3 (<c>saving_lib._save_state</c>) gives objects in weight files.
/// Keras walks each saveable's attributes and writes, for every object with variables (and every named layer, even
/// without variables), a group <c>{path}/vars</c> whose datasets <c>"0"</c>, <c>"1"</c>, ... are the object's own
/// variables in creation order; the group's <c>name</c> attribute is the layer's name. The path is the chain of
/// attribute names, and inside a list attribute the snake_case class name numbered per class
/// (<c>lstm</c>, <c>lstm_1</c>, <c>dense</c>...). An object reachable twice is saved only at its first path.
/// </summary>
/// <remarks>
/// Attribute names used, from Keras' classes: models <c>layers</c> (a list; for <see cref="Sequential"/> without the
/// input layer, for functional models with the input layers); <see cref="RNN"/> <c>cell</c>;
/// <see cref="Bidirectional"/> <c>forward_layer</c> and <c>backward_layer</c>; <see cref="TimeDistributed"/>
/// <c>layer</c>; <see cref="StackedRNNCells"/> <c>cells</c> (a list); <see cref="MultiHeadAttention"/> <c>key_dense</c>,
/// <c>output_dense</c>, <c>query_dense</c>, <c>value_dense</c>, <c>_dropout_layer</c>, <c>_gate_dense</c>. Sub-layers of other (custom) layers and of
/// subclassed models, whose Python attribute names we cannot know, are keyed as a list named <c>layers</c>.
/// </remarks>
internal static class WeightsLayout
{
    /// <summary>Keras' class name of a layer: a functional <see cref="Model"/> is Keras' <c>Functional</c>.</summary>
    public static string KerasClassName(Layer layer)
    {
        var type = layer.GetType();
        if (type == typeof(Model)) return "Functional";
        var name = type.Name;
        var tick = name.IndexOf('`');
        return tick >= 0 ? name[..tick] : name;
    }

    /// <summary>Every object the model's weight file holds a group for, depth first in Keras' order.</summary>
    public static List<WeightsEntry> Walk(Model model)
    {
        var entries = new List<WeightsEntry>();
        var visited = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        Visit(model, "", entries, visited);
        return entries;
    }

    private static void Visit(Layer layer, string path, List<WeightsEntry> entries, HashSet<Layer> visited)
    {
        if (!visited.Add(layer)) return;
        entries.Add(new WeightsEntry(path, layer, OwnVariables(layer)));
        foreach (var (attribute, children, isList) in Children(layer))
        {
            var childPath = Join(path, attribute);
            if (!isList)
            {
                Visit(children[0], childPath, entries, visited);
                continue;
            }
            var used = new Dictionary<string, int>();
            foreach (var child in children)
                Visit(child, Join(childPath, UniqueName(Naming.ToSnakeCase(KerasClassName(child)), used)), entries, visited);
        }
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : a + "/" + b;

    /// <summary>Keras' <c>_get_unique_name</c>: <c>lstm</c>, then <c>lstm_1</c>, <c>lstm_2</c>...</summary>
    private static string UniqueName(string name, Dictionary<string, int> used)
    {
        if (used.TryGetValue(name, out var n))
        {
            used[name] = n + 1;
            return $"{name}_{n + 1}";
        }
        used[name] = 0;
        return name;
    }

    /// <summary>The layer's sub-objects by Keras attribute name, in the order Keras visits them.</summary>
    private static IEnumerable<(string Attribute, IReadOnlyList<Layer> Children, bool IsList)> Children(Layer layer)
    {
        switch (layer)
        {
            case Model model:
                // Sequential and Functional yield `layers` first; a subclassed model's `layers` property is walked too.
                if (model.Layers.Count > 0) yield return ("layers", model.Layers, true);
                yield break;
            case Bidirectional bidirectional:
                // Keras visits attributes sorted by name: backward_layer before forward_layer.
                yield return ("backward_layer", [bidirectional.Backward], false);
                yield return ("forward_layer", [bidirectional.Forward], false);
                yield break;
            case RNN rnn:
                yield return ("cell", [rnn.Cell], false);
                yield break;
            case TimeDistributed timeDistributed:
                yield return ("layer", [timeDistributed.Inner], false);
                yield break;
            case StackedRNNCells stacked:
                yield return ("cells", stacked.Cells.Cast<Layer>().ToList(), true);
                yield break;
            case MultiHeadAttention attention:
                foreach (var (attribute, child) in attention.KerasAttributes()) yield return (attribute, [child], false);
                yield break;
            default:
                if (layer.TrackedLayers.Count > 0) yield return ("layers", layer.TrackedLayers, true);
                yield break;
        }
    }

    /// <summary>A layer's own variables (Keras' <c>_trainable_variables + _non_trainable_variables</c>), without its sub-layers'.</summary>
    public static IReadOnlyList<Variable> OwnVariables(Layer layer)
    {
        var all = layer.Weights;
        if (layer.TrackedLayers.Count == 0) return all;
        var inChildren = new HashSet<Variable>(layer.TrackedLayers.SelectMany(l => l.Weights), ReferenceEqualityComparer.Instance);
        return all.Where(v => !inChildren.Contains(v)).ToList();
    }
}
