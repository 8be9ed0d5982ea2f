package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Text through the model's tokenizer: the byte-level identity, and a BPE
 * model whose tokenizer.json was made with HF tokenizers (the expected ids are
 * HF's, from tests/oracle/tokenizer/kjv_bpe_nfc_specials/golden.json).
 */
class TokenizerTest {
  static Model bpe;
  static Model bytes;
  static Model frames;

  static final String[] TEXTS = {
    "In the beginning God created the heaven and the earth.",
    "before<|endoftext|>after",
    "combining e\u0301 accent",
    "emoji \uD83D\uDE42\uD83D\uDE80 and \u2728 sparkles",
    "a  b   c    d",
    "",
  };
  static final int[][] IDS = {
    {42, 79, 260, 297, 72, 266, 79, 292, 390, 281, 574, 284, 260, 519, 391, 269, 260, 641, 15},
    {67, 70, 408, 0, 66, 71, 440},
    {68, 305, 67, 266, 292, 222, 129, 104, 669, 362},
    {489, 80, 75, 74, 222, 174, 255, 249, 226, 174, 255, 250, 224, 269, 222, 160, 252, 103, 425, 335, 76,
     594},
    {66, 222, 272, 222, 222, 281, 222, 222, 222, 288},
    {},
  };

  @BeforeAll
  static void load() {
    bpe = Model.load(TestFiles.bpeModel());
    bytes = Model.load(TestFiles.tokenModel());
    frames = Model.load(TestFiles.frameModel());
  }

  @AfterAll
  static void close() {
    bpe.close();
    bytes.close();
    frames.close();
  }

  @Test
  void kinds() {
    assertEquals(Tokenizer.BPE, bpe.tokenizer());
    assertEquals(Tokenizer.BYTES, bytes.tokenizer());
    assertEquals(Tokenizer.NONE, frames.tokenizer());
  }

  @Test
  void bpeMatchesHf() {
    for (int i = 0; i < TEXTS.length; i++) {
      assertArrayEquals(IDS[i], bpe.tokenize(TEXTS[i]), TEXTS[i]);
      assertEquals(Normalizer.normalize(TEXTS[i], Normalizer.Form.NFC), bpe.detokenize(IDS[i]));
    }
  }

  @Test
  void specials() {
    int[] ids = IDS[1];
    assertEquals("beforeafter", bpe.detokenize(ids, true));
    int[] plain = bpe.tokenize("before<|endoftext|>after", false, true);
    for (int id : plain) {
      assertTrue(id != 0);
    }
    assertEquals("before<|endoftext|>after", bpe.detokenize(plain));
    assertArrayEquals(bpe.tokenize("x"), bpe.tokenize("x", true, false)); // no BOS/EOS here
    assertEquals(OptionalInt.of(0), bpe.tokenId("<|endoftext|>"));
    assertEquals(OptionalInt.of(1), bpe.tokenId("<|padding|>"));
    assertFalse(bpe.tokenId("no such token").isPresent());
    assertArrayEquals("<|endoftext|>".getBytes(StandardCharsets.UTF_8), bpe.tokenBytes(0, false));
    assertEquals(0, bpe.tokenBytes(0, true).length);
  }

  @Test
  void bytesAndUtf8() {
    // "é" is two tokens of one byte each; alone, each is not UTF-8.
    assertArrayEquals(new byte[] {(byte) 0xc3}, bpe.tokenBytes(129, false));
    assertEquals("\uFFFD", bpe.detokenize(new int[] {129}));
    assertEquals("\uFFFD", bpe.detokenize(new int[] {174, 255})); // F0 9F: one U+FFFD, as in HF
    assertEquals("\u00e9", bpe.detokenize(new int[] {129, 104}));
    byte[] raw = {(byte) 0xff, (byte) 0xfe, ' ', 'o', 'k', (byte) 0xc3};
    assertArrayEquals(raw, bpe.detokenizeBytes(bpe.tokenize(raw, false, false), false));
    assertEquals(0, bpe.detokenizeBytes(new int[] {700, 703}, false).length);
    SeqcoreException e = assertThrows(SeqcoreException.class, () -> bpe.detokenize(new int[] {704}));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertThrows(SeqcoreException.class, () -> bpe.tokenBytes(-1, false));
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 5000; i++) {
      sb.append("In the beginning \u00e9\u65e5 ");
    }
    String longText = sb.toString();
    assertEquals(longText, bpe.detokenize(bpe.tokenize(longText)));
  }

  @Test
  void bytesIdentity() {
    assertArrayEquals(new int[] {104, 0xc3, 0xa9, 108, 108, 111}, bytes.tokenize("h\u00e9llo"));
    assertEquals("h\u00e9llo", bytes.detokenize(new int[] {104, 0xc3, 0xa9, 108, 108, 111}));
    assertEquals(OptionalInt.of(65), bytes.tokenId("A"));
  }

  @Test
  void noTokenizer() {
    SeqcoreException e = assertThrows(SeqcoreException.class, () -> frames.tokenize("x"));
    assertEquals(Status.UNSUPPORTED, e.status());
    assertThrows(SeqcoreException.class, () -> frames.detokenize(new int[] {0}));
  }

  @Test
  void generateText() {
    String prompt = "In the beginning";
    String text;
    int[] ids;
    try (Stream s = bpe.newStream(); Stream r = bpe.newStream()) {
      s.setSampling(1.0f, 0, 1.0f);
      s.setSeed(7);
      TextGenerator g = s.text(prompt, 40);
      StringBuilder sb = new StringBuilder();
      for (String piece : g) {
        sb.append(piece);
      }
      text = sb.toString();
      int n = g.bytesGenerated();
      r.setSampling(1.0f, 0, 1.0f);
      r.setSeed(7);
      ids = r.generateTokens(bpe.tokenize(prompt, true, false), n);
    }
    // The pieces join to the text of the tokens (up to a special token, where generation stops).
    String all = bpe.detokenize(ids, true);
    assertTrue(all.startsWith(text) || text.equals(all), text + " vs " + all);
    assertTrue(text.length() > 0);
  }

  @Test
  void closedModel() {
    Model m = Model.load(TestFiles.bpeModel());
    m.close();
    assertThrows(SeqcoreException.class, () -> m.tokenize("x"));
  }
}
