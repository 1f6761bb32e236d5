"""Decoding: per-frame class scores ``(T, N, K)`` -> text.

- :mod:`.ctc`: the CTC mathematics in numpy (best path, the forward algorithm, a batched
  prefix beam search); :class:`~.ctc.Decoded` is every decoder's result.
- :mod:`.decoders`: the user-facing decoders behind ``--decoder`` (greedy, beam with an
  optional language model, allowed characters, lexicon), built by :func:`build_decoder`.
- :mod:`.lexicon`: lexicon-constrained reading (near entries scored exactly).
- :mod:`.lm`: the character n-gram language model and ``crnn lm``.
"""

from .ctc import Decoded, greedy_decode
from .decoders import DecoderConfig, build_decoder

__all__ = ["Decoded", "DecoderConfig", "build_decoder", "greedy_decode"]
