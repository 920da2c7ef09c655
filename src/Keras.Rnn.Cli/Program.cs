using Keras.Rnn.Cli;

return CommandLine.Run(args, Console.Out, Console.Error);
