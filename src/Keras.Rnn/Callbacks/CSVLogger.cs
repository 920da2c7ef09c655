using System.Globalization;
using System.Text;

namespace Keras.Rnn.Callbacks;

/// <summary>
/// Streams epoch results to a CSV file (Keras' <c>CSVLogger</c>): a header <c>epoch,loss,...</c> (keys sorted, as
/// Keras does) and one row per epoch.
/// </summary>
/// <param name="filename">The CSV file.</param>
/// <param name="separator">Column separator (default <c>","</c>).</param>
/// <param name="append">Append to an existing file instead of overwriting it (default <c>false</c>).</param>
public sealed class CSVLogger(string filename, string separator = ",", bool append = false) : Callback
{
    private StreamWriter? _writer;
    private List<string>? _keys;

    /// <summary>The CSV file.</summary>
    public string Filename { get; } = filename ?? throw new ArgumentNullException(nameof(filename));

    /// <inheritdoc />
    public override void OnTrainBegin(IDictionary<string, double> logs)
    {
        _keys = null;
        if (append && File.Exists(Filename) && new FileInfo(Filename).Length > 0)
        {
            // Keep the existing header's columns.
            using var reader = new StreamReader(Filename);
            var header = reader.ReadLine();
            if (header is not null) _keys = header.Split(separator).Skip(1).ToList();
        }
        _writer = new StreamWriter(Filename, append, new UTF8Encoding(false));
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IDictionary<string, double> logs)
    {
        if (_writer is null) return;
        if (_keys is null)
        {
            _keys = logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            _writer.WriteLine(string.Join(separator, new[] { "epoch" }.Concat(_keys)));
        }
        var row = new List<string> { epoch.ToString(CultureInfo.InvariantCulture) };
        foreach (var k in _keys) row.Add(logs.TryGetValue(k, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "NA");
        _writer.WriteLine(string.Join(separator, row));
        _writer.Flush();
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IDictionary<string, double> logs)
    {
        _writer?.Dispose();
        _writer = null;
    }
}
