"""``crnn serve`` on the command line: arguments, settings, and running uvicorn."""

import argparse
import ipaddress
import math
import os
import sys

import numpy as np

from ..errors import (
    ConfigError,
    CrnnError,
)
from .app import create_app, guarded_h11
from .settings import TOKEN_ENV, ServeSettings


# --------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crnn serve`` (the root CLI adds them to its subparser)."""
    d = ServeSettings()
    parser.add_argument("--model", default="default",
                        help="checkpoint or .onnx path ('default': the bundled model, when "
                             "this build has one)")
    parser.add_argument("--model-name", help="name shown by /v1/model (default: file name)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV),
                        help=f"require 'Authorization: Bearer TOKEN' on /v1/ routes "
                             f"(default: ${TOKEN_ENV}, if set)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="allow browser calls from this origin (repeatable; none by "
                             "default)")
    parser.add_argument("--batch-window-ms", type=float, default=d.batch_window_ms,
                        help="how long a batch waits for more requests (default %(default)s)")
    parser.add_argument("--max-batch", type=int, default=d.max_batch,
                        help="images per gathered batch (default %(default)s)")
    parser.add_argument("--no-batching", action="store_true",
                        help="run every request on its own (no micro-batching)")
    parser.add_argument("--max-concurrency", type=int, default=d.max_concurrency,
                        help="recognize calls at once (default %(default)s)")
    parser.add_argument("--max-queue", type=int, default=d.max_queue,
                        help="images waiting before requests get 503 (default %(default)s)")
    parser.add_argument("--max-request-bytes", type=int, default=d.max_request_bytes,
                        help="largest request body (default %(default)s)")
    parser.add_argument("--max-images", type=int, default=d.max_images,
                        help="images per request (default %(default)s)")
    parser.add_argument("--max-pixels", type=int, default=d.max_pixels,
                        help="pixels (width x height) per image (default %(default)s)")
    parser.add_argument("--page-max-pixels", type=int, default=d.page_max_pixels,
                        help="pixels per page for /v1/ocr (default %(default)s)")
    parser.add_argument("--max-pages", type=int, default=d.max_pages,
                        help="pages of one PDF or TIFF read per /v1/ocr request (default "
                             "%(default)s)")
    parser.add_argument("--page-dpi", type=int, default=d.page_dpi,
                        help="resolution PDFs are rasterised at (default %(default)s)")
    parser.add_argument("--max-dpi", type=int, default=d.max_dpi,
                        help="highest ?dpi= a request may ask for (default %(default)s)")
    parser.add_argument("--page-concurrency", type=int, default=d.page_concurrency,
                        help="pages read at once (default %(default)s)")
    parser.add_argument("--page-queue", type=int, default=d.page_queue,
                        help="page requests waiting before 503 (default %(default)s)")
    parser.add_argument("--max-connections", type=int, default=512,
                        help="open connections before uvicorn answers 503 (default "
                             "%(default)s)")
    parser.add_argument("--header-timeout", type=float, default=10.0,
                        help="seconds a client has to send a request's headers, from "
                             "connecting or from the previous response (default %(default)s)")
    parser.add_argument("--body-timeout", type=float, default=60.0,
                        help="seconds a client has to send a request's body after its "
                             "headers (default %(default)s)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    parser.add_argument("--batch-size", type=int, default=64,
                        help="lines per forward pass inside the Recognizer")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"))


def settings_from_args(args: argparse.Namespace, model_name: str) -> ServeSettings:
    return ServeSettings(
        model_name=args.model_name or model_name, max_request_bytes=args.max_request_bytes,
        max_images=args.max_images, max_pixels=args.max_pixels, max_queue=args.max_queue,
        max_concurrency=args.max_concurrency, batching=not args.no_batching,
        batch_window_ms=args.batch_window_ms, max_batch=args.max_batch,
        token=args.token or None, cors_origins=tuple(args.cors_origin),
        page_max_pixels=args.page_max_pixels, max_pages=args.max_pages,
        page_dpi=args.page_dpi, max_dpi=args.max_dpi,
        page_concurrency=args.page_concurrency, page_queue=args.page_queue)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    """``crnn serve``: load the model once, then serve until interrupted."""
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise ConfigError(f"crnn serve needs FastAPI, uvicorn and python-multipart ({exc}): "
                          "pip install 'crnn[serve]'") from exc
    from ..recognizer import Recognizer, resolve_model_path

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a TCP port (1..65535)")
    for flag in ("header_timeout", "body_timeout"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"--{flag.replace('_', '-')} must be a positive number of "
                              f"seconds, not {value}")
    if str(args.model) == "default":
        try:
            resolve_model_path("default")
        except CrnnError as exc:
            raise ConfigError(f"crnn serve needs --model PATH: {exc}") from exc
    path = resolve_model_path(args.model)
    settings = settings_from_args(args, path.name)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    recognizer = Recognizer.load(path, device=args.device, batch_size=args.batch_size,
                                 backend=args.backend,
                                 decoder=getattr(args, "decoder_config", None),
                                 fuse_lm=getattr(args, "fuse_lm", None))
    # One pass before listening, so the first request does not pay for lazy start-up work.
    recognizer.recognize([np.full((recognizer.preprocess.height, 128), 255, np.uint8)],
                         ["warm-up"])
    app = create_app(recognizer, settings)
    if not _is_loopback(args.host) and settings.token is None:
        print(f"crnn serve: warning: listening on {args.host} without --token: anyone who "
              "can reach this port can use the service", file=sys.stderr)
    print(f"crnn serve: {settings.model_name} ({recognizer.backend}, {recognizer.device}) on "
          f"http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                            limit_concurrency=args.max_connections, server_header=False,
                            timeout_keep_alive=5,
                            http=guarded_h11(args.header_timeout, args.body_timeout))
    uvicorn.Server(config).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m crnn.serve ...``: the same as ``crnn serve ...``."""
    parser = argparse.ArgumentParser(
        prog="crnn serve", description="HTTP recognition service and web page.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  crnn serve --model runs/demo/best.pt\n"
               "  crnn serve --model best.pt --host 0.0.0.0 --token \"$TOKEN\"\n"
               "  curl -F images=@line.png http://127.0.0.1:8000/v1/recognize")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except CrnnError as exc:
        print(f"crnn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
