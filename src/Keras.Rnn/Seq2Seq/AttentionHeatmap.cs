using Keras.Rnn.Saving;
using ScottPlot;

namespace Keras.Rnn.Seq2Seq;

/// <summary>
/// Draws an attention matrix as a heat map: source tokens along the x axis, produced target tokens down the y axis,
/// one cell per (target, source) weight, with a colour bar. Rendered with ScottPlot (MIT) to PNG.
/// </summary>
/// <example>
/// <code>
/// var translation = translator.Translate("I am very tired.");
/// AttentionHeatmap.SavePng("attention.png", translation.Attention!, translation.SourceTokens, translation.TargetTokens);
/// </code>
/// </example>
public static class AttentionHeatmap
{
    /// <summary>Writes the heat map of <paramref name="weights"/> to a PNG file (replaced atomically).</summary>
    /// <param name="path">The PNG file to write.</param>
    /// <param name="weights">Attention weights <c>(target tokens, source tokens)</c>; row <c>i</c> is where target token <c>i</c> looked.</param>
    /// <param name="sourceTokens">Labels of the columns (one per source token).</param>
    /// <param name="targetTokens">Labels of the rows (one per target token).</param>
    /// <param name="title">Title above the plot (default none).</param>
    /// <param name="width">Image width in pixels (default: from the number of source tokens, at least 480).</param>
    /// <param name="height">Image height in pixels (default: from the number of target tokens, at least 400).</param>
    /// <exception cref="ArgumentException">The matrix is empty, its shape does not match the labels, or a weight is not finite.</exception>
    public static void SavePng(string path, float[,] weights, IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens,
        string? title = null, int? width = null, int? height = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var png = RenderPng(weights, sourceTokens, targetTokens, title, width, height);
        AtomicFile.Write(path, overwrite: true, stream => stream.Write(png));
    }

    /// <summary>Renders the heat map and returns the PNG bytes.</summary>
    /// <param name="weights">Attention weights <c>(target tokens, source tokens)</c>.</param>
    /// <param name="sourceTokens">Labels of the columns.</param>
    /// <param name="targetTokens">Labels of the rows.</param>
    /// <param name="title">Title above the plot (default none).</param>
    /// <param name="width">Image width in pixels (default: from the number of source tokens).</param>
    /// <param name="height">Image height in pixels (default: from the number of target tokens).</param>
    /// <returns>The encoded PNG image.</returns>
    /// <exception cref="ArgumentException">The matrix is empty, its shape does not match the labels, or a weight is not finite.</exception>
    public static byte[] RenderPng(float[,] weights, IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens,
        string? title = null, int? width = null, int? height = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(sourceTokens);
        ArgumentNullException.ThrowIfNull(targetTokens);
        int rows = weights.GetLength(0), columns = weights.GetLength(1);
        if (rows == 0 || columns == 0)
            throw new ArgumentException($"AttentionHeatmap: the attention matrix is empty ({rows} × {columns}); nothing was decoded.", nameof(weights));
        if (rows != targetTokens.Count || columns != sourceTokens.Count)
            throw new ArgumentException(
                $"AttentionHeatmap: the attention matrix is {rows} × {columns} (target × source) but there are {targetTokens.Count} target and {sourceTokens.Count} source labels.",
                nameof(weights));
        var data = new double[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                float weight = weights[i, j];
                if (!float.IsFinite(weight)) throw new ArgumentException($"AttentionHeatmap: weight [{i}, {j}] is {weight}.", nameof(weights));
                data[i, j] = weight;
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        // Cell (i, j) is centred on x = j and y = rows - 1 - i: the first target token is the top row.
        heatmap.Extent = new CoordinateRect(-0.5, columns - 0.5, -0.5, rows - 0.5);
        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = "attention weight";
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, columns).Select(j => (double)j).ToArray(), sourceTokens.Select(Label).ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, rows).Select(i => (double)(rows - 1 - i)).ToArray(), targetTokens.Select(Label).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.Label.Text = "source";
        plot.Axes.Left.Label.Text = "translation";
        plot.Axes.SetLimits(-0.5, columns - 0.5, -0.5, rows - 0.5);
        plot.Grid.IsVisible = false;
        if (!string.IsNullOrEmpty(title)) plot.Title(title);
        int w = width ?? Math.Max(480, 160 + 48 * columns);
        int h = height ?? Math.Max(400, 180 + 32 * rows);
        if (w <= 0 || h <= 0) throw new ArgumentException($"AttentionHeatmap: image size must be positive, got {w} × {h}.");
        return plot.GetImageBytes(w, h, ImageFormat.Png);
    }

    private static string Label(string token) => token.Length > 24 ? token[..23] + "…" : token;
}
