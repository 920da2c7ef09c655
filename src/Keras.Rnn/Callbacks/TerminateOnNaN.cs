namespace Keras.Rnn.Callbacks;

/// <summary>Stops training as soon as a batch's loss is NaN or infinite (Keras' <c>TerminateOnNaN</c>).</summary>
public sealed class TerminateOnNaN : Callback
{
    /// <summary>The batch at which training was stopped, or <c>null</c>.</summary>
    public int? TerminatedAtBatch { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IDictionary<string, double> logs)
    {
        if (!logs.TryGetValue("loss", out var loss)) return;
        if (double.IsNaN(loss) || double.IsInfinity(loss))
        {
            Console.WriteLine($"Batch {batch}: Invalid loss, terminating training");
            TerminatedAtBatch = batch;
            Model!.StopTraining = true;
        }
    }
}
