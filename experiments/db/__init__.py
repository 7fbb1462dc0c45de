"""Database plumbing the writes share: bulk SQL helpers and the chunked import writer."""
