"""``crnn serve``: an HTTP recognition service and a web page, in front of one ``Recognizer``.

    crnn serve --model runs/demo/best.pt                 # http://127.0.0.1:8000/
    curl -F images=@line.png http://127.0.0.1:8000/v1/recognize
    curl -F page=@letter.pdf 'http://127.0.0.1:8000/v1/ocr?format=txt'

The model is loaded once, before the server starts. Each request is read (within the size
limit), its images are checked and decoded in a thread, and the decoded images go to a
:class:`MicroBatcher`, which gathers the images of requests that arrive together (for up to
``batch_window_ms``, or ``max_batch`` images) and runs them as one ``Recognizer.recognize``
call in a worker thread, so the event loop never waits on the model. Requests only carry
image bytes: no field names a file, and the server reads or writes no path on their behalf.

Whole pages (``POST /v1/ocr``) go through :class:`PageQueue`: at most ``page_concurrency``
pages are read at once, in their own threads (so line requests keep being answered), and
at most ``page_queue`` more wait; beyond that a request gets 503 with ``Retry-After``.

FastAPI, pydantic and uvicorn are imported when an app is built or run, not when this module
is imported, so ``crnn --help`` works without the ``serve`` extra.
"""

from .app import create_app, guarded_h11
from .batcher import MicroBatcher, PageQueue
from .cli import add_arguments, main, run, settings_from_args
from .schemas import api_models, page_result
from .settings import ServeError, ServeSettings

__all__ = ["ServeSettings", "MicroBatcher", "PageQueue", "ServeError", "create_app",
           "guarded_h11", "api_models", "page_result", "add_arguments", "settings_from_args",
           "run", "main"]
