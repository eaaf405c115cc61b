"""Writes docs.jsonl (random JSON documents, one per line, as Python's json module serialises them)
and flat.txt (each document flattened to "path<TAB>type<TAB>value" lines, strings as UTF-8 hex,
floats as %.17g, documents separated by "---"). json_test.cpp parses docs.jsonl with io/json and
must produce flat.txt exactly. Run: python3 tests/data/json/make_golden.py (deterministic)."""
import json
import os
import random

rng = random.Random(2024)
CHARS = ['a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\x00', '\x1f', '\x7f', '\u00e9', '\u4e2d',
         '\u2028', '\uffff', '\U0001F600', '\U00010000', '\U0010FFFF']


def rand_string():
    return ''.join(rng.choice(CHARS) for _ in range(rng.randint(0, 8)))


def rand_value(depth):
    kind = rng.randint(0, 7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 7, 2**31, -2**53 - 1, 2**62 + 3, rng.randint(-10**6, 10**6)])
    if kind == 3:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30)
    if kind == 4:
        return rand_string()
    if kind == 5:
        return [rand_value(depth + 1) for _ in range(rng.randint(0, 4))]
    return {rand_string() + str(k): rand_value(depth + 1) for k in range(rng.randint(0, 4))}


def flat(v, path, out):
    if v is None:
        out.append(f"{path}\tnull\t")
    elif isinstance(v, bool):
        out.append(f"{path}\tbool\t{'true' if v else 'false'}")
    elif isinstance(v, int):
        out.append(f"{path}\tint\t{v}")
    elif isinstance(v, float):
        out.append(f"{path}\tnumber\t{'%.17g' % v}")
    elif isinstance(v, str):
        out.append(f"{path}\tstring\t{v.encode('utf-8').hex()}")
    elif isinstance(v, list):
        out.append(f"{path}\tarray\t{len(v)}")
        for i, x in enumerate(v):
            flat(x, f"{path}[{i}]", out)
    else:
        out.append(f"{path}\tobject\t{len(v)}")
        for k, x in v.items():
            flat(x, f"{path}/{k.encode('utf-8').hex()}", out)


here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'docs.jsonl'), 'w', encoding='utf-8') as docs, \
        open(os.path.join(here, 'flat.txt'), 'w', encoding='utf-8') as flats:
    for n in range(60):
        v = rand_value(0)
        seps = rng.choice([(',', ':'), (', ', ': ')])
        docs.write(json.dumps(v, ensure_ascii=rng.random() < 0.5, separators=seps) + '\n')
        lines = []
        flat(v, '', lines)
        flats.write('\n'.join(lines) + '\n---\n')
