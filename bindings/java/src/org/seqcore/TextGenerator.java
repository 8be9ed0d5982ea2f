package org.seqcore;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Lazily generated text through the model's tokenizer (byte-level or BPE), as
 * pieces of decoded UTF-8: each piece holds the characters that the tokens
 * generated since the last piece completed, so a character whose bytes are
 * split over several tokens is never cut. Made by
 * {@link Stream#text(String, int)}.
 *
 * <pre>{@code
 * for (String piece : stream.text("In the beginning", 200)) {
 *   System.out.print(piece);
 * }
 * }</pre>
 *
 * <p>Generation stops after the maximum number of tokens, or at a special
 * token of a BPE tokenizer (such as {@code <|endoftext|>}). A token model of
 * 256 ids without a tokenizer is taken as byte-level; there generation stops
 * at a token id of 256 or more. The generator is its own {@link Iterable}: a
 * second loop continues where the first stopped.
 */
public final class TextGenerator implements Iterator<String>, Iterable<String> {
  private final TokenGenerator tokens;
  private final Model model; // null: byte-level without a tokenizer
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPLACE)
      .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private ByteBuffer bytes = ByteBuffer.allocate(64);
  private CharBuffer chars = CharBuffer.allocate(64);
  private final StringBuilder generated = new StringBuilder();
  private String pending;
  private boolean finished;

  TextGenerator(Stream stream, byte[] prompt, int maxTokens) {
    if (stream.inputKind() != InputKind.TOKENS) {
      throw new IllegalArgumentException("not a language model: the model takes frames");
    }
    if (stream.tokenizer() == Tokenizer.NONE) {
      if (stream.inputWidth() < 256) {
        throw new IllegalArgumentException(
            "the model has no tokenizer and is not byte-level: the vocabulary has "
            + stream.inputWidth() + " tokens");
      }
      int[] ids = new int[prompt.length];
      for (int i = 0; i < prompt.length; i++) {
        ids[i] = prompt[i] & 0xff;
      }
      this.model = null;
      this.tokens = new TokenGenerator(stream, ids, maxTokens);
    } else {
      this.model = stream.model();
      this.tokens = new TokenGenerator(stream, model.tokenize(prompt, true, false), maxTokens);
    }
  }

  /** Whether another piece of text follows (generating bytes until one completes). */
  @Override
  public boolean hasNext() {
    while (pending == null && !finished) {
      if (tokens.hasNext()) {
        int token = tokens.nextInt();
        if (model == null) {
          if (token < 0 || token > 255) {
            finish();
          } else {
            decode(new byte[] {(byte) token});
          }
        } else {
          byte[] all = model.tokenBytes(token, false);
          if (all.length > 0 && model.tokenBytes(token, true).length == 0) {
            finish(); // a special token: end of text
          } else {
            decode(all);
          }
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

  /** How many tokens (bytes, for a byte-level model) have been generated so far. */
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

  private void decode(byte[] data) {
    if (bytes.remaining() < data.length) {
      ByteBuffer bigger = ByteBuffer.allocate(bytes.position() + data.length + 64);
      bytes.flip();
      bigger.put(bytes);
      bytes = bigger;
    }
    if (chars.capacity() < bytes.capacity() + data.length) {
      chars = CharBuffer.allocate(bytes.capacity() + data.length + 64);
    }
    bytes.put(data);
    bytes.flip();
    decoder.decode(bytes, chars, false);
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
