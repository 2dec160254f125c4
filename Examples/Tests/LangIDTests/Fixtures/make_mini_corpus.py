#!/usr/bin/env python3
"""Writes Examples/Tests/LangIDTests/Fixtures/mini-fortunes/: a small corpus in the layout of Debian's fortune
folder (a top-level English file, de/, es/, ru/, pl/), 150 fortunes per language taken in order from
the installed fortunes packages (`make demo-corpus`). The language-ID training test reads it, so that
`make test` needs no fortune package. Deterministic: same packages, same files.

    python3 Fixtures/make_mini_corpus.py   (from Examples/Tests/LangIDTests)
"""
import os

SOURCE = "/usr/share/games/fortunes"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "mini-fortunes")
PICKS = [("fortunes", "fortunes"), ("de/sprichworte", "de/sprichworte"), ("es/refranes.fortunes", "es/refranes"),
         ("ru/2001.03", "ru/2001.03"), ("pl/dowcipy", "pl/dowcipy")]

for source, target in PICKS:
    text = open(os.path.join(SOURCE, source), encoding="utf-8").read()
    kept = []
    for fortune in text.split("\n%\n"):
        flat = " ".join(fortune.split())
        if 40 <= len(flat) <= 300:
            kept.append(fortune.strip("\n"))
        if len(kept) == 150:
            break
    path = os.path.join(OUT, target)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n%\n".join(kept) + "\n%\n")
    print(target, len(kept))
