#!/usr/bin/env python3
"""Translates a CUDA source (.cu or .cuh) into C++ that g++ compiles against the CUDA emulator
(tests/cuda_emu/device_side.h, force-included). Three rewrites, each keeping the line count so
that compiler messages point at the original lines (a #line directive names the original file):

  kernel<<<grid, block[, smem[, stream]]>>>(args)
      -> ::ckf_emu::make_launch(kernel, "kernel", grid, block[, smem[, stream]])(args)
     (kernel: a name, qualified name, template-id or function-pointer variable)
  extern __shared__ T name[];
      -> T* name = reinterpret_cast<T*>(::ckf_emu::dynamic_shared());
  __shared__ T a[N], b[M];   (static shared memory: one instance per block)
      -> static char tag_a; T (&a)[N] = *reinterpret_cast<T(*)[N]>(::ckf_emu::static_shared(&tag_a, ...)); ...

Usage: translate.py INPUT OUTPUT
"""
import re
import sys


def split_top_level(text, sep=","):
    """Splits at `sep` outside (), [], {} and <>."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def callee_start(src, end):
    """Start of the launched expression that ends just before src[end] (`<<<`)."""
    i = end
    while i > 0 and src[i - 1].isspace():
        i -= 1
    while i > 0:
        ch = src[i - 1]
        if ch == ">":  # template arguments: skip back to the matching '<'
            depth = 0
            while i > 0:
                i -= 1
                if src[i] == ">":
                    depth += 1
                elif src[i] == "<":
                    depth -= 1
                    if depth == 0:
                        break
        elif ch.isalnum() or ch in "_:":
            i -= 1
        else:
            break
    return i


def rewrite_launches(src):
    out, pos = [], 0
    while True:
        open_at = src.find("<<<", pos)
        if open_at < 0:
            out.append(src[pos:])
            return "".join(out)
        close_at = src.find(">>>", open_at)
        if close_at < 0:
            raise SystemExit(f"translate.py: '<<<' without '>>>' at offset {open_at}")
        start = callee_start(src, open_at)
        callee = src[start:open_at].strip()
        if not callee:
            raise SystemExit(f"translate.py: no kernel before '<<<' at offset {open_at}")
        config = src[open_at + 3:close_at]
        name = re.sub(r"\s+", "", callee)
        out.append(src[pos:start])
        out.append(f'::ckf_emu::make_launch({callee}, "{name}", {config})')
        pos = close_at + 3


EXTERN_SHARED = re.compile(r"extern\s+__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s*)?([\w:\s]+?)\s*(\w+)\s*\[\s*\]\s*;")
STATIC_SHARED = re.compile(r"__shared__\s+([^;]*);")
DECLARATOR = re.compile(r"\s*(\w+)\s*((?:\[[^\]]*\]\s*)*)$")


def rewrite_extern_shared(src):
    return EXTERN_SHARED.sub(
        lambda m: f"{m.group(1).strip()}* {m.group(2)} = reinterpret_cast<{m.group(1).strip()}*>(::ckf_emu::dynamic_shared());",
        src)


def rewrite_static_shared(src):
    def one(m):
        body = m.group(1)
        decls = split_top_level(body)
        first = DECLARATOR.search(decls[0])
        if not first:
            raise SystemExit(f"translate.py: cannot parse the __shared__ declaration '{body}'")
        type_ = decls[0][:first.start()].strip()
        pieces = []
        for d in [decls[0][first.start():]] + decls[1:]:
            dm = DECLARATOR.match(d)
            if not dm or "=" in d:
                raise SystemExit(f"translate.py: cannot parse the __shared__ declarator '{d}' (no initialisers)")
            name, dims = dm.group(1), re.sub(r"\s+", "", dm.group(2))
            full = f"{type_}{dims}"
            tag = f"ckf_emu_tag_{name}"
            pieces.append(
                f"static char {tag}; {type_} (&{name}){dims} = *reinterpret_cast<{type_} (*){dims}>("
                f"::ckf_emu::static_shared(&{tag}, sizeof({full}), alignof({full})));")
        return " ".join(pieces)

    return STATIC_SHARED.sub(one, src)


def translate(src, path):
    src = rewrite_launches(src)
    src = rewrite_extern_shared(src)
    src = rewrite_static_shared(src)
    return f'#line 1 "{path}"\n' + src


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as f:
        src = f.read()
    out = translate(src, sys.argv[1])
    with open(sys.argv[2], "w") as f:
        f.write(out)


if __name__ == "__main__":
    main()
