"""The library: reading list and links -> downloaded PDFs -> pages and sections -> chunks -> vectors
-> an index generation on disk (catalog, sources, fetch, parse, chunk, embed, cache, store, ingest)."""
