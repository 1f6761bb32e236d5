"""Copy the font faces ``crnn synth`` would use for a charset into one folder, each face
subset to the charset's characters, so a machine without those fonts (a rented GPU box
with no package access) renders the same lines:

    python tools/gpu/pack_fonts.py --charset configs/v35/charset.txt \
        --config configs/v35/synth_tgh.yaml --out build/gpu_prep/fonts-KEY \
        --max-mb 31 --pick-out build/gpu_prep/fonts
    # there: crnn synth --config configs/v35/synth_tgh.yaml --no-system-fonts --fonts DIR

Faces are chosen exactly as ``crnn synth --config`` chooses them (system folders, the
config's exclude and region rules: held-out families stay here); family and style names
are kept, so the face groups and their drawing weights are the same as here.

A call carries 64 MiB with the working tree (42 MB of it the bundled model and language
model), and the subset faces are far more (214 MB for the 697 faces of a 9,204-character
charset, 180 MB of it 64 CJK faces). ``--max-mb`` keeps a share, round by round: first one
face per design (family name without its weight words; its regular style where it has one),
then a second, and so on; in each round the faces under 1 MB (Latin) first, then the CJK
ones that cover most of the charset (the largest subsets), each while it fits.
``--pick-out`` links the kept faces into a folder of their own. The run then draws CJK
text from fewer faces than a workstation does (tools/gpu/prepare.sh sizes the share).
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from crnn.charset import Charset
from crnn.synth.config import load_synth_config
from crnn.synth.synthesizer import fonts_for


def _subset(job: tuple[int, str, int, str, str]) -> tuple[str, int]:
    """Write one face subset to its characters; returns (file name, bytes)."""
    i, path, index, chars, out = job
    for done in Path(out).glob(f"face{i:03d}.*"):  # written by an earlier run
        return done.name, done.stat().st_size
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.layout_features = ["*"]
    opts.hinting = False
    opts.notdef_outline = True
    font = TTFont(path, fontNumber=max(index, 0), lazy=False)
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    ext = ".otf" if "CFF " in font or "CFF2" in font else ".ttf"
    dest = Path(out) / f"face{i:03d}{ext}"
    tmp = dest.with_name(f".{dest.name}.tmp")
    font.save(str(tmp))
    os.replace(tmp, dest)  # a run stopped midway leaves no half-written face behind
    return dest.name, dest.stat().st_size


_WEIGHTS = {"thin", "extralight", "light", "demilight", "regular", "medium", "semibold",
            "bold", "black", "heavy", "mono", "sharp"}


def _design(path: Path) -> tuple[str, bool]:
    """(family without weight words, whether this is its regular style)."""
    names = TTFont(str(path), lazy=True)["name"]
    family = names.getDebugName(16) or names.getDebugName(1) or path.stem
    style = names.getDebugName(17) or names.getDebugName(2) or ""
    words = [w for w in family.split() if w.lower() not in _WEIGHTS]
    return " ".join(words).lower(), style.lower() in ("regular", "book", "")


def pick(files: list[Path], max_bytes: int, large: int = 1_000_000) -> list[Path]:
    """The faces to keep within ``max_bytes`` (module docstring)."""
    designs = {f: _design(f) for f in files}
    seen: dict[str, int] = {}
    rounds: list[list[Path]] = []
    # round n holds each design's n-th face, its regular style first, then its largest
    for f in sorted(files, key=lambda f: (not designs[f][1], -f.stat().st_size)):
        n = seen.get(designs[f][0], 0)
        seen[designs[f][0]] = n + 1
        while len(rounds) <= n:
            rounds.append([])
        rounds[n].append(f)
    keep: list[Path] = []
    used = 0
    for batch in rounds:  # each round: the small (Latin) faces, then the CJK ones, largest
        for f in sorted(batch, key=lambda f: (f.stat().st_size >= large, -f.stat().st_size)):
            if used + f.stat().st_size <= max_bytes:
                keep.append(f)
                used += f.stat().st_size
    return sorted(keep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--charset", required=True)
    ap.add_argument("--config", help="the synth config the run renders with (its fonts: "
                    "exclude and regions); default: crnn synth's defaults")
    ap.add_argument("--out", required=True,
                    help="folder; faces already subset there are kept, so a stopped run "
                         "goes on where it was (use one folder per charset and config)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-mb", type=float, help="keep at most this many MB of faces")
    ap.add_argument("--pick-out", help="folder to link the kept faces into (with --max-mb)")
    args = ap.parse_args()
    fs = fonts_for(Charset.from_file(args.charset), load_synth_config(args.config))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(face.path), face.index, "".join(sorted(cov)), str(out))
            for i, (face, cov) in enumerate(zip(fs.faces, fs.covered, strict=True))]
    total = 0
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        for (name, size), (_, path, *_rest) in zip(pool.map(_subset, jobs), jobs, strict=True):
            total += size
            print(f"{name}  {size / 1e6:5.2f} MB  {Path(path).name}", flush=True)
    print(f"{len(fs.faces)} faces, {total / 1e6:.1f} MB in {out}")
    if args.max_mb and args.pick_out:
        dest = Path(args.pick_out)
        dest.mkdir(parents=True, exist_ok=True)
        files = sorted(f for f in out.iterdir() if f.name.startswith("face"))
        kept = pick(files, int(args.max_mb * 1e6))
        for f in kept:
            os.link(f, dest / f.name)
        cjk = [f for f in kept if f.stat().st_size >= 1_000_000]
        print(f"kept {len(kept)} of {len(files)} faces ({len(cjk)} of the CJK ones: "
              f"{', '.join(sorted({_design(f)[0] for f in cjk}))}), "
              f"{sum(f.stat().st_size for f in kept) / 1e6:.1f} MB in {dest}")


if __name__ == "__main__":
    main()
