"""Writes N deterministic items of about 215 bytes each (DynamoDB's item size: names plus values,
as dynalite counts it) as DynamoDB JSON lines, {"Item":{...}} as ddbfs exports them: the seed
scenario (100 M items in 20 GB) scaled down, for the benchmarks. Keys pk (S) and sk (N).

    python3 gen_items.py N FILE [--start I]

Stdlib only; item i is the same in every run.
"""

import json
import sys

TARGET = 215
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"]


def number_size(s):
    """dynalite's size of an N: about (significant digits) / 2 + 1."""
    digits = s.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def item_size(item):
    size = 0
    for name, value in item.items():
        size += len(name)
        (kind, v), = value.items()
        if kind == "S":
            size += len(v)
        elif kind == "N":
            size += number_size(v)
        elif kind == "BOOL":
            size += 1
        elif kind == "SS":
            size += sum(len(x) for x in v)
        else:
            raise ValueError(kind)
    return size


def make_item(i):
    w = WORDS[i % len(WORDS)]
    item = {
        "pk": {"S": f"user#{i // 4:08d}"},
        "sk": {"N": str(i % 4)},
        "name": {"S": f"{w.title()} {WORDS[(i * 7) % len(WORDS)].title()}"},
        "email": {"S": f"{w}.{i}@example.com"},
        "created": {"N": str(1700000000000 + i * 37)},
        "score": {"N": f"{(i * 7919) % 100000 / 100:.2f}"},
        "active": {"BOOL": i % 3 != 0},
        "tags": {"SS": sorted({w, WORDS[(i * 5) % len(WORDS)]})},
    }
    # Sizes from TARGET - 15 to TARGET + 15, about TARGET on average.
    want = TARGET - 15 + (i * 13) % 31
    room = want - item_size(item) - len("bio")
    text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(40))
    item["bio"] = {"S": text[:max(room, 1)]}
    return item


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--start"):
        print("usage: gen_items.py N FILE [--start I]", file=sys.stderr)
        return 2
    n, path = int(argv[1]), argv[2]
    start = int(argv[4]) if len(argv) == 5 else 0
    with open(path, "w", encoding="utf-8") as f:
        for i in range(start, start + n):
            f.write(json.dumps({"Item": make_item(i)}, separators=(",", ":")))
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
