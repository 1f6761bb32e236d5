"""Load test of ``crnn serve``: throughput and latency under concurrent clients.

Starts the service in a subprocess on a loopback port, drives it with N concurrent clients
(httpx, asyncio), each posting one line image per request (multipart) as fast as answers
come, for a bounded time, and prints requests/s, p50/p99 latency, errors and the server's
peak RSS, at each client count, with micro-batching off and on; and the Recognizer's own
throughput on the same images, in this process, for comparison: all images in one call
(what the service can at best approach) and one image per call.

    python benchmarks/serve_load.py [--model best.pt] [--clients 1,4,16] [--duration 5]
        [--modes off,0,5] [--rounds 2] [--threads 2] [--batch-size 64]

All servers (one per mode) run side by side and the rows are interleaved, round after
round, so that a change in a shared machine's load touches every mode alike; the load
average is printed with each row.

``--modes``: ``off`` (each request its own ``recognize`` call) or a batch window in ms
(``0`` gathers only requests already waiting). Without ``--model`` an untrained
tutorial-width model with the ``zh`` charset stands in: speed depends on the architecture,
not on the weights. Clients and server share the machine's cores, so on a small machine
the client's own CPU use is part of what is measured.

Page mode, ``--pages DIR`` (pages with line ground truth, ``../shared/dev/pages``), with
the bundled model unless ``--model`` names another:

    python benchmarks/serve_load.py --pages ../shared/dev/pages [--page-duration 120]

1. every page once through ``POST /v1/ocr`` and once through ``read_page`` in this process
   (what ``crnn ocr`` runs): page CER of each, and how many pages read identically;
2. one client, every page in turn: p50 / p95 latency;
3. ``--page-clients`` (4) clients posting pages for ``--page-duration`` seconds while one
   more client posts a line image every 0.5 s: page and line p50 / p95 latency, 503s
   (the documented answer of a full page queue), other errors, the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

TEXTS = ["录取通知书", "2024年9月1日", "姓名：张伟  学号：20240901", "北京市海淀区中关村大街59号",
         "Admission Letter No. A-0317", "计算机科学与技术（软件工程）", "报到时间：9月1日至9月3日",
         "Tel: +86 10 6251 1234", "中国人民大学 招生办公室", "Total: ¥5,800.00 / year",
         "请持本通知书及身份证报到", "2024—2025学年 第一学期"]
FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]


def line_images(count: int) -> list[bytes]:
    """``count`` PNG line images (CJK font if installed), 28-36 px high, 80-700 px wide."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = next((f for f in FONTS if Path(f).is_file()), None)
    if font_path is None:
        sys.exit("serve_load: no font found (install fonts-noto-cjk or fonts-dejavu)")
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        text = TEXTS[i % len(TEXTS)]
        font = ImageFont.truetype(font_path, int(rng.integers(22, 30)))
        left, top, right, bottom = font.getbbox(text)
        img = Image.new("L", (right - left + 8, bottom - top + 8), 255)
        ImageDraw.Draw(img).text((4 - left, 4 - top), text, fill=0, font=font)
        buf = io.BytesIO()
        img.save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def stand_in_checkpoint(folder: Path) -> Path:
    """An untrained tutorial-width CRNN with the zh charset (speed only)."""
    import torch

    from crnn.charset import Charset
    from crnn.checkpoint import Checkpoint, save_checkpoint
    from crnn.data.images import Preprocess
    from crnn.model import CRNN, ModelConfig

    torch.manual_seed(0)
    charset = Charset.preset("zh")
    cfg = ModelConfig(num_classes=charset.num_classes)
    path = folder / "tutorial-zh-untrained.pt"
    save_checkpoint(Checkpoint(cfg, charset, Preprocess(), CRNN(cfg).state_dict()), path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (Linux /proc, else psutil)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return psutil.Process(pid).memory_info().rss


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid``, all threads (Linux /proc, else psutil)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return t.user + t.system


class RssSampler:
    """Peak RSS of a process, sampled every ``every`` s on a thread."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (OSError, ProcessLookupError):
                return
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Server:
    """``python -m crnn.serve`` in a subprocess, up until closed."""

    def __init__(self, model: Path, mode: str, threads: int | None, batch_size: int,
                 page_queue: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "crnn.serve", "--model", str(model), "--port",
               str(self.port), "--log-level", "warning", "--device", "cpu",
               "--max-queue", "1024", "--batch-size", str(batch_size)]
        cmd += ["--no-batching"] if mode == "off" else ["--batch-window-ms", mode]
        if threads:
            cmd += ["--threads", str(threads)]
        if page_queue is not None:
            cmd += ["--page-queue", str(page_queue)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                sys.exit(f"serve_load: the server exited ({self.proc.returncode}):\n{err}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.close()
        sys.exit("serve_load: the server did not come up in time")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def drive(url: str, images: list[bytes], clients: int,
                seconds: float) -> tuple[list[float], int]:
    """``clients`` loops posting one image each until ``seconds`` pass: latencies, errors."""
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(k: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        i = k
        while time.perf_counter() < stop:
            data = images[i % len(images)]
            i += clients
            t0 = time.perf_counter()
            try:
                r = await http.post("/v1/recognize",
                                    files={"images": (f"line{i}.png", data, "image/png")})
                ok = r.status_code == 200 and "error" not in r.json()["results"][0]
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        await asyncio.gather(*(client(k, http) for k in range(clients)))
    return latencies, errors


def recognizer_rates(rec, images: list[bytes],
                     seconds: float) -> dict[str, tuple[float, float, int]]:
    """``rec.recognize`` on the same bytes, all at once and one per call: for each, lines/s,
    CPU seconds used (this process, all threads) and lines read."""
    rates = {}
    for label, per_call in (("all per call", len(images)), ("one per call", 1)):
        done, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            for s in range(0, len(images), per_call):
                rec.recognize(images[s:s + per_call])
                done += len(images[s:s + per_call])
                if time.perf_counter() - t0 >= seconds:
                    break
        rates[label] = (done / (time.perf_counter() - t0), time.process_time() - c0, done)
    return rates


def page_mode(args: argparse.Namespace) -> int:
    """``--pages``: /v1/ocr against read_page, then latency for one and several clients."""
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from dev_pages import load_dev_pages, score_page, total

    from crnn.ocr import load_pages, read_page
    from crnn.recognizer import Recognizer, resolve_model_path

    pages = load_dev_pages(args.pages)
    data = {p.page_id: p.image.read_bytes() for p in pages}
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".tif": "image/tiff", ".tiff": "image/tiff", ".pdf": "application/pdf"}
    model = resolve_model_path(args.model or "default")
    line = line_images(1)[0]
    print(f"model: {model.name}; {len(pages)} pages from {args.pages}; {os.cpu_count()} CPUs",
          flush=True)

    def post(http: httpx.Client, p) -> httpx.Response:
        return http.post("/v1/ocr", files={"page": (p.image.name, data[p.page_id],
                                                    mime.get(p.image.suffix.lower(), ""))})

    server = Server(model, "5", args.threads, args.batch_size, page_queue=args.page_queue)
    try:
        # 1. the same text as crnn ocr
        rec = Recognizer.load(model, device="cpu", batch_size=args.batch_size)
        served, local, same = [], [], 0
        with httpx.Client(base_url=server.url, timeout=300) as http:
            for p in pages:
                r = post(http, p)
                r.raise_for_status()
                got = [ln["text"] for ln in r.json()["pages"][0]["lines"]]
                want = [ln.text for ln in read_page(next(load_pages(p.image)), rec).lines]
                served.append(score_page(p.lines, got))
                local.append(score_page(p.lines, want))
                same += got == want
        del rec
        print(f"\npage CER on {len(pages)} pages: /v1/ocr {total(served).cer:.4f}, read_page "
              f"(crnn ocr) {total(local).cer:.4f}; {same} of {len(pages)} pages read "
              "identically", flush=True)

        # 2. one client, each page in turn
        one: list[float] = []
        with httpx.Client(base_url=server.url, timeout=300) as http:
            for p in pages:
                t0 = time.perf_counter()
                post(http, p).raise_for_status()
                one.append(time.perf_counter() - t0)
        ms = np.array(one) * 1e3
        print(f"one client: p50 {np.percentile(ms, 50):.0f} ms, p95 "
              f"{np.percentile(ms, 95):.0f} ms per page", flush=True)

        # 3. several page clients and one line client
        async def load() -> dict:
            out = {"page": [], "line": [], "busy": 0, "errors": [], "line_errors": 0}
            stop = time.perf_counter() + args.page_duration
            limits = httpx.Limits(max_connections=args.page_clients + 1)

            async def page_client(k: int, http: httpx.AsyncClient) -> None:
                i = k
                while time.perf_counter() < stop:
                    p = pages[i % len(pages)]
                    i += args.page_clients
                    t0 = time.perf_counter()
                    try:
                        r = await http.post("/v1/ocr", files={"page": (
                            p.image.name, data[p.page_id],
                            mime.get(p.image.suffix.lower(), ""))})
                        status = r.status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    if status == 200:
                        out["page"].append(time.perf_counter() - t0)
                    elif status == 503:
                        out["busy"] += 1
                        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                    else:
                        out["errors"].append(status)

            async def line_client(http: httpx.AsyncClient) -> None:
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    try:
                        r = await http.post("/v1/recognize",
                                            files={"images": ("line.png", line, "image/png")})
                        ok = r.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        out["line"].append(time.perf_counter() - t0)
                    else:
                        out["line_errors"] += 1
                    await asyncio.sleep(0.5)

            async with httpx.AsyncClient(base_url=server.url, limits=limits,
                                         timeout=300) as http:
                await asyncio.gather(line_client(http), *(
                    page_client(k, http) for k in range(args.page_clients)))
            return out

        with RssSampler(server.proc.pid) as rss:
            res = asyncio.run(load())
        pm, lm = np.array(res["page"]) * 1e3, np.array(res["line"]) * 1e3
        print("\n| clients | pages read | page p50 ms | page p95 ms | 503 (queue full) | "
              "other errors | line requests | line p50 ms | line p95 ms | server peak RSS "
              "MiB |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

        def pct(a: np.ndarray, q: float) -> str:
            return f"{np.percentile(a, q):.0f}" if len(a) else "-"

        print(f"| {args.page_clients} pages + 1 line | {len(pm)} | {pct(pm, 50)} | "
              f"{pct(pm, 95)} | {res['busy']} | {len(res['errors'])} | "
              f"{len(lm)} ({res['line_errors']} failed) | {pct(lm, 50)} | {pct(lm, 95)} | "
              f"{rss.peak / 2**20:.0f} |")
        print(f"({args.page_duration:g} s; page queue {args.page_queue}, one page read at a "
              "time)")
    finally:
        server.close()
    return 0


def mode_label(mode: str) -> str:
    return "off" if mode == "off" else f"{mode} ms window"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="checkpoint (default: untrained tutorial-zh)")
    ap.add_argument("--clients", default="1,4,16", help="comma-separated client counts")
    ap.add_argument("--modes", default="off,5",
                    help="comma-separated: off (no micro-batching) or a window in ms")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds measured per row")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds before each row")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every row this many times, interleaved (noisy machines)")
    ap.add_argument("--images", type=int, default=64, help="distinct line images")
    ap.add_argument("--threads", type=int, help="torch threads in the server and baseline")
    ap.add_argument("--batch-size", type=int, default=64,
                    help="the Recognizer's batch size, in the server and the baseline")
    ap.add_argument("--pages", type=Path,
                    help="page mode: a folder of pages with line ground truth "
                         "(../shared/dev/pages)")
    ap.add_argument("--page-clients", type=int, default=4,
                    help="page mode: concurrent page clients (default 4)")
    ap.add_argument("--page-duration", type=float, default=120.0,
                    help="page mode: seconds of the concurrent run (default 120)")
    ap.add_argument("--page-queue", type=int, default=4,
                    help="page mode: the server's --page-queue (default 4)")
    args = ap.parse_args(argv)
    if args.pages:
        return page_mode(args)
    clients = [int(c) for c in args.clients.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]

    import torch

    from crnn.recognizer import Recognizer

    if args.threads:
        torch.set_num_threads(args.threads)
    images = line_images(args.images)
    # Rows: (mode, clients) -> latencies (s), errors, seconds measured, peak RSS, load.
    rows: dict[tuple[str, int], dict] = {
        (m, n): {"lat": [], "errors": 0, "seconds": 0.0, "rss": 0, "load": [], "cpu": 0.0}
        for m in modes for n in clients}
    base: dict[str, list[float]] = {}
    base_cpu: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or stand_in_checkpoint(Path(tmp))
        print(f"model: {model.name}; {len(images)} images, "
              f"{np.mean([len(b) for b in images]) / 1024:.1f} KiB PNG on average; "
              f"{os.cpu_count()} CPUs, torch threads {args.threads or torch.get_num_threads()}; "
              f"{args.duration:g} s per row, {args.rounds} round(s)", flush=True)
        rec = Recognizer.load(model, device="cpu", batch_size=args.batch_size)
        rec.recognize(images[:8])  # warm-up
        # All servers up at once (idle ones cost memory, not CPU), rows interleaved, so a
        # change in the machine's load touches every mode alike.
        servers = {m: Server(model, m, args.threads, args.batch_size) for m in modes}
        try:
            for rnd in range(args.rounds):
                for name, (rate, cpu, lines) in recognizer_rates(rec, images,
                                                                 args.duration).items():
                    base.setdefault(name, []).append(rate)
                    base_cpu.setdefault(name, []).append((cpu, lines))
                for n in clients:
                    for m in modes:
                        server, row = servers[m], rows[(m, n)]
                        asyncio.run(drive(server.url, images, n, args.warmup))
                        cpu0 = cpu_seconds(server.proc.pid)
                        with RssSampler(server.proc.pid) as rss:
                            lat, errors = asyncio.run(drive(server.url, images, n,
                                                            args.duration))
                        row["cpu"] += cpu_seconds(server.proc.pid) - cpu0
                        row["lat"] += lat
                        row["errors"] += errors
                        row["seconds"] += args.duration
                        row["rss"] = max(row["rss"], rss.peak)
                        row["load"].append(os.getloadavg()[0])
                        print(f"  round {rnd + 1} {mode_label(m):>13} {n:>3} clients: "
                              f"{len(lat) / args.duration:7.1f} req/s  "
                              f"load {row['load'][-1]:.1f}", flush=True)
        finally:
            for server in servers.values():
                server.close()

    print("\n| batching | clients | req/s | p50 ms | p99 ms | errors | server peak RSS MiB "
          "| server CPU ms/req | load avg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (m, n), row in rows.items():
        lat_ms = np.array(row["lat"]) * 1e3
        print(f"| {mode_label(m)} | {n} | {len(lat_ms) / row['seconds']:.1f} | "
              f"{np.percentile(lat_ms, 50):.1f} | {np.percentile(lat_ms, 99):.1f} | "
              f"{row['errors']} | {row['rss'] / 2**20:.0f} | "
              f"{1e3 * row['cpu'] / max(len(lat_ms), 1):.1f} | {np.mean(row['load']):.1f} |")
    print(f"\nRecognizer in-process, same images, batch size {args.batch_size}:")
    for name, rates in base.items():
        cpu = base_cpu[name]
        print(f"  {name}: {np.mean(rates):.1f} lines/s (rounds: "
              f"{', '.join(f'{r:.1f}' for r in rates)}), "
              f"{1e3 * sum(c for c, _ in cpu) / sum(k for _, k in cpu):.1f} CPU ms/line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
