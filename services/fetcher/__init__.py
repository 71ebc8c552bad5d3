"""Getting documents in: feeds, sitemaps, pages, local files and WARC archives → `news.raw`.

Entry points: `service.run_fetcher` (`newsflow fetch`, `newsflow up --sources`), `cli` (the
click commands), `files.DocumentReader` (`newsflow ingest`, `newsflow process`). The rest, by
concept: sources (the YAML), options (knobs), retrieve/http/addresses/robots (one polite,
safe fetch), politeness/ (host gates, adaptive polling), jobs (the per-host frontier), feeds/
sitemaps/entries/dates/decoding/compression/xmlsafety (reading listings), pages (records),
warc, state/publish/topics (Kafka state and transactions), runner/core/listings/pagework/
archives (the fetcher), errors (failure classes), report/progress (what people see).
"""
