using System.Globalization;
using System.Text;
using Keras.Rnn.Layers;
using Keras.Rnn.Models;

namespace Keras.Rnn.Utils;

/// <summary>Renders Keras 3's model summary table (the <c>rich</c> table Keras prints), as plain text.</summary>
internal static class SummaryUtils
{
    public static string Render(Model model, int? lineLength, long optimizerParams)
    {
        var layers = model.Layers;
        bool sequentialLike = IsSequentialLike(model);
        int terminal = Console.IsOutputRedirected ? 80 : SafeWindowWidth();
        int defaultLength = sequentialLike ? 88 : 108;
        int length = lineLength ?? Math.Min(defaultLength, terminal - 4);
        double[] positions = sequentialLike ? [0.45, 0.80, 1.0] : [0.3, 0.56, 0.74, 1.0];
        string[] header = sequentialLike ? ["Layer (type)", "Output Shape", "Param #"] : ["Layer (type)", "Output Shape", "Param #", "Connected to"];
        bool[] rightAligned = sequentialLike ? [false, false, true] : [false, false, true, false];
        var widths = ColumnWidths(positions, length);

        var relevantNodes = new HashSet<Node>(model.NodesByDepth.Values.SelectMany(v => v));
        var rows = new List<string[]>();
        foreach (var layer in layers)
        {
            var name = $"{layer.Name} ({layer.GetType().Name})";
            var shape = FormatLayerShape(layer);
            var parameters = !layer.Built ? "0 (unbuilt)" : layer.CountParams().ToString("N0", CultureInfo.InvariantCulture);
            if (sequentialLike) rows.Add([name, shape, parameters]);
            else rows.Add([name, shape, parameters, Connections(layer, relevantNodes)]);
        }

        var sb = new StringBuilder();
        sb.Append("Model: \"").Append(model.Name).Append("\"\n");
        sb.Append(Border('┏', '━', '┳', '┓', widths));
        AppendRow(sb, header, widths, rightAligned, '┃');
        sb.Append(Border('┡', '━', '╇', '┩', widths));
        for (int r = 0; r < rows.Count; r++)
        {
            AppendRow(sb, rows[r], widths, rightAligned, '│');
            sb.Append(r < rows.Count - 1 ? Border('├', '─', '┼', '┤', widths) : Border('└', '─', '┴', '┘', widths));
        }
        if (rows.Count == 0) sb.Append(Border('└', '─', '┴', '┘', widths));

        long trainable = model.TrainableWeights.Sum(v => v.Size);
        long nonTrainable = model.NonTrainableWeights.Sum(v => v.Size);
        long total = trainable + nonTrainable + optimizerParams;
        sb.Append($" Total params: {total.ToString("N0", CultureInfo.InvariantCulture)} ({ReadableMemorySize(total * 4)})\n");
        sb.Append($" Trainable params: {trainable.ToString("N0", CultureInfo.InvariantCulture)} ({ReadableMemorySize(trainable * 4)})\n");
        sb.Append($" Non-trainable params: {nonTrainable.ToString("N0", CultureInfo.InvariantCulture)} ({ReadableMemorySize(nonTrainable * 4)})\n");
        if (optimizerParams > 0)
            sb.Append($" Optimizer params: {optimizerParams.ToString("N0", CultureInfo.InvariantCulture)} ({ReadableMemorySize(optimizerParams * 4)})\n");
        return sb.ToString();
    }

