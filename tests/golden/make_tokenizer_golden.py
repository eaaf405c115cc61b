#!/usr/bin/env python3
"""Golden ids for the byte-level BPE tokenizer (io/tokenizer.h), made with Hugging Face `tokenizers`.

Writes into tests/data/tokenizer/:
  tiny_tokenizer.json, tiny_tokenizer_legacy.json, tiny_tokenizer_llama3.json: small hand-made
      tokenizer.json fixtures that exercise the loader (pair and "a b" merge formats, the three
      pre-tokenizers, BOS/EOS templates, ignore_merges, special / non-special / overlapping added
      tokens, bytes missing from the vocab);
  tiny_golden.json: HF's ids and decodes for both fixtures;
  pretokenize_golden.json: HF's pre-tokenizer pieces for the three split patterns on the texts below
      and on random strings over a pool of letters, digits, spaces and punctuation;
  utf8_lossy_golden.json: Python's bytes.decode("utf-8", "replace") on ill-formed byte strings (the
      same maximal-subpart rule as Rust's from_utf8_lossy);
  smollm2_golden.json: HF's ids and decodes for SmolLM2-135M-Instruct, built from the GGUF in the
      ckf cache (the 2 MB tokenizer itself is not committed; the C++ test rebuilds it from the GGUF).

Run from the repository root: python3 tests/golden/make_tokenizer_golden.py
"""
import json
import os
import random
import tempfile

from tokenizers import Regex
from tokenizers import Tokenizer
from tokenizers import pre_tokenizers

OUT = "tests/data/tokenizer"
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
GGUF = os.path.expanduser("~/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf")

TEXTS = [
    "",
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Star Wars: Episode IV - A New Hope (1977)",
    "Toy Story (1995)|Adventure|Animation|Children|Comedy|Fantasy",
    "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
    "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
    "digits 12345 3.14 -0.5e10 1,000,000 007",
    "x\u00b2 + \u2167 + \u0663\u0664 + \u00bd",  # No, Nl, Nd (Arabic-Indic), No
    "it's they're we've I'm you'll he'd 'S 'tis",
    "multiple   spaces\tand\ttabs\n\nnewlines \n end  ",
    "   leading and trailing   ",
    "\n",
    " ",
    "a\u00a0b\u2003c\u3000d\u0085e\u200bf\u001cg",  # White_Space vs not (ZWSP, FS)
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 Stra\u00dfe \u00c5ngstr\u00f6m",
    "cafe\u0301 e\u0308 n\u0303",  # combining marks
    "\u4f60\u597d\uff0c\u4e16\u754c\u3002\u6771\u4eac\u30bf\u30ef\u30fc",  # CJK
    "\ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8",  # Hangul
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",  # Arabic
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439, \u043c\u0438\u0440!",  # Cyrillic
    "emoji \U0001f600\U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|><|endoftext|>",
    "text<|endoftext|>more<|im_start",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "User 42 rated: Toy Story (1995) 4.5/5; Heat (1995) 3/5. Next?",
    "code: def f(x):\n    return x**2  # square\n",
    "URL https://example.com/path?q=1&b=two#frag",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!???...---___===+++",
    "\u2019smart quotes\u2019 \u201cdouble\u201d \u2014 dash \u2026",
    # Assigned after Unicode 14: letters U+1C89, U+A7CB, U+105C0 (16.0); digits U+11DE0, U+16FF4 (17.0,
    # numeric to Digits only).
    "new \u1c89\ua7cbx \U000105c0\U000105c1 n\U00011de0\U00011de1 \U00016ff4 5",
]


def cases(tok, texts):
    out = []
    for t in texts:
        enc = tok.encode(t, add_special_tokens=True).ids
        plain = tok.encode(t, add_special_tokens=False).ids
        out.append({
            "text": t,
            "ids": plain,
            "ids_add_special": enc,
            "decoded": tok.decode(plain, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(plain, skip_special_tokens=True),
        })
    return out


def decode_cases(tok, id_lists):
    return [{"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)} for ids in id_lists]


def smollm2_tokenizer():
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(os.path.dirname(GGUF), gguf_file=os.path.basename(GGUF))
    tok = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    # transformers' GGUF conversion maps tokenizer.ggml.pre = "smollm" to a plain ByteLevel
    # pre-tokenizer, but the model was trained with Sequence[Digits(individual_digits=True),
    # ByteLevel] (llama.cpp's "smollm": \p{N} isolated, then the GPT-2 pattern): its vocab has no
    # multi-digit token and no space+digit token, which the plain ByteLevel split would produce.
    vocab = tok.get_vocab()
    assert not any(sum(c.isdigit() for c in t) > 1 for t in vocab), "unexpected multi-digit token"
    assert not any(len(t) == 2 and t[0] == "\u0120" and t[1].isdigit() for t in vocab)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    return tok


def tiny_fixture(style):
    byte_chars = [chr(c) for c in range(ord("!"), ord("~") + 1)] + ["\u0120", "\u010a", "\u0109", "\u00c3", "\u00a9"]
    merges = [("\u0120", "t"), ("h", "e"), ("\u0120t", "he"), ("i", "n"), ("\u0120", "a"), ("a", "n"),
              ("an", "d"), ("n", "d"), ("\u0120a", "nd"), ("1", "9"), ("\u0120", "1"), ("\u00c3", "\u00a9"),
              ("\u010a", "\u010a"), ("\u0120", "\u0120"), ("\u0120\u0120", "\u0120\u0120"), ("e", "r"),
              ("\u0120", "s"), ("\u0120s", "t"), ("\u0120st", "a"), ("\u0120sta", "r")]
    specials = ["<s>", "</s>", "<|im_start|>"]
    vocab = {}
    # "\u0120hello" has no merges leading to it: only ignore_merges (llama3 style) produces it.
    for t in specials + byte_chars + [a + b for a, b in merges] + ["\u0120hello"]:
        vocab.setdefault(t, len(vocab))
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for s in specials]
    # Non-special added tokens past the model vocab; "<|im" overlaps "<|im_start|>" (longest wins).
    added.append({"id": len(vocab), "content": "[MASK]", "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": True, "special": False})
    added.append({"id": len(vocab) + 1, "content": "<|im", "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": False})
    # Added tokens go through the ByteLevel decoder too: "\u0120wow" decodes to " wow", while
    # "x y" (a raw space is no byte-level character) is taken verbatim.
    for extra in ["\u0120wow", "x y"]:
        added.append({"id": len(vocab) + len(added) - len(specials), "content": extra, "single_word": False,
                      "lstrip": False, "rstrip": False, "normalized": False, "special": False})
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    ignore_merges = False
    if style == "legacy":
        pre = byte_level
        post = None
        merge_list = [f"{a} {b}" for a, b in merges]
    elif style == "llama3":
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            dict(byte_level, use_regex=False)]}
        post = {"type": "Sequence", "processors": [
            dict(byte_level, use_regex=False),
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]}}}]}
        merge_list = [[a, b] for a, b in merges]
        ignore_merges = True
    else:
        pre = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]},
                                   "</s>": {"id": "</s>", "ids": [vocab["</s>"]], "tokens": ["</s>"]}}}
        merge_list = [[a, b] for a, b in merges]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": pre, "post_processor": post,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": ignore_merges,
                      "vocab": vocab, "merges": merge_list}}


