"""Copy the font faces ``crnn synth`` would use for a charset into one folder, each face
subset to the charset's characters, so a machine without those fonts (a rented GPU box
with no package access) renders the same lines:

    python tools/gpu/pack_fonts.py --charset src/crnn/models/default.charset.txt --out .gpu/fonts
    # there: crnn synth --no-system-fonts --fonts .gpu/fonts ...

Faces are chosen exactly as ``crnn synth`` chooses them (system folders, the default
config's exclude and region rules); family and style names are kept, so the face groups
and their drawing weights are the same as here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from crnn.charset import Charset
from crnn.synth.config import load_config
from crnn.synth.synthesizer import fonts_for


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--charset", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    fs = fonts_for(Charset.from_file(args.charset), load_config())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.layout_features = ["*"]
    opts.hinting = False
    opts.notdef_outline = True
    total = 0
    for i, (face, cov) in enumerate(zip(fs.faces, fs.covered, strict=True)):
        font = TTFont(str(face.path), fontNumber=max(face.index, 0), lazy=False)
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=[ord(c) for c in cov])
        sub.subset(font)
        ext = ".otf" if "CFF " in font or "CFF2" in font else ".ttf"
        dest = out / f"face{i:02d}{ext}"
        font.save(str(dest))
        total += dest.stat().st_size
        print(f"{dest.name}  {dest.stat().st_size / 1e6:5.2f} MB  {face.family} {face.style}")
    print(f"{len(fs.faces)} faces, {total / 1e6:.1f} MB in {out}")


if __name__ == "__main__":
    main()