    private static int SafeWindowWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 80; }
        catch (IOException) { return 80; }
    }

    /// <summary>Whether Keras would print the short (no "Connected to") table.</summary>
    private static bool IsSequentialLike(Model model)
    {
        if (model is Sequential || !model.IsGraphNetwork) return true;
        var nodes = new List<Node>();
        foreach (var v in model.NodesByDepth.Values)
        {
            if (v.Count > 1 || (v.Count == 1 && v[0].AllInputs.Count() > 1)) return false;
            nodes.AddRange(v);
        }
        foreach (var layer in model.Layers)
            if (layer.InboundNodes.Count(nodes.Contains) > 1) return false;
        return true;
    }

    /// <summary>Column content widths (padding included) as the rich library computes them for Keras.</summary>
    internal static int[] ColumnWidths(double[] positions, int length)
    {
        var widths = new int[positions.Length];
        int current = 0;
        for (int i = 0; i < positions.Length; i++)
        {
            int w = (int)(positions[i] * length) - current;
            widths[i] = w + 2;
            current += w;
        }
        int available = length - (positions.Length + 1);
        int excess = widths.Sum() - available;
        if (excess > 0)
        {
            // rich's ratio_reduce with equal ratios; Python's round() rounds halves to even.
            int remaining = excess, ratioLeft = widths.Length;
            for (int i = 0; i < widths.Length; i++)
            {
                int distributed = Math.Min(widths[i], (int)Math.Round((double)remaining / ratioLeft, MidpointRounding.ToEven));
                widths[i] -= distributed;
                remaining -= distributed;
                ratioLeft--;
            }
        }
        return widths;
    }

    private static string Border(char left, char fill, char mid, char right, int[] widths) =>
        left + string.Join(mid, widths.Select(w => new string(fill, w))) + right + "\n";

    private static void AppendRow(StringBuilder sb, string[] cells, int[] widths, bool[] rightAligned, char edge)
    {
        var wrapped = cells.Select((c, i) => Wrap(c, widths[i] - 2)).ToList();
        int lines = wrapped.Max(w => w.Count);
        for (int line = 0; line < lines; line++)
        {
            sb.Append(edge);
            for (int i = 0; i < cells.Length; i++)
            {
                var text = line < wrapped[i].Count ? wrapped[i][line] : "";
                int w = widths[i] - 2;
                sb.Append(' ').Append(rightAligned[i] ? text.PadLeft(w) : text.PadRight(w)).Append(' ').Append(edge);
            }
            sb.Append('\n');
        }
    }

    private static List<string> Wrap(string text, int width)
    {
        var result = new List<string>();
        if (width <= 0) { result.Add(text); return result; }
        var current = new StringBuilder();
        foreach (var word in text.Split(' '))
        {
            var w = word;
            while (w.Length > width)
            {
                if (current.Length > 0) { result.Add(current.ToString()); current.Clear(); }
                result.Add(w[..width]);
                w = w[width..];
            }
            if (current.Length == 0) current.Append(w);
            else if (current.Length + 1 + w.Length <= width) current.Append(' ').Append(w);
            else { result.Add(current.ToString()); current.Clear().Append(w); }
        }
        if (current.Length > 0 || result.Count == 0) result.Add(current.ToString());
        return result;
    }

    /// <summary>Keras' <c>format_layer_shape</c>: the output shapes of the layer's last call.</summary>
    internal static string FormatLayerShape(Layer layer)
    {
        static string Format(Shape s) => "(" + string.Join(", ", s.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "None")) + ")";
        if (layer.InboundNodes.Count == 0)
        {
            if (layer.BuildInputShapes is null) return "?";
            var shapes = layer.ComputeOutputShapes(layer.BuildInputShapes, CallContext.EmptyArguments);
            return shapes.Count == 1 ? Format(shapes[0]) : "[" + string.Join(", ", shapes.Select(Format)) + "]";
        }
        var outputs = layer.InboundNodes[^1].Outputs;
        return outputs.Count == 1 ? Format(outputs[0].Shape) : "[" + string.Join(", ", outputs.Select(o => Format(o.Shape))) + "]";
    }

    private static string Connections(Layer layer, HashSet<Node> relevant)
    {
        var parts = new List<string>();
        foreach (var node in layer.InboundNodes)
        {
            if (relevant.Count > 0 && !relevant.Contains(node)) continue;
            foreach (var t in node.AllInputs)
            {
                if (t.Node is null) continue;
                int nodeIndex = t.Node.Layer.InboundNodes.IndexOf(t.Node);
                parts.Add($"{t.Node.Layer.Name}[{nodeIndex}][{t.TensorIndex}]");
            }
        }
        return parts.Count == 0 ? "-" : string.Join(", ", parts);
    }

    /// <summary>Keras' <c>readable_memory_size</c>: <c>17.13 KB</c>.</summary>
    internal static string ReadableMemorySize(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB", "PB"];
        foreach (var unit in units)
        {
            if (bytes / 1024 < 1) return bytes.ToString("F2", CultureInfo.InvariantCulture) + " " + unit;
            bytes /= 1024;
        }
        return bytes.ToString("F2", CultureInfo.InvariantCulture) + " PB";
    }
}
