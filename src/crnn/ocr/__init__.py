"""Page OCR for printed documents: classical line finding + the CRNN recognizer."""

from .page import Block, Line, Page, document_pages, load_pages, read_page

__all__ = ["Block", "Line", "Page", "document_pages", "load_pages", "read_page"]
