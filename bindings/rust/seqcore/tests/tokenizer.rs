//! Text through the model's tokenizer: the byte-level identity, and a BPE
//! model whose tokenizer.json was made with HF tokenizers (the expected ids
//! are HF's, from tests/oracle/tokenizer/kjv_bpe_nfc_specials/golden.json).

mod common;

use seqcore::{Model, Status, Token, TokenizerKind};

fn bpe() -> Model {
    Model::load(common::bpe_model()).unwrap()
}

/// (text, its NFC form, HF's ids)
const GOLDEN: &[(&str, &str, &[Token])] = &[
    (
        "In the beginning God created the heaven and the earth.",
        "In the beginning God created the heaven and the earth.",
        &[42, 79, 260, 297, 72, 266, 79, 292, 390, 281, 574, 284, 260, 519, 391, 269, 260, 641, 15],
    ),
    ("before<|endoftext|>after", "before<|endoftext|>after", &[67, 70, 408, 0, 66, 71, 440]),
    (
        "combining e\u{301} accent",
        "combining \u{e9} accent",
        &[68, 305, 67, 266, 292, 222, 129, 104, 669, 362],
    ),
    (
        "emoji \u{1F642}\u{1F680} and \u{2728} sparkles",
        "emoji \u{1F642}\u{1F680} and \u{2728} sparkles",
        &[
            489, 80, 75, 74, 222, 174, 255, 249, 226, 174, 255, 250, 224, 269, 222, 160, 252, 103, 425,
            335, 76, 594,
        ],
    ),
    ("a  b   c    d", "a  b   c    d", &[66, 222, 272, 222, 222, 281, 222, 222, 222, 288]),
    ("", "", &[]),
];

#[test]
fn kinds() {
    assert_eq!(bpe().tokenizer(), TokenizerKind::Bpe);
    assert_eq!(Model::load(common::token_model()).unwrap().tokenizer(), TokenizerKind::Bytes);
    assert_eq!(Model::load(common::frame_model()).unwrap().tokenizer(), TokenizerKind::None);
}

#[test]
fn bpe_matches_hf() {
    let m = bpe();
    for (text, nfc, ids) in GOLDEN {
        assert_eq!(m.tokenize(text).unwrap(), *ids, "{text:?}");
        assert_eq!(m.detokenize(ids).unwrap(), *nfc);
    }
}

#[test]
fn specials() {
    let m = bpe();
    let ids = [67, 70, 408, 0, 66, 71, 440];
    assert_eq!(m.detokenize_bytes(&ids, true).unwrap(), b"beforeafter");
    let plain = m.tokenize_with(b"before<|endoftext|>after", false, true).unwrap();
    assert!(!plain.contains(&0));
    assert_eq!(m.detokenize(&plain).unwrap(), "before<|endoftext|>after");
    assert_eq!(m.tokenize_with(b"x", true, false).unwrap(), m.tokenize("x").unwrap());
    assert_eq!(m.token_id("<|endoftext|>").unwrap(), Some(0));
    assert_eq!(m.token_id("no such token").unwrap(), None);
    assert_eq!(m.token_bytes(0, false).unwrap(), b"<|endoftext|>");
    assert!(m.token_bytes(0, true).unwrap().is_empty());
}

#[test]
fn bytes_and_utf8() {
    let m = bpe();
    assert_eq!(m.token_bytes(129, false).unwrap(), [0xc3]);
    assert_eq!(m.detokenize(&[129]).unwrap(), "\u{fffd}");
    assert_eq!(m.detokenize(&[174, 255]).unwrap(), "\u{fffd}"); // F0 9F: one U+FFFD, as HF
    assert_eq!(m.detokenize(&[129, 104]).unwrap(), "\u{e9}");
    let raw = b"\xff\xfe ok \xc3";
    assert_eq!(m.detokenize_bytes(&m.tokenize_with(raw, false, false).unwrap(), false).unwrap(), raw);
    assert!(m.detokenize_bytes(&[700, 703], false).unwrap().is_empty());
    assert_eq!(m.detokenize(&[704]).unwrap_err().status, Status::InvalidArgument);
    assert_eq!(m.token_bytes(-1, false).unwrap_err().status, Status::InvalidArgument);
    let long = "In the beginning \u{e9}\u{65e5} ".repeat(5000);
    assert_eq!(m.detokenize(&m.tokenize(&long).unwrap()).unwrap(), long);
}

#[test]
fn bytes_identity() {
    let m = Model::load(common::token_model()).unwrap();
    assert_eq!(m.tokenize("h\u{e9}llo").unwrap(), vec![104, 0xc3, 0xa9, 108, 108, 111]);
    assert_eq!(m.detokenize(&[104, 0xc3, 0xa9]).unwrap(), "h\u{e9}");
    assert_eq!(m.token_id("A").unwrap(), Some(65));
}

#[test]
fn no_tokenizer() {
    let m = Model::load(common::frame_model()).unwrap();
    assert_eq!(m.tokenize("x").unwrap_err().status, Status::Unsupported);
    assert_eq!(m.detokenize(&[0]).unwrap_err().status, Status::Unsupported);
}

#[test]
fn streaming_generation_joins_token_bytes() {
    let m = bpe();
    let mut s = m.stream().unwrap();
    s.set_sampling(seqcore::Sampling::temperature(1.0)).unwrap();
    s.set_seed(7).unwrap();
    let prompt = m.tokenize_with(b"In the beginning", true, false).unwrap();
    let ids: Vec<Token> = s.generate_iter(&prompt).take(40).map(|t| t.unwrap()).collect();
    let mut joined = Vec::new();
    for &id in &ids {
        joined.extend(m.token_bytes(id, false).unwrap());
    }
    assert_eq!(joined, m.detokenize_bytes(&ids, false).unwrap());
}
