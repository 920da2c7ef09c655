using Keras.Rnn.Layers;
using Keras.Rnn.Models;
using Keras.Rnn.Saving;
using Xunit;

namespace Keras.Rnn.Tests.Saving;

/// <summary>A save that fails half way leaves the previous file byte for byte and no temporary file behind.</summary>
public class AtomicSaveTests : SavingTestBase
{
    /// <summary>Passes writes through until <paramref name="failAfter"/> bytes, then fails like a full disk.</summary>
    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _written;
        public long Written => _written;
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfter)
            {
                int part = (int)(failAfter - _written);
                inner.Write(buffer[..part]);
                _written += part;
                throw new IOException("No space left on device (simulated).");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }

    private static Sequential Build() => new(new InputLayer([5, 3]), new LSTM(8), new Dense(2));

    private void AssertFailedSaveKeepsPreviousFile(string fileName, Action<Model, string> save)
    {
        var path = PathOf(fileName);
        save(Build(), path);
        var previous = File.ReadAllBytes(path);

        FailingStream? failing = null;
        // Fail once 300 bytes are out: the superblock and some headers are written, the data is not.
        AtomicFile.StreamWrapperForTests = s => failing = new FailingStream(s, failAfter: 300);
        var other = Build();
        var e = Assert.ThrowsAny<IOException>(() => save(other, path));
        Assert.Contains("simulated", e.ToString());
        Assert.NotNull(failing);
        Assert.True(failing!.Written > 0, "the failure must happen after part of the file was written");
        AtomicFile.StreamWrapperForTests = null;

        Assert.Equal(previous, File.ReadAllBytes(path));
        Assert.Equal(new[] { fileName }, Directory.GetFiles(Folder).Select(f => System.IO.Path.GetFileName(f)!).ToArray()); // temp file removed

        // The next save goes through and replaces the file.
        save(other, path);
        Assert.NotEqual(previous, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Folder));
    }

    [Fact]
    public void FailedWeightsSaveLeavesPreviousFileUntouched() =>
        AssertFailedSaveKeepsPreviousFile("model.weights.h5", (m, p) => m.SaveWeights(p));

    [Fact]
    public void FailedArchiveSaveLeavesPreviousFileUntouched() =>
        AssertFailedSaveKeepsPreviousFile("model.keras", (m, p) => m.Save(p));

    private sealed class OddConfigLayer : Layer
    {
        protected override TorchSharp.torch.Tensor Call(TorchSharp.torch.Tensor inputs, CallContext context) => inputs;

        public override Dictionary<string, object?> GetConfig()
        {
            var c = base.GetConfig();
            c["callback"] = new object(); // no Keras JSON form
            return c;
        }
    }

    [Fact]
    public void SerializationFailureLeavesPreviousArchiveUntouched()
    {
        var path = PathOf("model.keras");
        Build().Save(path);
        var previous = File.ReadAllBytes(path);
        var odd = new Sequential(new InputLayer([5, 3]), new LSTM(8), new OddConfigLayer(), new Dense(2));
        var e = Assert.Throws<InvalidOperationException>(() => odd.Save(path));
        Assert.Contains("callback", e.Message);
        Assert.Contains(nameof(OddConfigLayer), e.Message);
        Assert.Equal(previous, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Folder));
    }

    [Fact]
    public void OverwriteFalseRefusesAnExistingFile()
    {
        var path = PathOf("model.weights.h5");
        Build().SaveWeights(path);
        var previous = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => Build().SaveWeights(path, overwrite: false));
        Assert.Equal(previous, File.ReadAllBytes(path));
    }
}
