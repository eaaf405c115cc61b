# Writes tests/data/tokenizer/prompt_tokenizer.json: a small byte-level BPE (all 256 bytes, merges
# learnt from prompt-like text) with the ChatML specials, for prompt tests and the prep e2e test
# when the SmolLM2 GGUF is absent. Run: python3 tests/golden/make_prompt_tokenizer.py
import os
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

corpus = [
    "The user has watched these movies, oldest first: Toy Story (1995); Jumanji (1995); Heat (1995).",
    "Will the user enjoy the movie Casino (1995)? Answer Yes or No.",
    "How many stars will the user give the movie Sabrina (1995)? Answer with one digit from 1 to 5.",
    "Which movie will the user watch next? Candidates:\nA. Nixon (1995)\nB. GoldenEye (1995)\n",
    "Answer with the letter of one candidate. The user has rated these movies from 1 to 5 stars",
] * 20
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.Sequence(
    [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator(corpus, trainer)
out = os.path.join(os.path.dirname(__file__), "..", "data", "tokenizer", "prompt_tokenizer.json")
tok.save(out)
print("wrote", out, tok.get_vocab_size())
