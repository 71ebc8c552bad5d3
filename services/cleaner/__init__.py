"""The clean stage: main text and metadata from raw documents (see `core.ArticleCleaner`)."""

from services.cleaner.core import ArticleCleaner

__all__ = ["ArticleCleaner"]
