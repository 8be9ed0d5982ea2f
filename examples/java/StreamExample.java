/*
 * StreamExample: the streaming workflow of libseqcore from Java.
 *
 *   load the bundled model -> generate text token by token, printing as it
 *   goes -> snapshot mid-way -> restore into a new stream -> both continue
 *   identically.
 *
 * Usage: java -Djava.library.path=DIR -cp seqcore.jar:. StreamExample [MODEL]
 *        (default MODEL: models/kjv-lstm.safetensors, a byte-level LM)
 * Exits 1 if the two streams diverge.
 */
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.Arrays;
import org.seqcore.Model;
import org.seqcore.SeqcoreException;
import org.seqcore.Stream;
import org.seqcore.TextGenerator;

public final class StreamExample {
  private static final String PROMPT = "In the beginning";

  private StreamExample() {}

  public static void main(String[] args) {
    String path = args.length > 0 ? args[0] : "models/kjv-lstm.safetensors";
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    try (Model model = Model.load(Paths.get(path)); Stream a = model.newStream()) {
      out.printf("loaded %s: %s, %d bytes of state per stream%n", path, model.blocks(),
          model.stateBytes());

      // Generate token by token, printing each piece of text as it arrives.
      a.setSampling(0.8f, 40, 0.95f);
      a.setSeed(2024);
      out.print(PROMPT);
      TextGenerator text = a.text(PROMPT, 120);
      for (String piece : text) {
        out.print(piece);
      }
      out.println();

      // Snapshot mid-way: state, position, sampler settings and generator.
      byte[] snapshot = a.snapshot();
      out.printf("snapshot at position %d: %d bytes%n", a.position(), snapshot.length);

      // Restore into a new stream; both continue from the last generated token.
      try (Stream b = model.newStream()) {
        b.restore(snapshot);
        int[] last = {text.lastToken()};
        int[] fromA = a.generateTokens(last, 120);
        int[] fromB = b.generateTokens(last, 120);
        out.println("continued: " + decode(fromA));
        boolean same = Arrays.equals(fromA, fromB);
        out.println("the restored stream continues " + (same ? "identically" : "DIFFERENTLY"));
        if (!same) {
          out.println("restored:  " + decode(fromB));
          System.exit(1);
        }
      }
    } catch (SeqcoreException e) {
      System.err.println("StreamExample: " + e);
      System.exit(1);
    }
  }

  /** Byte tokens as UTF-8 text. */
  private static String decode(int[] tokens) {
    byte[] bytes = new byte[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      bytes[i] = (byte) tokens[i];
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
