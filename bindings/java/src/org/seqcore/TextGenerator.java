package org.seqcore;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Lazily generated text for a byte-level language model (token id = byte
 * value), as pieces of decoded UTF-8: each piece holds the characters that
 * the bytes generated since the last piece completed. Made by
 * {@link Stream#text(String, int)}.
 *
 * <pre>{@code
 * for (String piece : stream.text("In the beginning", 200)) {
 *   System.out.print(piece);
 * }
 * }</pre>
 *
 * <p>Generation stops after the maximum number of bytes, or at a token id of
 * 256 or more (not a byte, such as an end-of-text token of a larger
 * vocabulary). The generator is its own {@link Iterable}: a second loop
 * continues where the first stopped.
 */
public final class TextGenerator implements Iterator<String>, Iterable<String> {
  private final TokenGenerator tokens;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPLACE)
      .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private final ByteBuffer bytes = ByteBuffer.allocate(16);
  private final CharBuffer chars = CharBuffer.allocate(16);
  private final StringBuilder generated = new StringBuilder();
  private String pending;
  private boolean finished;

  TextGenerator(Stream stream, byte[] prompt, int maxBytes) {
    int[] ids = new int[prompt.length];
    for (int i = 0; i < prompt.length; i++) {
      ids[i] = prompt[i] & 0xff;
    }
    if (stream.inputWidth() < 256) {
      throw new IllegalArgumentException(
          "not a byte-level model: the vocabulary has " + stream.inputWidth() + " tokens");
    }
    this.tokens = new TokenGenerator(stream, ids, maxBytes);
  }

  /** Whether another piece of text follows (generating bytes until one completes). */
  @Override
  public boolean hasNext() {
    while (pending == null && !finished) {
      if (tokens.hasNext()) {
        int token = tokens.nextInt();
        if (token < 0 || token > 255) {
          finish();
        } else {
          decode((byte) token, false);
        }
      } else {
        finish();
      }
    }
    return pending != null;
  }

  /** The next piece of text: at least one character. */
  @Override
  public String next() {
    if (!hasNext()) {
      throw new NoSuchElementException("the text is complete");
    }
    String piece = pending;
    pending = null;
    generated.append(piece);
    return piece;
  }

  /** All the text returned by {@link #next()} so far. */
  public String text() {
    return generated.toString();
  }

  /** The token generated last, or -1 before the first; see {@link TokenGenerator#lastToken()}. */
  public int lastToken() {
    return tokens.lastToken();
  }

  /** How many bytes (tokens) have been generated so far. */
  public int bytesGenerated() {
    return tokens.produced();
  }

  /** This generator (iteration continues where it stopped). */
  @Override
  public Iterator<String> iterator() {
    return this;
  }

  private void finish() {
    finished = true;
    bytes.flip();
    decoder.decode(bytes, chars, true);
    decoder.flush(chars);
    bytes.clear();
    take();
  }

  private void decode(byte b, boolean end) {
    bytes.put(b);
    bytes.flip();
    decoder.decode(bytes, chars, end);
    bytes.compact();
    take();
  }

  private void take() {
    chars.flip();
    if (chars.hasRemaining()) {
      pending = chars.toString();
    }
    chars.clear();
  }
}