TINY_TEXTS = [
    "", "the and star", " the  1999 19 x19", "caf\u00e9 \u00e9\u00e9", "<s>the</s>", "<|im_start|>and<|im[MASK]",
    "\n\n\n\n  \t  ", "x   ", "     ", "\n\n\n", "na\u00efve \u4f60 \U0001f600 digits 123", "it's 'll", "START the END", "[MASK]in[MASK]", "x y\u0120wow wow",
    "say hello hello! (hello) IT'S 12345\r\n\n  x",
]


POOL = list("abcXYZ019 '\t\n\r!?.-_sdtmlrveSDTMLRVE(") + ["\u00e9", "\u00a0", "\u3000", "\u0085", "\u200b", "\u00b2",
                                                 "\u0663", "\u4f60", "\U0001f600", "\u0301", "  ", "'s", "'ll"]


def pretokenize_golden():
    rng = random.Random(1234)
    texts = TEXTS + ["".join(rng.choice(POOL) for _ in range(rng.randint(0, 30))) for _ in range(400)]
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    kinds = {"gpt2": byte_level,
             "digits_gpt2": pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]),
             "llama3": pre_tokenizers.Sequence([
                 pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])}
    out = {}
    for name, pre in kinds.items():
        # Offsets index the Python string, so slicing gives the raw (not byte-mapped) pieces.
        out[name] = [{"text": t, "pieces": [t[a:b] for _, (a, b) in pre.pre_tokenize_str(t)]} for t in texts]
    return out


def utf8_lossy_golden():
    rng = random.Random(99)
    cases = [b"\x80", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98",
             b"a\xf0\x9f\x98b", b"\xe2\x82", b"\xff\xfe", b"\xc3\xa9\xc3", b"\xf1\x80\x80\xe1\x80\xc2"]
    alphabet = [b"a", b"\x80", b"\xbf", b"\xc2", b"\xdf", b"\xe0", b"\xed", b"\xef", b"\xf0", b"\xf4",
                b"\xf5", b"\x9f", b"\xa0", b"\x90", b"\x8f"]
    cases += [b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    return [{"hex": c.hex(), "decoded": c.decode("utf-8", "replace")} for c in cases]


def write_json(name, value):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_json("pretokenize_golden.json", pretokenize_golden())
    write_json("utf8_lossy_golden.json", utf8_lossy_golden())
    tiny = {}
    for name, style in [("tiny_tokenizer.json", "digits"), ("tiny_tokenizer_legacy.json", "legacy"),
                        ("tiny_tokenizer_llama3.json", "llama3")]:
        path = os.path.join(OUT, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(tiny_fixture(style), f, ensure_ascii=False, indent=1)
        tok = Tokenizer.from_file(path)
        tiny[name] = {"cases": cases(tok, TINY_TEXTS),
                      "decode_cases": decode_cases(tok, [[tok.token_to_id("\u00c3")], [tok.token_to_id("\u00c3"), 5, 6],
                                                      [tok.token_to_id("\u0120wow"), tok.token_to_id("x y")]])}
    write_json("tiny_golden.json", tiny)

    tok = smollm2_tokenizer()
    # Byte-level tokens that cut a multi-byte character: decode must produce U+FFFD like HF.
    e_acute = tok.encode("\u00e9").ids
    emoji = tok.encode("\U0001f600").ids
    id_lists = [e_acute[:1], emoji[:1], emoji[:1] + [tok.token_to_id("a")], emoji[1:], [1, 2, 0] + emoji[::-1]]
    golden = {
        "source": "transformers GGUF conversion of SmolLM2-135M-Instruct.Q4_1.gguf, pre_tokenizer set to "
                  "Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False)]",
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "token_to_id": {t: tok.token_to_id(t) for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "\u0120the", "1"]},
        "cases": cases(tok, TEXTS),
        "decode_cases": decode_cases(tok, id_lists),
    }
    write_json("smollm2_golden.json", golden)


if __name__ == "__main__":
    main()
