package org.seqcore;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.PrimitiveIterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;

/**
 * Lazily generated token ids: the first {@link #nextInt()} feeds the prompt
 * and samples a token, each later one feeds the previous token and samples the
 * next, with the stream's sampling settings ({@link Stream#setSampling}).
 * Made by {@link Stream#tokens(int[], int)}.
 *
 * <pre>{@code
 * for (int token : stream.tokens(prompt, 32)) { ... }
 * int[] ids = stream.tokens(prompt, 32).asIntStream().toArray();
 * }</pre>
 *
 * <p>The generator is its own {@link Iterable}: a second loop continues where
 * the first stopped. It advances the stream it was made from, and is no more
 * thread-safe than that stream.
 */
public final class TokenGenerator implements PrimitiveIterator.OfInt, Iterable<Integer> {
  private final Stream stream;
  private final int[] prompt;
  private final int[] last = new int[1];
  private final int maxTokens;
  private int produced;

  TokenGenerator(Stream stream, int[] prompt, int maxTokens) {
    this.stream = stream;
    this.prompt = Buffers.nonNull(prompt, "prompt").clone();
    if (this.prompt.length == 0) {
      throw new IllegalArgumentException("the prompt needs at least one token");
    }
    if (maxTokens < 0) {
      throw new IllegalArgumentException("maxTokens is negative: " + maxTokens);
    }
    this.maxTokens = maxTokens;
  }

  /** Whether fewer than the maximum number of tokens have been generated. */
  @Override
  public boolean hasNext() {
    return produced < maxTokens;
  }

  /**
   * Generates the next token.
   *
   * @throws NoSuchElementException after the maximum number of tokens
   * @throws SeqcoreException       as {@link Stream#generate(int...)}
   */
  @Override
  public int nextInt() {
    if (!hasNext()) {
      throw new NoSuchElementException("generated " + maxTokens + " tokens already");
    }
    int token = stream.generate(produced == 0 ? prompt : last);
    last[0] = token;
    produced++;
    return token;
  }

  /**
   * The token generated last, or -1 before the first. It has not been fed to
   * the stream yet: to continue generating later (after a snapshot, say),
   * start from {@code stream.tokens(new int[] {lastToken()}, n)}.
   */
  public int lastToken() {
    return produced == 0 ? -1 : last[0];
  }

  /** How many tokens have been generated so far. */
  public int produced() {
    return produced;
  }

  /** This generator (iteration continues where it stopped). */
  @Override
  public Iterator<Integer> iterator() {
    return this;
  }

  /** The remaining tokens as a sequential, ordered {@link IntStream}. */
  public IntStream asIntStream() {
    Spliterator.OfInt split = Spliterators.spliterator(this, (long) maxTokens - produced,
        Spliterator.ORDERED | Spliterator.NONNULL);
    return StreamSupport.intStream(split, false);
  }
}
