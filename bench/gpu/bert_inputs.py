#!/usr/bin/env python3
"""Inputs of a BERT encoder from bench/peers/make_vit --bert for frugal bench --input:
input_ids uniform in [0, vocab), attention_mask all ones, token_type_ids all zeros, int64
[batch, seq], written as .npy with the standard library only (frugal bench's random inputs
would put ids outside the vocabulary and token types outside {0, 1}).

  bert_inputs.py OUT_DIR BATCH SEQ VOCAB   # writes OUT_DIR/{input_ids,attention_mask,token_type_ids}_bBATCH.npy
"""
import random
import struct
import sys


def write_npy(path, rows, cols, values):
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"  # data 64-byte aligned
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%dq" % len(values), *values))


def main(out, batch, seq, vocab):
    rng = random.Random(0)
    n = batch * seq
    write_npy(f"{out}/input_ids_b{batch}.npy", batch, seq, [rng.randrange(vocab) for _ in range(n)])
    write_npy(f"{out}/attention_mask_b{batch}.npy", batch, seq, [1] * n)
    write_npy(f"{out}/token_type_ids_b{batch}.npy", batch, seq, [0] * n)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
