"""PDFs of sales documents and payment receipts: templates, data, a file cache, and a process
pool that renders them off the event loop."""
